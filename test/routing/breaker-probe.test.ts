/**
 * The breaker counts requests, not retry attempts, and an open key is probed
 * soon (probe_interval_ms, doubling on each failed probe up to cooldown_ms),
 * so a short blip on a provider with one key costs a second, not 30 s of 503s.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CircuitBreaker, DEFAULT_BREAKER, openFor, type BreakerSettings } from '../../src/gateway/circuit-breaker.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { client, CONTENT, keyedChat, messages, startRoutingGateway, type KeyFault, type RoutingGateway } from './helpers.js';

const settings: BreakerSettings = { ...DEFAULT_BREAKER, failureThreshold: 2, cooldownMs: 8_000, probeIntervalMs: 1_000, minRequests: 100 };

describe('probe backoff (fake clock)', () => {
  it('first probe after probe_interval_ms, doubling on each failed probe up to cooldown_ms; a success starts over', () => {
    const breaker = new CircuitBreaker();
    breaker.onFailure(0, settings);
    breaker.onFailure(0, settings);
    expect(breaker.state).toBe('open');
    const waits: number[] = [];
    let now = 0;
    for (let probe = 0; probe < 5; probe++) {
      waits.push(breaker.openUntil - now);
      now = breaker.openUntil;
      expect(breaker.allows(now - 1)).toBe(false);
      expect(breaker.allows(now)).toBe(true);
      breaker.onPick(now);
      expect(breaker.state).toBe('half_open');
      breaker.onFailure(now, settings); // the probe failed: open again, for longer
      expect(breaker.state).toBe('open');
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
    now = breaker.openUntil;
    breaker.onPick(now);
    breaker.onSuccess(now, settings);
    expect(breaker.state).toBe('closed');
    breaker.onFailure(now, settings);
    breaker.onFailure(now, settings);
    expect(breaker.openUntil - now).toBe(1_000); // a new episode starts at the short interval again
  });

  it('probe_interval_ms 0 keeps the whole cool-down', () => {
    expect(openFor({ ...settings, probeIntervalMs: 0 }, 0)).toBe(8_000);
    expect(openFor(settings, 0)).toBe(1_000);
    expect(openFor(settings, 40)).toBe(8_000);
  });
});

describe('one key, a short blip', () => {
  let mock: MockUpstream;
  let faults: Map<string, KeyFault>;
  let gateway: RoutingGateway;
  beforeAll(async () => {
    mock = await startMockUpstream();
    faults = keyedChat(mock);
    gateway = await startRoutingGateway({
      config: {
        providers: {
          solo: {
            type: 'openai-compatible', base_url: mock.openaiBaseUrl, models: ['m'], max_retries: 3, retry_budget_ms: 10_000,
            keys: [{ name: 'k1', api_key: 'sk-1' }],
          },
        },
        routing: { circuit_breaker: { failure_threshold: 3, cooldown_ms: 60_000, probe_interval_ms: 300 }, adaptive: { enabled: false } },
      },
    });
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });
  beforeEach(() => {
    mock.reset();
    faults.clear();
  });

  it('three failed attempts of one request are one failure: the circuit stays closed and the next request is served', async () => {
    // 429 with retry-after-ms keeps the test fast: three attempts of the request fail, the fourth is served.
    faults.set('sk-1', { status: 429, headers: { 'retry-after-ms': '20' }, times: 3 });
    const served = await client(gateway.url).chat.completions.create({ model: 'solo/m', messages }).withResponse();
    expect(served.data.choices[0].message.content).toBe(CONTENT);
    expect(served.response.headers.get('x-heimdall-attempts')).toBe('4');
    const health = gateway.app.gateway.health.get('solo', 'k1')!;
    expect(health.breaker.state).toBe('closed');
    expect(health.breaker.consecutiveFailures).toBe(0);
    expect(health.failures).toBe(1); // one request failed three times before it was served: one failure
    expect(mock.requests).toHaveLength(4);
  });

  it('failed requests open it; a probe 300 ms later closes it again (not the 60 s cool-down)', async () => {
    faults.set('sk-1', { status: 503, headers: { 'retry-after-ms': '10' } });
    const sdk = client(gateway.url);
    const health = gateway.app.gateway.health.get('solo', 'k1')!;
    const failuresBefore = health.failures;
    for (let i = 0; i < 3; i++) {
      const error = (await sdk.chat.completions.create({ model: 'solo/m', messages }).catch((e: unknown) => e)) as { status: number };
      expect(error.status).toBe(503);
    }
    // Two requests of 1 + 3 attempts (one failure each); the third request's first failure is the third: the circuit opens, no retry.
    expect(mock.requests).toHaveLength(9);
    expect(health.breaker.state).toBe('open');
    expect(health.failures - failuresBefore).toBe(3);
    const refused = (await sdk.chat.completions.create({ model: 'solo/m', messages }).catch((e: unknown) => e)) as { status: number; headers: Headers };
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1'); // the probe interval, rounded up to a second
    expect(mock.requests).toHaveLength(9);
    faults.clear(); // the blip is over
    await sleep(350);
    const probed = await sdk.chat.completions.create({ model: 'solo/m', messages });
    expect(probed.choices[0].message.content).toBe(CONTENT);
    expect(health.breaker.state).toBe('closed');
  });
});
