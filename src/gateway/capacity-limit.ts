/**
 * Capacity-based admission: while this process is overloaded, the rate of new
 * client requests it admits is held at what it serves (a token bucket at the
 * measured completion rate), and the rest are refused at once.
 *
 * Overloaded means more arrives than the process serves, for long enough that
 * it is not a pause. The evidence, over 100 ms windows:
 * - the event loop runs late: the mean lateness of a 10 ms timer is above the
 *   target (`limits.capacity_target_delay_ms`), and the loop had work for at
 *   least 90% of the window. When the CPU is what runs out, requests wait in
 *   the kernel's socket buffers before the process reads them, where no count
 *   of requests in flight sees them; the loop runs late by about as long as a
 *   new request waits to be read. A loop that waits for work yet wakes up
 *   late is short of CPU because of other processes, not of its own load.
 * - and the backlog grows: over a run of such windows, none draining (as
 *   many arrived, admitted or refused, as completed, within 10%), arrivals
 *   exceed completions by at least 32 requests and a quarter of the
 *   completions. A burst being worked off, a garbage-collection pause or a
 *   neighbour's stall make the loop late while fewer requests arrive than
 *   complete; a client that sends its next request when the last one is
 *   answered grows the backlog by no more than it has outstanding; requests
 *   held by a slow upstream do not make the loop late.
 * The limit is set once such a run has lasted 300 ms (and two windows), and
 * never while fewer than the minimum rate arrive or complete (requests held
 * by a slow provider complete none, however late the loop is for other
 * reasons). A run that keeps the loop late after the backlog stopped growing
 * (the clients out of connections) still counts its growth.

 * Once set, the limit starts at the completion rate measured over those
 * windows (what the process serves while saturated) and is adjusted each window:
 * - late and the delay not falling: down by 10%, at most every other window,
 *   never below half the completion rate measured when the limit was set
 *   (nor the minimum rate): refusals cost CPU too, and on a machine short of CPU the
 *   loop can stay late while it mostly refuses; the limit must not chase that
 *   down to nothing;
 * - on time and refusing: up, by 20% (+1) while the loop had idle time, else 5% (+1);
 * - no refusal for `CALM_WINDOWS` (the load fell under the limit): no limit.
 * Requests over the limit are refused at once (503, Retry-After), before their
 * body is read.
 *
 * Memory is fixed (a token bucket and a few counters); `hasCapacity()`,
 * `take()`, `refuse()` and `complete()` allocate nothing. Time is passed in,
 * so the controller is tested without a clock; `LoopDelaySampler` feeds it in
 * the process.
 */

export interface CapacitySettings {
  /** The mean event-loop delay (ms) over which a window is late; 0: off (no limit ever). */
  targetDelayMs: number;
  /** The limit never goes below this many requests a second, and is never set while fewer arrive. */
  minRate: number;
}

/** One control step. */
export const WINDOW_MS = 100;
/** The sampling timer's period. */
export const SAMPLE_MS = 10;
/** Time (ms) in late windows in a row, none draining, before the limit is set. */
export const ONSET_MS = 300;
/**
 * Requests the backlog must have grown by over that run (arrivals less completions), and its least
 * share of the completions: a client with a few dozen requests outstanding that sends the next one as
 * the last is answered never grows it by more than it has outstanding.
 */
export const ONSET_GROWTH = 32;
export const ONSET_GROWTH_SHARE = 0.25;
/**
 * The run must span at least this many windows: while the loop is saturated a window lasts one
 * loop turn, which can be longer than ONSET_MS, and one turn is not a trend.
 */
const MIN_RUN_WINDOWS = 2;
/** Windows without a refusal before the limit is lifted. */
export const CALM_WINDOWS = 10;
/** Windows after a decrease before the next one. */
const HOLD_WINDOWS = 2;
/** The share of a window the loop had work in, above which its lateness is its own load. */
export const BUSY_UTILIZATION = 0.9;
/** The limit never falls below this share of the best completion rate measured while saturated. */
export const FLOOR_SHARE = 0.5;

/** The share of the time since its last call that the event loop had work (not waiting for I/O). */
export type Utilization = () => number;

export class CapacityLimit {
  /** Requests a second admitted now; Infinity: no limit. */
  rate = Infinity;
  /** The last window's mean event-loop delay, ms. */
  delayMs = 0;
  /** The last window's event-loop utilization (0-1). */
  utilization = 0;
  /** The completion rate measured over the late windows that set the limit (0 without a limit). */
  servedRate = 0;
  /** Requests refused by the limit since the start. */
  refusedTotal = 0;

  private tokens = 0;
  private refilledAt = 0;
  private windowStart: number;
  private lateSum = 0;
  private lateCount = 0;
  // This window's counts.
  private completed = 0;
  private arrived = 0;
  private refused = 0;
  // The current run of late windows.
  private runWindows = 0;
  private runMs = 0;
  private runArrived = 0;
  private runCompleted = 0;
  private previousDelay = 0;
  private holdUntil = 0;
  private calm = 0;

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
    if (!this.enabled) this.lift();
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
    this.arrived++;
    if (this.rate !== Infinity) this.tokens -= 1;
  }

  /** A request refused by the limit (it arrived too). */
  refuse(): void {
    this.arrived++;
    this.refused++;
    this.refusedTotal++;
  }

  /** An admitted request finished (its last byte, or its client gone). */
  complete(): void {
    this.completed++;
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
    const delay = this.lateCount > 0 ? this.lateSum / this.lateCount : 0;
    this.delayMs = delay;
    this.utilization = this.loopUtilization();
    if (this.enabled) this.step(now, elapsed, delay);
    this.previousDelay = delay;
    this.windowStart = now;
    this.lateSum = 0;
    this.lateCount = 0;
    this.completed = 0;
    this.arrived = 0;
    this.refused = 0;
  }

  private step(now: number, elapsed: number, delay: number): void {
    const { targetDelayMs, minRate } = this.settings;
    const late = delay > targetDelayMs && this.utilization >= BUSY_UTILIZATION;
    // A run of late windows that do not drain (as many arrived as completed, within 10%).
    if (late && this.arrived >= this.completed * 0.9) {
      this.runWindows++;
      this.runMs += elapsed;
      this.runArrived += this.arrived;
      this.runCompleted += this.completed;
    } else {
      this.runWindows = 0;
      this.runMs = 0;
      this.runArrived = 0;
      this.runCompleted = 0;
    }
    if (this.rate === Infinity) {
      if (late) this.setOnEvidence(now, minRate);
      return;
    }
    if (this.refused > 0) this.calm = 0;
    else if (++this.calm >= CALM_WINDOWS) {
      this.lift();
      return;
    }
    if (late) {
      // Falling delay: the backlog drains at this rate; wait for it.
      if (now >= this.holdUntil && delay >= this.previousDelay * 0.9) {
        const floor = Math.max(minRate, this.servedRate * FLOOR_SHARE);
        if (this.rate > floor) this.rate = Math.max(floor, this.rate * 0.9);
        this.holdUntil = now + HOLD_WINDOWS * WINDOW_MS;
      }
    } else if (this.refused > 0) {
      this.rate = this.rate * (this.utilization < BUSY_UTILIZATION ? 1.2 : 1.05) + 1;
    }
  }

  /**
   * Sets the limit when the run of late windows is evidence of overload, not of a pause (see the
   * file's comment), at the completion rate over that run. At least the minimum rate arrived and
   * completed: a process whose requests wait for a provider completes none of them however many
   * arrive, and its late loop is not their doing.
   */
  private setOnEvidence(now: number, minRate: number): void {
    if (this.runWindows < MIN_RUN_WINDOWS || this.runMs < ONSET_MS) return;
    const growth = this.runArrived - this.runCompleted;
    if (growth < Math.max(ONSET_GROWTH, this.runCompleted * ONSET_GROWTH_SHARE)) return;
    const completedRate = (this.runCompleted * 1000) / this.runMs;
    if ((this.runArrived * 1000) / this.runMs < minRate || completedRate < minRate) return;
    this.set(now, completedRate);
  }

  private set(now: number, measured: number): void {
    this.rate = Math.max(this.settings.minRate, measured);
    this.servedRate = measured;
    this.tokens = Math.max(1, this.rate * (WINDOW_MS / 2000));
    this.refilledAt = now;
    this.holdUntil = now + HOLD_WINDOWS * WINDOW_MS;
    this.calm = 0;
  }

  private lift(): void {
    this.rate = Infinity;
    this.calm = 0;
    this.servedRate = 0;
  }
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

  constructor(
    private readonly limit: CapacityLimit,
    /** Called when the limit is set or lifted (not on each adjustment). */
    private readonly onChange: (limited: boolean) => void = () => undefined,
  ) {}

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
    const limited = this.limit.rate !== Infinity;
    this.limit.observe(Math.max(0, now - this.last - SAMPLE_MS), now);
    this.last = now;
    if (limited !== (this.limit.rate !== Infinity)) this.onChange(!limited);
  };
}
