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
import type { Socket } from 'node:net';
import { GatewayError } from '../errors/gateway-error.js';
import { renderError, type ErrorFormat } from '../errors/render.js';
import { CapacityLimit, LoopDelaySampler, eventLoopUtilization, processCpuShare, type CapacitySettings } from './capacity-limit.js';
import { ConcurrencyLimiter, type ConcurrencySettings } from './concurrency.js';
import type { Logger } from '../telemetry/logger.js';

export interface OverloadSettings {
  /** 0: no limit (requests are only counted). */
  maxInFlight: number;
  maxQueue: number;
  queueTimeoutMs: number;
  /** Refuse new requests while the event loop runs this late (ms); 0: off. */
  maxEventLoopDelayMs: number;
  /** The capacity limit (capacity-limit.ts): a rate of new requests that keeps the loop's delay near a target. */
  capacity: CapacitySettings;
}

/** How often the event loop's delay is sampled while the delay limit is on. */
const LAG_SAMPLE_MS = 50;

/**
 * The event loop's delay: how late a 50 ms interval timer fired, the worst of the last second's
 * samples. A process whose CPU is saturated reads requests later and later (the queue is in the
 * kernel's socket buffers, not in flight); this is how it notices.
 */
class LoopDelay {
  private timer: NodeJS.Timeout | undefined;
  private expected = 0;
  private readonly samples = new Float64Array(Math.round(1000 / LAG_SAMPLE_MS));
  private next = 0;
  /** The largest delay of the last second's samples, ms. */
  delayMs = 0;

  start(): void {
    if (this.timer !== undefined) return;
    this.expected = performance.now() + LAG_SAMPLE_MS;
    this.timer = setInterval(() => this.sample(), LAG_SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.samples.fill(0);
    this.delayMs = 0;
  }

  private sample(): void {
    const now = performance.now();
    this.samples[this.next] = Math.max(0, now - this.expected);
    this.next = (this.next + 1) % this.samples.length;
    this.expected = now + LAG_SAMPLE_MS;
    let worst = 0;
    for (const delay of this.samples) if (delay > worst) worst = delay;
    this.delayMs = worst;
  }
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

/**
 * In `--workers N`, a capacity refusal closes its connection, at most one each this many ms: node:cluster
 * hands each connection to one worker for its life, and a client's pool sends most requests on the few
 * connections it opened first, so one worker can get most of the load while its sibling idles; its fast
 * refusals then free those connections for more of the same. A closed connection is opened again by the
 * client and dealt to the next worker.
 */
export const CONNECTION_SHED_MS = 10;

/** A refusal rendered once: its status, its headers as name/value pairs (for writeHead) and its body. */
export interface RenderedRefusal {
  readonly status: number;
  readonly headers: readonly string[];
  readonly body: Buffer;
}

export class Admission extends ConcurrencyLimiter {
  /** Gives a slot back; a listener for the 'close' event of the exchange that holds it (no closure per request). */
  readonly releaseOne = (): void => this.release();
  /**
   * A listener for the server's 'connection' event: the capacity limit counts the connections accepted
   * and closed (its sign of a listen queue that never empties, capacity-limit.ts). One shared listener
   * per connection, no closure.
   */
  readonly connectionOpened = (socket: Socket): void => {
    this.capacity.accepted();
    socket.on('close', this.connectionClosed);
  };
  private readonly connectionClosed = (): void => this.capacity.closed();
  private readonly loop = new LoopDelay();
  private maxEventLoopDelayMs = 0;
  /** The rate of new requests this process serves now (limits.capacity_target_delay_ms). */
  readonly capacity: CapacityLimit;
  private readonly sampler: LoopDelaySampler;
  private capacityRefusal: { rate: number; error: GatewayError } | undefined;
  private readonly capacityResponses = new Map<ErrorFormat, { rate: number; response: RenderedRefusal }>();
  private limitRefusal: { settings: ConcurrencySettings; error: GatewayError } | undefined;
  /** Set in a `--workers N` worker: capacity refusals close their connections (CONNECTION_SHED_MS). */
  closeRefusedConnections = false;
  private connectionClosedAt = -Infinity;

  constructor(settings: OverloadSettings, logger?: Logger) {
    super('gateway', limiterSettings(settings));
    this.capacity = new CapacityLimit(settings.capacity, performance.now(), eventLoopUtilization(), processCpuShare());
    this.sampler = new LoopDelaySampler(this.capacity, (limited) => {
      const capacity = this.capacity;
      const state = { loop_delay_ms: Math.round(capacity.delayMs), refused_total: capacity.refusedTotal };
      // One line when the limit is set and one when it is lifted, not one per refused request.
      if (limited) logger?.warn({ ...state, rate: Math.round(capacity.rate), sign: capacity.onset }, 'overloaded: capacity limit set (new requests over this rate get 503)');
      else logger?.warn(state, 'capacity limit lifted');
    });
    this.configure(settings);
  }

  configure(settings: OverloadSettings): void {
    this.update(limiterSettings(settings));
    this.maxEventLoopDelayMs = settings.maxEventLoopDelayMs;
    if (settings.maxEventLoopDelayMs > 0) this.loop.start();
    else this.loop.stop();
    this.capacity.configure(settings.capacity);
    if (this.capacity.enabled) this.sampler.start();
    else this.sampler.stop();
  }

  /** A new request may enter under the capacity limit (takes nothing). */
  hasCapacity(): boolean {
    return this.capacity.hasCapacity(performance.now());
  }

  /** Gives a slot back; the capacity limit counts the request as served. */
  override release(): void {
    this.capacity.complete();
    super.release();
  }

  /** The event loop runs later than limits.max_event_loop_delay_ms: new requests are refused. */
  get lagging(): boolean {
    return this.maxEventLoopDelayMs > 0 && this.loop.delayMs > this.maxEventLoopDelayMs;
  }

  close(): void {
    this.loop.stop();
    this.sampler.stop();
  }

  /**
   * The refusal of the capacity limit: one error per limit value (the limit changes at most every
   * 100 ms), not one per refused request: under overload refusals are most of the work, and an
   * Error's stack trace is much of a refusal's cost.
   */
  capacityError(): GatewayError {
    const rate = Math.round(this.capacity.rate);
    if (this.capacityRefusal?.rate !== rate) {
      const error = new GatewayError(
        'HD_ERR_OVERLOADED',
        `The gateway is overloaded: its CPU is saturated and it admits about ${rate} new requests a second now (limits.capacity_target_delay_ms). Retry after ${SHED_RETRY_AFTER_S} s.`,
        { retryAfter: SHED_RETRY_AFTER_S },
      );
      this.capacityRefusal = { rate, error };
    }
    return this.capacityRefusal.error;
  }

  /**
   * The capacity limit's refusal as a whole response in `format`, rendered once per limit value:
   * under overload refusals are most of what arrives, and each must cost a small fraction of a
   * served request for the admitted ones to keep the CPU.
   */
  capacityResponse(format: ErrorFormat): RenderedRefusal {
    const rate = Math.round(this.capacity.rate);
    const cached = this.capacityResponses.get(format);
    if (cached?.rate === rate) return cached.response;
    const rendered = renderError(this.capacityError(), format);
    const body = Buffer.from(JSON.stringify(rendered.body));
    const headers: string[] = ['content-type', 'application/json', 'content-length', String(body.length)];
    for (const [name, value] of Object.entries(rendered.headers)) headers.push(name, value);
    const response = { status: rendered.status, headers, body };
    this.capacityResponses.set(format, { rate, response });
    return response;
  }

  /** Whether this capacity refusal closes its connection (a worker's, one each CONNECTION_SHED_MS). */
  closesConnection(now: number): boolean {
    if (!this.closeRefusedConnections || now - this.connectionClosedAt < CONNECTION_SHED_MS) return false;
    this.connectionClosedAt = now;
    return true;
  }

  loopDelayError(): GatewayError {
    return new GatewayError(
      'HD_ERR_OVERLOADED',
      `The gateway is overloaded: its event loop runs ${Math.round(this.loop.delayMs)} ms late (limits.max_event_loop_delay_ms is ${this.maxEventLoopDelayMs}). Retry after ${SHED_RETRY_AFTER_S} s.`,
      { retryAfter: SHED_RETRY_AFTER_S },
    );
  }

  /** The configured limit, undefined when there is none. */
  get limit(): number | undefined {
    return Number.isFinite(this.settings.maxInFlight) ? this.settings.maxInFlight : undefined;
  }

  /** The refusal at the in-flight limit, one per configuration (see capacityError). */
  override queueFullError(): GatewayError {
    if (this.limitRefusal?.settings !== this.settings) this.limitRefusal = { settings: this.settings, error: this.newQueueFullError() };
    return this.limitRefusal.error;
  }

  private newQueueFullError(): GatewayError {
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
