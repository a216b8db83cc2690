/**
 * The usage of a pass-through answer without parsing the whole answer: the
 * bytes go to the caller as they came, and only the `usage` object is read
 * (OpenAI puts it at the end of the body). An unescaped `"usage"` can only be
 * a key: inside a JSON string a quote is always escaped.
 */
const USAGE_KEY = Buffer.from('"usage"');

function isSpace(byte: number): boolean {
  return byte === 32 || byte === 10 || byte === 13 || byte === 9;
}

/**
 * The last `"usage": {...}` object of a JSON body, parsed; null when the body has
 * `"usage": null` or none; undefined when it could not be read this way (the caller parses the body).
 */
export function scanUsage(raw: Buffer): Record<string, unknown> | null | undefined {
  const at = raw.lastIndexOf(USAGE_KEY);
  if (at === -1) return null;
  let i = at + USAGE_KEY.length;
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
