/**
 * Secret redaction for logged bodies and audit entries: values under
 * secret-sounding keys (the structural net, here), and credentials wherever
 * they appear in text (key shapes and configured secrets: telemetry/secrets.ts,
 * the one list of what a credential looks like).
 */
import { replaceSecrets } from '../telemetry/secrets.js';

export const REDACTED = '[REDACTED]';

/** Keys compared lower-cased with `-` and `_` removed. */
const SECRET_KEYS = new Set([
  'apikey', 'authorization', 'proxyauthorization', 'xapikey', 'xgoogapikey', 'xheimdallkey',
  'password', 'passwd', 'secret', 'token', 'cookie', 'setcookie', 'privatekey', 'secretencrypted',
]);
/** Suffixes that mark a secret too (access_token, client_secret, aws_secret_access_key, ...). */
const SECRET_SUFFIXES = ['token', 'secret', 'password', 'apikey', 'accesskey', 'privatekey'];

/** `"secret_key": "value"` in JSON text that could not be parsed (truncated, SSE). */
const SECRET_PAIR = /"([A-Za-z0-9_-]{2,64})"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g;

export function isSecretKey(key: string): boolean {
  const normalized = key.toLowerCase().replace(/[-_]/g, '');
  if (SECRET_KEYS.has(normalized)) return true;
  return SECRET_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
}

/** Replaces key-shaped substrings of free text. */
export function redactText(text: string): string {
  const pairs = text.replace(SECRET_PAIR, (match, key: string, colon: string) =>
    isSecretKey(key) ? `"${key}"${colon}"${REDACTED}"` : match,
  );
  return replaceSecrets(pairs, REDACTED);
}

/** A deep copy of a JSON-like value with secrets replaced. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 64) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = isSecretKey(key) && item !== null && item !== undefined && item !== '' ? REDACTED : redactValue(item, depth + 1);
  }
  return out;
}

/** Bodies above this are redacted as text instead of parsed (keeps flushes short). */
const MAX_PARSE_CHARS = 1024 * 1024;

/**
 * Prepares a body for storage: redacts secrets (structurally when it parses as
 * JSON, textually otherwise), then caps it at maxBytes of UTF-8 with a marker
 * saying how much was cut.
 *
 * `totalBytes` says that `text` is only the head of a longer body (the request
 * path keeps a little more than maxBytes, never the whole body): it is then
 * redacted as text and the marker reports the whole body's size.
 */
export function prepareBody(text: string, maxBytes: number, totalBytes?: number): string {
  if (totalBytes !== undefined) return truncateUtf8(redactText(text), maxBytes, Math.max(totalBytes, maxBytes + 1));
  if (text.length <= MAX_PARSE_CHARS) return truncateUtf8(redactJsonText(text), maxBytes);
  // Too big to parse on the event loop: cut first (with slack so a secret
  // straddling the cut is still matched), then redact as text.
  const head = redactText(text.slice(0, Math.max(maxBytes, 0) + 256));
  return truncateUtf8(head, maxBytes, Buffer.byteLength(text));
}

/** Redacts JSON text, keeping its formatting compact; falls back to text redaction. */
export function redactJsonText(text: string): string {
  const first = text.trimStart()[0];
  if (first === '{' || first === '[') {
    try {
      return JSON.stringify(redactValue(JSON.parse(text)));
    } catch {
      // not JSON after all (SSE transcript, truncated body): redact as text
    }
  }
  return redactText(text);
}

/** Caps text at maxBytes of UTF-8, appending `…[truncated, N bytes total]`. */
export function truncateUtf8(text: string, maxBytes: number, totalBytes = Buffer.byteLength(text)): string {
  if (totalBytes <= maxBytes) return text;
  const cut = Buffer.from(text).subarray(0, Math.max(0, maxBytes)).toString('utf8').replace(/\uFFFD+$/, '');
  return `${cut}…[truncated, ${totalBytes} bytes total]`;
}
