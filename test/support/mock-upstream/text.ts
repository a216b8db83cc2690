/**
 * Deterministic text helpers shared by every wire-format handler of the mock
 * upstream, exported so tests can compute the numbers the mock will report.
 */

/** Number of whitespace-separated words: the mock's stand-in for a token count. */
export function countWords(text: string): number {
  let count = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const space = /\s/.test(text[i]);
    if (!space && !inWord) count++;
    inWord = !space;
  }
  return count;
}

/**
 * Splits text into one piece per word, each piece carrying the whitespace
 * before it, so that `splitWords(t).join('') === t` ("echo: a b" -> "echo:", " a", " b").
 * Trailing whitespace is appended to the last piece.
 */
export function splitWords(text: string): string[] {
  const pieces: string[] = text.match(/\s*\S+/g) ?? [];
  const covered = pieces.reduce((length, piece) => length + piece.length, 0);
  if (covered < text.length) {
    const rest = text.slice(covered);
    if (pieces.length === 0) pieces.push(rest);
    else pieces[pieces.length - 1] += rest;
  }
  return pieces;
}

/**
 * The text cut to `limit` words (whitespace kept), as a model stopped by its
 * output limit; `truncated` says whether it was cut.
 */
export function limitText(text: string, limit: number | null | undefined): { text: string; truncated: boolean } {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || countWords(text) <= limit) return { text, truncated: false };
  return { text: splitWords(text).slice(0, limit).join(''), truncated: true };
}

/** Splits a string into `count` pieces of near-equal length (the first ones longer); pieces may be empty. */
export function splitEvenly(text: string, count: number): string[] {
  const size = Math.ceil(text.length / count);
  const pieces: string[] = [];
  for (let i = 0; i < count; i++) pieces.push(text.slice(i * size, (i + 1) * size));
  return pieces;
}

/** FNV-1a 32-bit hash of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Words that carry no meaning of their own; negations are among them, as real embeddings barely see them. */
const STOPWORDS = new Set([
  'a', 'an', 'the', 'of', 'to', 'in', 'on', 'at', 'for', 'by', 'with', 'and', 'or', 'is', 'are', 'was', 'were', 'be', 'been',
  'am', 'do', 'does', 'did', 'what', 'which', 'who', 'whom', 'how', 'please', 'tell', 'me', 'i', 'you', 'can', 'could',
  'would', 'will', 'it', 'its', 'this', 'that', 'there', 'my', 'your', 'about', 'give', 'some', 's', 'not', 'no', 'never',
  'nt', 'cannot', 'dont', 'doesnt', 'isnt', 'arent', 'so', 'us', 'we', 'just', 'kindly',
]);

/** Synonyms folded onto one stem, so paraphrases share their words. */
const SYNONYMS: Record<string, string> = {
  automobile: 'car', vehicle: 'car', film: 'movie', picture: 'movie', large: 'big', huge: 'big', quick: 'fast', rapid: 'fast',
  purchase: 'buy', acquire: 'buy', city: '', town: '', capitol: 'capital', nation: 'country', state: 'country', explain: 'describe',
  physician: 'doctor', medic: 'doctor', begin: 'start', commence: 'start', cost: 'price', happy: 'glad', reply: 'answer',
  respond: 'answer', tall: 'high', cheap: 'inexpensive', sum: 'add', plus: 'add', recipe: 'cook', cooking: 'cook',
};

/** Lowercased word stems of a text, stopwords dropped, synonyms folded, crude English suffixes cut. */
export function mockStems(text: string): string[] {
  const stems: string[] = [];
  const words = text.toLowerCase().replace(/['\u2019]s\b/g, '').replace(/n['\u2019]t\b/g, ' not').split(/[^\p{L}\p{N}]+/u);
  for (const word of words) {
    if (word === '' || STOPWORDS.has(word)) continue;
    let stem = Object.hasOwn(SYNONYMS, word) ? SYNONYMS[word] : word;
    if (stem === '') continue;
    if (stem.length > 4) stem = stem.replace(/(ing|edly|ed|ies|es|s|ly)$/, '');
    if (Object.hasOwn(SYNONYMS, stem) && SYNONYMS[stem] !== '') stem = SYNONYMS[stem];
    stems.push(stem);
  }
  return stems;
}

/**
 * The mock's embedding of a string: `dimensions` values in [-1, 1), deterministic, with meaning:
 * a random projection of the text's bag of stems (mockStems), each stem's direction drawn from
 * `fnv1a(stem + '#' + i)`, plus a faint trace of the exact text (punctuation, stopwords). So
 * paraphrases that share their stems are near (cosine close to 1 at 64+ dimensions), unrelated
 * texts are far (close to 0), and `mockEmbedding(t, n)` is the first n values of any longer one.
 * Values are rounded to float32 so the JSON float form and the base64 Float32 form decode to
 * exactly the same numbers.
 */
export function mockEmbedding(text: string, dimensions = 8): number[] {
  const weights = new Map<string, number>();
  for (const stem of mockStems(text)) weights.set(stem, (weights.get(stem) ?? 0) + 1);
  // The exact text, faintly: "hello world" and "hello world!" differ, but barely.
  const exact = `\u0000${text}`;
  weights.set(exact, (weights.get(exact) ?? 0) + (weights.size === 0 ? 1 : 0.05));
  let total = 0;
  for (const weight of weights.values()) total += weight;
  const vector: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    let value = 0;
    for (const [stem, weight] of weights) value += weight * (fnv1a(`${stem}#${i}`) / 2 ** 31 - 1);
    vector.push(Math.fround(Math.max(-1, Math.min(0.9999999, value / total))));
  }
  return vector;
}

/** Float32 little-endian bytes in base64, as OpenAI returns `encoding_format: 'base64'`. */
export function float32Base64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}
