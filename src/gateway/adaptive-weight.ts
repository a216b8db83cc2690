/**
 * Adaptive balancing, as pure functions: decaying averages (EWMA) of a key's
 * error rate and latency, and the factor they put on its configured weight.
 *
 * - Each result moves the average by ALPHA towards the new sample (more when
 *   the average is old: an average's weight decays with `halfLifeMs` too).
 * - Between samples the error rate decays towards 0 with `halfLifeMs`, so a
 *   key that was drained for its errors gets traffic back on its own, and the
 *   next results confirm or undo the recovery.
 * - Latency counts relative to the fastest candidate of the same choice: a key
 *   twice as slow gets half the share. An old latency sample fades too.
 * - The factor never falls below `minShare`, so a degraded key keeps a trickle
 *   of traffic that measures its recovery (a dead key is the breaker's job).
 */

export interface AdaptiveSettings {
  enabled: boolean;
  halfLifeMs: number;
  /** Lowest factor on a key's configured weight (0..1). */
  minShare: number;
}

export const DEFAULT_ADAPTIVE: Readonly<AdaptiveSettings> = Object.freeze({ enabled: true, halfLifeMs: 30_000, minShare: 0.05 });

/** Weight of one new result in an average. */
export const ALPHA = 0.2;

/** The share of an estimate that survives `ageMs` with the given half-life. */
export function survival(ageMs: number, halfLifeMs: number): number {
  return ageMs <= 0 ? 1 : Math.exp((-ageMs * Math.LN2) / halfLifeMs);
}

/** The error rate as of `now`, decayed since its last update at `updatedAt`. */
export function currentErrorRate(rate: number, updatedAt: number, now: number, halfLifeMs: number): number {
  return rate === 0 ? 0 : rate * survival(now - updatedAt, halfLifeMs);
}

/** The error rate after one more result. */
export function nextErrorRate(rate: number, updatedAt: number, now: number, failed: boolean, halfLifeMs: number): number {
  const decayed = currentErrorRate(rate, updatedAt, now, halfLifeMs);
  return decayed + ALPHA * ((failed ? 1 : 0) - decayed);
}

/**
 * The latency average after one more sample; the first sample is taken as it
 * is. The old average keeps less weight the older it is (`ageMs` since its
 * last sample), so a key that was drained for being slow is judged on its
 * first new answers, not on the slow ones from before.
 */
export function nextLatency(latencyMs: number, samples: number, sampleMs: number, ageMs = 0, halfLifeMs = Infinity): number {
  if (samples === 0) return sampleMs;
  const keep = (1 - ALPHA) * survival(ageMs, halfLifeMs);
  return latencyMs * keep + sampleMs * (1 - keep);
}

/**
 * The factor (minShare..1) on a key's configured weight.
 * `latencyMs` is undefined before the first sample (an unmeasured key is not penalised);
 * `bestLatencyMs` is the lowest latency among the candidates of the same choice.
 */
export function healthFactor(
  errorRate: number,
  latencyMs: number | undefined,
  latencyAgeMs: number,
  bestLatencyMs: number,
  settings: AdaptiveSettings,
): number {
  const ok = 1 - errorRate;
  let factor = ok * ok;
  if (latencyMs !== undefined && bestLatencyMs > 0 && latencyMs > bestLatencyMs) {
    factor *= (bestLatencyMs / latencyMs) ** survival(latencyAgeMs, settings.halfLifeMs);
  }
  return factor < settings.minShare ? settings.minShare : factor;
}
