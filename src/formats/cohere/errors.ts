/**
 * Cohere error bodies (`{"id"?, "message"}`) -> UpstreamErrorInfo. The body
 * names no error type, so the type comes from the status, as the Cohere SDK's
 * error classes do.
 * @see https://docs.cohere.com/reference/errors
 */
import type { UpstreamErrorInfo } from '../types.js';

const STATUS_TYPES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  402: 'payment_required',
  403: 'forbidden',
  404: 'not_found',
  422: 'unprocessable_entity',
  429: 'too_many_requests',
  498: 'invalid_token',
  499: 'client_closed_request',
  500: 'internal_server_error',
  501: 'not_implemented',
  503: 'service_unavailable',
  504: 'gateway_timeout',
};

export function decodeCohereError(status: number, body: unknown): UpstreamErrorInfo {
  let message: string | undefined;
  if (typeof body === 'string' && body !== '') message = body;
  else if (typeof body === 'object' && body !== null) {
    const value = (body as Record<string, unknown>).message;
    if (typeof value === 'string') message = value;
  }
  const type = STATUS_TYPES[status] ?? (status >= 500 ? 'internal_server_error' : 'bad_request');
  return { message: message ?? `Cohere returned HTTP ${status}.`, type, code: type };
}
