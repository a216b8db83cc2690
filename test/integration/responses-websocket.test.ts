/**
 * The Responses API WebSocket mode over real sockets, with a client written to Codex's protocol
 * (the `OpenAI-Beta: responses_websockets=2026-02-06` handshake, a `generate: false` warm-up,
 * `response.create` turns that send only the new items with `previous_response_id`,
 * `response.processed` acknowledgements) and the official SDK's ResponsesWS client: an OpenAI
 * upstream (pass-through events) and an Anthropic one (bridged).
 */
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ResponsesWebSockets } from '../../src/api/responses-websocket.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { call, startAdminGateway } from '../api/helpers.js';
import { get, waitFor } from './helpers.js';

let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({ env: providers.env, config: providers.config });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

type Event = Record<string, unknown> & { type: string };

/** A WebSocket client speaking the protocol as Codex does: events in, one turn at a time. */
class CodexLikeClient {
  readonly events: Event[] = [];
  private waiters: Array<() => void> = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.events.push(JSON.parse(data.toString()) as Event);
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async connect(baseUrl: string, headers: Record<string, string> = {}): Promise<CodexLikeClient> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/responses`, {
      headers: { authorization: 'Bearer client-key', 'openai-beta': 'responses_websockets=2026-02-06', 'session-id': 'session-1', ...headers },
      perMessageDeflate: true,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new CodexLikeClient(socket);
  }

  send(event: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(event));
  }

  /** Waits until an event matching `done` has arrived after index `from`; returns the events from `from` to it. */
  async until(done: (event: Event) => boolean, from = 0, timeoutMs = 5000): Promise<Event[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.events.findIndex((event, i) => i >= from && done(event));
      if (index !== -1) return this.events.slice(from, index + 1);
      if (this.closed !== undefined) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) before the event`);
      if (Date.now() > deadline) throw new Error(`no matching event within ${timeoutMs} ms; got ${this.events.map((e) => e.type).join(', ')}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Sends one response.create and returns its events, up to the final one. */
  async turn(event: Record<string, unknown>): Promise<Event[]> {
    const from = this.events.length;
    this.send({ type: 'response.create', ...event });
    return this.until((e) => ['response.completed', 'response.failed', 'response.incomplete', 'error'].includes(e.type), from);
  }

  async closedWith(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    await waitFor(() => this.closed !== undefined, timeoutMs, 'the socket to close');
    return this.closed!;
  }
}

const tools = [{ type: 'function', name: 'lookup', description: 'look a word up', strict: false, parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } }];
const user = (text: string) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] });

/** heimdall_requests_total for one provider's 2xx answers, from /metrics. */
async function requestsCounted(provider: string): Promise<number> {
  const text = (await get(`${gateway.url}/metrics`)).text;
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('heimdall_requests_total{') && line.includes(`provider="${provider}"`) && line.includes('status_class="2xx"')) total += Number(line.split(' ').at(-1));
  }
  return total;
}

function responseOf(events: Event[]): Record<string, unknown> & { id: string; output: Array<Record<string, unknown>> } {
  const last = events.at(-1)!;
  expect(last.type).toBe('response.completed');
  return last.response as Record<string, unknown> & { id: string; output: Array<Record<string, unknown>> };
}

describe.each([
  ['openai (pass-through)', 'openai/gpt-4o-mini'],
  ['anthropic (bridged)', 'anthropic/claude-sonnet-4-5'],
])('a Codex session on one WebSocket: %s', (label, model) => {
  it('warm-up, a tool call, its output sent as the only new item: the provider gets the whole conversation', async () => {
    const logged = gateway.logs().length;
    const counted = await requestsCounted(model.split('/')[0]);
    const client = await CodexLikeClient.connect(gateway.url);
    try {
      const base = { model, instructions: 'be brief', tools, tool_choice: 'auto', parallel_tool_calls: false, store: false, stream: true, include: [] };
      const input = [user('weather in Oslo')];
      // Warm-up: no model call, a response id to continue from.
      const warm = await client.turn({ ...base, input, generate: false });
      expect(warm.map((e) => e.type)).toEqual(['response.created', 'response.completed']);
      const warmId = responseOf(warm).id;
      expect(warmId).toMatch(/^resp_/);
      expect(mock.requests).toHaveLength(0);

      // Turn 1: nothing new since the warm-up; the model calls the tool.
      const first = await client.turn({ ...base, previous_response_id: warmId, input: [] });
      expect(first[0].type).toBe('response.created');
      expect(first.map((e) => e.sequence_number)).toEqual(first.map((_, i) => i));
      const firstResponse = responseOf(first);
      const call = firstResponse.output.find((item) => item.type === 'function_call')!;
      expect(call).toMatchObject({ type: 'function_call', name: 'lookup', arguments: '{"text":"weather in Oslo"}' });
      expect(mock.requests).toHaveLength(1);
      client.send({ type: 'response.processed', response_id: firstResponse.id });

      // Turn 2: only the tool's output, chained to turn 1 on this socket.
      const second = await client.turn({ ...base, previous_response_id: firstResponse.id, input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny' }] });
      const text = second.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
      expect(text).toBe('echo: weather in Oslo');
      expect(responseOf(second).output.some((item) => item.type === 'function_call')).toBe(false);
      expect(mock.requests).toHaveLength(2);
      const sent = mock.requests[1].body as Record<string, unknown>;
      if (label.startsWith('openai')) {
        // The WebSocket envelope never reaches the HTTP API; the conversation does, in full.
        expect(sent).not.toHaveProperty('type');
        expect(sent).not.toHaveProperty('generate');
        expect(sent).not.toHaveProperty('previous_response_id');
        expect(sent.stream).toBe(true);
        expect((sent.input as Array<{ type?: string }>).map((item) => item.type)).toEqual(['message', 'function_call', 'function_call_output']);
        expect(mock.requests[1].headers['openai-beta']).toBeUndefined();
      } else {
        const messages = (sent as { messages: Array<{ role: string; content: Array<{ type: string }> }> }).messages;
        expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
        expect(messages[1].content[0]).toMatchObject({ type: 'tool_use', name: 'lookup' });
        expect(messages[2].content[0]).toMatchObject({ type: 'tool_result', content: 'sunny' });
      }

      // Stateless, as over HTTP: the whole conversation, no previous_response_id.
      const again = await client.turn({ ...base, input: [...input, call, { type: 'function_call_output', call_id: call.call_id, output: 'rainy' }] });
      expect(again.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('')).toBe('echo: weather in Oslo');

      // One request each, as over HTTP (the warm-up called no model): logged with provider, usage and status.
      const requests = () => gateway.logs().slice(logged).filter((line) => line.msg === 'request');
      await waitFor(() => requests().length >= 3, 3000, 'three request log lines');
      expect(requests()).toHaveLength(3);
      for (const line of requests()) expect(line).toMatchObject({ route: '/v1/responses', status: 200, stream: true, provider: model.split('/')[0] });
      expect(await requestsCounted(model.split('/')[0])).toBe(counted + 3);
    } finally {
      client.socket.close();
    }
  });
});

describe('the official SDK client (ResponsesWS)', () => {
  it('streams a bridged response over the socket', async () => {
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    const rws = new ResponsesWS(openai);
    const types: string[] = [];
    let text = '';
    const done = new Promise<void>((resolve, reject) => {
      rws.on('response.output_text.delta', (event) => { text += event.delta; });
      rws.on('event', (event) => {
        types.push(event.type);
        if (event.type === 'response.completed') resolve();
      });
      rws.on('error', reject);
    });
    rws.send({ type: 'response.create', model: 'gemini/gemini-2.5-flash', input: 'one two three' } as never);
    await done;
    rws.close();
    expect(text).toBe('echo: one two three');
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
  });
});

describe('one response at a time, bad events', () => {
  it('a second response.create while one runs gets an error event; the first completes; the socket stays open', async () => {
    mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 20 });
    const client = await CodexLikeClient.connect(gateway.url);
    try {
      client.send({ type: 'response.create', model: 'anthropic/claude-sonnet-4-5', input: 'a b c d e f' });
      await client.until((e) => e.type === 'response.created');
      client.send({ type: 'response.create', model: 'anthropic/claude-sonnet-4-5', input: 'second' });
      const busy = await client.until((e) => e.type === 'error');
      expect(busy.at(-1)).toMatchObject({ type: 'error', status: 400, error: { code: 'response_already_in_flight' } });
      const all = await client.until((e) => e.type === 'response.completed');
      expect(all.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('')).toBe('echo: a b c d e f');
      expect(mock.requests).toHaveLength(1);
      const bad = await client.turn({ background: true, model: 'anthropic/claude-sonnet-4-5', input: 'x' });
      expect(bad.at(-1)).toMatchObject({ type: 'error', status: 400, error: { code: 'invalid_websocket_event', param: 'background' } });
      client.socket.send('not json');
      const notJson = await client.until((e) => e.type === 'error', client.events.length);
      expect(notJson.at(-1)).toMatchObject({ status: 400, error: { code: 'invalid_websocket_event' } });
      expect(client.closed).toBeUndefined();
    } finally {
      client.socket.close();
    }
  });

  it('an error before the stream (unknown model) is an error event with its HTTP status, as Codex reads it', async () => {
    const client = await CodexLikeClient.connect(gateway.url);
    try {
      const events = await client.turn({ model: 'nosuch/model-x', input: 'hi' });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'error', status: 404, error: { type: 'invalid_request_error' } });
    } finally {
      client.socket.close();
    }
  });

  it('a message above limits.max_body_bytes closes the socket with 1009', async () => {
    const small = await startGateway({ env: { ANTHROPIC_API_KEY: 'sk-ant-mock', ANTHROPIC_BASE_URL: mock.url }, config: { limits: { max_body_bytes: 2048 } } });
    try {
      const client = await CodexLikeClient.connect(small.url);
      client.send({ type: 'response.create', model: 'anthropic/claude-sonnet-4-5', input: 'x'.repeat(4096) });
      expect((await client.closedWith()).code).toBe(1009);
      expect(mock.requests).toHaveLength(0);
    } finally {
      await small.close();
    }
  });
});

describe('disconnects and backpressure', () => {
  it('a client that disconnects mid-response aborts the upstream call (the mock sees its connection closed)', async () => {
    mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 50 });
    const client = await CodexLikeClient.connect(gateway.url);
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    client.send({ type: 'response.create', model: 'anthropic/claude-sonnet-4-5', input: words });
    await client.until((e) => e.type === 'response.output_text.delta');
    client.socket.terminate();
    await waitFor(() => mock.requests[0]?.aborted === true, 3000, 'the upstream call to be aborted');
    expect(mock.requests[0].finished).toBe(false);
    await waitFor(() => gateway.logs().some((line) => line.msg === 'request' && line.status === 499), 3000, 'the 499 log line');
  });

  it('a slow reader: the upstream is paused while the socket is backed up; every event arrives, in order', async () => {
    const sockets = (gateway.app as unknown as { responsesWebSockets: ResponsesWebSockets }).responsesWebSockets;
    const client = await CodexLikeClient.connect(gateway.url);
    try {
      const count = 80_000;
      const words = Array.from({ length: count }, (_, i) => `w${i}`).join(' ');
      client.send({ type: 'response.create', model: 'openai/gpt-4o-mini', input: words, max_output_tokens: count + 10 });
      await client.until((e) => e.type === 'response.output_text.delta');
      client.socket.pause();
      // The kernel buffers between the two sockets fill (a few MB), then the gateway pauses the upstream.
      await waitFor(() => sockets.socketStats()[0]?.pauses > 0, 30_000, 'the upstream to be paused');
      await new Promise((resolve) => setTimeout(resolve, 500));
      const stats = sockets.socketStats();
      expect(stats).toHaveLength(1);
      // Bounded: what the gateway holds for the socket stays near its high-water mark, not the stream (~16 MB).
      expect(stats[0].bufferedAmount).toBeLessThan(512 * 1024);
      expect(client.events.some((e) => e.type === 'response.completed')).toBe(false);
      client.socket.resume();
      const events = await client.until((e) => e.type === 'response.completed', 0, 30_000);
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
      const text = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
      expect(text).toBe(`echo: ${words}`);
    } finally {
      client.socket.close();
    }
  }, 60_000);
});

describe('handshake: auth, fallbacks, limits, idle timeout, shutdown', () => {
  it('a bad key is refused before the upgrade, in the OpenAI format (401)', async () => {
    const guarded = await startGateway({ env: { OPENAI_API_KEY: 'sk-mock', OPENAI_BASE_URL: mock.openaiBaseUrl }, config: { governance: { enforce: true } } });
    try {
      const refusal = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const socket = new WebSocket(`${guarded.url.replace(/^http/, 'ws')}/v1/responses`, { headers: { authorization: 'Bearer hk-not-a-key' } });
        socket.on('unexpected-response', (_request, response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => { body += chunk.toString(); });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        });
        socket.on('open', () => reject(new Error('upgraded with a bad key')));
        socket.on('error', () => undefined);
      });
      expect(refusal.status).toBe(401);
      expect(JSON.parse(refusal.body)).toMatchObject({ error: { type: 'authentication_error' } });
      expect(guarded.logText()).not.toContain('hk-not-a-key');
    } finally {
      await guarded.close();
    }
  });

  it('a valid key opens the socket; revoked mid-session: the next response is a 401 error event, then close 1008', async () => {
    const guarded = await startAdminGateway({ env: { ANTHROPIC_API_KEY: 'sk-ant-mock', ANTHROPIC_BASE_URL: mock.url }, config: { governance: { enforce: true } } });
    try {
      const created = await call(guarded.url, 'POST', '/api/virtual-keys', { name: 'codex' });
      const key = (created.json as { key: string; id: string }).key;
      const client = await CodexLikeClient.connect(guarded.url, { authorization: `Bearer ${key}` });
      const first = await client.turn({ model: 'anthropic/claude-sonnet-4-5', input: 'hi' });
      expect(responseOf(first).status).toBe('completed');
      expect((await call(guarded.url, 'POST', `/api/virtual-keys/${(created.json as { id: string }).id}/revoke`)).status).toBe(200);
      const refused = await client.turn({ model: 'anthropic/claude-sonnet-4-5', input: 'again' });
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ type: 'error', status: 401, error: { type: 'authentication_error' } });
      expect(await client.closedWith()).toEqual({ code: 1008, reason: 'virtual key refused' });
    } finally {
      await guarded.close();
    }
  });

  it('the 101 answer carries the x-request-id of the handshake', async () => {
    const id = await new Promise<string | undefined>((resolve, reject) => {
      const socket = new WebSocket(`${gateway.url.replace(/^http/, 'ws')}/v1/responses`, { headers: { 'x-request-id': 'codex-session-42' } });
      socket.on('upgrade', (response) => resolve(response.headers['x-request-id'] as string | undefined));
      socket.on('open', () => socket.close());
      socket.on('error', reject);
    });
    expect(id).toBe('codex-session-42');
  });

  it('a web page of another origin cannot open a socket (cross-site WebSocket): 403 before the upgrade', async () => {
    await expect(CodexLikeClient.connect(gateway.url, { origin: 'https://evil.example' })).rejects.toThrow(/403/);
  });

  it('a plain GET gets 426 in the OpenAI format; POST keeps working', async () => {
    const reply = await get(`${gateway.url}/v1/responses`);
    expect(reply.status).toBe(426);
    expect(reply.json).toMatchObject({ error: { code: 'websocket_upgrade_required' } });
    expect((reply.json as { error: { message: string } }).error.message).toContain('POST /v1/responses');
    const response = await new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k', maxRetries: 0 }).responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'hi' });
    expect(response.output_text).toBe('echo: hi');
  });

  it('turned off: the handshake is answered 426 (Codex then falls back to HTTP)', async () => {
    const off = await startGateway({ env: { ANTHROPIC_API_KEY: 'sk-ant-mock', ANTHROPIC_BASE_URL: mock.url }, config: { server: { websocket: { enabled: false } } } });
    try {
      await expect(CodexLikeClient.connect(off.url)).rejects.toThrow(/426/);
    } finally {
      await off.close();
    }
  });

  it('the connection limit: one socket more is refused 429; after one closes, a new one opens', async () => {
    const limited = await startGateway({ env: { ANTHROPIC_API_KEY: 'sk-ant-mock', ANTHROPIC_BASE_URL: mock.url }, config: { server: { websocket: { max_connections: 2 } } } });
    try {
      const a = await CodexLikeClient.connect(limited.url);
      const b = await CodexLikeClient.connect(limited.url);
      await expect(CodexLikeClient.connect(limited.url)).rejects.toThrow(/429/);
      a.socket.close();
      await a.closedWith();
      await waitFor(() => (limited.app as unknown as { responsesWebSockets: ResponsesWebSockets }).responsesWebSockets.open === 1, 2000, 'the session to be released');
      const c = await CodexLikeClient.connect(limited.url);
      const events = await c.turn({ model: 'anthropic/claude-sonnet-4-5', input: 'still here' });
      expect(responseOf(events).status).toBe('completed');
      b.socket.close();
      c.socket.close();
    } finally {
      await limited.close();
    }
  });

  it('an idle socket is closed after server.websocket.idle_timeout_ms (300 ms here) with 1000; a running response is not cut', async () => {
    const idle = await startGateway({ env: { ANTHROPIC_API_KEY: 'sk-ant-mock', ANTHROPIC_BASE_URL: mock.url }, config: { server: { websocket: { idle_timeout_ms: 300 } } } });
    try {
      mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 60 });
      const client = await CodexLikeClient.connect(idle.url);
      const started = Date.now();
      const events = await client.turn({ model: 'anthropic/claude-sonnet-4-5', input: 'a b c d e f g h' });
      expect(Date.now() - started).toBeGreaterThan(300);
      expect(responseOf(events).status).toBe('completed');
      const closed = await client.closedWith(3000);
      expect(closed).toEqual({ code: 1000, reason: 'idle timeout' });
    } finally {
      await idle.close();
    }
  });

  it('shutdown: a running response finishes, then the socket closes with 1001', async () => {
    const closing = await startGateway({ env: { ANTHROPIC_API_KEY: 'sk-ant-mock', ANTHROPIC_BASE_URL: mock.url } });
    mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 40 });
    const client = await CodexLikeClient.connect(closing.url);
    client.send({ type: 'response.create', model: 'anthropic/claude-sonnet-4-5', input: 'a b c d e f' });
    await client.until((e) => e.type === 'response.output_text.delta');
    const closed = closing.close();
    const closedSocket = await client.closedWith(5000);
    expect(closedSocket.code).toBe(1001);
    expect(client.events.at(-1)?.type).toBe('response.completed');
    await closed;
  });
});
