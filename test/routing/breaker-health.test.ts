/** The per-key state machine and averages, on a fake clock. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_ADAPTIVE } from '../../src/gateway/adaptive-weight.js';
import { CircuitBreaker, DEFAULT_BREAKER, type BreakerSettings } from '../../src/gateway/circuit-breaker.js';
import { HealthRegistry, KeyHealth } from '../../src/gateway/key-health.js';
import { loadConfig } from '../../src/config/load.js';

const settings: BreakerSettings = { ...DEFAULT_BREAKER, failureThreshold: 3, cooldownMs: 1000, minRequests: 100 };

describe('circuit breaker', () => {
  it('closed -> open after repeated failures -> half-open single probe -> closed', () => {
    const breaker = new CircuitBreaker();
    breaker.onFailure(0, settings);
    breaker.onFailure(1, settings);
    expect(breaker.state).toBe('closed');
    breaker.onFailure(2, settings);
    expect(breaker.state).toBe('open');
    expect(breaker.openUntil).toBe(1002);
    expect(breaker.allows(500)).toBe(false);
    expect(breaker.allows(1002)).toBe(true);
    breaker.onPick(1002); // the probe
    expect(breaker.state).toBe('half_open');
    expect(breaker.allows(1003)).toBe(false); // nobody else while the probe is out
    breaker.onSuccess(1100, settings);
    expect(breaker.state).toBe('closed');
    expect(breaker.allows(1101)).toBe(true);
    expect(breaker.opens).toBe(1);
  });

  it('a failed probe reopens for another cool-down; a cancelled probe frees the slot', () => {
    const breaker = new CircuitBreaker();
    for (let i = 0; i < 3; i++) breaker.onFailure(i, settings);
    breaker.onPick(1500);
    breaker.onCancel();
    expect(breaker.allows(1501)).toBe(true);
    breaker.onPick(1501);
    breaker.onFailure(1600, settings);
    expect(breaker.state).toBe('open');
    expect(breaker.openUntil).toBe(2600);
    expect(breaker.opens).toBe(2);
  });

  it('opens on the error rate over the window once enough results were seen', () => {
    const breaker = new CircuitBreaker();
    const rate: BreakerSettings = { ...DEFAULT_BREAKER, failureThreshold: 100, minRequests: 10, errorRateThreshold: 0.5, windowMs: 10_000 };
    for (let i = 0; i < 9; i++) {
      if (i % 2 === 0) breaker.onFailure(i, rate);
      else breaker.onSuccess(i, rate);
    }
    expect(breaker.state).toBe('closed'); // 9 results: not enough yet
    breaker.onFailure(9, rate);
    expect(breaker.state).toBe('open'); // 6 of 10 failed
  });

  it('a passing health check lets an open circuit probe at once', () => {
    const breaker = new CircuitBreaker();
    for (let i = 0; i < 3; i++) breaker.onFailure(i, settings);
    expect(breaker.allows(10)).toBe(false);
    breaker.onCheckPassed(10);
    expect(breaker.allows(10)).toBe(true);
    expect(breaker.state).toBe('open'); // still needs a real request to close
  });

  it('disabled: failures are counted but never open the circuit', () => {
    const breaker = new CircuitBreaker();
    for (let i = 0; i < 10; i++) breaker.onFailure(i, { ...settings, enabled: false });
    expect(breaker.state).toBe('closed');
    expect(breaker.consecutiveFailures).toBe(10);
  });

  it('the config defaults are the breaker and adaptive defaults', () => {
    const routing = loadConfig({ env: {} }).routing;
    expect(routing.breaker).toEqual(DEFAULT_BREAKER);
    expect(routing.adaptive).toEqual(DEFAULT_ADAPTIVE);
  });
});

describe('key health (adaptive balancing)', () => {
  const adaptive = DEFAULT_ADAPTIVE; // half-life 30 s, min share 0.05

  it('failures lower the factor; time alone brings it back', () => {
    const health = new KeyHealth('p', 'k', 'k', 1);
    expect(health.factor(0, 0, adaptive)).toBe(1);
    for (let t = 0; t < 10; t++) health.onFailure(t, 'HTTP 500', settings, adaptive);
    const degraded = health.factor(10, 0, adaptive);
    expect(degraded).toBeLessThan(0.05 + 1e-9); // floor: a trickle measures the recovery
    expect(degraded).toBe(0.05);
    const later = health.factor(10 + 4 * 30_000, 0, adaptive); // four half-lives
    expect(later).toBeGreaterThan(0.85);
    expect(health.lastError).toBe('HTTP 500');
    expect(health.failures).toBe(10);
  });

  it('successes pull the error rate back down', () => {
    const health = new KeyHealth('p', 'k', 'k', 1);
    for (let t = 0; t < 5; t++) health.onFailure(t, 'x', settings, adaptive);
    const before = health.factor(5, 0, adaptive);
    for (let t = 5; t < 25; t++) health.onSuccess(t, undefined, settings, adaptive);
    expect(health.factor(25, 0, adaptive)).toBeGreaterThan(before);
    expect(health.factor(25, 0, adaptive)).toBeGreaterThan(0.9);
  });

  it('latency counts against the fastest candidate: twice as slow, half the share', () => {
    const fast = new KeyHealth('p', 'fast', 'fast', 1);
    const slow = new KeyHealth('p', 'slow', 'slow', 1);
    fast.onSuccess(0, 100, settings, adaptive);
    slow.onSuccess(0, 200, settings, adaptive);
    expect(fast.factor(0, 100, adaptive)).toBe(1);
    expect(slow.factor(0, 100, adaptive)).toBeCloseTo(0.5, 5);
    // An old latency sample fades: after one half-life the penalty is sqrt-ish weaker.
    expect(slow.factor(30_000, 100, adaptive)).toBeCloseTo(0.5 ** 0.5, 5);
  });

  it('a failed health check counts against the breaker but not as a request', () => {
    const health = new KeyHealth('p', 'k', 'k', 1);
    for (let i = 0; i < 3; i++) health.onCheck(i, false, 'health check: HTTP 500', settings, adaptive);
    expect(health.breaker.state).toBe('open');
    expect(health.requests).toBe(0);
    expect(health.lastCheckOk).toBe(false);
    health.onCheck(10, true, undefined, settings, adaptive);
    expect(health.lastCheckOk).toBe(true);
    expect(health.breaker.allows(10)).toBe(true);
  });
});

describe('health registry', () => {
  it('one record per provider + key id, kept across re-configuration; removed keys are dropped', () => {
    const registry = new HealthRegistry();
    const first = registry.key('openai', 'primary', 'primary', 3);
    first.onFailure(performance.now(), 'boom', settings, DEFAULT_ADAPTIVE);
    const again = registry.key('openai', 'primary', 'primary (renamed)', 5);
    expect(again).toBe(first);
    expect(again.keyName).toBe('primary (renamed)');
    expect(again.weight).toBe(5);
    const other = registry.key('openai', 'batch', 'batch', 1);
    registry.retain(new Set([other]));
    expect(registry.get('openai', 'primary')).toBeUndefined();
    expect(registry.get('openai', 'batch')).toBe(other);
  });

  it('snapshot: the view the API and the metrics read', () => {
    const registry = new HealthRegistry();
    const dead = registry.key('openai', 'a', 'key a', 1);
    const now = performance.now();
    // The snapshot reads the real clock: a cool-down no stall of a busy machine can outlast.
    const long = { ...settings, cooldownMs: 60_000, probeIntervalMs: 0 };
    for (let i = 0; i < 3; i++) dead.onFailure(now, 'HTTP 503', long, DEFAULT_ADAPTIVE);
    registry.key('openai', 'b', 'key b', 2).onSuccess(now, 42, long, DEFAULT_ADAPTIVE);
    const views = registry.snapshot(long, DEFAULT_ADAPTIVE);
    expect(views.map((v) => [v.key_id, v.state, v.healthy, v.consecutive_failures, v.failures, v.requests])).toEqual([
      ['a', 'open', false, 3, 3, 3],
      ['b', 'closed', true, 0, 0, 1],
    ]);
    expect(views[0].last_error).toBe('HTTP 503');
    expect(views[0].open_until).toBeGreaterThan(Date.now() + 50_000);
    expect(views[0].effective_weight).toBe(0);
    expect(views[1]).toMatchObject({ key_name: 'key b', weight: 2, effective_weight: 2, latency_ms: 42, open_until: null, error_rate: 0 });
  });
});
