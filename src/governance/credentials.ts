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

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  return trimmed === '' ? undefined : trimmed;
}

export function credentialFrom(headers: IncomingHttpHeaders, queryKey: string | undefined): string | undefined {
  const explicit = header(headers, 'x-heimdall-key');
  if (explicit !== undefined) return explicit;
  const authorization = header(headers, 'authorization');
  if (authorization !== undefined) {
    const space = authorization.indexOf(' ');
    if (space > 0 && authorization.slice(0, space).toLowerCase() === 'bearer') {
      const token = authorization.slice(space + 1).trim();
      if (token !== '') return token;
    }
  }
  return header(headers, 'x-api-key') ?? header(headers, 'x-goog-api-key') ?? queryKey;
}

/** The `key` query parameter of a URL, if any (Gemini REST: `...:generateContent?key=...`). */
export function queryKeyOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const question = url.indexOf('?');
  if (question === -1 || url.indexOf('key=', question) === -1) return undefined;
  const value = new URLSearchParams(url.slice(question + 1)).get('key');
  return value === null || value === '' ? undefined : value;
}
