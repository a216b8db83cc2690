/**
 * Capacity-based admission: a limit on the rate of new client requests,
 * derived from what this process serves, that holds the event loop's delay
 * near a target (`limits.capacity_target_delay_ms`).
 *
 * Why the event loop's delay: when the CPU is what runs out, requests wait in
 * the kernel's socket buffers before the process reads them, so a count of
 * requests in flight does not see them; the loop, though, runs late by about
 * as long as a new request waits to be read. The delay is the process's own
 * CPU time (its and its neighbours' claim on the cores), never the time spent
 * waiting for a provider: a thousand calls held by a slow upstream cost no
 * CPU and do not move it.
 *
 * The control is CoDel's idea on a rate: every 100 ms window, the mean
 * lateness of a 10 ms timer is compared with the target. The loop counts as
 * late only while it is also busy (it had work for at least 90% of the
 * window): a loop that waits for work, yet wakes up late, is short of CPU
 * because of other processes on the machine, and refusing its few requests
 * would not give it any back.
 * - Late for two windows in a row, with no limit yet, while requests arrive
 *   (at least the minimum rate; one late window is a burst or a
 *   garbage-collection pause, a start-up is not requests): the limit
 *   starts at 90% of the rate the process has been admitting or completing
 *   requests at (averaged, or in the last window), whichever is higher (what
 *   it serves now).
 * - Late, limited: the limit falls by 10%, at most every other window (the
 *   backlog in the socket buffers takes a moment to drain).
 * - On time and the limit refused something: it rises, by 20% (+1) while the
 *   delay is under half the target, else by 5% (+1).
 * - On time and the limit refused nothing for a second: no limit.
 * Requests over the limit are refused at once (503, Retry-After), before
 * their body is read; a refusal costs a fraction of a served request, which is
 * why the admitted share can keep its latency at twice the capacity.
 *
 * Memory is fixed (a token bucket and a few counters); `tryTake()` and
 * `hasCapacity()` allocate nothing. Time is passed in, so the controller is
 * tested without a clock; `LoopDelaySampler` feeds it in the process.
 */

export interface CapacitySettings {
  /** The mean event-loop delay (ms) the limit keeps the process under; 0: off (no limit ever). */
  targetDelayMs: number;
  /** The limit never goes below this many requests a second. */
  minRate: number;
}

/** One control step. */
export const WINDOW_MS = 100;
/** The sampling timer's period. */
export const SAMPLE_MS = 10;
/** Windows without a refusal, on time, before the limit is lifted. */
const CALM_WINDOWS = 10;
/** Windows after a decrease before the next one. */
const HOLD_WINDOWS = 2;
/** Weight of the newest window in the completed-rate average. */
const RATE_WEIGHT = 0.3;
/** The share of a window the loop had work in, above which its lateness is its own load. */
export const BUSY_UTILIZATION = 0.9;

/** The share of the time since its last call that the event loop had work (not waiting for I/O). */
export type Utilization = () => number;

export class CapacityLimit {
  /** Requests a second admitted now; Infinity: no limit (the loop keeps up). */
  rate = Infinity;
  /** The last window's mean event-loop delay, ms. */
  delayMs = 0;
  /** Requests completed a second, a moving average over the last windows. */
  servedRate = 0;
  /** Requests refused by the limit since the start. */
  refusedTotal = 0;

  private tokens = 0;
  private refilledAt = 0;
  private windowStart: number;
  private lateSum = 0;
  private lateCount = 0;
  private served = 0;
  private admitted = 0;
  private refused = 0;
  private admittedRate = 0;
  /** The higher of the admitted and completed rates of the last window (the averages start at 0). */
  private lastWindowRate = 0;
  private lateWindows = 0;
  private holdUntil = 0;
  private calm = 0;

  /** The last window's event-loop utilization (0-1). */
  utilization = 0;

  constructor(
    public settings: CapacitySettings,
    now: number,
    private readonly loopUtilization: Utilization = () => 1,
  ) {
    this.windowStart = now;
  }

  get enabled(): boolean {
    return this.settings.targetDelayMs > 0;
  }

  configure(settings: CapacitySettings): void {
    this.settings = settings;
    if (!this.enabled) this.rate = Infinity;
    else if (Number.isFinite(this.rate)) this.rate = Math.max(this.rate, settings.minRate);
  }

  /** True while a new request may enter (the bucket has a token, or there is no limit). Takes nothing. */
  hasCapacity(now: number): boolean {
    if (this.rate === Infinity) return true;
    this.refill(now);
    return this.tokens >= 1;
  }

  /** An admitted request takes its token (the bucket may go into debt for a request that waited in the queue). */
  take(): void {
    this.admitted++;
    if (this.rate !== Infinity) this.tokens -= 1;
  }

  /** A request refused by the limit. */
  refuse(): void {
    this.refused++;
    this.refusedTotal++;
  }

  /** An admitted request finished (its last byte, or its client gone). */
  complete(): void {
    this.served++;
  }

  /** One sample of the loop's lateness; closes the window when it is over. */
  observe(lateMs: number, now: number): void {
    this.lateSum += lateMs;
    this.lateCount++;
    if (now - this.windowStart >= WINDOW_MS) this.closeWindow(now);
  }

  private refill(now: number): void {
    const burst = Math.max(1, this.rate * (WINDOW_MS / 2000)); // half a window's worth
    this.tokens = Math.min(burst, this.tokens + ((now - this.refilledAt) * this.rate) / 1000);
    this.refilledAt = now;
  }

  private closeWindow(now: number): void {
    const elapsed = now - this.windowStart;
    this.lastWindowRate = (Math.max(this.served, this.admitted) * 1000) / elapsed;
    this.servedRate = average(this.servedRate, (this.served * 1000) / elapsed);
    this.admittedRate = average(this.admittedRate, (this.admitted * 1000) / elapsed);
    const delay = this.lateCount > 0 ? this.lateSum / this.lateCount : 0;
    this.delayMs = delay;
    this.utilization = this.loopUtilization();
    const { targetDelayMs, minRate } = this.settings;
    if (this.enabled) {
      if (delay > targetDelayMs && this.utilization >= BUSY_UTILIZATION) {
        this.calm = 0;
        this.lateWindows++;
        const onset = this.lateWindows >= 2 && this.admittedRate >= minRate;
        if (now >= this.holdUntil && (this.rate !== Infinity || onset)) this.decrease(now, minRate);
      } else if (this.rate !== Infinity) {
        this.lateWindows = 0;
        if (this.refused > 0) {
          this.calm = 0;
          this.rate = this.rate * (delay <= targetDelayMs / 2 ? 1.2 : 1.05) + 1;
        } else if (++this.calm >= CALM_WINDOWS) {
          this.rate = Infinity;
          this.calm = 0;
        }
      } else {
        this.lateWindows = 0;
      }
    }
    this.windowStart = now;
    this.lateSum = 0;
    this.lateCount = 0;
    this.served = 0;
    this.admitted = 0;
    this.refused = 0;
  }

  private decrease(now: number, minRate: number): void {
    if (this.rate === Infinity) {
      this.rate = Math.max(minRate, Math.max(this.servedRate, this.admittedRate, this.lastWindowRate) * 0.9);
      this.tokens = 0;
      this.refilledAt = now;
    } else {
      this.rate = Math.max(minRate, this.rate * 0.9);
    }
    this.holdUntil = now + HOLD_WINDOWS * WINDOW_MS;
  }
}

function average(previous: number, latest: number): number {
  return previous * (1 - RATE_WEIGHT) + latest * RATE_WEIGHT;
}

/** The event loop's utilization since the previous call (performance.eventLoopUtilization). */
export function eventLoopUtilization(): Utilization {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return utilization;
  };
}

/**
 * A 10 ms timer that reports how late each of its runs is: while the loop is
 * busy, the timer runs once per loop turn, so its lateness is about a turn's
 * length less 10 ms, the wait a newly arrived request has before it is read.
 */
export class LoopDelaySampler {
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  constructor(private readonly limit: CapacityLimit) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.last = performance.now();
    this.timer = setInterval(this.tick, SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private readonly tick = (): void => {
    const now = performance.now();
    this.limit.observe(Math.max(0, now - this.last - SAMPLE_MS), now);
    this.last = now;
  };
}
