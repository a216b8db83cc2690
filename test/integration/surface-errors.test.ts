/**
 * Every error of issue 2's list, on each client surface, in that surface's
 * own error format with the right status (DESIGN.md, Part 1):
 *
 *   OpenAI     {"error":{"message","type","param","code"}}
 *   Anthropic  {"type":"error","error":{"type","message"}}
 *   Gemini     {"error":{"code","message","status"}}
 *
 * Bad input (invalid JSON, a missing or wrong-typed field), routing (unknown
 * provider or model, with a hint; a provider not configured), a body over the
 * limit, upstream 4xx/5xx carried through, an unreachable upstream (502), a
 * timeout (504), and a stream that breaks midway (an error event, no hang).
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { post, sseEvents, type RawReply } from './helpers.js';

type Surface = 'openai' | 'anthropic' | 'gemini';
const SURFACES: Surface[] = ['openai', 'anthropic', 'gemini'];

let mock: MockUpstream;
let gateway: TestGateway;
let closedPort: number;

/** A port nothing listens on (bound, then closed). */
async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

beforeAll(async () => {
  mock = await startMockUpstream();
  closedPort = await freePort();
  gateway = await startGateway({
    env: { OPENAI_API_KEY: 'sk-surface-errors-0000', OPENAI_BASE_URL: mock.openaiBaseUrl },
    config: {
      limits: { max_body_bytes: 4000 },
      providers: {
        openai: { max_retries: 0, timeouts: { first_byte_ms: 400 } },
        local: { type: 'openai-compatible', base_url: mock.openaiBaseUrl, models: ['llama-local'], max_retries: 0 },
        dead: { type: 'openai-compatible', base_url: `http://127.0.0.1:${closedPort}/v1`, models: ['dead-model'], max_retries: 0 },
      },
      routing: { circuit_breaker: { enabled: false } },
    },
  });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

/** A chat request on `surface` for `model`, built the way that surface's SDK builds it; `patch` edits the body. */
function chat(surface: Surface, model: string, options: { stream?: boolean; patch?: (body: Record<string, unknown>) => void; raw?: string } = {}): Promise<RawReply> {
  const stream = options.stream === true;
  let url: string;
  let body: Record<string, unknown>;
  switch (surface) {
    case 'openai':
      url = `${gateway.url}/v1/chat/completions`;
      body = { model, stream, messages: [{ role: 'user', content: 'one two three four' }] };
      break;
    case 'anthropic':
      url = `${gateway.url}/anthropic/v1/messages`;
      body = { model, stream, max_tokens: 100, messages: [{ role: 'user', content: 'one two three four' }] };
      break;
    case 'gemini':
      url = `${gateway.url}/genai/v1beta/models/${model}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`;
      body = { contents: [{ role: 'user', parts: [{ text: 'one two three four' }] }] };
      break;
  }
  options.patch?.(body);
  return post(url, options.raw ?? body);
}

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error', 401: 'authentication_error', 404: 'not_found_error', 413: 'request_too_large',
  429: 'rate_limit_error', 500: 'api_error', 502: 'api_error', 503: 'overloaded_error', 504: 'timeout_error',
};
const GEMINI_STATUSES: Record<number, string> = {
  400: 'INVALID_ARGUMENT', 404: 'NOT_FOUND', 413: 'INVALID_ARGUMENT', 429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL', 502: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

/** The reply is `status`, in `surface`'s error format exactly, and its message matches. Returns the message. */
function expectError(surface: Surface, reply: RawReply, status: number, message: RegExp, openai: { param?: string | null; code?: string } = {}): string {
  expect(reply.status, reply.text).toBe(status);
  expect(String(reply.headers['content-type'])).toMatch(/^application\/json/);
  expect(reply.headers['x-request-id']).toEqual(expect.any(String));
  expect(reply.text).not.toMatch(/\bat .+\.(?:js|ts):\d+/); // never a stack trace
  const body = reply.json as Record<string, Record<string, unknown>>;
  switch (surface) {
    case 'openai':
      expect(Object.keys(body)).toEqual(['error']);
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      if (openai.param !== undefined) expect(body.error.param).toBe(openai.param);
      if (openai.code !== undefined) expect(body.error.code).toBe(openai.code);
      expect(body.error.type).toEqual(expect.any(String));
      break;
    case 'anthropic':
      expect(body).toEqual({ type: 'error', error: { type: ANTHROPIC_TYPES[status], message: expect.any(String) } });
      break;
    case 'gemini':
      expect(body).toEqual({ error: { code: status, message: expect.any(String), status: GEMINI_STATUSES[status] } });
      break;
  }
  const text = String(body.error.message);
  expect(text).toMatch(message);
  return text;
}

describe.each(SURFACES)('%s surface', (surface) => {
  describe('bad input: 400 naming the problem, nothing sent upstream', () => {
    it('invalid JSON', async () => {
      const reply = await chat(surface, 'openai/gpt-4o-mini', { raw: '{"model": "openai/gpt-4o-mini", ' });
      expectError(surface, reply, 400, /not valid JSON/, { code: 'invalid_json' });
      expect(mock.requests).toHaveLength(0);
    });

    it('a body that is not an object', async () => {
      expectError(surface, await chat(surface, 'openai/gpt-4o-mini', { raw: '[1, 2]' }), 400, /JSON object/);
    });

    it('a missing required field, named', async () => {
      const field = { openai: 'messages', anthropic: 'messages', gemini: 'contents' }[surface];
      const reply = await chat(surface, 'openai/gpt-4o-mini', { patch: (body) => delete body[field] });
      expectError(surface, reply, 400, new RegExp(field), { param: field });
      expect(mock.requests).toHaveLength(0);
    });

    it('a field of the wrong type, named', async () => {
      const reply = await chat(surface, 'openai/gpt-4o-mini', {
        patch: (body) => {
          if (surface === 'gemini') body.generationConfig = { temperature: 'hot' };
          else body.temperature = 'hot';
        },
      });
      expectError(surface, reply, 400, /temperature/, { param: 'temperature' });
      expect(mock.requests).toHaveLength(0);
    });

    it('a body over limits.max_body_bytes: 413', async () => {
      const reply = await chat(surface, 'openai/gpt-4o-mini', {
        patch: (body) => {
          if (surface === 'gemini') body.contents = [{ role: 'user', parts: [{ text: 'x'.repeat(5000) }] }];
          else body.messages = [{ role: 'user', content: 'x'.repeat(5000) }];
        },
      });
      expectError(surface, reply, 413, /larger than the limit of 4000 bytes/, { code: 'request_too_large' });
      expect(mock.requests).toHaveLength(0);
    });
  });

  describe('routing', () => {
    it('an unknown provider: 404 with a hint', async () => {
      const text = expectError(surface, await chat(surface, 'nope/some-model'), 404, /Unknown provider "nope"/, { param: 'model', code: 'provider_not_found' });
      expect(text).toContain('Use "provider/model" with an enabled provider (openai, local, dead)');
    });

    it('an unknown model: 404 with a hint', async () => {
      const text = expectError(surface, await chat(surface, 'no-such-model'), 404, /"no-such-model" is not served by any enabled provider/, { param: 'model', code: 'model_not_found' });
      expect(text).toContain('GET /v1/models lists known models');
    });

    it('a provider that is not configured: 400 naming its key variable', async () => {
      expectError(surface, await chat(surface, 'anthropic/claude-sonnet-4-5'), 400, /Provider "anthropic" is not configured: set ANTHROPIC_API_KEY/, { param: 'model', code: 'provider_not_configured' });
      expect(mock.requests).toHaveLength(0);
    });
  });

  describe('upstream failures', () => {
    it('4xx: its status and message carried through', async () => {
      mock.enqueue({ kind: 'error', status: 400, body: { error: { message: "Invalid value for 'seed'", type: 'invalid_request_error', param: 'seed', code: 'invalid_value' } } });
      expectError(surface, await chat(surface, 'openai/gpt-4o-mini'), 400, /Invalid value for 'seed'/);
    });

    it('429: carried with Retry-After', async () => {
      mock.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '3' }, body: { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } } });
      const reply = await chat(surface, 'openai/gpt-4o-mini');
      expectError(surface, reply, 429, /Rate limit reached/);
      expect(reply.headers['retry-after']).toBe('3');
    });

    it.each([500, 503])('%i: carried through (no retries configured)', async (status) => {
      mock.enqueue({ kind: 'error', status, body: { error: { message: `upstream says ${status}`, type: 'server_error' } } });
      expectError(surface, await chat(surface, 'openai/gpt-4o-mini'), status, new RegExp(`upstream says ${status}`));
      expect(mock.requests).toHaveLength(1);
    });

    it('unreachable: 502', async () => {
      expectError(surface, await chat(surface, 'dead/dead-model'), 502, /dead could not be reached: connection refused/, { code: 'upstream_unreachable' });
    });

    it('no answer before the timeout: 504', async () => {
      mock.enqueue({ kind: 'hang' });
      expectError(surface, await chat(surface, 'openai/gpt-4o-mini'), 504, /timeout/, { code: 'upstream_timeout' });
    });

    it('a stream that breaks midway: the chunks so far, then an error event in the surface\'s format', async () => {
      mock.enqueue({ kind: 'stream-break', afterChunks: 3 });
      const reply = await chat(surface, 'openai/gpt-4o-mini', { stream: true });
      expect(reply.status).toBe(200);
      const events = sseEvents(reply.text);
      const last = events[events.length - 1];
      const error = JSON.parse(last.data) as Record<string, Record<string, unknown>>;
      switch (surface) {
        case 'openai':
          expect(error).toEqual({ error: { message: expect.stringMatching(/upstream stream failed/), type: 'api_error', param: null, code: '502' } });
          expect(events.some((e) => e.data === '[DONE]')).toBe(false);
          break;
        case 'anthropic':
          expect(last.event).toBe('error');
          expect(error).toEqual({ type: 'error', error: { type: 'api_error', message: expect.stringMatching(/upstream stream failed/) } });
          break;
        case 'gemini':
          expect(error).toEqual({ error: { code: 502, message: expect.stringMatching(/upstream stream failed/), status: 'INTERNAL' } });
          break;
      }
      expect(events.length).toBeGreaterThan(1); // what came before the break reached the client
    });
  });
});
