/**
 * Bedrock errors: the JSON body `{"message": "..."}` of a failed call, and the
 * exception frames of a failed ConverseStream.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html#API_runtime_ConverseStream_Errors
 */
import type { UpstreamErrorInfo } from '../types.js';

/**
 * Exception name (lower camel case, as in `:exception-type`) -> the HTTP status
 * Heimdall reports. Differs from AWS where AWS's status means nothing to an
 * OpenAI client: a model stream error (AWS 424) is an upstream failure (502),
 * a model that is not ready (AWS 429) is temporarily unavailable (503).
 */
const EXCEPTION_STATUS: Readonly<Record<string, number>> = {
  validationException: 400,
  accessDeniedException: 403,
  resourceNotFoundException: 404,
  modelTimeoutException: 504,
  throttlingException: 429,
  serviceQuotaExceededException: 429,
  modelNotReadyException: 503,
  modelErrorException: 502,
  modelStreamErrorException: 502,
  internalServerException: 500,
  serviceUnavailableException: 503,
};

/** The other direction, for a non-stream error whose body names no exception. */
const STATUS_EXCEPTION: Readonly<Record<number, string>> = {
  400: 'ValidationException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  424: 'ModelErrorException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** `ThrottlingException`, `throttlingException` or `com.amazon...#ThrottlingException:` -> status. */
export function exceptionStatus(name: string): number {
  const bare = name.slice(name.lastIndexOf('#') + 1).split(':')[0];
  return EXCEPTION_STATUS[lowerFirst(bare)] ?? 502;
}

function messageOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.length > 0 ? body : undefined;
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const message = record.message ?? record.Message;
  return typeof message === 'string' ? message : undefined;
}

export function decodeBedrockError(status: number, body: unknown): UpstreamErrorInfo {
  const declared = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).__type : undefined;
  const type = typeof declared === 'string'
    ? declared.slice(declared.lastIndexOf('#') + 1).split(':')[0]
    : STATUS_EXCEPTION[status] ?? (status >= 500 ? 'InternalServerException' : 'ValidationException');
  return {
    message: messageOf(body) ?? `Bedrock returned HTTP ${status}.`,
    type,
    code: type,
  };
}
