/**
 * What went wrong with one upstream attempt, classified once so the retry
 * policy, the router and the error renderer all read the same facts.
 */
import { GatewayError } from '../errors/gateway-error.js';

export type FailureKind =
  /** The provider answered with an HTTP error status. */
  | 'http'
  /** Connect, first-byte, idle or total timeout. */
  | 'timeout'
  /** Connection refused, reset, DNS failure, socket closed early. */
  | 'network'
  /** The provider's answer could not be decoded. */
  | 'bad_response'
  /** The caller went away; nothing to retry. */
  | 'aborted';

export class UpstreamFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly status: number | undefined = undefined,
    /** From Retry-After / retry-after-ms, in milliseconds. */
    readonly retryAfterMs: number | undefined = undefined,
    /** The provider's `x-should-retry` header, when sent. */
    readonly shouldRetry: boolean | undefined = undefined,
    readonly upstreamType: string | undefined = undefined,
    readonly upstreamCode: string | undefined = undefined,
    readonly param: string | undefined = undefined,
  ) {
    super(message);
    this.name = 'UpstreamFailure';
  }

  /** The error the caller sees when this failure is final. */
  toGatewayError(provider: string): GatewayError {
    switch (this.kind) {
      case 'timeout':
        return new GatewayError('HD_ERR_UPSTREAM_TIMEOUT', `${provider}: ${this.message}`);
      case 'network':
        return new GatewayError('HD_ERR_UPSTREAM_UNREACHABLE', `${provider} could not be reached: ${this.message}`);
      case 'bad_response':
        return new GatewayError('HD_ERR_UPSTREAM_BAD_RESPONSE', `${provider} sent an invalid response: ${this.message}`);
      case 'aborted':
        return new GatewayError('HD_ERR_UPSTREAM_ERROR', 'The request was cancelled by the client.', { status: 499 });
      default: {
        const status = this.status ?? 502;
        // A provider 4xx is the caller's problem and keeps its status; a 5xx stays a 5xx.
        const retryAfter = this.retryAfterMs === undefined ? undefined : this.retryAfterMs / 1000;
        return new GatewayError('HD_ERR_UPSTREAM_ERROR', this.message, {
          status: status >= 400 && status <= 599 ? status : 502,
          upstreamType: this.upstreamType ?? null,
          upstreamCode: this.upstreamCode ?? null,
          param: this.param ?? null,
          retryAfter,
        });
      }
    }
  }
}

/** Retry-After as openai-node reads it: `retry-after-ms`, then `retry-after` seconds or HTTP date. */
export function parseRetryAfter(headers: Record<string, string | string[] | undefined>, now: number): number | undefined {
  const ms = headers['retry-after-ms'];
  if (typeof ms === 'string') {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const header = headers['retry-after'];
  if (typeof header !== 'string') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  if (Number.isFinite(date)) return Math.max(0, date - now);
  return undefined;
}

const NETWORK_CODES = new Map([
  ['ECONNREFUSED', 'connection refused'],
  ['ECONNRESET', 'connection reset by the provider'],
  ['EPIPE', 'connection closed by the provider while sending'],
  ['ENOTFOUND', 'host not found (DNS)'],
  ['EAI_AGAIN', 'DNS lookup failed'],
  ['EHOSTUNREACH', 'host unreachable'],
  ['ENETUNREACH', 'network unreachable'],
  ['UND_ERR_SOCKET', 'the provider closed the connection'],
  ['UND_ERR_CLOSED', 'the connection was closed'],
  ['UND_ERR_DESTROYED', 'the connection was destroyed'],
  ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'the response was cut short'],
]);
const TIMEOUT_CODES = new Map([
  ['UND_ERR_CONNECT_TIMEOUT', 'connect timeout'],
  ['UND_ERR_HEADERS_TIMEOUT', 'no response before the first-byte timeout'],
  ['UND_ERR_BODY_TIMEOUT', 'response stalled longer than the idle timeout'],
  ['ETIMEDOUT', 'connection timed out'],
]);

/** Classifies an error thrown by undici (or our own total-timeout abort). */
export function classifyTransportError(error: unknown, clientAborted: boolean, totalTimedOut: boolean): UpstreamFailure {
  if (error instanceof UpstreamFailure) return error;
  if (totalTimedOut) return new UpstreamFailure('timeout', 'no complete response before the total timeout');
  if (clientAborted) return new UpstreamFailure('aborted', 'client closed the connection');
  const code = (error as { code?: string } | null)?.code;
  if (code !== undefined) {
    const timeout = TIMEOUT_CODES.get(code);
    if (timeout !== undefined) return new UpstreamFailure('timeout', timeout);
    const network = NETWORK_CODES.get(code);
    if (network !== undefined) return new UpstreamFailure('network', `${network} (${code})`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new UpstreamFailure('network', message);
}
