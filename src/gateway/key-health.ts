/**
 * What Heimdall knows about each key of each provider: its circuit breaker,
 * its decaying error-rate and latency averages (adaptive balancing), and the
 * last error and health check. The registry lives on the Gateway, keyed by
 * provider name + key id, so a reload keeps it; the routing state holds a
 * direct reference per key, so the request path reads fields, never a map.
 *
 * Time (`now`) is performance.now(): monotonic, passed in by the caller.
 */
import { currentErrorRate, healthFactor, nextErrorRate, nextLatency, type AdaptiveSettings } from './adaptive-weight.js';
import { CircuitBreaker, type BreakerSettings, type BreakerState } from './circuit-breaker.js';
import { redactText } from '../telemetry/secrets.js';

const MAX_ERROR_TEXT = 300;

export class KeyHealth {
  readonly breaker = new CircuitBreaker();
  /** Decaying error rate (0..1), as of `errorAt`. */
  errorRate = 0;
  errorAt = 0;
  /** Decaying latency average (time to the first byte of the answer), as of `latencyAt`. */
  latencyMs = 0;
  latencySamples = 0;
  latencyAt = 0;
  requests = 0;
  failures = 0;
  lastError: string | undefined;
  /** Wall-clock time (ms) of the last error and the last health check. */
  lastErrorAt: number | undefined;
  lastCheckAt: number | undefined;
  lastCheckOk: boolean | undefined;

  constructor(
    readonly provider: string,
    readonly keyId: string,
    /** Updated on reload: the label and the configured weight of the key. */
    public keyName: string,
    public weight: number,
  ) {}

  /** May an attempt use this key now? O(1) field reads. */
  available(now: number, breaker: BreakerSettings): boolean {
    return !breaker.enabled || this.breaker.allows(now);
  }

  /** An open circuit whose cool-down is over: the next attempt on it is the single probe. */
  probeReady(now: number, breaker: BreakerSettings): boolean {
    return breaker.enabled && this.breaker.state === 'open' && now >= this.breaker.openUntil;
  }

  /** The factor (minShare..1) adaptive balancing puts on the key's weight. */
  factor(now: number, bestLatencyMs: number, adaptive: AdaptiveSettings): number {
    const rate = currentErrorRate(this.errorRate, this.errorAt, now, adaptive.halfLifeMs);
    const latency = this.latencySamples === 0 ? undefined : this.latencyMs;
    return healthFactor(rate, latency, now - this.latencyAt, bestLatencyMs, adaptive);
  }

  /** The key answered. `latencyMs` is undefined for answers that say nothing about speed (a 4xx). */
  onSuccess(now: number, latencyMs: number | undefined, breaker: BreakerSettings, adaptive: AdaptiveSettings): void {
    this.requests++;
    this.breaker.onSuccess(now, breaker);
    this.errorRate = nextErrorRate(this.errorRate, this.errorAt, now, false, adaptive.halfLifeMs);
    this.errorAt = now;
    if (latencyMs !== undefined) {
      this.latencyMs = nextLatency(this.latencyMs, this.latencySamples, latencyMs, now - this.latencyAt, adaptive.halfLifeMs);
      this.latencySamples++;
      this.latencyAt = now;
    }
  }

  onFailure(now: number, message: string, breaker: BreakerSettings, adaptive: AdaptiveSettings): void {
    this.requests++;
    this.failures++;
    this.breaker.onFailure(now, breaker);
    this.errorRate = nextErrorRate(this.errorRate, this.errorAt, now, true, adaptive.halfLifeMs);
    this.errorAt = now;
    this.noteError(message);
  }

  /** A retry of a request whose failure the key already counted: only the last error is noted. */
  onRepeatFailure(message: string): void {
    this.breaker.onCancel();
    this.noteError(message);
  }

  private noteError(message: string): void {
    this.lastError = message.length > MAX_ERROR_TEXT ? `${message.slice(0, MAX_ERROR_TEXT)}...` : message;
    this.lastErrorAt = Date.now();
  }

  /** The attempt ended without a verdict (client gone, 409): only frees a probe slot. */
  onCancel(): void {
    this.breaker.onCancel();
  }

  onCheck(now: number, ok: boolean, message: string | undefined, breaker: BreakerSettings, adaptive: AdaptiveSettings): void {
    this.lastCheckAt = Date.now();
    this.lastCheckOk = ok;
    if (ok) {
      // A passing check shortens an open circuit's cool-down; a real request still probes before it closes.
      this.breaker.onCheckPassed(now);
      return;
    }
    this.onFailure(now, message ?? 'health check failed', breaker, adaptive);
    this.requests--; // a check is not a request
  }
}

/** One key's health as the management API and the metrics read it (snake_case, wall-clock times in ms). */
export interface KeyHealthView {
  provider: string;
  key_id: string;
  key_name: string;
  /** Circuit breaker state. */
  state: BreakerState;
  /** Takes traffic: circuit closed and the last health check (if any) passed. */
  healthy: boolean;
  /** Configured weight. */
  weight: number;
  /** Weight after adaptive balancing (error rate; latency against the provider's fastest key); 0 while the breaker holds the key back. */
  effective_weight: number;
  /** Decaying error rate, 0..1. */
  error_rate: number;
  /** Decaying average time to the first byte of an answer; null before the first answer. */
  latency_ms: number | null;
  requests: number;
  failures: number;
  consecutive_failures: number;
  /** Times the circuit opened. */
  opens: number;
  last_error: string | null;
  last_error_at: number | null;
  /** When an open circuit lets a probe through (epoch ms); null unless open. */
  open_until: number | null;
  last_check_at: number | null;
  last_check_ok: boolean | null;
}

export class HealthRegistry {
  private readonly keys = new Map<string, KeyHealth>();

  /** The record of a key, created on first sight; name and weight follow the latest configuration. */
  key(provider: string, keyId: string, keyName: string, weight: number): KeyHealth {
    const id = `${provider}\u0000${keyId}`;
    let health = this.keys.get(id);
    if (health === undefined) {
      health = new KeyHealth(provider, keyId, keyName, weight);
      this.keys.set(id, health);
    } else {
      health.keyName = keyName;
      health.weight = weight;
    }
    return health;
  }

  /** Forgets keys that are no longer configured. */
  retain(live: ReadonlySet<KeyHealth>): void {
    for (const [id, health] of this.keys) if (!live.has(health)) this.keys.delete(id);
  }

  get(provider: string, keyId: string): KeyHealth | undefined {
    return this.keys.get(`${provider}\u0000${keyId}`);
  }

  /** Every configured key's health, in configuration order. */
  snapshot(breaker: BreakerSettings, adaptive: AdaptiveSettings): KeyHealthView[] {
    const now = performance.now();
    const wall = Date.now();
    const best = new Map<string, number>();
    for (const health of this.keys.values()) {
      if (health.latencySamples === 0) continue;
      const current = best.get(health.provider);
      if (current === undefined || health.latencyMs < current) best.set(health.provider, health.latencyMs);
    }
    const views: KeyHealthView[] = [];
    for (const health of this.keys.values()) {
      const b = health.breaker;
      const open = b.state === 'open';
      // A key its breaker holds back takes no traffic right now.
      const factor = !health.available(now, breaker) ? 0 : adaptive.enabled ? health.factor(now, best.get(health.provider) ?? 0, adaptive) : 1;
      views.push({
        provider: health.provider,
        key_id: health.keyId,
        key_name: health.keyName,
        state: b.state,
        healthy: b.state === 'closed' && health.lastCheckOk !== false,
        weight: health.weight,
        effective_weight: round(health.weight * factor, 4),
        error_rate: round(currentErrorRate(health.errorRate, health.errorAt, now, adaptive.halfLifeMs), 4),
        latency_ms: health.latencySamples === 0 ? null : round(health.latencyMs, 1),
        requests: health.requests,
        failures: health.failures,
        consecutive_failures: b.consecutiveFailures,
        opens: b.opens,
        // Providers quote the key they were sent in their errors: masked like every other surface.
        last_error: health.lastError === undefined ? null : redactText(health.lastError),
        last_error_at: health.lastErrorAt ?? null,
        open_until: open && breaker.enabled ? Math.round(wall + Math.max(0, b.openUntil - now)) : null,
        last_check_at: health.lastCheckAt ?? null,
        last_check_ok: health.lastCheckOk ?? null,
      });
    }
    return views;
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
