/**
 * The model a request names, read without trusting the request: for a call
 * refused before its surface decoded it (a bad virtual key, a malformed body),
 * so logs, metrics and the dashboard still say which model it was for. Only
 * on the error path: a Gemini URL's `models/{model}:method`, else the first
 * `"model": "..."` string in the head of the JSON body.
 */
import type { FastifyRequest } from 'fastify';

/** Bytes of the body searched: the model is near the top of every SDK's body. */
const HEAD_BYTES = 64 * 1024;
const MAX_MODEL_LENGTH = 256;
const MODEL_FIELD = /"model"\s*:\s*"((?:[^"\\\u0000-\u001f]|\\.){1,256})"/;
/** Kept only if it is printable text: a control character is not a model name to log or label. */
const PRINTABLE = /^[\u0020-\u007e\u00a0-\u2027\u202a-\uffff]+$/;

function clean(model: string | undefined): string | undefined {
  if (model === undefined || model.length === 0 || model.length > MAX_MODEL_LENGTH) return undefined;
  return PRINTABLE.test(model) ? model : undefined;
}

export function requestedModelOf(request: FastifyRequest): string | undefined {
  const wildcard = (request.params as { '*'?: unknown } | undefined)?.['*'];
  if (typeof wildcard === 'string' && request.url.startsWith('/genai/')) {
    const colon = wildcard.lastIndexOf(':');
    if (colon <= 0) return undefined;
    let model: string;
    try {
      model = decodeURIComponent(wildcard.slice(0, colon));
    } catch {
      return undefined;
    }
    return clean(model.startsWith('models/') ? model.slice(7) : model);
  }
  const body = request.body;
  const text = Buffer.isBuffer(body) ? body.subarray(0, HEAD_BYTES).toString('utf8') : typeof body === 'string' ? body.slice(0, HEAD_BYTES) : undefined;
  if (text === undefined) return undefined;
  const match = MODEL_FIELD.exec(text);
  if (match === null) return undefined;
  try {
    return clean(JSON.parse(`"${match[1]}"`) as string);
  } catch {
    return undefined;
  }
}
