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

/**
 * Why a 2xx answer to a JSON call cannot be forwarded as the provider's JSON (a pass-through), or
 * undefined when it can. Cheap on purpose, it runs on every pass-through answer: the content-type
 * (when sent) must say JSON and the first non-blank byte must open an object or an array. A proxy's
 * HTML error page or a truncated body is caught here; the bytes are never parsed a second time.
 */
export function passthroughJsonProblem(headers: Record<string, string | string[] | undefined>, raw: Buffer): string | undefined {
  const type = headers['content-type'];
  const contentType = Array.isArray(type) ? type[0] : type;
  if (contentType !== undefined && !contentType.toLowerCase().includes('json')) {
    return `the answer is ${contentType.split(';')[0].trim() || 'not JSON'}, not JSON: ${snippet(raw)}`;
  }
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i];
    if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
    if (byte === 0x7b || byte === 0x5b) return undefined; // { or [
    return `the answer is not JSON: ${snippet(raw)}`;
  }
  return 'the answer is empty';
}

/** A stream answer whose content-type is a web page (a proxy's error page) is not the provider's stream. */
export function streamProblem(headers: Record<string, string | string[] | undefined>): string | undefined {
  const type = headers['content-type'];
  const contentType = Array.isArray(type) ? type[0] : type;
  return contentType !== undefined && contentType.toLowerCase().startsWith('text/html') ? 'the answer is an HTML page, not a stream' : undefined;
}

/**
 * A codec that could not decode a 2xx answer: the provider failed (an UpstreamFailure of kind
 * bad_response, counted against the key like any upstream failure), not the request. A GatewayError
 * the codec raised for another reason is returned as it is.
 */
export function decodeFailure(error: unknown): UpstreamFailure | GatewayError {
  if (error instanceof UpstreamFailure) return error;
  if (error instanceof GatewayError && error.code !== 'HD_ERR_UPSTREAM_BAD_RESPONSE') return error;
  return new UpstreamFailure('bad_response', error instanceof Error ? error.message : String(error));
}

function snippet(raw: Buffer): string {
  const text = raw.subarray(0, 120).toString('utf8').replace(/\s+/g, ' ').trim();
  return text === '' ? '(empty)' : raw.length > 120 ? `${text}...` : text;
}
