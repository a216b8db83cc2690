/**
 * Circuit breaking and health against a mock upstream: a dead key opens its
 * circuit (requests stop paying for it), one probe closes it again; health
 * checks list models (no tokens) and feed the same state; the state survives a
 * reload and is visible in GET /api/routing/health and the metrics sources.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { get, post, waitFor } from '../integration/helpers.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { CONTENT, countByKey, endCooldown, gate, keyedChat, messages, startRoutingGateway, type KeyFault, type RoutingGateway } from './helpers.js';

let mock: MockUpstream;
let faults: Map<string, KeyFault>;

beforeAll(async () => {
  mock = await startMockUpstream();
  faults = keyedChat(mock);
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => {
  mock.reset();
  faults.clear();
});

const chat = (gateway: RoutingGateway, model: string) => post(`${gateway.url}/v1/chat/completions`, { model, messages });

describe('a dead key with a single deployment', () => {
  let gateway: RoutingGateway;
  const config = () => ({
    providers: {
      one: { type: 'openai-compatible', base_url: mock.openaiBaseUrl, models: ['m'], max_retries: 0, keys: [{ name: 'k1', api_key: 'sk-1' }] },
    },
    // A long cool-down never runs out by accident on a busy machine; the test ends it with endCooldown().
    // probe_interval_ms 0: the whole cool-down (the early probes are tested in breaker-probe.test.ts).
    routing: { circuit_breaker: { failure_threshold: 3, cooldown_ms: 60_000, probe_interval_ms: 0 } },
  });
  beforeAll(async () => {
    gateway = await startRoutingGateway({ config: config() });
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('opens after 3 failures in a row: the next request fails fast (503, Retry-After) without an upstream call', async () => {
    faults.set('sk-1', { status: 503 });
    for (let i = 0; i < 3; i++) {
      const reply = await chat(gateway, 'one/m');
      expect(reply.status).toBe(503);
      expect(gateway.lastAttempts()).toEqual([['one', 'k1', 503]]);
    }
    const reply = await chat(gateway, 'one/m');
    expect(reply.status).toBe(503);
    // Retry-After is the time left in the 60 s cool-down (a busy machine may have used a second or two of it).
    const retryAfter = Number(reply.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(50);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(reply.json).toEqual({
      error: { message: `Every key that may serve "one/m" is cooling down after repeated failures (circuit open); retry in ${retryAfter} s.`, type: 'api_error', param: null, code: 'upstream_unavailable' },
    });
    expect(reply.headers['x-heimdall-attempts']).toBeUndefined();
    expect(gateway.lastAttempts()).toEqual([]);
    expect(mock.requests).toHaveLength(3);

    const health = await get(`${gateway.url}/api/routing/health`);
    expect(health.status).toBe(200);
    const [key] = (health.json as { data: Array<Record<string, unknown>> }).data;
    expect(key).toMatchObject({ provider: 'one', key_id: 'k1', key_name: 'k1', state: 'open', healthy: false, consecutive_failures: 3, failures: 3, last_error: 'Mock upstream error (HTTP 503)', effective_weight: 0 });
    expect(key.open_until as number).toBeGreaterThan(Date.now());
    // The metrics gauges read the same state.
    expect([...gateway.app.gateway.metrics.sources.breakers!()]).toEqual([{ provider: 'one', key: 'k1', state: 'open' }]);
  });

  it('after the cool-down, exactly one probe goes upstream; others fail fast meanwhile; its success closes the circuit', async () => {
    const held = gate();
    faults.set('sk-1', { until: held.promise }); // healthy again; its answer waits until the test lets it go
    const key = gateway.app.gateway.health.get('one', 'k1')!;
    expect((await chat(gateway, 'one/m')).status).toBe(503); // still cooling down
    endCooldown(key);
    const probe = chat(gateway, 'one/m');
    await mock.waitForRequests(1, 10_000);
    expect(key.breaker.state).toBe('half_open');
    const during = await chat(gateway, 'one/m');
    expect(during.status).toBe(503); // the probe is out: nobody else uses the key
    expect(mock.requests).toHaveLength(1);
    held.open();
    const probed = await probe;
    expect(probed.status).toBe(200);
    expect((probed.json as { choices: Array<{ message: { content: string } }> }).choices[0].message.content).toBe(CONTENT);
    faults.clear();
    const after = await chat(gateway, 'one/m');
    expect(after.status).toBe(200);
    expect(mock.requests).toHaveLength(2);
    const health = (await get(`${gateway.url}/api/routing/health?provider=one`)).json as { data: Array<Record<string, unknown>>; providers: unknown[] };
    expect(health.data[0]).toMatchObject({ state: 'closed', healthy: true, consecutive_failures: 0, opens: 1, open_until: null });
    expect(health.providers).toEqual([{ provider: 'one', max_in_flight: null, in_flight: 0, queued: 0, max_queue: 0 }]);
  });

  it('the state survives a reload; a key removed from the config is forgotten', async () => {
    faults.set('sk-1', { status: 500 });
    for (let i = 0; i < 3; i++) await chat(gateway, 'one/m');
    const core = gateway.app.gateway;
    const before = core.health.get('one', 'k1')!;
    expect(before.breaker.state).toBe('open');
    const changed = config();
    changed.providers.one.models = ['m', 'm2'];
    core.reload(loadConfig({ config: changed, env: {} }));
    expect(core.health.get('one', 'k1')).toBe(before);
    expect((await chat(gateway, 'one/m2')).status).toBe(503);
    expect(mock.requests).toHaveLength(3); // still open after the reload: no upstream call
    changed.providers.one.keys = [{ name: 'k2', api_key: 'sk-2' }];
    core.reload(loadConfig({ config: changed, env: {} }));
    expect(core.health.get('one', 'k1')).toBeUndefined();
    expect((await chat(gateway, 'one/m')).status).toBe(200);
  });
});

describe('a dead key next to a live one', () => {
  let gateway: RoutingGateway;
  beforeAll(async () => {
    gateway = await startRoutingGateway({
      config: {
        providers: {
          pair: {
            type: 'openai-compatible', base_url: mock.openaiBaseUrl, models: ['m'], max_retries: 1,
            keys: [{ name: 'live', api_key: 'sk-live' }, { name: 'dead', api_key: 'sk-dead' }],
            health_check: { interval_ms: 60_000, timeout_ms: 1000 },
          },
        },
        routing: { circuit_breaker: { failure_threshold: 2, cooldown_ms: 60_000, probe_interval_ms: 0 }, adaptive: { enabled: false } },
      },
    });
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('every request is served; the dead key costs a retry only until its circuit opens', async () => {
    faults.set('sk-dead', { status: 500 });
    for (let i = 0; i < 20; i++) {
      const reply = await chat(gateway, 'pair/m');
      expect(reply.status).toBe(200);
      const attempts = gateway.lastAttempts();
      expect([[['pair', 'live', 200]], [['pair', 'dead', 500], ['pair', 'live', 200]]]).toContainEqual(attempts);
    }
    expect(countByKey(mock)).toEqual({ 'sk-live': 20, 'sk-dead': 2 });
    expect(gateway.app.gateway.health.get('pair', 'dead')!.breaker.state).toBe('open');
  });

  it('a passing health check (GET /models, no tokens) lets the next request probe the key, which closes it', async () => {
    faults.delete('sk-dead');
    const core = gateway.app.gateway;
    const results = await core.healthChecks.checkProvider(core.state.providers.get('pair')!);
    expect(results.map((r) => [r.key, r.ok, r.status])).toEqual([['live', true, 200], ['dead', true, 200]]);
    expect(mock.requests.map((r) => `${r.method} ${r.path} ${r.headers.authorization}`)).toEqual([
      'GET /v1/models Bearer sk-live',
      'GET /v1/models Bearer sk-dead',
    ]);
    const reply = await chat(gateway, 'pair/m');
    expect(reply.status).toBe(200);
    expect(gateway.lastAttempts()).toEqual([['pair', 'dead', 200]]); // the probe goes first
    expect(core.health.get('pair', 'dead')!.breaker.state).toBe('closed');
  });

  it('a failing health check counts against the key without spending a request', async () => {
    mock.enqueue({ kind: 'error', status: 503 }, { path: '/v1/models' });
    const core = gateway.app.gateway;
    const dead = core.health.get('pair', 'dead')!;
    const requests = dead.requests;
    const [live] = await core.healthChecks.checkProvider(core.state.providers.get('pair')!);
    expect(live).toMatchObject({ key: 'live', ok: false, status: 503, error: 'health check: HTTP 503' });
    const view = core.health.snapshot(core.state.routing.breaker, core.state.routing.adaptive).find((k) => k.key_id === 'live')!;
    expect(view).toMatchObject({ last_check_ok: false, healthy: false, last_error: 'health check: HTTP 503', consecutive_failures: 1 });
    expect(dead.requests).toBe(requests);
    expect(mock.requests.every((r) => r.method === 'GET')).toBe(true);
  });
});

describe('health checks on an interval', () => {
  let gateway: RoutingGateway | undefined;
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
  });

  it('each key is checked every interval_ms with GET /models', async () => {
    gateway = await startRoutingGateway({
      config: {
        providers: {
          timed: { type: 'openai-compatible', base_url: mock.openaiBaseUrl, models: ['m'], api_key: 'sk-timed', health_check: { interval_ms: 1000 } },
        },
      },
    });
    await mock.waitForRequests(1, 10_000); // the first check is one interval after the start
    expect(mock.requests[0]).toMatchObject({ method: 'GET', path: '/v1/models' });
    expect(mock.requests[0].headers.authorization).toBe('Bearer sk-timed');
    const health = gateway.app.gateway.health.get('timed', 'timed#0')!;
    await waitFor(() => health.lastCheckOk === true, 5000, 'the check result');
    expect(health.lastCheckAt).toBeLessThanOrEqual(Date.now());
  });
});
