/**
 * Per-provider concurrency limit with a bounded queue, over real sockets: a
 * full queue is refused at once in the caller's format (or moves to a
 * fallback), a waiter that waits too long gets 503, queue depth is readable.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { post, waitFor } from '../integration/helpers.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { keyedChat, messages, startRoutingGateway, type KeyFault, type RoutingGateway } from './helpers.js';

let mock: MockUpstream;
let faults: Map<string, KeyFault>;
let gateway: RoutingGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  faults = keyedChat(mock);
  const limited = (key: string, queueTimeoutMs: number) => ({
    type: 'openai-compatible', base_url: mock.openaiBaseUrl, models: ['m', 'm2'], api_key: key,
    concurrency: { max_in_flight: 1, max_queue: 1, queue_timeout_ms: queueTimeoutMs },
  });
  gateway = await startRoutingGateway({
    config: {
      providers: {
        q: limited('sk-q', 5000),
        qt: limited('sk-qt', 200),
        spare: { type: 'openai-compatible', base_url: mock.openaiBaseUrl, models: ['m'], api_key: 'sk-spare' },
      },
      routing: { fallbacks: { 'q/m2': ['spare/m'] } },
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

const chat = (model: string) => post(`${gateway.url}/v1/chat/completions`, { model, messages });

describe('concurrency limit and queue', () => {
  it('one in flight, one queued, the next refused at once with 429 in OpenAI format; the queued one runs after', async () => {
    faults.set('sk-q', { delayMs: 800 });
    const first = chat('q/m');
    await mock.waitForRequests(1);
    const second = chat('q/m');
    await waitFor(() => gateway.app.gateway.concurrency.get('q')!.queued === 1, 2000, 'the second request to queue');
    expect([...gateway.app.gateway.metrics.sources.providers!()].find((p) => p.provider === 'q')).toEqual({ provider: 'q', inFlight: 1, queued: 1 });
    const started = performance.now();
    const third = await chat('q/m');
    expect(performance.now() - started).toBeLessThan(600); // not queued: that would take 1.6 s
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBe('1');
    expect(third.json).toEqual({
      error: {
        message: 'Provider "q" is at its concurrency limit (1 in flight) and its queue is full (1 waiting); retry shortly.',
        type: 'rate_limit_error',
        param: null,
        code: 'provider_queue_full',
      },
    });
    expect(gateway.lastAttempts()).toEqual([]);
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(mock.requests).toHaveLength(2);
    expect(mock.requests[1].receivedAt - mock.requests[0].receivedAt).toBeGreaterThanOrEqual(750); // it waited for the slot
    expect(gateway.app.gateway.concurrency.get('q')).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('the Anthropic surface gets the refusal in its own format', async () => {
    faults.set('sk-q', { delayMs: 300 });
    const pending = [chat('q/m')];
    await mock.waitForRequests(1);
    pending.push(chat('q/m'));
    await waitFor(() => gateway.app.gateway.concurrency.get('q')!.queued === 1, 2000, 'the second request to queue');
    const refused = await post(`${gateway.url}/anthropic/v1/messages`, { model: 'q/m', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringMatching(/^Provider "q" is at its concurrency limit/) } });
    await Promise.all(pending);
  });

  it('a full queue moves on to a fallback when the model has one', async () => {
    faults.set('sk-q', { delayMs: 300 });
    const pending = [chat('q/m2')];
    await mock.waitForRequests(1);
    pending.push(chat('q/m2'));
    await waitFor(() => gateway.app.gateway.concurrency.get('q')!.queued === 1, 2000, 'the second request to queue');
    const reply = await chat('q/m2');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-heimdall-provider']).toBe('spare');
    expect(gateway.lastAttempts()).toEqual([['spare', 'default', 200]]);
    await Promise.all(pending);
  });

  it('a waiter that gets no slot within queue_timeout_ms: 503 provider_queue_timeout', async () => {
    faults.set('sk-qt', { delayMs: 1200 });
    const first = chat('qt/m');
    await mock.waitForRequests(1);
    const started = performance.now();
    const second = await chat('qt/m');
    expect(performance.now() - started).toBeLessThan(1000); // the slot frees only after 1.2 s
    expect(second.status).toBe(503);
    expect(second.json).toEqual({
      error: { message: 'Provider "qt" had no free slot within 200 ms (concurrency limit 1).', type: 'api_error', param: null, code: 'provider_queue_timeout' },
    });
    expect((await first).status).toBe(200);
    expect(mock.requests).toHaveLength(1);
  });
});
