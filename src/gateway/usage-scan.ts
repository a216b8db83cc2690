/**
 * The usage of a pass-through answer without parsing the whole answer: the
 * bytes go to the caller as they came, and only the `usage` object is read
 * (OpenAI puts it at the end of the body; in a stream, its last chunk). An
 * unescaped `"usage"` can only be a key: inside a JSON string a quote is always escaped.
 */
const USAGE_KEY = Buffer.from('"usage"');

/** JSON whitespace, as a byte or a char code. */
function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9;
}

/**
 * True when the text names a usage that is not null. With include_usage OpenAI writes
 * `"usage":null` into every stream chunk; only the last one carries the counts.
 */
export function mentionsUsage(text: string): boolean {
  for (let at = text.indexOf('"usage"'); at !== -1; at = text.indexOf('"usage"', at + 7)) {
    let i = at + 7;
    while (isSpace(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== 58 /* : */) return true;
    i++;
    while (isSpace(text.charCodeAt(i))) i++;
    if (!text.startsWith('null', i)) return true;
  }
  return false;
}

/**
 * Where the value after `"usage"` (its key ending at `from`) ends when it is null; -1 when it is
 * anything else or cut short (the caller parses to be sure).
 */
function nullUsageEnd(bytes: Buffer, from: number): number {
  let i = from;
  while (isSpace(bytes[i])) i++;
  if (bytes[i] !== 58 /* : */) return -1;
  i++;
  while (isSpace(bytes[i])) i++;
  // n u l l
  return bytes[i] === 110 && bytes[i + 1] === 117 && bytes[i + 2] === 108 && bytes[i + 3] === 108 ? i + 4 : -1;
}

/**
 * mentionsUsage of raw bytes, read in place: an OpenAI stream chunk with include_usage holds
 * `"usage":null`, so every chunk of such a stream is looked at here, and none is turned into a string.
 */
export function chunkMentionsUsage(bytes: Buffer): boolean {
  for (let at = bytes.indexOf(USAGE_KEY); at !== -1; at = bytes.indexOf(USAGE_KEY, at + 7)) {
    if (nullUsageEnd(bytes, at + 7) === -1) return true;
  }
  return false;
}

/**
 * True when a pass-through stream chunk holds neither an `"error"` key nor a usage that is not null
 * (`chunkMentionsUsage`): nothing in it to observe. One pass over the bytes, at each quote, instead of
 * three `indexOf` calls into C++ per chunk.
 */
export function quietChunk(bytes: Buffer): boolean {
  const n = bytes.length;
  for (let at = 0; at < n; at++) {
    if (bytes[at] !== 34 /* " */) continue;
    const next = bytes[at + 1];
    // "error"
    if (next === 101) {
      if (bytes[at + 2] === 114 && bytes[at + 3] === 114 && bytes[at + 4] === 111 && bytes[at + 5] === 114 && bytes[at + 6] === 34) return false;
    } else if (next === 117 && bytes[at + 2] === 115 && bytes[at + 3] === 97 && bytes[at + 4] === 103 && bytes[at + 5] === 101 && bytes[at + 6] === 34) {
      // "usage"
      const end = nullUsageEnd(bytes, at + 7);
      if (end === -1) return false;
      at = end - 1;
    }
  }
  return true;
}

/**
 * The last `"usage": {...}` object of a JSON body, parsed; null when the body has
 * `"usage": null` or none; undefined when it could not be read this way (the caller parses the body).
 */
export function scanUsage(raw: Buffer): Record<string, unknown> | null | undefined {
  return scanLastObject(raw, USAGE_KEY);
}

/** The last `<key>: {...}` object of JSON bytes (`key` quoted, as `"usage"`), as scanUsage reads it. */
export function scanLastObject(raw: Buffer, key: Buffer): Record<string, unknown> | null | undefined {
  const at = raw.lastIndexOf(key);
  if (at === -1) return null;
  let i = at + key.length;
  while (i < raw.length && isSpace(raw[i])) i++;
  if (raw[i] !== 58 /* : */) return undefined;
  i++;
  while (i < raw.length && isSpace(raw[i])) i++;
  if (raw[i] === 110 /* n(ull) */) return null;
  if (raw[i] !== 123 /* { */) return undefined;
  const start = i;
  let depth = 0;
  for (; i < raw.length; i++) {
    const byte = raw[i];
    if (byte === 34 /* " */) {
      // skip the string: to the next quote not escaped
      for (i++; i < raw.length && raw[i] !== 34; i++) if (raw[i] === 92) i++;
      continue;
    }
    if (byte === 123) depth++;
    else if (byte === 125 && --depth === 0) {
      try {
        const usage = JSON.parse(raw.toString('utf8', start, i + 1)) as unknown;
        return typeof usage === 'object' && usage !== null ? (usage as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
