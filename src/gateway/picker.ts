/**
 * Chooses the (target, key) of the next attempt within one tier of a plan:
 * weighted by deployment weight x key share x adaptive health factor, skipping
 * keys whose circuit is open and providers whose queue is full, preferring
 * keys not tried yet by this request. A key whose cool-down is over is chosen
 * first: that request is its single probe.
 *
 * One Picker per pipeline: `pick` is synchronous and its result is read
 * before any await, so the scratch arrays are reused and a pick allocates
 * nothing.
 */
import type { ResolvedConfig } from '../config/load.js';
import type { ConcurrencyLimiter } from './concurrency.js';
import type { KeyRuntime } from './provider-runtime.js';
import type { Target } from './router.js';

type Routing = ResolvedConfig['routing'];

/** The (target, key) pairs a request already tried in the current tier. */
export class Tried {
  private readonly targets: Target[] = [];
  private readonly keys: KeyRuntime[] = [];

  has(target: Target, key: KeyRuntime): boolean {
    const targets = this.targets;
    for (let i = 0; i < targets.length; i++) if (targets[i] === target && this.keys[i] === key) return true;
    return false;
  }

  add(target: Target, key: KeyRuntime): void {
    if (this.has(target, key)) return;
    this.targets.push(target);
    this.keys.push(key);
  }

  clear(): void {
    this.targets.length = 0;
    this.keys.length = 0;
  }
}

const UNUSABLE = 0;
const UNTRIED = 1;
const TRIED = 2;

export class Picker {
  /** The choice of the last successful `pick`. */
  target: Target | undefined;
  key: KeyRuntime | undefined;
  /** Why the last pick found nothing: some key's circuit is open (probe time in `retryAt`), or a queue is full. */
  blockedByBreaker = false;
  retryAt = Infinity;
  fullLimiter: ConcurrencyLimiter | undefined;
  private weights = new Float64Array(16);
  private kinds = new Uint8Array(16);

  /**
   * Chooses among targets[start, end). With `untriedOnly`, keys in `tried` are
   * not candidates; otherwise they are, when no untried key is left.
   */
  pick(targets: readonly Target[], start: number, end: number, tried: Tried | undefined, untriedOnly: boolean, now: number, routing: Routing, random = Math.random()): boolean {
    this.blockedByBreaker = false;
    this.retryAt = Infinity;
    this.fullLimiter = undefined;
    if (end - start === 1) {
      const target = targets[start];
      const keys = target.provider.keys;
      if (keys.length === 1) {
        const key = keys[0];
        if (key.models !== undefined && !key.models.has(target.model)) return false;
        if (untriedOnly && tried !== undefined && tried.has(target, key)) return false;
        if (!this.usable(target, key, now, routing)) return false;
        this.target = target;
        this.key = key;
        return true;
      }
    }
    return this.pickWeighted(targets, start, end, tried, untriedOnly, now, routing, random);
  }

  private usable(target: Target, key: KeyRuntime, now: number, routing: Routing): boolean {
    const health = key.health;
    if (!health.available(now, routing.breaker)) {
      this.blockedByBreaker = true;
      const breaker = health.breaker;
      const at = breaker.state === 'open' ? breaker.openUntil : now + 1000; // half-open: a probe is out
      if (at < this.retryAt) this.retryAt = at;
      return false;
    }
    const limiter = target.provider.limiter;
    if (limiter.full()) {
      this.fullLimiter = limiter;
      return false;
    }
    return true;
  }

  private pickWeighted(targets: readonly Target[], start: number, end: number, tried: Tried | undefined, untriedOnly: boolean, now: number, routing: Routing, random: number): boolean {
    let count = 0;
    for (let t = start; t < end; t++) count += targets[t].provider.keys.length;
    if (count > this.kinds.length) {
      this.kinds = new Uint8Array(count * 2);
      this.weights = new Float64Array(count * 2);
    }
    const kinds = this.kinds;
    const weights = this.weights;
    const adaptive = routing.adaptive.enabled ? routing.adaptive : undefined;
    let best = Infinity;
    let slot = 0;
    // Pass 1: who may take the attempt; a probe-ready key wins at once.
    for (let t = start; t < end; t++) {
      const target = targets[t];
      for (const key of target.provider.keys) {
        const i = slot++;
        kinds[i] = UNUSABLE;
        if (key.models !== undefined && !key.models.has(target.model)) continue;
        const wasTried = tried !== undefined && tried.has(target, key);
        if (wasTried && untriedOnly) continue;
        if (!this.usable(target, key, now, routing)) continue;
        if (!wasTried && key.health.probeReady(now, routing.breaker)) {
          this.target = target;
          this.key = key;
          return true;
        }
        kinds[i] = wasTried ? TRIED : UNTRIED;
        const health = key.health;
        if (adaptive !== undefined && health.latencySamples > 0 && health.latencyMs < best) best = health.latencyMs;
      }
    }
    // Pass 2: effective weights; untried keys first.
    let untriedTotal = 0;
    let triedTotal = 0;
    slot = 0;
    for (let t = start; t < end; t++) {
      const target = targets[t];
      const share = target.weight / target.keyWeight;
      for (const key of target.provider.keys) {
        const i = slot++;
        if (kinds[i] === UNUSABLE) continue;
        const weight = key.weight * share * (adaptive === undefined ? 1 : key.health.factor(now, best === Infinity ? 0 : best, adaptive));
        weights[i] = weight;
        if (kinds[i] === UNTRIED) untriedTotal += weight;
        else triedTotal += weight;
      }
    }
    const pool = untriedTotal > 0 ? UNTRIED : TRIED;
    const total = pool === UNTRIED ? untriedTotal : triedTotal;
    if (!(total > 0)) return false;
    // Pass 3: the weighted draw.
    let point = random * total;
    let lastTarget: Target | undefined;
    let lastKey: KeyRuntime | undefined;
    slot = 0;
    for (let t = start; t < end; t++) {
      const target = targets[t];
      for (const key of target.provider.keys) {
        const i = slot++;
        if (kinds[i] !== pool) continue;
        lastTarget = target;
        lastKey = key;
        point -= weights[i];
        if (point < 0) {
          this.target = target;
          this.key = key;
          return true;
        }
      }
    }
    // Rounding left the point at the very end: the last candidate.
    this.target = lastTarget;
    this.key = lastKey;
    return lastTarget !== undefined;
  }
}
