/**
 * Malformed input is the caller's 400, in the caller's format, naming the
 * field where a check names it cheaply (docs/security.md, "Input"): the cases
 * a fuzzer found as 500s on translated routes, each to every provider format,
 * and the errors of the HTTP layer (bad percent-encoding, headers too large,
 * an unsupported Expect, a body over the limit, a bad Content-Length) in the
 * format of the surface the URL names.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { translating } from '../../src/formats/malformed.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { NATIVE_MODELS, startMockProviders } from '../support/mock-upstream/provider-env.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { get, post } from '../integration/helpers.js';
import { rawHttp } from './raw-http.js';

let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({ env: providers.env, config: { ...providers.config, limits: { max_body_bytes: 2_000_000 }, routing: { circuit_breaker: { enabled: false } } } });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

/** Providers whose format differs from OpenAI's: the OpenAI surface translates to each. */
const TRANSLATED = ['anthropic', 'gemini', 'bedrock', 'cohere'] as const;

function nestedArrays(levels: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

function deep(levels: number): unknown {
  let value: unknown = { type: 'string' };
  for (let i = 0; i < levels; i++) value = { type: 'object', properties: { x: value } };
  return value;
}

const user = { role: 'user', content: 'hi' };

/** OpenAI chat bodies a translation used to fail on with a 500, and the field each must name. */
const OPENAI_CASES: Array<{ name: string; body: Record<string, unknown>; param: string | RegExp }> = [
  { name: 'non-array tool_calls', body: { messages: [user, { role: 'assistant', content: null, tool_calls: 'x' }, user] }, param: 'messages[1].tool_calls' },
  { name: 'a null tool call', body: { messages: [user, { role: 'assistant', tool_calls: [null] }, user] }, param: 'messages[1].tool_calls[0]' },
  { name: 'non-string arguments', body: { messages: [user, { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: { a: 1 } } }] }, { role: 'tool', tool_call_id: 'c1', content: 'ok' }] }, param: 'messages[1].tool_calls[0].function.arguments' },
  { name: 'a null content part', body: { messages: [{ role: 'user', content: [null] }] }, param: 'messages[0].content[0]' },
  { name: 'a content part without a type', body: { messages: [{ role: 'user', content: [{ text: 'x' }] }] }, param: 'messages[0].content[0].type' },
  { name: 'non-string image_url.url', body: { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 42 } }] }] }, param: 'messages[0].content[0].image_url.url' },
  { name: 'image_url as a number', body: { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: 7 }] }] }, param: 'messages[0].content[0].image_url' },
  { name: 'a null tool', body: { messages: [user], tools: [null] }, param: 'tools[0]' },
];

describe('the codec guard', () => {
  it('turns a TypeError or RangeError from the request\'s shape into a 400, and lets anything else through', () => {
    const typeError = (): unknown => translating('a test request', () => (null as unknown as { a: string }).a);
    expect(typeError).toThrow(GatewayError);
    try {
      typeError();
    } catch (error) {
      expect(error).toMatchObject({ code: 'HD_ERR_REQUEST_MALFORMED', status: 400 });
      expect((error as Error).message).toMatch(/^The request could not be read as a test request: a field has the wrong type or shape/);
    }
    const deepValue = nestedArrays(50_000);
    expect(() => translating('a deep request', () => JSON.stringify(deepValue))).toThrow(/could not be read as a deep request/);
    const coded = new GatewayError('HD_ERR_REQUEST_INVALID_FIELD', 'x', { param: 'messages' });
    expect(() => translating('x', () => { throw coded; })).toThrow(coded);
    expect(translating('x', () => 42)).toBe(42);
  });
});

describe('OpenAI surface, translated to each provider format', () => {
  for (const provider of TRANSLATED) {
    it(`${provider}: each malformed case is a 400 naming the field, nothing goes upstream`, async () => {
      for (const item of OPENAI_CASES) {
        const reply = await post(`${gateway.url}/v1/chat/completions`, { model: NATIVE_MODELS[provider], ...item.body });
        expect(reply.status, `${item.name}: ${reply.text}`).toBe(400);
        expect((reply.json as any).error).toMatchObject({ type: 'invalid_request_error', param: item.param });
      }
      expect(mock.requests).toHaveLength(0);
    });
  }

  it('the same bodies pass through to an OpenAI provider untouched (it judges its own format)', async () => {
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: NATIVE_MODELS.openai, ...OPENAI_CASES[4].body });
    expect(mock.requests).toHaveLength(1);
    expect(reply.status).toBeLessThan(500);
  });
});

describe('nesting', () => {
  const surfaces = [
    { url: '/v1/chat/completions', body: (schema: unknown) => ({ model: NATIVE_MODELS.gemini, messages: [user], tools: [{ type: 'function', function: { name: 'f', parameters: schema } }] }), format: 'openai' },
    { url: '/anthropic/v1/messages', body: (schema: unknown) => ({ model: NATIVE_MODELS.gemini, max_tokens: 10, messages: [user], tools: [{ name: 'f', input_schema: schema }] }), format: 'anthropic' },
    { url: `/genai/v1beta/models/${encodeURIComponent(NATIVE_MODELS.anthropic)}:generateContent`, body: (schema: unknown) => ({ contents: [{ parts: [{ text: 'hi' }] }], tools: [{ functionDeclarations: [{ name: 'f', parameters: schema }] }] }), format: 'gemini' },
  ];
  for (const surface of surfaces) {
    it(`${surface.format}: 20,000 levels is a 400 (not a RangeError 500); 100 levels is served`, async () => {
      const bomb = `{"model":"x","a":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
      const refused = await post(`${gateway.url}${surface.url}`, bomb);
      expect(refused.status).toBe(400);
      expect(refused.text).toMatch(/deeper than 128 levels/);
      const deepSchema = await post(`${gateway.url}${surface.url}`, surface.body(deep(1000)));
      expect(deepSchema.status).toBe(400);
      const fine = await post(`${gateway.url}${surface.url}`, surface.body(deep(30)));
      expect(fine.status, fine.text).toBe(200);
    });
  }
});

describe('drop-in surfaces, translated', () => {
  it('anthropic: malformed blocks are a 400 in Anthropic\'s format, to every provider', async () => {
    for (const provider of ['openai', 'gemini', 'bedrock', 'cohere'] as const) {
      for (const content of [[null], [{ type: 'image', source: null }], [{ type: 'tool_result', tool_use_id: 5 }]]) {
        const reply = await post(`${gateway.url}/anthropic/v1/messages`, { model: NATIVE_MODELS[provider], max_tokens: 10, messages: [{ role: 'user', content }] });
        expect(reply.status, `${provider} ${JSON.stringify(content)}: ${reply.text}`).toBe(400);
        expect(reply.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      }
    }
  });

  it('gemini: malformed parts are a 400 in Gemini\'s format, to every provider', async () => {
    for (const provider of ['openai', 'anthropic', 'bedrock', 'cohere'] as const) {
      for (const contents of [[{ parts: [null] }], [{ parts: 'x' }], [null], [{ parts: [{ functionCall: { name: 5, args: 'x' } }] }], [{ parts: [{ inlineData: { data: 5 } }] }]]) {
        const reply = await post(`${gateway.url}/genai/v1beta/models/${encodeURIComponent(NATIVE_MODELS[provider])}:generateContent`, { contents });
        expect(reply.status, `${provider} ${JSON.stringify(contents)}: ${reply.text}`).toBe(400);
        expect(reply.json).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
      }
    }
  });
});

const FORMATS = [
  { prefix: '/v1/chat/completions', check: (body: any) => expect(body.error).toMatchObject({ message: expect.any(String), type: expect.any(String), param: null }) },
  { prefix: '/anthropic/v1/messages', check: (body: any) => expect(body.type).toBe('error') },
  { prefix: '/genai/v1beta/models/x:generateContent', check: (body: any) => expect(typeof body.error.status).toBe('string') },
];

describe('HTTP-layer errors, in the caller\'s format', () => {
  for (const { prefix, check } of FORMATS) {
    it(`${prefix.split('/')[1]}: bad percent-encoding, 431, 417, 413, bad Content-Length`, async () => {
      const badUrl = await post(`${gateway.url}${prefix.replace(/\/[^/]*$/, '/%E0%A4%A')}`, {});
      expect(badUrl.status).toBe(400);
      check(badUrl.json);

      const huge = await rawHttp(gateway.url, `POST ${prefix} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-big: ${'a'.repeat(20_000)}\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`);
      expect(huge.status).toBe(431);
      check(JSON.parse(huge.body));

      const expectation = await rawHttp(gateway.url, `POST ${prefix} HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: something-else\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`);
      expect(expectation.status).toBe(417);
      check(JSON.parse(expectation.body));

      const tooLarge = await post(`${gateway.url}${prefix}`, `{"a":"${'x'.repeat(2_100_000)}"}`);
      expect(tooLarge.status).toBe(413);
      check(tooLarge.json);

      const badLength = await rawHttp(gateway.url, `POST ${prefix} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: abc\r\n\r\n{}`);
      expect(badLength.status).toBe(400);
      check(JSON.parse(badLength.body));
    });
  }

  it('an HTTP/1.1 request without Host: 400 in the caller\'s format', async () => {
    const reply = await rawHttp(gateway.url, `POST /anthropic/v1/messages HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`);
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('Host') } });
  });

  it('Expect: 100-continue is honoured', async () => {
    const reply = await rawHttp(gateway.url, `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}`);
    expect(reply.status).toBe(400); // the body {} was read after the interim 100 Continue, and judged
  });

  it('bad percent-encoding in a GET model id', async () => {
    const reply = await get(`${gateway.url}/v1/models/%E0%A4%A`);
    expect(reply.status).toBe(400);
    expect((reply.json as any).error.code).toBe('invalid_url');
  });

  it('the gateway is healthy afterwards', async () => {
    const health = await get(`${gateway.url}/health`);
    expect(health.status).toBe(200);
  });
});

