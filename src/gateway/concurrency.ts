/**
 * Per-provider concurrency limit with a bounded FIFO queue. The limiters live
 * on the Gateway, keyed by provider name, so in-flight counts survive a
 * reload; a reload only changes their limits. Every provider has one (an
 * unlimited one only counts), which is what the in-flight and queue-depth
 * gauges read.
 *
 * The request path calls `full()` while choosing a target (a provider whose
 * slots and queue are both full is skipped like an open circuit, so the next
 * target or an immediate 429 follows) and `tryAcquire()`, which allocates
 * nothing; only a call that has to queue waits on a promise.
 */
import { GatewayError } from '../errors/gateway-error.js';

export interface ConcurrencySettings {
  maxInFlight: number;
  maxQueue: number;
  queueTimeoutMs: number;
}

interface Waiter {
  resolve(): void;
  reject(error: GatewayError): void;
  timer: NodeJS.Timeout;
  done: boolean;
}

/** No limit: the limiter only counts calls in flight. */
export const UNLIMITED: Readonly<ConcurrencySettings> = Object.freeze({ maxInFlight: Infinity, maxQueue: 0, queueTimeoutMs: 0 });

export interface ConcurrencyView {
  provider: string;
  /** null: no limit. */
  max_in_flight: number | null;
  in_flight: number;
  queued: number;
  max_queue: number;
}

export class ConcurrencyLimiter {
  inFlight = 0;
  private queue: Waiter[] = [];
  private head = 0;

  constructor(
    readonly provider: string,
    public settings: ConcurrencySettings,
  ) {}

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** No free slot and no room in the queue. */
  full(): boolean {
    return this.inFlight >= this.settings.maxInFlight && this.queued >= this.settings.maxQueue;
  }

  /** Takes a slot if one is free. */
  tryAcquire(): boolean {
    if (this.inFlight < this.settings.maxInFlight && this.queued === 0) {
      this.inFlight++;
      return true;
    }
    return false;
  }

  /**
   * Waits for a slot: rejects at once when the queue is full, or after the queue timeout (or
   * `maxWaitMs`, the time left in the request's deadline, when that is shorter).
   */
  acquire(maxWaitMs = Infinity): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    if (this.queued >= this.settings.maxQueue) return Promise.reject(this.queueFullError());
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined as unknown as NodeJS.Timeout, done: false };
      waiter.timer = setTimeout(expire, Math.max(0, Math.min(this.settings.queueTimeoutMs, maxWaitMs)), this, waiter);
      this.queue.push(waiter);
    });
  }

  /** Gives a slot back: the oldest waiter takes it. */
  release(): void {
    this.inFlight--;
    this.drain();
  }

  /** New limits (reload): a larger limit lets waiters in at once. */
  update(settings: ConcurrencySettings): void {
    this.settings = settings;
    this.drain();
  }

  queueFullError(): GatewayError {
    return new GatewayError(
      'HD_ERR_QUEUE_FULL',
      `Provider "${this.provider}" is at its concurrency limit (${this.settings.maxInFlight} in flight) and its queue is full (${this.settings.maxQueue} waiting); retry shortly.`,
      { retryAfter: 1 },
    );
  }

  /** @internal the queue timer of one waiter. */
  expireWaiter(waiter: Waiter): void {
    if (waiter.done) return;
    waiter.done = true;
    const index = this.queue.indexOf(waiter, this.head);
    if (index !== -1) this.queue.splice(index, 1);
    waiter.reject(this.queueTimeoutError());
  }

  queueTimeoutError(): GatewayError {
    return new GatewayError(
      'HD_ERR_QUEUE_TIMEOUT',
      `Provider "${this.provider}" had no free slot within ${this.settings.queueTimeoutMs} ms (concurrency limit ${this.settings.maxInFlight}).`,
      { retryAfter: 1 },
    );
  }

  private drain(): void {
    while (this.inFlight < this.settings.maxInFlight && this.head < this.queue.length) {
      const waiter = this.queue[this.head++];
      if (waiter.done) continue;
      waiter.done = true;
      clearTimeout(waiter.timer);
      this.inFlight++;
      waiter.resolve();
    }
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    } else if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
  }
}

function expire(limiter: ConcurrencyLimiter, waiter: Waiter): void {
  limiter.expireWaiter(waiter);
}

/** The limiters of every provider that has a limit, kept across reloads. */
export class ConcurrencyRegistry {
  private readonly limiters = new Map<string, ConcurrencyLimiter>();

  /** The provider's limiter, with the given settings (undefined: no limit, counting only). */
  configure(provider: string, settings: ConcurrencySettings | undefined = UNLIMITED): ConcurrencyLimiter {
    let limiter = this.limiters.get(provider);
    if (limiter === undefined) {
      limiter = new ConcurrencyLimiter(provider, settings);
      this.limiters.set(provider, limiter);
    } else {
      limiter.update(settings);
    }
    return limiter;
  }

  /** Forgets providers that are gone (their in-flight calls still release the limiter they hold). */
  retain(providers: ReadonlySet<string>): void {
    for (const name of this.limiters.keys()) if (!providers.has(name)) this.limiters.delete(name);
  }

  get(provider: string): ConcurrencyLimiter | undefined {
    return this.limiters.get(provider);
  }

  snapshot(): ConcurrencyView[] {
    return [...this.limiters.values()].map((l) => ({
      provider: l.provider,
      max_in_flight: Number.isFinite(l.settings.maxInFlight) ? l.settings.maxInFlight : null,
      in_flight: l.inFlight,
      queued: l.queued,
      max_queue: l.settings.maxQueue,
    }));
  }
}
