/**
 * Rate-limit counters, one per (scope, rule[, model]). Two algorithms:
 *
 * - sliding: an exact sliding window. A request counts for `window` after it
 *   was admitted; tokens count for `window` after the request settled, and
 *   in-flight requests hold their estimate until then.
 * - token_bucket: a bucket of `limit` that refills continuously at
 *   limit / window; bursts up to the limit, then the steady rate.
 *
 * A request is admitted while the count is below the limit: the request limit
 * is exact; a token limit can be passed by the last request admitted (its real
 * size is known only after it ran), as with any provider's token limits.
 * Time comes from the caller (an injectable clock), never from Date.now here.
 *
 * A counter can be saved and restored (`snapshot()` / `LimitCounter.restore()`),
 * so a key at its limit stays limited across a restart: the spend writer saves
 * the counters that changed with each batch, off the request path. A sliding
 * window with many entries is saved in at most SNAPSHOT_ENTRIES buckets, each
 * stamped with the time of its newest entry: restored amounts leave the window
 * no earlier than they would have (a restart never frees capacity early).
 */

export type Algorithm = 'sliding' | 'token_bucket';

/** The saved form of a counter: the amounts still in a sliding window, or a bucket's level. */
export type CounterSnapshot =
  | { algorithm: 'sliding'; entries: Array<[time: number, amount: number]> }
  | { algorithm: 'token_bucket'; level: number; updated_at: number };

/** Most entries a sliding window snapshot keeps (more are merged into buckets). */
export const SNAPSHOT_ENTRIES = 256;

export interface CounterState {
  limit: number;
  remaining: number;
  /** ms until the counter is back to its full limit. */
  resetMs: number;
}

/** Timestamped amounts in arrival order with a running sum; the consumed head is compacted in bulk. */
class SlidingLog {
  private times: number[] = [];
  private amounts: number[] = [];
  private head = 0;
  sum = 0;

  prune(cutoff: number): void {
    let head = this.head;
    const times = this.times;
    while (head < times.length && times[head] <= cutoff) {
      this.sum -= this.amounts[head];
      head++;
    }
    if (head > 1024 && head * 2 > times.length) {
      this.times = times.slice(head);
      this.amounts = this.amounts.slice(head);
      head = 0;
    }
    this.head = head;
    if (this.head === this.times.length) this.sum = 0;
  }

  add(time: number, amount: number): void {
    if (amount <= 0) return;
    this.sum += amount;
    // Amounts counted in the same millisecond leave the window together, so one entry holds them: a
    // window of a minute at 2,000 requests/s keeps at most 60,000 entries, not 120,000.
    const last = this.times.length - 1;
    if (last >= this.head && this.times[last] === time) {
      this.amounts[last] += amount;
      return;
    }
    this.times.push(time);
    this.amounts.push(amount);
  }

  /** The time after which the sum drops below `limit` (the oldest entries expire first). */
  freeAt(limit: number, window: number, extra: number): number | undefined {
    let sum = this.sum + extra;
    for (let i = this.head; i < this.times.length; i++) {
      if (sum < limit) return undefined;
      sum -= this.amounts[i];
      if (sum < limit) return this.times[i] + window;
    }
    return undefined;
  }

  /** Live entries, at most `max`: beyond it, merged into buckets of window / max stamped with their newest time. */
  entries(window: number, max: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const count = this.times.length - this.head;
    if (count <= max) {
      for (let i = this.head; i < this.times.length; i++) out.push([this.times[i], this.amounts[i]]);
      return out;
    }
    // The live entries span at most one window: max - 1 widths, however aligned, touch at most max buckets.
    const width = Math.max(1, Math.ceil(window / (max - 1)));
    let bucket = Number.NaN;
    for (let i = this.head; i < this.times.length; i++) {
      const time = this.times[i];
      const index = Math.floor(time / width);
      const last = out[out.length - 1];
      if (index === bucket && last !== undefined) {
        last[0] = time;
        last[1] += this.amounts[i];
      } else {
        out.push([time, this.amounts[i]]);
        bucket = index;
      }
    }
    return out;
  }

  newest(): number | undefined {
    return this.head < this.times.length ? this.times[this.times.length - 1] : undefined;
  }

  get empty(): boolean {
    return this.head >= this.times.length;
  }
}

/** One limit (requests or tokens) under one algorithm. */
export class LimitCounter {
  private readonly log: SlidingLog | undefined;
  private level: number;
  private updatedAt: number;
  /** Estimates of admitted requests not yet settled (token limits). */
  inFlight = 0;
  lastUsedAt: number;
  /** Counted something since the last snapshot was taken (the spend writer saves it). */
  dirty = false;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    readonly algorithm: Algorithm,
    now: number,
  ) {
    this.log = algorithm === 'sliding' ? new SlidingLog() : undefined;
    this.level = limit;
    this.updatedAt = now;
    this.lastUsedAt = now;
  }

  private refresh(now: number): void {
    if (this.log !== undefined) {
      this.log.prune(now - this.windowMs);
      return;
    }
    if (now > this.updatedAt) {
      this.level = Math.min(this.limit, this.level + ((now - this.updatedAt) * this.limit) / this.windowMs);
      this.updatedAt = now;
    }
  }

  /** Used amount: counted in the window (or taken from the bucket) plus in flight. */
  used(now: number): number {
    this.refresh(now);
    const counted = this.log !== undefined ? this.log.sum : this.limit - this.level;
    return counted + this.inFlight;
  }

  /** ms until one more request fits (used down to limit - 1); 0 when it fits now. */
  waitMs(now: number): number {
    const used = this.used(now);
    if (used + 1 <= this.limit) return 0;
    if (this.log !== undefined) {
      const freeAt = this.log.freeAt(this.limit, this.windowMs, this.inFlight);
      return freeAt === undefined ? this.windowMs : Math.max(1, freeAt - now);
    }
    const missing = used + 1 - this.limit;
    return Math.max(1, Math.ceil((missing * this.windowMs) / this.limit));
  }

  /** Counts `amount` now (a request, or the real tokens of a settled request). */
  add(now: number, amount: number): void {
    this.refresh(now);
    this.lastUsedAt = now;
    if (amount > 0) this.dirty = true;
    if (this.log !== undefined) this.log.add(now, amount);
    else this.level -= amount;
  }

  /** When the counter is back to its full limit with nothing in flight (a saved row can go then). */
  fullAt(now: number): number {
    return now + this.state(now).resetMs;
  }

  /** The counted amounts as of `now` (in-flight estimates are not saved: those requests die with the process). */
  snapshot(now: number): CounterSnapshot {
    this.refresh(now);
    if (this.log !== undefined) return { algorithm: 'sliding', entries: this.log.entries(this.windowMs, SNAPSHOT_ENTRIES) };
    return { algorithm: 'token_bucket', level: this.level, updated_at: this.updatedAt };
  }

  /** A counter from its snapshot (undefined when the snapshot does not fit the algorithm). */
  static restore(limit: number, windowMs: number, snapshot: CounterSnapshot, now: number): LimitCounter | undefined {
    const counter = new LimitCounter(limit, windowMs, snapshot.algorithm, now);
    if (snapshot.algorithm === 'sliding') {
      if (!Array.isArray(snapshot.entries)) return undefined;
      let previous = Number.NEGATIVE_INFINITY;
      for (const entry of snapshot.entries) {
        const [time, amount] = Array.isArray(entry) ? entry : [Number.NaN, Number.NaN];
        if (!Number.isFinite(time) || !Number.isFinite(amount)) return undefined;
        // Arrival order (a clock that stepped back): a later stamp only keeps the amount longer.
        previous = Math.max(previous, time);
        counter.log!.add(previous, amount);
      }
      counter.refresh(now);
    } else {
      if (!Number.isFinite(snapshot.level) || !Number.isFinite(snapshot.updated_at)) return undefined;
      counter.level = Math.min(limit, snapshot.level);
      counter.updatedAt = Math.min(now, snapshot.updated_at);
      counter.refresh(now);
    }
    return counter;
  }

  state(now: number): CounterState {
    const used = this.used(now);
    const remaining = Math.max(0, Math.floor(this.limit - used));
    let resetMs = 0;
    if (this.log !== undefined) {
      const newest = this.log.newest();
      if (newest !== undefined) resetMs = Math.max(0, newest + this.windowMs - now);
    } else if (this.level < this.limit) {
      resetMs = Math.ceil(((this.limit - this.level) * this.windowMs) / this.limit);
    }
    return { limit: this.limit, remaining, resetMs };
  }

  /** Nothing counted and nothing in flight: the counter can be dropped. */
  idle(now: number): boolean {
    this.refresh(now);
    if (this.inFlight > 0) return false;
    return this.log !== undefined ? this.log.empty : this.level >= this.limit;
  }
}
