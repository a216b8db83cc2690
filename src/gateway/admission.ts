/**
 * Overload shedding: at most `limits.max_in_flight` client requests in flight
 * in this process, from their arrival to their last byte (a stream counts
 * until it ends, a Responses WebSocket message until its response is done),
 * and an optional short queue (`limits.max_queue`, each waiting at most
 * `limits.queue_timeout_ms`). Beyond that a request is refused at once with
 * 503 and Retry-After, in the caller's format, instead of queueing without
 * bound: the requests already admitted keep their latency, and the process
 * keeps its memory.
 *
 * The limiter is the per-provider one (concurrency.ts) with the gateway's
 * errors; `tryAcquire()` allocates nothing, only a request that queues waits
 * on a promise. The management API, /health, /metrics and the dashboard are
 * never counted nor refused (src/api/admission-gate.ts decides what is).
 */
import { GatewayError } from '../errors/gateway-error.js';
import { ConcurrencyLimiter, type ConcurrencySettings } from './concurrency.js';

export interface OverloadSettings {
  /** 0: no limit (requests are only counted). */
  maxInFlight: number;
  maxQueue: number;
  queueTimeoutMs: number;
}

/** Seconds a refused caller is told to wait: a short burst has usually passed by then. */
export const SHED_RETRY_AFTER_S = 1;

function limiterSettings(settings: OverloadSettings): ConcurrencySettings {
  const limited = settings.maxInFlight > 0;
  return {
    maxInFlight: limited ? settings.maxInFlight : Infinity,
    maxQueue: limited ? settings.maxQueue : 0,
    queueTimeoutMs: settings.queueTimeoutMs,
  };
}

export class Admission extends ConcurrencyLimiter {
  /** Gives a slot back; a listener for the 'close' event of the exchange that holds it (no closure per request). */
  readonly releaseOne = (): void => this.release();

  constructor(settings: OverloadSettings) {
    super('gateway', limiterSettings(settings));
  }

  configure(settings: OverloadSettings): void {
    this.update(limiterSettings(settings));
  }

  /** The configured limit, undefined when there is none. */
  get limit(): number | undefined {
    return Number.isFinite(this.settings.maxInFlight) ? this.settings.maxInFlight : undefined;
  }

  override queueFullError(): GatewayError {
    const queue = this.settings.maxQueue > 0 ? ` and ${this.settings.maxQueue} waiting (limits.max_queue)` : '';
    return new GatewayError(
      'HD_ERR_OVERLOADED',
      `The gateway is overloaded: ${this.settings.maxInFlight} requests in flight (limits.max_in_flight)${queue}. Retry after ${SHED_RETRY_AFTER_S} s.`,
      { retryAfter: SHED_RETRY_AFTER_S },
    );
  }

  override queueTimeoutError(): GatewayError {
    return new GatewayError(
      'HD_ERR_OVERLOADED',
      `The gateway is overloaded: no request slot freed up within ${this.settings.queueTimeoutMs} ms (limits.queue_timeout_ms; ${this.settings.maxInFlight} in flight). Retry after ${SHED_RETRY_AFTER_S} s.`,
      { retryAfter: SHED_RETRY_AFTER_S },
    );
  }
}
