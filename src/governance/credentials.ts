/**
 * Where a client's virtual key comes from: the way each SDK sends its API
 * key. x-heimdall-key wins (it can ride along with a provider's own header);
 * then Authorization: Bearer (OpenAI SDK), x-api-key (Anthropic SDK),
 * x-goog-api-key (Google Gen AI SDK) and the Gemini REST `?key=` parameter.
 * @see https://platform.openai.com/docs/api-reference/authentication
 * @see https://docs.anthropic.com/en/api/overview#authentication
 * @see https://ai.google.dev/gemini-api/docs/api-key#send-requests
 */
import type { IncomingHttpHeaders } from 'node:http';

/** A header's value, trimmed; undefined when absent or blank. */
function headerText(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return undefined;
  const trimmed = first.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Each header read by its own name (perf: one shared lookup under a computed name went polymorphic, every request). */
export function credentialFrom(headers: IncomingHttpHeaders, queryKey: string | undefined): string | undefined {
  const explicit = headerText(headers['x-heimdall-key']);
  if (explicit !== undefined) return explicit;
  const authorization = headerText(headers.authorization);
  if (authorization !== undefined) {
    const space = authorization.indexOf(' ');
    // "Bearer" as the SDKs write it needs no lower-cased copy.
    if (space === 6 && (authorization.startsWith('Bearer') || authorization.slice(0, space).toLowerCase() === 'bearer')) {
      const token = authorization.slice(space + 1).trim();
      if (token !== '') return token;
    }
  }
  return headerText(headers['x-api-key']) ?? headerText(headers['x-goog-api-key']) ?? queryKey;
}

/** The `key` query parameter of a URL, if any (Gemini REST: `...:generateContent?key=...`). */
export function queryKeyOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const question = url.indexOf('?');
  if (question === -1 || url.indexOf('key=', question) === -1) return undefined;
  const value = new URLSearchParams(url.slice(question + 1)).get('key');
  return value === null || value === '' ? undefined : value;
}
