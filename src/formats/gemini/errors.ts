/**
 * Gemini error bodies -> UpstreamErrorInfo. Google sends a google.rpc.Status
 * as `{"error":{"code":400,"message":"...","status":"INVALID_ARGUMENT","details":[...]}}`;
 * streamGenerateContent without alt=sse wraps it in an array. `type` is the
 * status name; `code` is the ErrorInfo reason when there is one (API_KEY_INVALID),
 * else the numeric code.
 *
 * @see https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
 * @see https://cloud.google.com/apis/design/errors#http_mapping
 */
import type { UpstreamErrorInfo } from '../types.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorInfoReason(details: unknown): string | undefined {
  if (!Array.isArray(details)) return undefined;
  for (const detail of details) {
    if (isObject(detail) && typeof detail.reason === 'string' && detail.reason !== '') return detail.reason;
  }
  return undefined;
}

const MAX_TEXT_MESSAGE = 500;

export function decodeGeminiError(status: number, body: unknown): UpstreamErrorInfo {
  let value = body;
  if (typeof value === 'string' || value instanceof Uint8Array) {
    const text = typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
    try {
      value = JSON.parse(text);
    } catch {
      const trimmed = text.trim();
      return { message: trimmed === '' ? `Gemini answered HTTP ${status}.` : trimmed.slice(0, MAX_TEXT_MESSAGE) };
    }
  }
  if (Array.isArray(value)) value = value[0];
  const error = isObject(value) && isObject(value.error) ? value.error : undefined;
  if (error === undefined) return { message: `Gemini answered HTTP ${status}.` };
  const info: UpstreamErrorInfo = {
    message: typeof error.message === 'string' && error.message !== '' ? error.message : `Gemini answered HTTP ${status}.`,
  };
  if (typeof error.status === 'string') info.type = error.status;
  const reason = errorInfoReason(error.details);
  if (reason !== undefined) info.code = reason;
  else if (typeof error.code === 'number' || typeof error.code === 'string') info.code = String(error.code);
  return info;
}
