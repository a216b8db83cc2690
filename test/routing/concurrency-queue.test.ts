/**
 * Per-provider concurrency limit with a bounded queue, over real sockets: a
 * full queue is refused at once in the caller's format (or moves to a
 * fallback), a waiter that waits too long gets 503, queue depth is readable.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { post, waitFor } from '../integration/helpers.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { gate, keyedChat, messages, startRoutingGateway, type KeyFault, type RoutingGateway } from './helpers.js';

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
    const held = gate();
    faults.set('sk-q', { until: held.promise }); // the first call holds the only slot until the test lets it go
    const first = chat('q/m');
    await mock.waitForRequests(1, 10_000);
    const second = chat('q/m');
    await waitFor(() => gateway.app.gateway.concurrency.get('q')!.queued === 1, 5000, 'the second request to queue');
    expect([...gateway.app.gateway.metrics.sources.providers!()].find((p) => p.provider === 'q')).toEqual({ provider: 'q', inFlight: 1, queued: 1 });
    // Refused while the slot is still held: it did not wait for one.
    const third = await chat('q/m');
    expect(mock.requests).toHaveLength(1);
    expect(gateway.app.gateway.concurrency.get('q')).toMatchObject({ inFlight: 1, queued: 1 });
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
    const releasedAt = Date.now();
    held.open();
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(mock.requests).toHaveLength(2);
    expect(mock.requests[1].receivedAt).toBeGreaterThanOrEqual(releasedAt); // it waited for the slot
    expect(gateway.app.gateway.concurrency.get('q')).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('the Anthropic surface gets the refusal in its own format', async () => {
    const held = gate();
    faults.set('sk-q', { until: held.promise });
    const pending = [chat('q/m')];
    await mock.waitForRequests(1, 10_000);
    pending.push(chat('q/m'));
    await waitFor(() => gateway.app.gateway.concurrency.get('q')!.queued === 1, 5000, 'the second request to queue');
    const refused = await post(`${gateway.url}/anthropic/v1/messages`, { model: 'q/m', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringMatching(/^Provider "q" is at its concurrency limit/) } });
    held.open();
    expect((await Promise.all(pending)).map((r) => r.status)).toEqual([200, 200]);
  });

  it('a full queue moves on to a fallback when the model has one', async () => {
    const held = gate();
    faults.set('sk-q', { until: held.promise });
    const pending = [chat('q/m2')];
    await mock.waitForRequests(1, 10_000);
    pending.push(chat('q/m2'));
    await waitFor(() => gateway.app.gateway.concurrency.get('q')!.queued === 1, 5000, 'the second request to queue');
    const reply = await chat('q/m2');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-heimdall-provider']).toBe('spare');
    expect(gateway.lastAttempts()).toEqual([['spare', 'default', 200]]);
    held.open();
    expect((await Promise.all(pending)).map((r) => r.status)).toEqual([200, 200]);
  });

  it('a waiter that gets no slot within queue_timeout_ms: 503 provider_queue_timeout', async () => {
    const held = gate();
    faults.set('sk-qt', { until: held.promise }); // the slot stays taken until the second request gave up
    const first = chat('qt/m');
    await mock.waitForRequests(1, 10_000);
    const second = await chat('qt/m');
    expect(second.status).toBe(503);
    expect(second.json).toEqual({
      error: { message: 'Provider "qt" had no free slot within 200 ms (concurrency limit 1).', type: 'api_error', param: null, code: 'provider_queue_timeout' },
    });
    expect(gateway.app.gateway.concurrency.get('qt')).toMatchObject({ inFlight: 1, queued: 0 });
    held.open();
    expect((await first).status).toBe(200);
    expect(mock.requests).toHaveLength(1);
  });
});
