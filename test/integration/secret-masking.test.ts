/**
 * A provider that quotes the key it was sent (in an error event mid-stream,
 * an error reply, a 200 body with an error inside, a token count's error)
 * must never hand the gateway's key to the client: every surface, pass-through
 * (bytes forwarded) and translated, stream and not. The leaky upstream below
 * echoes the very header the gateway sent, and writes the error event of a
 * stream in 3-byte pieces, so the key reaches the gateway cut across chunks.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registerSecrets } from '../../src/telemetry/secrets.js';
import { StreamSecretGuard, maskSecretsInBody } from '../../src/gateway/secret-guard.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockContext, type MockUpstream } from '../support/mock-upstream/index.js';
import { post, sseEvents } from './helpers.js';

/** Keys without a recognisable vendor shape, but for one: only the configured-secret net can catch the others. */
const KEYS = {
  openai: 'sk-leak-openai-0123456789abcdef',
  anthropic: 'leakyAnthropicKey0123456789',
  gemini: 'leakyGeminiKey0123456789',
};

type Mode = 'stream-error' | 'http-error' | 'ok-with-error' | 'server-error';
let mode: Mode = 'stream-error';
let leaky: MockUpstream;
let gateway: TestGateway;

function sentKey(headers: IncomingHttpHeaders): string {
  const value = headers['x-api-key'] ?? headers['x-goog-api-key'] ?? headers.authorization ?? '';
  return String(value).replace(/^Bearer /, '');
}

/** Whole events first, then the error event in 3-byte pieces, one event-loop turn apart. */
async function streamThenLeak(context: MockContext, events: string[], errorEvent: string): Promise<void> {
  const response = context.response;
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const event of events) response.write(event);
  const bytes = Buffer.from(errorEvent);
  for (let at = 0; at < bytes.length; at += 3) {
    response.write(bytes.subarray(at, at + 3));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  response.end();
}

const openaiChunk = (content: string): string =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content }, finish_reason: null }] })}\n\n`;
const anthropicEvent = (name: string, data: Record<string, unknown>): string => `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`;
const anthropicStart = [
  anthropicEvent('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 3, output_tokens: 1 } } }),
  anthropicEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
  anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hi' } }),
];
const geminiChunk = `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'Hi' }] }, index: 0 }] })}\r\n\r\n`;

beforeAll(async () => {
  leaky = await startMockUpstream();
  leaky.route('POST', /^\/v1\/chat\/completions$/, async (context) => {
    const message = `Incorrect API key provided: ${sentKey(context.request.headers)}`;
    if (mode === 'http-error') return context.json(401, { error: { message, type: 'invalid_request_error', code: 'invalid_api_key' } });
    if (mode === 'server-error') return context.json(500, { error: { message, type: 'server_error' } });
    if (mode === 'ok-with-error') return context.json(200, { error: { message, code: 401 } });
    return streamThenLeak(context, [openaiChunk('Hi'), openaiChunk(' there')], `data: ${JSON.stringify({ error: { message, type: 'invalid_request_error' } })}\n\n`);
  });
  leaky.route('POST', /^\/v1\/messages(\/count_tokens)?$/, async (context) => {
    const error = { type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key: ${sentKey(context.request.headers)}` } };
    if (mode === 'server-error') return context.json(500, { type: 'error', error: { type: 'api_error', message: error.error.message } });
    if (mode === 'http-error' || context.match[1] !== undefined) return context.json(401, error);
    return streamThenLeak(context, anthropicStart, `event: error\ndata: ${JSON.stringify(error)}\n\n`);
  });
  leaky.route('POST', /^\/v1beta\/models\/(.+):([A-Za-z]+)$/, async (context) => {
    const error = { error: { code: 400, message: `API key not valid: ${sentKey(context.request.headers)}`, status: 'INVALID_ARGUMENT' } };
    if (mode === 'server-error') return context.json(500, { error: { ...error.error, code: 500, status: 'INTERNAL' } });
    if (mode === 'http-error' || context.match[2] === 'countTokens') return context.json(400, error);
    return streamThenLeak(context, [geminiChunk], `data: ${JSON.stringify(error)}\r\n\r\n`);
  });
  gateway = await startGateway({
    config: {
      providers: {
        'leaky-openai': { type: 'openai-compatible', base_url: `${leaky.url}/v1`, api_key: KEYS.openai, models: ['gpt-x'], max_retries: 0 },
        'leaky-anthropic': { type: 'anthropic', base_url: leaky.url, api_key: KEYS.anthropic, models: ['claude-x'], max_retries: 0 },
        'leaky-gemini': { type: 'gemini', base_url: leaky.url, api_key: KEYS.gemini, models: ['gemini-x'], max_retries: 0 },
      },
      // Every call here is a failure on purpose: no key may be cooled down between tests.
      routing: { circuit_breaker: { enabled: false } },
    },
  });
});
afterAll(async () => {
  await gateway.close();
  await leaky.close();
});
beforeEach(() => {
  mode = 'stream-error';
  leaky.reset();
});

const MODELS = { openai: 'leaky-openai/gpt-x', anthropic: 'leaky-anthropic/claude-x', gemini: 'leaky-gemini/gemini-x' } as const;
type Target = keyof typeof MODELS;

/** One call on `surface` to `target`, as that surface's SDK would send it. */
function call(surface: 'openai' | 'anthropic' | 'gemini', target: Target, stream: boolean, extra: Record<string, unknown> = {}) {
  const model = MODELS[target];
  const text = 'hello';
  switch (surface) {
    case 'openai':
      return post(`${gateway.url}/v1/chat/completions`, { model, stream, messages: [{ role: 'user', content: text }], ...extra });
    case 'anthropic':
      return post(`${gateway.url}/anthropic/v1/messages`, { model, stream, max_tokens: 50, messages: [{ role: 'user', content: text }] });
    case 'gemini':
      return post(`${gateway.url}/genai/v1beta/models/${model}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`, { contents: [{ role: 'user', parts: [{ text }] }] });
  }
}

function expectNoKey(text: string): void {
  for (const key of Object.values(KEYS)) expect(text).not.toContain(key);
}

const CASES: Array<[string, 'openai' | 'anthropic' | 'gemini', Target, Record<string, unknown>?]> = [
  ['OpenAI -> OpenAI-compatible (pass-through, usage added and stripped)', 'openai', 'openai'],
  ['OpenAI -> OpenAI-compatible (pass-through, bytes as they come)', 'openai', 'openai', { stream_options: { include_usage: true } }],
  ['Anthropic -> Anthropic (pass-through)', 'anthropic', 'anthropic'],
  ['Gemini -> Gemini (pass-through)', 'gemini', 'gemini'],
  ['OpenAI -> Anthropic (translated)', 'openai', 'anthropic'],
  ['Anthropic -> OpenAI-compatible (translated)', 'anthropic', 'openai'],
  ['Gemini -> OpenAI-compatible (translated)', 'gemini', 'openai'],
  ['Gemini -> Anthropic (translated)', 'gemini', 'anthropic'],
];

describe('an error event that quotes the key, cut across chunks, mid-stream', () => {
  it.each(CASES)('%s: the client gets the stream and the error, never the key', async (_name, surface, target, extra) => {
    const reply = await call(surface, target, true, extra);
    expect(reply.status).toBe(200);
    expectNoKey(reply.text);
    expect(reply.text).toContain('[redacted]');
    expect(reply.text).toContain('Hi'); // the chunks before the error arrived
    const events = sseEvents(reply.text);
    const last = events[events.length - 1];
    expect(last.data).toMatch(/error/);
    expect(() => JSON.parse(last.data) as unknown).not.toThrow();
    expect(leaky.requests).toHaveLength(1);
  });
});

describe('non-stream errors that quote the key', () => {
  it.each(CASES)('%s: the error in the caller\'s format, without the key', async (_name, surface, target) => {
    mode = 'http-error';
    const reply = await call(surface, target, false);
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expectNoKey(reply.text);
    expect(reply.text).toContain('[redacted]');
  });

  it('a 200 pass-through body with an error inside (as some aggregators send) is masked too', async () => {
    mode = 'ok-with-error';
    const reply = await call('openai', 'openai', false);
    expect(reply.status).toBe(200);
    expectNoKey(reply.text);
    expect(reply.json).toEqual({ error: { message: 'Incorrect API key provided: sk-...[redacted]', code: 401 } });
  });

  it('token counts: the provider\'s error goes back as it is, without the key', async () => {
    const anthropic = await post(`${gateway.url}/anthropic/v1/messages/count_tokens`, { model: MODELS.anthropic, messages: [{ role: 'user', content: 'x' }] });
    expect(anthropic.status).toBe(401);
    expect(anthropic.json).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key: [redacted]' } });
    const gemini = await post(`${gateway.url}/genai/v1beta/models/${MODELS.gemini}:countTokens`, { contents: [{ parts: [{ text: 'x' }] }] });
    expect(gemini.status).toBe(400);
    expect(gemini.json).toEqual({ error: { code: 400, message: 'API key not valid: [redacted]', status: 'INVALID_ARGUMENT' } });
  });

  it('GET /api/routing/health: the last error each key recorded is masked too (the dashboard reads it)', async () => {
    mode = 'server-error'; // a 5xx counts against the key, so the key's health records its text
    for (const target of ['openai', 'anthropic', 'gemini'] as const) expect((await call('openai', target, false)).status).toBe(500);
    const reply = await fetch(`${gateway.url}/api/routing/health`);
    const text = await reply.text();
    expect(reply.status).toBe(200);
    expectNoKey(text);
    const errors = (JSON.parse(text) as { data: Array<{ provider: string; last_error: string | null }> }).data;
    for (const provider of ['leaky-openai', 'leaky-anthropic', 'leaky-gemini']) {
      expect(errors.find((key) => key.provider === provider)?.last_error).toContain('[redacted]');
    }
  });

  it('the log lines hold no key either', () => {
    expectNoKey(gateway.logText());
  });
});

describe('StreamSecretGuard', () => {
  const SECRET = 'guard-test-secret-0123456789';
  registerSecrets([SECRET]);

  it('a chunk that ends at a line break and holds no error marker is forwarded as the same bytes', () => {
    const guard = new StreamSecretGuard();
    const chunk = Buffer.from(openaiChunk('no marker here'));
    expect(guard.push(chunk)).toBe(chunk);
    expect(guard.end()).toBeUndefined();
  });

  it('content that says "error" without a secret goes through unchanged', () => {
    const guard = new StreamSecretGuard();
    const chunk = Buffer.from(openaiChunk('an error occurred in your code'));
    expect(guard.push(chunk)).toBe(chunk);
  });

  it('holds a partial line until it is complete, so a key cut anywhere is masked whole', () => {
    const text = `${openaiChunk('a')}data: {"error":{"message":"bad key ${SECRET}"}}\n\n${openaiChunk('b')}`;
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut += 7) {
      const guard = new StreamSecretGuard();
      const out = [guard.push(bytes.subarray(0, cut)), guard.push(bytes.subarray(cut)), guard.end()]
        .filter((part): part is Buffer => part !== undefined)
        .map((part) => part.toString())
        .join('');
      expect(out).toBe(text.replace(SECRET, '[redacted]'));
    }
  });

  it('a last line without its line break is flushed (masked) at the end', () => {
    const guard = new StreamSecretGuard();
    expect(guard.push(Buffer.from('data: [DONE]'))).toBeUndefined();
    expect(guard.end()?.toString()).toBe('data: [DONE]');
    const leaking = new StreamSecretGuard();
    expect(leaking.push(Buffer.from(`data: {"error":"${SECRET}"}`))).toBeUndefined();
    expect(leaking.end()?.toString()).toBe('data: {"error":"[redacted]"}');
  });

  it('maskSecretsInBody: the same buffer when nothing matches', () => {
    const clean = Buffer.from('{"error":{"message":"nothing secret"}}');
    expect(maskSecretsInBody(clean)).toBe(clean);
    expect(maskSecretsInBody(Buffer.from(`{"error":"${SECRET}"}`)).toString()).toBe('{"error":"[redacted]"}');
  });
});
