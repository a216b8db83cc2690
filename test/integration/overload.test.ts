/**
 * Overload shedding over real sockets: a slow upstream holds requests until
 * the gateway has limits.max_in_flight of them in flight; the next client
 * request is answered at once with 503 and Retry-After in its surface's
 * format (OpenAI, Anthropic, Gemini, a Responses WebSocket message), never
 * reaches the upstream, and is counted; /health, /metrics and /api keep
 * answering. Once the held requests finish, requests pass again. A stream
 * holds its slot until it ends; a short queue lets a request wait for a slot.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { gate, keyedChat, type KeyFault } from '../routing/helpers.js';
import { scrape, value } from '../telemetry/helpers.js';
import { get, post, waitFor, type RawReply } from './helpers.js';

const SLOW_KEY = 'sk-slow-0123456789abcdef';
const messages = [{ role: 'user', content: 'hi' }];
const chat = { model: 'slow/m', messages };

let mock: MockUpstream;
let faults: Map<string, KeyFault>;

function overloadedConfig(limits: Record<string, number>): Record<string, unknown> {
  return {
    limits,
    providers: {
      // A chat-only provider type: a Responses request is bridged to chat completions, which the mock holds.
      slow: { type: 'deepseek', base_url: mock.openaiBaseUrl, models: ['m'], api_key: SLOW_KEY, max_retries: 0 },
      // Streams one chunk, then nothing until the caller goes away.
      endless: { type: 'openai-compatible', base_url: `${mock.url}/endless/v1`, models: ['m'], api_key: SLOW_KEY, max_retries: 0 },
    },
  };
}

/** Requests the upstream holds until `open()`; resolves once the upstream has all of them. */
async function hold(gateway: TestGateway, count: number): Promise<{ open(): void; replies: Promise<RawReply[]> }> {
  const held = gate();
  faults.set(SLOW_KEY, { until: held.promise });
  const before = mock.requests.length;
  const replies = Promise.all(Array.from({ length: count }, () => post(`${gateway.url}/v1/chat/completions`, chat)));
  await mock.waitForRequests(before + count, 10_000);
  return {
    open: () => {
      faults.delete(SLOW_KEY);
      held.open();
    },
    replies,
  };
}

beforeAll(async () => {
  mock = await startMockUpstream();
  faults = keyedChat(mock);
  mock.route('POST', /^\/endless\/v1\/chat\/completions$/, async (context) => {
    context.response.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = { id: 'chatcmpl-endless', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: null }] };
    context.response.write(`data: ${JSON.stringify(chunk)}\n\n`);
    await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
  });
});
afterAll(async () => {
  await mock.close();
});

describe('at limits.max_in_flight', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway({ config: overloadedConfig({ max_in_flight: 2 }) });
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('every client surface gets 503 with Retry-After in its own format; health, metrics and /api still answer; then requests pass again', async () => {
    const before = await scrape(gateway.url);
    const held = await hold(gateway, 2);
    const upstreamCalls = mock.requests.length;

    const openai = await post(`${gateway.url}/v1/chat/completions`, chat);
    expect(openai.status).toBe(503);
    expect(openai.headers['retry-after']).toBe('1');
    expect(openai.headers['x-request-id']).toBeTruthy();
    expect(openai.json).toMatchObject({ error: { type: 'api_error', code: 'overloaded', param: null } });
    expect((openai.json as { error: { message: string } }).error.message).toContain('limits.max_in_flight');

    const anthropic = await post(`${gateway.url}/anthropic/v1/messages`, { model: 'slow/m', max_tokens: 10, messages });
    expect(anthropic.status).toBe(503);
    expect(anthropic.headers['retry-after']).toBe('1');
    expect(anthropic.json).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });

    const gemini = await post(`${gateway.url}/genai/v1beta/models/slow%2Fm:generateContent`, { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
    expect(gemini.status).toBe(503);
    expect(gemini.headers['retry-after']).toBe('1');
    expect(gemini.json).toMatchObject({ error: { code: 503, status: 'UNAVAILABLE' } });

    // Client routes Fastify serves (not the fast lane) are bounded too.
    const models = await get(`${gateway.url}/v1/models`);
    expect(models.status).toBe(503);
    const streamed = await post(`${gateway.url}/v1/chat/completions?x=1`, { ...chat, stream: true });
    expect(streamed.status).toBe(503);
    expect(streamed.json).toMatchObject({ error: { code: 'overloaded' } });

    // Refused before any work: nothing more reached the upstream.
    expect(mock.requests.length).toBe(upstreamCalls);
    // Never shed: health, metrics, the management API.
    expect((await get(`${gateway.url}/health`)).status).toBe(200);
    expect((await get(`${gateway.url}/api/auth/status`)).status).toBe(200);
    const busy = await scrape(gateway.url);
    expect(value(busy, 'heimdall_in_flight_requests')).toBe(2);
    expect(value(busy, 'heimdall_max_in_flight_requests')).toBe(2);
    const shed = (surface: string): number => value(busy, 'heimdall_requests_shed_total', { surface, reason: 'limit' }) - value(before, 'heimdall_requests_shed_total', { surface, reason: 'limit' });
    expect(shed('openai')).toBe(3);
    expect(shed('anthropic')).toBe(1);
    expect(shed('gemini')).toBe(1);
    // One log line per refused request, like every other.
    const refused = gateway.logs().filter((line) => line.msg === 'request' && line.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(5);

    held.open();
    expect((await held.replies).map((reply) => reply.status)).toEqual([200, 200]);
    const again = await post(`${gateway.url}/v1/chat/completions`, chat);
    expect(again.status).toBe(200);
    await waitFor(() => gateway.app.gateway.admission.inFlight === 0, 10_000, 'every slot to be given back');
    expect(value(await scrape(gateway.url), 'heimdall_in_flight_requests')).toBe(0);
  });

  it('the limit changes with the configuration, for the next request (PATCH /api/settings)', async () => {
    const patch = async (limits: Record<string, number>): Promise<void> => {
      const response = await request(`${gateway.url}/api/settings`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ limits }) });
      expect(response.statusCode, await response.body.text()).toBe(200);
    };
    await patch({ max_in_flight: 1 });
    try {
      const held = await hold(gateway, 1);
      expect((await post(`${gateway.url}/v1/chat/completions`, chat)).status).toBe(503);
      expect(value(await scrape(gateway.url), 'heimdall_max_in_flight_requests')).toBe(1);
      await patch({ max_in_flight: 2 });
      const second = hold(gateway, 1);
      held.open();
      (await second).open();
      expect((await held.replies)[0].status).toBe(200);
      expect((await (await second).replies)[0].status).toBe(200);
    } finally {
      await patch({ max_in_flight: 2 });
    }
  });

  it('a stream holds its slot until it ends; a client that leaves gives it back', async () => {
    const controllers = [new AbortController(), new AbortController()];
    const streams = await Promise.all(controllers.map((controller) => request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'endless/m', messages, stream: true }),
      signal: controller.signal,
    })));
    expect(streams.map((s) => s.statusCode)).toEqual([200, 200]);
    expect((await post(`${gateway.url}/v1/chat/completions`, chat)).status).toBe(503);
    for (const controller of controllers) controller.abort();
    for (const stream of streams) await stream.body.text().catch(() => undefined);
    await waitFor(() => gateway.app.gateway.admission.inFlight === 0, 10_000, 'the streams to give their slots back');
    expect((await post(`${gateway.url}/v1/chat/completions`, chat)).status).toBe(200);
  });

  it('a Responses WebSocket message is refused with a 503 error event (the socket stays open), and holds a slot while it runs', async () => {
    const socket = new WebSocket(`${gateway.url.replace(/^http/, 'ws')}/v1/responses`);
    const events: Array<Record<string, unknown>> = [];
    socket.on('message', (data) => events.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const final = (from: number) => waitFor(() => events.slice(from).some((e) => ['error', 'response.completed', 'response.failed'].includes(String(e.type))), 10_000, 'the final event');
    try {
      const held = await hold(gateway, 2);
      socket.send(JSON.stringify({ type: 'response.create', model: 'slow/m', input: 'hi' }));
      await final(0);
      expect(events.at(-1)).toMatchObject({ type: 'error', status: 503, error: { type: 'api_error', code: 'overloaded' } });
      held.open();
      await held.replies;
      await waitFor(() => gateway.app.gateway.admission.inFlight === 0, 10_000, 'the slots');

      // The message's response holds a slot while the upstream holds it.
      const heldAgain = gate();
      faults.set(SLOW_KEY, { until: heldAgain.promise });
      const from = events.length;
      const upstreamBefore = mock.requests.length;
      socket.send(JSON.stringify({ type: 'response.create', model: 'slow/m', input: 'hi' }));
      await mock.waitForRequests(upstreamBefore + 1, 10_000);
      expect(gateway.app.gateway.admission.inFlight).toBe(1);
      const other = post(`${gateway.url}/v1/chat/completions`, chat);
      await waitFor(() => gateway.app.gateway.admission.inFlight === 2, 10_000, 'the second slot');
      expect((await post(`${gateway.url}/v1/chat/completions`, chat)).status).toBe(503);
      faults.delete(SLOW_KEY);
      heldAgain.open();
      await final(from);
      expect(events.at(-1)?.type).toBe('response.completed');
      expect((await other).status).toBe(200);
      await waitFor(() => gateway.app.gateway.admission.inFlight === 0, 10_000, 'the slots');
    } finally {
      socket.close();
    }
  });
});

describe('with a queue (limits.max_queue)', () => {
  let patient: TestGateway;
  let impatient: TestGateway;
  beforeAll(async () => {
    patient = await startGateway({ config: overloadedConfig({ max_in_flight: 1, max_queue: 1, queue_timeout_ms: 60_000 }) });
    impatient = await startGateway({ config: overloadedConfig({ max_in_flight: 1, max_queue: 1, queue_timeout_ms: 100 }) });
  });
  afterAll(async () => {
    await patient.close();
    await impatient.close();
  });

  it('a request waits for a slot and is served; one more than the queue holds is refused at once', async () => {
    const held = await hold(patient, 1);
    const queued = post(`${patient.url}/v1/chat/completions`, chat);
    await waitFor(() => patient.app.gateway.admission.queued === 1, 10_000, 'the request to queue');
    expect(value(await scrape(patient.url), 'heimdall_admission_queue_depth')).toBe(1);
    const refused = await post(`${patient.url}/v1/chat/completions`, chat);
    expect(refused.status).toBe(503);
    expect((refused.json as { error: { message: string } }).error.message).toContain('limits.max_queue');
    held.open();
    expect((await held.replies)[0].status).toBe(200);
    expect((await queued).status).toBe(200);
  });

  it('a request that waits longer than queue_timeout_ms gets 503 with Retry-After', async () => {
    const before = await scrape(impatient.url);
    const held = await hold(impatient, 1);
    const timedOut = await post(`${impatient.url}/anthropic/v1/messages`, { model: 'slow/m', max_tokens: 10, messages });
    expect(timedOut.status).toBe(503);
    expect(timedOut.headers['retry-after']).toBe('1');
    expect(timedOut.json).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect((timedOut.json as { error: { message: string } }).error.message).toContain('limits.queue_timeout_ms');
    const after = await scrape(impatient.url);
    expect(value(after, 'heimdall_requests_shed_total', { surface: 'anthropic', reason: 'queue_timeout' })
      - value(before, 'heimdall_requests_shed_total', { surface: 'anthropic', reason: 'queue_timeout' })).toBe(1);
    held.open();
    expect((await held.replies)[0].status).toBe(200);
  });
});

describe('with limits.max_event_loop_delay_ms', () => {
  let gateway: TestGateway;

  /** Keeps this process's event loop (the gateway runs in it) busy, as a saturated CPU would. */
  function block(ms: number): void {
    const until = performance.now() + ms;
    while (performance.now() < until) { /* busy */ }
  }

  /** The status once the loop keeps up: the delay is the worst of the last second, so a second of idle loop clears it. */
  async function settledStatus(): Promise<number> {
    let status = 0;
    const deadline = Date.now() + 15_000;
    while (status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      status = (await post(`${gateway.url}/v1/chat/completions`, chat)).status;
    }
    return status;
  }

  it('while the event loop runs late, new requests get 503 at once; once it keeps up, they pass again', async () => {
    gateway = await startGateway({ config: overloadedConfig({ max_event_loop_delay_ms: 100 }) });
    try {
      await lateLoopRefusals();
    } finally {
      await gateway.close();
    }
  });

  async function lateLoopRefusals(): Promise<void> {
    // Start-up (and a loaded machine) may make the loop late at first.
    expect(await settledStatus()).toBe(200);
    let refused: RawReply | undefined;
    for (let attempt = 0; attempt < 20 && refused === undefined; attempt++) {
      block(300);
      await new Promise((resolve) => setTimeout(resolve, 60)); // a sample of the delay is taken
      const reply = await post(`${gateway.url}/anthropic/v1/messages`, { model: 'slow/m', max_tokens: 10, messages });
      if (reply.status === 503) refused = reply;
    }
    expect(refused, 'a request refused while the loop ran late').toBeDefined();
    expect(refused!.headers['retry-after']).toBe('1');
    expect(refused!.json).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect((refused!.json as { error: { message: string } }).error.message).toContain('limits.max_event_loop_delay_ms');
    expect(value(await scrape(gateway.url), 'heimdall_requests_shed_total', { surface: 'anthropic', reason: 'event_loop_delay' })).toBeGreaterThanOrEqual(1);
    expect(await settledStatus()).toBe(200);
  }
});
