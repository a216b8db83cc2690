import type { UpstreamErrorInfo } from '../types.js';

/**
 * Anthropic error types and the HTTP status each one comes with.
 * `overloaded_error` is Anthropic's own 529; it is reported as 503 so that
 * retry rules and callers see a standard "unavailable" status.
 * @see https://docs.anthropic.com/en/api/errors
 */
const STATUS_BY_ERROR_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 503,
};

/** The status an Anthropic error type stands for (500 when the type is unknown). */
export function statusForAnthropicErrorType(type: string | undefined): number {
  return (type !== undefined ? STATUS_BY_ERROR_TYPE[type] : undefined) ?? 500;
}

/** The Anthropic error type for an HTTP status, used when Heimdall writes an Anthropic error event. */
export function anthropicErrorTypeForStatus(status: number): string {
  switch (status) {
    case 400: return 'invalid_request_error';
    case 401: return 'authentication_error';
    case 402: return 'billing_error';
    case 403: return 'permission_error';
    case 404: return 'not_found_error';
    case 413: return 'request_too_large';
    case 429: return 'rate_limit_error';
    case 503: case 529: return 'overloaded_error';
    case 504: return 'timeout_error';
    default: return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

export function isAnthropicErrorType(type: unknown): type is string {
  return typeof type === 'string' && Object.hasOwn(STATUS_BY_ERROR_TYPE, type);
}

const MAX_RAW_MESSAGE = 500;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseMaybeJson(body: unknown): unknown {
  let text: string | undefined;
  if (typeof body === 'string') text = body;
  else if (body instanceof Uint8Array) text = new TextDecoder().decode(body);
  if (text === undefined) return body;
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      // not JSON after all: fall through and report the text
    }
  }
  return trimmed;
}

/**
 * Anthropic `{type:'error', error:{type, message}}` -> what went wrong.
 * Tolerates anything: a proxy's HTML page, an OpenAI-shaped body, nothing.
 */
export function decodeAnthropicError(status: number, body: unknown): UpstreamErrorInfo {
  const parsed = parseMaybeJson(body);
  if (isRecord(parsed)) {
    const inner = parsed.error;
    if (isRecord(inner)) {
      const type = typeof inner.type === 'string' ? inner.type : undefined;
      const message = typeof inner.message === 'string' && inner.message !== ''
        ? inner.message
        : `Anthropic returned HTTP ${status}${type === undefined ? '' : ` (${type})`}.`;
      const info: UpstreamErrorInfo = { message };
      if (type !== undefined) {
        info.type = type;
        // Anthropic has no separate error code; its type is the machine-readable one.
        info.code = typeof inner.code === 'string' ? inner.code : type;
      } else if (typeof inner.code === 'string') {
        info.code = inner.code;
      }
      return info;
    }
    if (typeof inner === 'string' && inner !== '') return { message: inner };
    if (typeof parsed.message === 'string' && parsed.message !== '') return { message: parsed.message };
  }
  if (typeof parsed === 'string' && parsed !== '') {
    const text = parsed.length > MAX_RAW_MESSAGE ? `${parsed.slice(0, MAX_RAW_MESSAGE)}...` : parsed;
    return { message: `Anthropic returned HTTP ${status}: ${text}` };
  }
  return { message: `Anthropic returned HTTP ${status}.` };
}
