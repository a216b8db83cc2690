import { ERROR_CODES } from './codes.js';
import { GatewayError } from './gateway-error.js';

/** The three error formats a caller can speak (DESIGN.md, Part 1). */
export type ErrorFormat = 'openai' | 'anthropic' | 'gemini';

export interface RenderedError {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** @see https://docs.anthropic.com/en/api/errors */
function anthropicType(status: number): string {
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

/** @see https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes */
function geminiStatus(status: number): string {
  switch (status) {
    case 400: case 413: return 'INVALID_ARGUMENT';
    case 401: return 'UNAUTHENTICATED';
    case 402: return 'FAILED_PRECONDITION';
    case 403: return 'PERMISSION_DENIED';
    case 404: return 'NOT_FOUND';
    case 409: return 'ABORTED';
    case 429: return 'RESOURCE_EXHAUSTED';
    case 499: return 'CANCELLED';
    case 501: return 'UNIMPLEMENTED';
    case 503: return 'UNAVAILABLE';
    case 504: return 'DEADLINE_EXCEEDED';
    default: return status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION';
  }
}

/** Anything thrown becomes a GatewayError; unknown errors hide their internals. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError('HD_ERR_INTERNAL', 'Internal gateway error.', { cause: error });
}

/** Refusals that retrying cannot fix: SDKs are told not to retry them. */
const NO_RETRY: ReadonlySet<string> = new Set(['HD_ERR_BUDGET_EXCEEDED', 'HD_ERR_AUTH_FORBIDDEN', 'HD_ERR_AUTH_TEAM_DISABLED', 'HD_ERR_AUTH_CUSTOMER_DISABLED']);

export function errorHeaders(error: GatewayError): Record<string, string> {
  const headers: Record<string, string> = { ...error.headers };
  if (error.retryAfter !== undefined) headers['retry-after'] = String(Math.max(0, Math.ceil(error.retryAfter)));
  // SDKs retry 5xx and 429 on their own; a refusal that retrying cannot fix says so.
  if (NO_RETRY.has(error.code)) headers['x-should-retry'] = 'false';
  return headers;
}

export function renderError(error: GatewayError, format: ErrorFormat): RenderedError {
  const status = error.status;
  const headers = errorHeaders(error);
  const message = error.status >= 500 && error.code === 'HD_ERR_INTERNAL'
    ? ERROR_CODES.HD_ERR_INTERNAL.description.split(';')[0] + '.'
    : error.message;
  switch (format) {
    case 'anthropic':
      return { status, headers, body: { type: 'error', error: { type: anthropicType(status), message } } };
    case 'gemini':
      return { status, headers, body: { error: { code: status, message, status: geminiStatus(status) } } };
    default:
      return {
        status,
        headers,
        body: { error: { message, type: error.type, param: error.param, code: error.publicCode } },
      };
  }
}
