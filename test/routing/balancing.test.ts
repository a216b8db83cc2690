/**
 * Load balancing against a mock upstream: traffic shifts away from a slow key
 * and comes back when it recovers (adaptive balancing), model groups split
 * traffic by deployment weight, and a group whose deployments fail moves on to
 * its fallbacks. Counts are taken at the mock.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { get, post } from '../integration/helpers.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { countByKey, keyedChat, messages, startRoutingGateway, type KeyFault, type RoutingGateway } from './helpers.js';

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

async function send(gateway: RoutingGateway, model: string, count: number): Promise<Array<Record<string, unknown>>> {
  const replies: Array<Record<string, unknown>> = [];
  for (let i = 0; i < count; i++) {
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model, messages });
    expect(reply.status).toBe(200);
    replies.push({ provider: reply.headers['x-heimdall-provider'], model: reply.headers['x-heimdall-model'], body: reply.json });
  }
  return replies;
}

describe('adaptive balancing', () => {
  let gateway: RoutingGateway;
  beforeAll(async () => {
    gateway = await startRoutingGateway({
      config: {
        providers: {
          lb: { type: 'openai-compatible', base_url: mock.openaiBaseUrl, models: ['m'], keys: [{ name: 'fast', api_key: 'sk-fast' }, { name: 'slow', api_key: 'sk-slow' }] },
        },
        // A short half-life so the recovery is seen within the test.
        routing: { adaptive: { half_life_ms: 1000 } },
      },
    });
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('a slow key next to a fast one: traffic shifts to the fast key, and comes back when the slow one recovers', async () => {
    // A 20x gap: scheduling delay on a loaded machine adds to both latencies alike (even 100 ms
    // extra leaves the slow key under a quarter of the fast one's share).
    faults.set('sk-fast', { delayMs: 20 });
    faults.set('sk-slow', { delayMs: 400 });
    await send(gateway, 'lb/m', 60);
    const degraded = countByKey(mock);
    expect(degraded['sk-fast']).toBeGreaterThanOrEqual(42); // equal weights would give 30 (±4)
    expect(degraded['sk-slow'] ?? 0).toBeLessThanOrEqual(18);
    const view = gateway.app.gateway.health.snapshot(gateway.app.gateway.state.routing.breaker, gateway.app.gateway.state.routing.adaptive);
    const slow = view.find((k) => k.key_id === 'slow')!;
    expect(slow.latency_ms!).toBeGreaterThan(350);
    expect(slow.effective_weight).toBeLessThan(0.5);

    faults.set('sk-slow', { delayMs: 20 });
    mock.reset();
    await new Promise((resolve) => setTimeout(resolve, 4000)); // four half-lives: the old penalty fades
    await send(gateway, 'lb/m', 60);
    const recovered = countByKey(mock);
    expect(recovered['sk-slow']).toBeGreaterThanOrEqual(12);
  }, 45_000);
});

describe('model groups', () => {
  let gateway: RoutingGateway;
  let backup: MockUpstream;
  beforeAll(async () => {
    backup = await startMockUpstream();
    const provider = (key: string, models: string[]) => ({ type: 'openai-compatible', base_url: mock.openaiBaseUrl, models, max_retries: 1, keys: [{ name: key, api_key: `sk-${key}` }] });
    gateway = await startRoutingGateway({
      config: {
        providers: {
          east: provider('east', ['gpt-4o']),
          west: provider('west', ['gpt-4o-mini']),
          backup: { type: 'openai-compatible', base_url: backup.openaiBaseUrl, models: ['big'], api_key: 'sk-backup' },
        },
        routing: {
          adaptive: { enabled: false },
          circuit_breaker: { failure_threshold: 3, cooldown_ms: 60_000, probe_interval_ms: 0 }, // the whole cool-down: an open circuit stays open for the test
          model_groups: {
            'gpt-4o': {
              deployments: [{ provider: 'east', model: 'gpt-4o', weight: 3 }, { provider: 'west', model: 'gpt-4o-mini', weight: 1 }],
              fallbacks: ['backup/big'],
            },
          },
        },
      },
    });
  });
  afterAll(async () => {
    await gateway.close();
    await backup.close();
  });
  beforeEach(() => backup.reset());

  it('one public name, traffic split 3:1 by deployment weight; the reply says which deployment served', async () => {
    const replies = await send(gateway, 'gpt-4o', 80);
    const counts = countByKey(mock);
    expect(counts['sk-east']).toBeGreaterThanOrEqual(45);
    expect(counts['sk-east']).toBeLessThanOrEqual(75);
    expect(counts['sk-east'] + counts['sk-west']).toBe(80);
    for (const reply of replies) {
      expect([['east', 'gpt-4o'], ['west', 'gpt-4o-mini']]).toContainEqual([reply.provider, reply.model]);
      expect((reply.body as { model: string }).model).toBe(reply.model); // the deployment's own model id went upstream
    }
  });

  it('GET /v1/models lists the group under its public name', async () => {
    const list = (await get(`${gateway.url}/v1/models`)).json as { data: Array<{ id: string; owned_by: string }> };
    expect(list.data).toContainEqual({ id: 'gpt-4o', object: 'model', created: 0, owned_by: 'heimdall' });
    expect((await get(`${gateway.url}/v1/models/gpt-4o`)).status).toBe(200);
  });

  it('a failing deployment: its requests retry on the other one at once, until its circuit opens', async () => {
    faults.set('sk-west', { status: 503 });
    // west has weight 1 of 4: 60 requests pick it fewer than 3 times with probability ~1e-5 (30: ~1%).
    await send(gateway, 'gpt-4o', 60);
    for (const ctx of gateway.finished.slice(-60)) {
      const attempts = ctx.attempts.map((a) => [a.provider, a.status]);
      expect([[['east', 200]], [['west', 503], ['east', 200]]]).toContainEqual(attempts);
    }
    expect(countByKey(mock)['sk-west']).toBe(3); // then its circuit is open
    expect(gateway.app.gateway.health.get('west', 'west')!.breaker.state).toBe('open');
  });

  it('every deployment down: the group fallbacks serve, after each deployment was tried', async () => {
    faults.set('sk-east', { status: 500 });
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'gpt-4o', messages });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-heimdall-provider']).toBe('backup');
    expect(reply.headers['x-heimdall-model']).toBe('big');
    // west's circuit is open (previous test): east is tried with its one retry, then the fallback.
    expect(gateway.lastAttempts()).toEqual([['east', 'east', 500], ['east', 'east', 500], ['backup', 'default', 200]]);
    expect(backup.requests[0].body).toMatchObject({ model: 'big' });
  });
});
