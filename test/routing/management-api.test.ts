/**
 * Every routing option can be changed through the management API, and the
 * change shows on the very next request: fallbacks (a primary with two),
 * aliases, the default model and provider, model groups, key weights, the
 * retry count and time budget, the circuit breaker, adaptive balancing, the
 * concurrency limit and queue, health checks, timeouts, and the named
 * context-window / content-policy fallbacks. Each test starts a fresh
 * gateway (its own store) and asserts the attempts the next request made.
 */
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { post, waitFor, type RawReply } from '../integration/helpers.js';
import { openaiErrorBody, startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { gate, keyedChat, keyOf, messages, startRoutingGateway, type KeyFault, type RoutingGateway } from './helpers.js';

let mock: MockUpstream;
let faults: Map<string, KeyFault>;
let gateway: RoutingGateway;

interface ApiReply {
  status: number;
  json: Record<string, unknown>;
}

/** A management API call, as curl would make it (no token: loopback is allowed without one). */
async function api(method: 'GET' | 'PATCH' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<ApiReply> {
  const response = await request(`${gateway.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function change(method: 'PATCH' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<ApiReply> {
  const reply = await api(method, path, body);
  expect(reply.status, JSON.stringify(reply.json)).toBeLessThan(300);
  return reply;
}

function chat(model: string | undefined, extra: Record<string, unknown> = {}): Promise<RawReply> {
  return post(`${gateway.url}/v1/chat/completions`, { ...(model === undefined ? {} : { model }), messages, ...extra });
}

const chatRequests = (): number => mock.requests.filter((r) => r.path === '/v1/chat/completions').length;

beforeAll(async () => {
  mock = await startMockUpstream();
  faults = keyedChat(mock);
});
afterAll(async () => {
  await mock.close();
});
beforeEach(async () => {
  mock.reset();
  faults.clear();
  const provider = (key: string, models: string[]) => ({
    type: 'openai-compatible', base_url: mock.openaiBaseUrl, models, keys: [{ name: key, api_key: `sk-${key}` }],
  });
  gateway = await startRoutingGateway({
    config: {
      providers: { a: provider('ka', ['m']), b: provider('kb', ['n']), c: provider('kc', ['o']) },
      // No retries and no breaker unless a test turns them on through the API.
      routing: { retry: { max_retries: 0 }, circuit_breaker: { failure_threshold: 100 } },
    },
  });
});
afterEach(async () => {
  await gateway.close();
});

describe('fallbacks, aliases, default model, model groups', () => {
  it('a primary with two fallbacks: one PATCH /api/routing, then the chain serves', async () => {
    const patched = await change('PATCH', '/api/routing', { fallbacks: { 'a/m': ['b/n', 'c/o'] } });
    expect(patched.json.fallbacks).toEqual({ 'a/m': ['b/n', 'c/o'] });
    faults.set('sk-ka', { status: 500 });
    faults.set('sk-kb', { status: 503 });
    const reply = await chat('a/m');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-heimdall-provider']).toBe('c');
    expect(reply.headers['x-heimdall-attempts']).toBe('3');
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 500], ['b', 'kb', 503], ['c', 'kc', 200]]);

    // PUT /api/routing/fallbacks/:model replaces the list; DELETE removes it.
    await change('PUT', `/api/routing/fallbacks/${encodeURIComponent('a/m')}`, { fallbacks: ['c/o'] });
    expect((await chat('a/m')).status).toBe(200);
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 500], ['c', 'kc', 200]]);
    await change('DELETE', `/api/routing/fallbacks/${encodeURIComponent('a/m')}`);
    expect((await chat('a/m')).status).toBe(500);
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 500]]);
  });

  it('aliases, the default model and the default provider', async () => {
    await change('PUT', '/api/routing/aliases/smart', { target: 'b/n' });
    let reply = await chat('smart');
    expect([reply.status, reply.headers['x-heimdall-provider'], reply.headers['x-heimdall-model']]).toEqual([200, 'b', 'n']);

    await change('PATCH', '/api/routing', { aliases: { smart: 'c/o' }, default_model: 'smart' });
    reply = await chat(undefined); // no model in the body: the default model, through its alias
    expect([reply.status, reply.headers['x-heimdall-provider'], reply.headers['x-heimdall-model']]).toEqual([200, 'c', 'o']);

    expect((await chat('unlisted')).status).toBe(404); // a bare name no provider lists
    await change('PATCH', '/api/routing', { default_provider: 'a' });
    reply = await chat('unlisted');
    expect([reply.status, reply.headers['x-heimdall-provider'], reply.headers['x-heimdall-model']]).toEqual([200, 'a', 'unlisted']);
  });

  it('a model group: created, re-pointed, switched off', async () => {
    const created = await api('POST', '/api/routing/model-groups', { name: 'team-model', deployments: [{ provider: 'a', model: 'm', weight: 2 }], fallbacks: ['b/n'] });
    expect(created.status).toBe(201);
    faults.set('sk-ka', { status: 500 });
    let reply = await chat('team-model');
    expect(reply.status).toBe(200);
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 500], ['b', 'kb', 200]]);

    await change('PATCH', '/api/routing/model-groups/team-model', { deployments: [{ provider: 'c', model: 'o' }] });
    reply = await chat('team-model');
    expect(gateway.lastAttempts()).toEqual([['c', 'kc', 200]]);

    await change('PATCH', '/api/routing/model-groups/team-model', { enabled: false });
    expect((await chat('team-model')).status).toBe(404);
  });

  it('keys and their weights: a key added through the API takes traffic; weight 0 takes it out', async () => {
    const added = await api('POST', '/api/providers/a/keys', { name: 'k2', api_key: 'sk-k2', weight: 1 });
    expect(added.status).toBe(201);
    const id = added.json.id as string;
    faults.set('sk-ka', { status: 401 }); // the file key is refused: only the new key can serve
    for (let i = 0; i < 4; i++) {
      expect((await chat('a/m')).status).toBe(200);
      expect(gateway.lastAttempts().at(-1)).toEqual(['a', 'k2', 200]);
    }
    await change('PATCH', `/api/providers/a/keys/${id}`, { weight: 0 });
    mock.reset();
    expect((await chat('a/m')).status).toBe(401);
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 401]]);
    expect(mock.requests.map((r) => keyOf(r.headers.authorization))).toEqual(['sk-ka']);
  });
});

describe('retries, breaker, adaptive balancing', () => {
  it('the retry count, for every provider (PATCH /api/routing) and for one (PATCH /api/providers/:name)', async () => {
    faults.set('sk-ka', { status: 500, headers: { 'retry-after-ms': '0' } });
    expect((await chat('a/m')).status).toBe(500);
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 500]]);

    await change('PATCH', '/api/routing', { retry: { max_retries: 2 } });
    expect((await chat('a/m')).status).toBe(500);
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 500], ['a', 'ka', 500], ['a', 'ka', 500]]);

    await change('PATCH', '/api/providers/a', { max_retries: 1 });
    expect((await chat('a/m')).status).toBe(500);
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 500], ['a', 'ka', 500]]);
  });

  it('the retry time budget: a Retry-After past it fails fast; a larger budget waits for it', async () => {
    await change('PATCH', '/api/routing', { retry: { max_retries: 1, budget_ms: 500 } });
    faults.set('sk-ka', { status: 429, headers: { 'retry-after': '1' }, times: 1 });
    let reply = await chat('a/m');
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBe('1');
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 429]]);

    const patched = await change('PATCH', '/api/providers/a', { retry_budget_ms: 10_000 });
    expect(patched.json.retry_budget_ms).toBe(10_000);
    faults.set('sk-ka', { status: 429, headers: { 'retry-after': '1' }, times: 1 });
    reply = await chat('a/m');
    expect(reply.status).toBe(200);
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 429], ['a', 'ka', 200]]);
    expect(gateway.finished.at(-1)!.waitMs).toBeGreaterThanOrEqual(950); // it waited the Retry-After
  });

  it('the circuit breaker: a lower threshold opens it on the next failure; disabled, the key is called again', async () => {
    await change('PATCH', '/api/routing', { circuit_breaker: { failure_threshold: 1, cooldown_ms: 60_000 } });
    faults.set('sk-ka', { status: 500 });
    expect((await chat('a/m')).status).toBe(500);
    const calls = chatRequests();
    const refused = await chat('a/m');
    expect(refused.status).toBe(503);
    expect((refused.json as { error: { code: string } }).error.code).toBe('upstream_unavailable');
    expect(chatRequests()).toBe(calls); // no upstream call
    const health = await api('GET', '/api/routing/health?provider=a');
    expect((health.json.data as Array<Record<string, unknown>>)[0]).toMatchObject({ key_id: 'ka', state: 'open', effective_weight: 0 });

    await change('PATCH', '/api/routing', { circuit_breaker: { enabled: false } });
    expect((await chat('a/m')).status).toBe(500);
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 500]]);
    expect(chatRequests()).toBe(calls + 1);
  });

  it('adaptive balancing: on, a failing key weighs less; off, every key has its configured weight', async () => {
    await change('POST', '/api/providers/a/keys', { name: 'k2', api_key: 'sk-k2', weight: 1 });
    await change('PATCH', '/api/routing', { retry: { max_retries: 1 } }); // a failure moves to the other key at once
    faults.set('sk-ka', { status: 500 });
    for (let i = 0; i < 6; i++) expect((await chat('a/m')).status).toBe(200);
    const weights = async (): Promise<Record<string, number>> => {
      const view = await api('GET', '/api/routing/health?provider=a');
      return Object.fromEntries((view.json.data as Array<{ key_name: string; effective_weight: number }>).map((k) => [k.key_name, k.effective_weight]));
    };
    const on = await weights();
    expect(on.k2).toBe(1);
    expect(on.ka).toBeLessThan(1);

    await change('PATCH', '/api/routing', { adaptive: { enabled: false } });
    expect(gateway.app.gateway.state.routing.adaptive.enabled).toBe(false);
    expect(await weights()).toEqual({ ka: 1, k2: 1 });
  });
});

describe('concurrency, health checks, timeouts, named fallbacks', () => {
  it('the concurrency limit and queue of a provider: the next request is refused while the slot is taken', async () => {
    const patched = await change('PATCH', '/api/providers/a', { concurrency: { max_in_flight: 1, max_queue: 0 } });
    expect(patched.json.concurrency).toEqual({ max_in_flight: 1, max_queue: 0, queue_timeout_ms: 30_000 });
    let held = gate();
    faults.set('sk-ka', { until: held.promise });
    const first = chat('a/m');
    await mock.waitForRequests(1, 10_000);
    const refused = await chat('a/m');
    expect(refused.status).toBe(429);
    expect((refused.json as { error: { code: string } }).error.code).toBe('provider_queue_full');
    held.open();
    expect((await first).status).toBe(200);

    await change('PATCH', '/api/providers/a', { concurrency: null }); // back to no limit
    mock.reset();
    held = gate();
    faults.set('sk-ka', { until: held.promise });
    const both = [chat('a/m'), chat('a/m')];
    await mock.waitForRequests(2, 10_000); // both reach the provider at once
    held.open();
    expect((await Promise.all(both)).map((r) => r.status)).toEqual([200, 200]);
  });

  it('health checks switched on for a provider: its key is checked (GET /models) on the interval', async () => {
    const patched = await change('PATCH', '/api/providers/a', { health_check: { interval_ms: 1000, timeout_ms: 2000 } });
    expect(patched.json.health_check).toEqual({ interval_ms: 1000, timeout_ms: 2000 });
    await waitFor(() => mock.requests.some((r) => r.method === 'GET' && r.path === '/v1/models' && r.headers.authorization === 'Bearer sk-ka'), 10_000, 'a health check');
    await waitFor(() => gateway.app.gateway.health.get('a', 'ka')?.lastCheckOk === true, 10_000, 'its result');
    const health = await api('GET', '/api/routing/health?provider=a');
    expect((health.json.data as Array<Record<string, unknown>>)[0]).toMatchObject({ key_id: 'ka', last_check_ok: true });
  });

  it('timeouts: the global default (PATCH /api/settings), then a provider override (PATCH /api/providers/:name)', async () => {
    await change('PATCH', '/api/settings', { timeouts: { first_byte_ms: 300 } });
    faults.set('sk-ka', { delayMs: 1500 }); // slower than 300 ms, well within 10 s
    const cut = await chat('a/m');
    expect(cut.status).toBe(504);
    expect(gateway.finished.at(-1)!.attempts).toMatchObject([{ provider: 'a', failure: 'timeout', error: 'no response before the first-byte timeout' }]);

    const patched = await change('PATCH', '/api/providers/a', { timeouts: { first_byte_ms: 10_000 } });
    expect(patched.json.timeouts).toMatchObject({ first_byte_ms: 10_000 });
    expect((await chat('a/m')).status).toBe(200);
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 200]]);
  });

  it('the named context-window and content-policy fallbacks', async () => {
    await change('PATCH', '/api/routing', {
      context_window_fallbacks: { 'a/m': ['b/n'] },
      content_policy_fallbacks: { 'a/m': ['c/o'] },
    });
    faults.set('sk-ka', { status: 400, body: openaiErrorBody(400, "This model's maximum context length is 8192 tokens.", { code: 'context_length_exceeded' }), times: 1 });
    expect((await chat('a/m')).headers['x-heimdall-provider']).toBe('b');
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 400], ['b', 'kb', 200]]);

    faults.set('sk-ka', { status: 400, body: openaiErrorBody(400, 'The response was filtered.', { code: 'content_filter' }), times: 1 });
    expect((await chat('a/m')).headers['x-heimdall-provider']).toBe('c');
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 400], ['c', 'kc', 200]]);
  });

  it('GET /api/routing and GET /api/providers/:name show the effective values; the health state survives every change', async () => {
    faults.set('sk-ka', { status: 500, times: 1 });
    await chat('a/m');
    const core = gateway.app.gateway;
    const health = core.health.get('a', 'ka')!;
    expect(health.failures).toBe(1);
    await change('PATCH', '/api/routing', { retry: { budget_ms: 1000 }, circuit_breaker: { failure_threshold: 2 }, adaptive: { half_life_ms: 5000 } });
    await change('PATCH', '/api/providers/a', { concurrency: { max_in_flight: 3 }, health_check: { interval_ms: 60_000 } });
    const routing = await api('GET', '/api/routing');
    expect(routing.json).toMatchObject({
      retry: { max_retries: 0, budget_ms: 1000 },
      circuit_breaker: { enabled: true, failure_threshold: 2, cooldown_ms: 30_000 },
      adaptive: { enabled: true, half_life_ms: 5000, min_share: 0.05 },
    });
    const provider = await api('GET', '/api/providers/a');
    expect(provider.json).toMatchObject({
      max_retries: 0,
      retry_budget_ms: 1000,
      concurrency: { max_in_flight: 3, max_queue: 100, queue_timeout_ms: 30_000 },
      health_check: { interval_ms: 60_000, timeout_ms: 5000 },
    });
    expect(core.health.get('a', 'ka')).toBe(health);
    expect(core.state.providers.get('a')!.limiter).toBe(core.concurrency.get('a'));
  });
});
