/**
 * A circuit breaker for one key of a provider: closed (takes traffic), open
 * (skipped for a cool-down after repeated failures), half-open (one probe
 * request; its result closes or reopens the circuit). Time is passed in, so
 * the state machine is tested with a fake clock.
 *
 * It opens on either of two signals: `failureThreshold` failures in a row,
 * or an error rate at or above `errorRateThreshold` over the last
 * `windowMs` once at least `minRequests` results were seen in it (a sliding
 * window of two buckets, so no per-request allocation).
 */

export interface BreakerSettings {
  enabled: boolean;
  /** Failures in a row that open the circuit. */
  failureThreshold: number;
  /** The longest an open circuit is skipped before a probe is allowed. */
  cooldownMs: number;
  /**
   * The first probe comes this soon after the circuit opens; each failed probe doubles the wait, up to
   * `cooldownMs`. A key that had a short blip (a provider with one key) takes traffic again within a
   * second or two instead of refusing for the whole cool-down. 0 = always wait the whole cool-down.
   */
  probeIntervalMs: number;
  /** Error rate (0..1] over the window that opens the circuit. */
  errorRateThreshold: number;
  /** Results needed in the window before the error rate counts. */
  minRequests: number;
  windowMs: number;
}

export const DEFAULT_BREAKER: Readonly<BreakerSettings> = Object.freeze({
  enabled: true,
  failureThreshold: 5,
  cooldownMs: 30_000,
  probeIntervalMs: 1_000,
  errorRateThreshold: 0.5,
  minRequests: 20,
  windowMs: 60_000,
});

export type BreakerState = 'closed' | 'open' | 'half_open';

export class CircuitBreaker {
  state: BreakerState = 'closed';
  consecutiveFailures = 0;
  /** When an open circuit lets a probe through. */
  openUntil = 0;
  /** A half-open circuit's probe is in flight: nobody else may use the key. */
  probing = false;
  /** Times the circuit opened (for the health view). */
  opens = 0;
  /** Opens since the circuit was last closed: each failed probe doubles the wait before the next. */
  private reopens = 0;
  private windowStart = 0;
  private currentTotal = 0;
  private currentFailed = 0;
  private previousTotal = 0;
  private previousFailed = 0;

  /** May a request use the key now? Reads only; `onPick` commits the choice. */
  allows(now: number): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') return now >= this.openUntil;
    return !this.probing;
  }

  /** The key was chosen for an attempt: an open circuit past its cool-down sends this one as the probe. */
  onPick(now: number): void {
    if (this.state === 'closed') return;
    if (this.state === 'open' && now >= this.openUntil) this.state = 'half_open';
    if (this.state === 'half_open') this.probing = true;
  }

  /** The key answered (a success, or a client error that proves it works). */
  onSuccess(now: number, settings: BreakerSettings): void {
    this.count(now, false, settings);
    this.consecutiveFailures = 0;
    if (this.state !== 'closed') this.close();
  }

  onFailure(now: number, settings: BreakerSettings): void {
    this.count(now, true, settings);
    this.consecutiveFailures++;
    if (!settings.enabled) return;
    if (this.state === 'half_open') {
      this.open(now, settings);
      return;
    }
    if (this.state !== 'closed') return;
    if (this.consecutiveFailures >= settings.failureThreshold || this.rateExceeded(now, settings)) this.open(now, settings);
  }

  /** The attempt ended without a verdict (client gone, request refused locally): free the probe slot. */
  onCancel(): void {
    this.probing = false;
  }

  /** A health check passed while open: let the next request probe now instead of after the cool-down. */
  onCheckPassed(now: number): void {
    if (this.state === 'open' && this.openUntil > now) this.openUntil = now;
  }

  /** Error rate over the sliding window, or undefined with fewer than `minRequests` results. */
  errorRate(now: number, settings: BreakerSettings): number | undefined {
    this.rotate(now, settings.windowMs);
    const previousShare = Math.max(0, 1 - (now - this.windowStart) / settings.windowMs);
    const total = this.currentTotal + this.previousTotal * previousShare;
    if (total < settings.minRequests || total === 0) return undefined;
    return (this.currentFailed + this.previousFailed * previousShare) / total;
  }

  private rateExceeded(now: number, settings: BreakerSettings): boolean {
    const rate = this.errorRate(now, settings);
    return rate !== undefined && rate >= settings.errorRateThreshold;
  }

  private open(now: number, settings: BreakerSettings): void {
    this.state = 'open';
    this.openUntil = now + openFor(settings, this.reopens);
    this.probing = false;
    this.opens++;
    this.reopens++;
    this.resetWindow(now);
  }

  private close(): void {
    this.state = 'closed';
    this.probing = false;
    this.consecutiveFailures = 0;
    this.reopens = 0;
  }

  private count(now: number, failed: boolean, settings: BreakerSettings): void {
    this.rotate(now, settings.windowMs);
    this.currentTotal++;
    if (failed) this.currentFailed++;
  }

  private rotate(now: number, windowMs: number): void {
    const elapsed = now - this.windowStart;
    if (elapsed < windowMs) return;
    if (elapsed < 2 * windowMs) {
      this.previousTotal = this.currentTotal;
      this.previousFailed = this.currentFailed;
      this.windowStart += windowMs;
    } else {
      this.previousTotal = 0;
      this.previousFailed = 0;
      this.windowStart = now;
    }
    this.currentTotal = 0;
    this.currentFailed = 0;
  }

  private resetWindow(now: number): void {
    this.windowStart = now;
    this.currentTotal = this.currentFailed = this.previousTotal = this.previousFailed = 0;
  }
}

/** How long the circuit stays open after its `reopens`-th open in a row (0 = the first): probe interval, doubling, capped by the cool-down. */
export function openFor(settings: BreakerSettings, reopens: number): number {
  const interval = settings.probeIntervalMs;
  if (!(interval > 0)) return settings.cooldownMs;
  return Math.min(settings.cooldownMs, interval * 2 ** Math.min(reopens, 30));
}
