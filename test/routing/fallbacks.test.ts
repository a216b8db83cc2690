/**
 * Fallback chains across provider formats (OpenAI -> Anthropic) in stream and
 * non-stream, request-level fallbacks, a rejected key moving to another key or
 * target, and the named fallbacks for context-window and content-policy
 * refusals. Every attempt is asserted, not only the final status.
 */
import OpenAI, { BadRequestError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { post } from '../integration/helpers.js';
import { openaiErrorBody, startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { client, CONTENT, drain, messages, startRoutingGateway, type RoutingGateway } from './helpers.js';

let openai: MockUpstream;
let anthropic: MockUpstream;
let gateway: RoutingGateway;
let sdk: OpenAI;

beforeAll(async () => {
  [openai, anthropic] = await Promise.all([startMockUpstream(), startMockUpstream()]);
  gateway = await startRoutingGateway({
    config: {
      providers: {
        openai: { api_key: 'sk-openai', base_url: openai.openaiBaseUrl, max_retries: 0 },
        anthropic: { api_key: 'sk-ant-test', base_url: anthropic.url },
        keyed: {
          type: 'openai-compatible', base_url: openai.openaiBaseUrl, models: ['m'], max_retries: 0,
          keys: [{ name: 'revoked', api_key: 'bad-key' }, { name: 'good', api_key: 'sk-good' }],
        },
        lonely: { type: 'openai-compatible', base_url: openai.openaiBaseUrl, models: ['m'], keys: [{ name: 'revoked', api_key: 'bad-key' }] },
      },
      routing: {
        adaptive: { enabled: false },
        circuit_breaker: { failure_threshold: 100 },
        fallbacks: { 'openai/gpt-4o': ['anthropic/claude-sonnet-4-5'], 'lonely/m': ['anthropic/claude-haiku-4-5'] },
        context_window_fallbacks: { 'openai/gpt-4o-mini': ['anthropic/claude-sonnet-4-5'] },
        content_policy_fallbacks: { 'openai/gpt-4o-mini': ['anthropic/claude-haiku-4-5'] },
      },
    },
  });
  sdk = client(gateway.url);
});
afterAll(async () => {
  await gateway.close();
  await Promise.all([openai.close(), anthropic.close()]);
});
beforeEach(() => {
  openai.reset();
  anthropic.reset();
});

describe('OpenAI -> Anthropic', () => {
  it('non-stream: the OpenAI target 500s, Anthropic serves, the caller gets OpenAI format', async () => {
    openai.enqueue({ kind: 'error', status: 500 });
    const { data, response } = await sdk.chat.completions.create({ model: 'openai/gpt-4o', messages }).withResponse();
    expect(data.choices[0].message).toMatchObject({ role: 'assistant', content: CONTENT });
    expect(data.object).toBe('chat.completion');
    expect(response.headers.get('x-heimdall-provider')).toBe('anthropic');
    expect(response.headers.get('x-heimdall-model')).toBe('claude-sonnet-4-5');
    expect(response.headers.get('x-heimdall-attempts')).toBe('2');
    expect(gateway.lastAttempts()).toEqual([['openai', 'default', 500], ['anthropic', 'default', 200]]);
    expect(gateway.finished.at(-1)!.attempts[0]).toMatchObject({ error: 'Mock upstream error (HTTP 500)', failure: 'http' });
    expect(anthropic.requests).toHaveLength(1);
    expect(anthropic.requests[0]).toMatchObject({ path: '/v1/messages', body: { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'one two three' }] } });
    expect(anthropic.requests[0].headers['x-api-key']).toBe('sk-ant-test');
  });

  it('stream: the OpenAI target is unreachable (reset), the Anthropic stream is translated to OpenAI chunks', async () => {
    openai.enqueue({ kind: 'reset' });
    const { data: stream, response } = await sdk.chat.completions.create({ model: 'openai/gpt-4o', messages, stream: true }).withResponse();
    expect(response.headers.get('x-heimdall-provider')).toBe('anthropic');
    const { text, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(text).toBe(CONTENT);
    expect(gateway.lastAttempts()).toEqual([['openai', 'default', null], ['anthropic', 'default', 200]]);
    expect(anthropic.requests[0].body).toMatchObject({ model: 'claude-sonnet-4-5', stream: true });
  });

  it('request fallbacks (stream): a 503 moves to the named target; "fallbacks" never goes upstream', async () => {
    openai.enqueue({ kind: 'error', status: 503 });
    const params = { model: 'openai/gpt-4o-mini', messages, stream: true as const, fallbacks: ['anthropic/claude-haiku-4-5'] };
    const stream = await sdk.chat.completions.create(params);
    const { text, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(text).toBe(CONTENT);
    expect(gateway.lastAttempts()).toEqual([['openai', 'default', 503], ['anthropic', 'default', 200]]);
    expect(openai.requests[0].body).not.toHaveProperty('fallbacks');
    expect(anthropic.requests[0].body).not.toHaveProperty('fallbacks');
  });

  it('the Anthropic surface too: OpenAI fails, Anthropic answers in its own format (pass-through)', async () => {
    openai.enqueue({ kind: 'error', status: 502 });
    const reply = await post(`${gateway.url}/anthropic/v1/messages`, { model: 'openai/gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'one two three' }] });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'text', text: CONTENT }] });
    expect(gateway.lastAttempts()).toEqual([['openai', 'default', 502], ['anthropic', 'default', 200]]);
  });

  it('a client error (400) is not a reason to fall back', async () => {
    openai.enqueue({ kind: 'error', status: 400, body: openaiErrorBody(400, 'bad input') });
    const error = await sdk.chat.completions.create({ model: 'openai/gpt-4o', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(gateway.lastAttempts()).toEqual([['openai', 'default', 400]]);
    expect(anthropic.requests).toHaveLength(0);
  });
});

describe('a rejected key', () => {
  it('another key of the provider takes the request at once', async () => {
    let rejectedFirst = 0;
    for (let i = 0; i < 16; i++) {
      const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'keyed/m', messages });
      expect(reply.status).toBe(200);
      const attempts = gateway.lastAttempts();
      expect([[['keyed', 'good', 200]], [['keyed', 'revoked', 401], ['keyed', 'good', 200]]]).toContainEqual(attempts);
      if (attempts.length === 2) rejectedFirst++;
    }
    expect(rejectedFirst).toBeGreaterThan(0);
  });

  it('every key rejected: the next target serves', async () => {
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'lonely/m', messages });
    expect(reply.status).toBe(200);
    expect(gateway.lastAttempts()).toEqual([['lonely', 'revoked', 401], ['anthropic', 'default', 200]]);
  });
});

describe('named fallbacks', () => {
  const tooLong = openaiErrorBody(400, "This model's maximum context length is 128000 tokens. However, your messages resulted in 200000 tokens.", { code: 'context_length_exceeded', param: 'messages' });
  const filtered = openaiErrorBody(400, "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", { code: 'content_filter' });

  it('a context-window refusal goes to routing.context_window_fallbacks', async () => {
    openai.enqueue({ kind: 'error', status: 400, body: tooLong });
    const { data, response } = await sdk.chat.completions.create({ model: 'openai/gpt-4o-mini', messages }).withResponse();
    expect(data.choices[0].message.content).toBe(CONTENT);
    expect(response.headers.get('x-heimdall-model')).toBe('claude-sonnet-4-5');
    expect(gateway.lastAttempts()).toEqual([['openai', 'default', 400], ['anthropic', 'default', 200]]);
  });

  it('a content-policy refusal goes to routing.content_policy_fallbacks', async () => {
    openai.enqueue({ kind: 'error', status: 400, body: filtered });
    const { response } = await sdk.chat.completions.create({ model: 'openai/gpt-4o-mini', messages }).withResponse();
    expect(response.headers.get('x-heimdall-model')).toBe('claude-haiku-4-5');
    expect(gateway.lastAttempts()).toEqual([['openai', 'default', 400], ['anthropic', 'default', 200]]);
  });

  it('without a named fallback for the model, the refusal reaches the caller as it is', async () => {
    openai.enqueue({ kind: 'error', status: 400, body: tooLong });
    const error = await sdk.chat.completions.create({ model: 'openai/gpt-4.1', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).error).toMatchObject({ code: 'context_length_exceeded', param: 'messages' });
    expect(gateway.lastAttempts()).toEqual([['openai', 'default', 400]]);
  });
});
