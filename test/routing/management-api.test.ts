/**
 * Everything routing reads is configurable through the management API too:
 * model groups, the routing settings (retry, breaker, adaptive, named
 * fallbacks) and the per-provider ones (concurrency, health checks, retry
 * budget). Each change reloads the gateway; the health state survives it.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post } from '../integration/helpers.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { messages, startRoutingGateway, type RoutingGateway } from './helpers.js';

let mock: MockUpstream;
let gateway: RoutingGateway;

async function send(method: 'PATCH' | 'POST', path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await request(`${gateway.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.body.text();
  return { status: response.statusCode, json: text === '' ? undefined : JSON.parse(text) };
}

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startRoutingGateway({
    config: {
      providers: {
        a: { type: 'openai-compatible', base_url: mock.openaiBaseUrl, models: ['m'], keys: [{ name: 'ka', api_key: 'sk-a' }] },
        b: { type: 'openai-compatible', base_url: mock.openaiBaseUrl, models: ['n'], api_key: 'sk-b' },
      },
    },
  });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});

describe('routing through the management API', () => {
  it('a model group created with POST /api/routing/model-groups serves at once', async () => {
    const created = await send('POST', '/api/routing/model-groups', { name: 'team-model', deployments: [{ provider: 'a', model: 'm', weight: 2 }], fallbacks: ['b/n'] });
    expect(created.status).toBeLessThan(300);
    expect(gateway.app.gateway.state.routing.modelGroups['team-model']).toEqual({ deployments: [{ provider: 'a', model: 'm', weight: 2 }], fallbacks: ['b/n'] });
    mock.enqueue({ kind: 'error', status: 500 }, { times: 3 });
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'team-model', messages });
    expect(reply.status).toBe(200);
    expect(gateway.lastAttempts()).toEqual([['a', 'ka', 500], ['a', 'ka', 500], ['a', 'ka', 500], ['b', 'default', 200]]);
  });

  it('PATCH /api/routing sets retry, breaker, adaptive and named fallbacks; health state survives the reload', async () => {
    const core = gateway.app.gateway;
    const health = core.health.get('a', 'ka')!;
    expect(health.failures).toBe(3);
    const patched = await send('PATCH', '/api/routing', {
      retry: { max_retries: 0, budget_ms: 1000 },
      circuit_breaker: { failure_threshold: 2, cooldown_ms: 5000 },
      adaptive: { enabled: false },
      context_window_fallbacks: { 'a/m': ['b/n'] },
    });
    expect(patched.status).toBe(200);
    const routing = core.state.routing;
    expect(routing.breaker).toMatchObject({ failureThreshold: 2, cooldownMs: 5000 });
    expect(routing.adaptive.enabled).toBe(false);
    expect(routing.contextWindowFallbacks).toEqual({ 'a/m': ['b/n'] });
    expect(core.state.providers.get('a')).toMatchObject({ maxRetries: 0, retryBudgetMs: 1000 });
    expect(core.health.get('a', 'ka')).toBe(health);
  });

  it('PATCH /api/providers/:name sets the concurrency limit, health checks and retry bounds of a provider', async () => {
    const patched = await send('PATCH', '/api/providers/a', {
      max_retries: 1,
      retry_budget_ms: 2000,
      concurrency: { max_in_flight: 3, max_queue: 7 },
      health_check: { interval_ms: 60_000, timeout_ms: 1000 },
    });
    expect(patched.status).toBe(200);
    const provider = gateway.app.gateway.state.providers.get('a')!;
    expect(provider).toMatchObject({ maxRetries: 1, retryBudgetMs: 2000, healthCheck: { intervalMs: 60_000, timeoutMs: 1000 } });
    expect(provider.limiter.settings).toEqual({ maxInFlight: 3, maxQueue: 7, queueTimeoutMs: 30_000 });
    const health = (await request(`${gateway.url}/api/routing/health?provider=a`)).body.json() as Promise<{ providers: unknown[] }>;
    expect((await health).providers).toEqual([{ provider: 'a', max_in_flight: 3, in_flight: 0, queued: 0, max_queue: 7 }]);
  });
});
