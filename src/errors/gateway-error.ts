import { ERROR_CODES, type ErrorCode } from './codes.js';

export interface GatewayErrorOptions {
  /** The request field at fault (OpenAI `param`). */
  param?: string | null;
  /** Override the registry status, e.g. to carry an upstream 4xx through. */
  status?: number;
  /** Override the rendered `code` (an upstream's own code). */
  upstreamCode?: string | null;
  /** Override the rendered `type` (an upstream's own type). */
  upstreamType?: string | null;
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
  /** Extra response headers (x-ratelimit-*). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** A coded error; one handler renders it in the caller's format (src/errors/render.ts). */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly param: string | null;
  readonly upstreamCode: string | null;
  readonly upstreamType: string | null;
  readonly retryAfter: number | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = options.status ?? ERROR_CODES[code].status;
    this.param = options.param ?? null;
    this.upstreamCode = options.upstreamCode ?? null;
    this.upstreamType = options.upstreamType ?? null;
    this.retryAfter = options.retryAfter;
    this.headers = options.headers;
  }

  get type(): string {
    return this.upstreamType ?? ERROR_CODES[this.code].type;
  }

  get publicCode(): string {
    return this.upstreamCode ?? ERROR_CODES[this.code].code;
  }
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}

export function invalidField(param: string, message: string): GatewayError {
  return new GatewayError('HD_ERR_REQUEST_INVALID_FIELD', message, { param });
}
