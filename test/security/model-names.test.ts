/**
 * A model name is data (docs/security.md, "Input"): it never changes the
 * upstream URL it is put in, names with `.`/`..` segments or control
 * characters are refused with a 400 naming `model` in the caller's format
 * before any upstream call, access is checked on the name that is sent, and
 * a name Node would refuse in a header (non-Latin-1) is answered, with the
 * header percent-encoded. A failure while answering, after the upstream
 * call, still gets an answer and a log line.
 */
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { providerDefinitions } from '../../src/providers/registry.js';
import type { Operation } from '../../src/providers/types.js';
import { headerSafe } from '../../src/api/respond.js';
import { modelNameProblem } from '../../src/gateway/model-name.js';
import type { FinishedRequest } from '../../src/gateway/gateway.js';
import { contextOf } from '../../src/plugins/request-view.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { post, sseEvents, type RawReply } from '../integration/helpers.js';

type Surface = 'openai' | 'anthropic' | 'gemini';

let mock: MockUpstream;
let gateway: TestGateway;
const finished: FinishedRequest[] = [];

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({ env: providers.env, config: { ...providers.config, routing: { circuit_breaker: { enabled: false } } } });
  gateway.app.gateway.lifecycle.use({
    name: 'test-finished',
    afterResponse: (request, completed) => finished.push({ ctx: contextOf(request), totalMs: completed.timings.totalMs, overheadMs: completed.timings.overheadMs }),
  });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => {
  mock.reset();
  finished.length = 0;
});

function chat(surface: Surface, model: string, options: { stream?: boolean; key?: string } = {}): Promise<RawReply> {
  const headers: Record<string, string> = options.key === undefined ? {} : { authorization: `Bearer ${options.key}` };
  const stream = options.stream === true;
  switch (surface) {
    case 'openai':
      return post(`${gateway.url}/v1/chat/completions`, { model, stream, messages: [{ role: 'user', content: 'one two' }] }, headers);
    case 'anthropic':
      return post(`${gateway.url}/anthropic/v1/messages`, { model, stream, max_tokens: 50, messages: [{ role: 'user', content: 'one two' }] }, headers);
    case 'gemini':
      return post(`${gateway.url}/genai/v1beta/models/${encodeURIComponent(model)}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`, { contents: [{ role: 'user', parts: [{ text: 'one two' }] }] }, headers);
  }
}

/** The caller's own 400 shape, naming `model` where the format has a field for it. */
function expectModelRefused(surface: Surface, reply: RawReply): void {
  expect(reply.status).toBe(400);
  const body = reply.json as Record<string, any>;
  if (surface === 'openai') expect(body.error).toMatchObject({ type: 'invalid_request_error', param: 'model', code: 'invalid_value' });
  if (surface === 'anthropic') expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  if (surface === 'gemini') expect(body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
  expect(JSON.stringify(body)).toMatch(/model/);
}

const TRAVERSALS = [
  'gemini/gemini-2.5-flash/../gemini-2.5-pro',
  'gemini/../../x',
  'gemini/./gemini-2.5-pro',
  'vertex/gemini-2.5-flash/..',
  'bedrock/..',
  'azure/..\\..\\x',
  'openai/gpt-4o-mini\n',
  'openai/gpt-4o-mini\u0000',
  'openai/gpt\u2028x',
];

describe('path traversal and control characters in a model name', () => {
  for (const surface of ['openai', 'anthropic', 'gemini'] as const) {
    it(`${surface}: refused with a 400 naming model, and nothing goes upstream`, async () => {
      for (const model of TRAVERSALS) {
        const reply = await chat(surface, model);
        expectModelRefused(surface, reply);
      }
      expect(mock.requests).toHaveLength(0);
    });
  }

  it('a fallback with a traversal is refused naming the fallback', async () => {
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'openai/gpt-4o-mini', fallbacks: ['gemini/x/../y'], messages: [{ role: 'user', content: 'hi' }] });
    expect(reply.status).toBe(400);
    expect((reply.json as any).error.param).toBe('fallbacks[0]');
  });

  it('plain names with dots and slashes inside a segment are fine', () => {
    for (const name of ['gemini/gemini-2.5-flash', 'openai/gpt-4.1', 'bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'hf/org/model..v2', 'x/.hidden']) {
      expect(modelNameProblem(name)).toBeUndefined();
    }
  });
});

describe('access is checked on the name that is sent', () => {
  it('a key limited to gemini-2.5-flash* cannot reach another model through the URL', async () => {
    const created = await request(`${gateway.url}/api/virtual-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'flash-only', allowed_models: ['gemini/gemini-2.5-flash*'] }),
    });
    const key = ((await created.body.json()) as { key: string }).key;
    expect(created.statusCode).toBe(201);
    const refused = await chat('openai', 'gemini/gemini-2.5-flash/../gemini-2.5-pro', { key });
    expectModelRefused('openai', refused);
    // A name that stays in the allowed family reaches exactly that model's URL, encoded as one segment.
    const odd = await chat('openai', 'gemini/gemini-2.5-flash?key=x#frag', { key });
    expect(odd.status).toBe(200); // the mock answers any model id; Google would say 404
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0].path).toBe('/v1beta/models/gemini-2.5-flash%3Fkey%3Dx%23frag:generateContent');
    expect([...mock.requests[0].query.keys()]).toEqual([]);
  });
});

describe('every provider puts the model into its URL as data', () => {
  const context = (model: string) => ({
    baseUrl: 'https://upstream.example',
    apiKey: 'k',
    model,
    stream: false,
    options: { project: 'p', location: 'us-central1', region: 'us-east-1', api_version: '2024-10-21' },
  });
  const operations: Operation[] = ['chat', 'embeddings'];
  for (const definition of providerDefinitions()) {
    it(`${definition.id}: a model with / ? # % and spaces cannot add a path segment or a query`, () => {
      for (const operation of operations) {
        if (definition.operations[operation] !== true) continue;
        let plain: URL;
        try {
          plain = new URL(definition.endpoint(operation, context('plain-model')).url);
        } catch {
          continue; // needs settings this test does not give (none of the URL-building ones)
        }
        const odd = new URL(definition.endpoint(operation, context('a/b?c=d#e f%2e%2e')).url);
        expect(odd.origin).toBe(plain.origin);
        expect(odd.search).toBe(plain.search);
        expect(odd.hash).toBe('');
        expect(odd.pathname.split('/').length).toBe(plain.pathname.split('/').length);
      }
    });
  }
});

describe('a model name that is not Latin-1', () => {
  it('headerSafe percent-encodes what Node refuses in a header, and leaves ASCII alone', () => {
    expect(headerSafe('gpt-4o-mini')).toBe('gpt-4o-mini');
    expect(headerSafe('gpt-4o-mini-编码')).toBe('gpt-4o-mini-%E7%BC%96%E7%A0%81');
    expect(headerSafe('a\u00e9b')).toBe('a%C3%A9b');
    expect(headerSafe('x\ud800')).toBe('x%EF%BF%BD');
  });

  for (const surface of ['openai', 'anthropic', 'gemini'] as const) {
    for (const stream of [false, true]) {
      it(`${surface}${stream ? ' stream' : ''}: answered (not hung), x-heimdall-model encoded, one log line`, async () => {
        const reply = await chat(surface, 'openai/gpt-4o-mini-编码', { stream });
        expect(reply.status).toBe(200);
        expect(reply.headers['x-heimdall-model']).toBe('gpt-4o-mini-%E7%BC%96%E7%A0%81');
        if (stream) expect(sseEvents(reply.text).length).toBeGreaterThan(0);
        expect(mock.requests).toHaveLength(1);
        await expect.poll(() => finished.length).toBe(1);
        expect(finished[0].ctx.status).toBe(200);
      });
    }
  }
});

describe('a failure while answering, after the upstream call', () => {
  /** A plugin that makes the response headers invalid (its mistake): writing them, after the upstream call, throws. */
  function breakHeaders(): () => void {
    const lifecycle = gateway.app.gateway.lifecycle;
    lifecycle.setConfigured([{ plugin: { name: 'broken-headers', beforeAttempt: (request) => request.setResponseHeader('x-broken', 'line\nbreak') } }]);
    return () => lifecycle.setConfigured([]);
  }

  for (const surface of ['openai', 'anthropic', 'gemini'] as const) {
    for (const stream of [false, true]) {
      it(`${surface}${stream ? ' stream' : ''}: a 500 in the caller's format, and a log line`, async () => {
        const restore = breakHeaders();
        try {
          const reply = await chat(surface, surface === 'gemini' ? 'gemini/gemini-2.5-flash' : 'openai/gpt-4o-mini', { stream });
          expect(reply.status).toBe(500);
          expect(reply.headers['x-request-id']).toEqual(expect.any(String));
          if (surface === 'openai') expect(reply.json).toMatchObject({ error: { type: 'api_error', code: 'internal_error' } });
          if (surface === 'anthropic') expect(reply.json).toMatchObject({ type: 'error', error: { type: 'api_error' } });
          if (surface === 'gemini') expect(reply.json).toMatchObject({ error: { code: 500, status: 'INTERNAL' } });
          expect(mock.requests).toHaveLength(1);
          await expect.poll(() => finished.length).toBe(1);
          expect(finished[0].ctx.status).toBe(500);
        } finally {
          restore();
        }
      });
    }
  }

  it('a plugin that throws: skipped, or a 500 in the caller\'s format when it fails closed; never a hang', async () => {
    const lifecycle = gateway.app.gateway.lifecycle;
    const plugin = {
      name: 'thrower',
      beforeAttempt() {
        throw new Error('plugin failed');
      },
    };
    try {
      lifecycle.setConfigured([{ plugin }]);
      expect((await chat('anthropic', 'openai/gpt-4o-mini')).status).toBe(200);
      await expect.poll(() => finished.length).toBe(1);
      lifecycle.setConfigured([{ plugin, settings: { failClosed: true } }]);
      const reply = await chat('anthropic', 'openai/gpt-4o-mini');
      expect(reply.status).toBe(500);
      expect(reply.json).toMatchObject({ type: 'error', error: { type: 'api_error', message: expect.stringContaining('"thrower"') } });
      await expect.poll(() => finished.length).toBe(2);
    } finally {
      lifecycle.setConfigured([]);
    }
    // Healthy afterwards.
    expect((await chat('openai', 'openai/gpt-4o-mini')).status).toBe(200);
  });
});
