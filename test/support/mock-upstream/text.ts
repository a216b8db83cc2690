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

/**
 * The mock's embedding of a string: `dimensions` values in [-1, 1), each
 * `fnv1a(text + '#' + i)` scaled, rounded to float32 so that the JSON float
 * form and the base64 Float32 form decode to exactly the same numbers.
 */
export function mockEmbedding(text: string, dimensions = 8): number[] {
  const vector: number[] = [];
  for (let i = 0; i < dimensions; i++) vector.push(Math.fround(fnv1a(`${text}#${i}`) / 2 ** 31 - 1));
  return vector;
}

/** Float32 little-endian bytes in base64, as OpenAI returns `encoding_format: 'base64'`. */
export function float32Base64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}
