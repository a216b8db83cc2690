/**
 * Parameters a provider cannot take, end to end: dropped and named in
 * `x-heimdall-warnings` (and not sent upstream), or refused with a 400 naming
 * the parameter when `routing.strict_params` is on, through every codec and
 * both drop-in surfaces. Two gateways (lenient and strict) share one mock.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { NATIVE_MODELS, startMockProviders } from '../support/mock-upstream/provider-env.js';
import { onlyUpstreamBody, post } from './helpers.js';

let mock: MockUpstream;
let lenient: TestGateway;
let strict: TestGateway;

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  lenient = await startGateway({ env: providers.env, config: providers.config });
  strict = await startGateway({ env: providers.env, config: { ...providers.config, routing: { strict_params: true } } });
});
afterAll(async () => {
  await lenient.close();
  await strict.close();
  await mock.close();
});
beforeEach(() => mock.reset());

const upstreamBody = (): Record<string, unknown> => onlyUpstreamBody(mock);

/** [provider, parameter, value, where it would be in the provider's body if it were sent] */
const CASES: ReadonlyArray<[provider: keyof typeof NATIVE_MODELS, param: string, value: unknown]> = [
  ['anthropic', 'logit_bias', { 50256: -100 }],
  ['anthropic', 'seed', 7],
  ['gemini', 'logit_bias', { 50256: -100 }],
  ['gemini', 'safety_identifier', 'user-1'],
  ['vertex', 'prompt_cache_key', 'cache-1'],
  ['vertex-anthropic', 'presence_penalty', 0.5],
  ['bedrock', 'seed', 7],
  ['bedrock', 'n', 2],
  ['cohere', 'logit_bias', { 50256: -100 }],
  ['cohere', 'user', 'user-1'],
];

describe('OpenAI surface: a parameter the provider cannot take', () => {
  it.each(CASES)('%s, %s: dropped and named in x-heimdall-warnings; 400 naming it in strict mode', async (provider, param, value) => {
    const body = { model: NATIVE_MODELS[provider], messages: [{ role: 'user', content: 'hi' }], [param]: value };
    const reply = await post(`${lenient.url}/v1/chat/completions`, body);
    expect(reply.status).toBe(200);
    expect(String(reply.headers['x-heimdall-warnings'])).toMatch(new RegExp(`(^|; )${param}: `));
    expect(JSON.stringify(upstreamBody())).not.toContain(JSON.stringify(value));
    mock.reset();
    const refused = await post(`${strict.url}/v1/chat/completions`, body);
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: { type: 'invalid_request_error', param, code: 'unsupported_parameter', message: expect.stringContaining('(strict mode)') } });
    expect(mock.requests.filter((r) => r.path !== '/token')).toHaveLength(0);
  });

  it('a value that is changed is said so: Anthropic temperature above 1 is lowered with a warning', async () => {
    const reply = await post(`${lenient.url}/v1/chat/completions`, { model: NATIVE_MODELS.anthropic, temperature: 1.5, messages: [{ role: 'user', content: 'hi' }] });
    expect(reply.headers['x-heimdall-warnings']).toBe('temperature: Anthropic temperature ranges 0 to 1, 1.5 was lowered to 1.');
    expect(upstreamBody().temperature).toBe(1);
  });

  it('several warnings are joined in one header; a request without any gets none', async () => {
    const reply = await post(`${lenient.url}/v1/chat/completions`, { model: NATIVE_MODELS.bedrock, seed: 1, user: 'u', messages: [{ role: 'user', content: 'hi' }] });
    expect(String(reply.headers['x-heimdall-warnings']).split('; ').map((w) => w.split(':')[0])).toEqual(['seed', 'user']);
    const clean = await post(`${lenient.url}/v1/chat/completions`, { model: NATIVE_MODELS.bedrock, temperature: 0.2, messages: [{ role: 'user', content: 'hi' }] });
    expect(clean.headers['x-heimdall-warnings']).toBeUndefined();
  });

  it('embeddings: a dimension Titan v1 cannot take is dropped with a warning, refused in strict mode', async () => {
    const body = { model: 'bedrock/amazon.titan-embed-text-v1', input: 'a b', dimensions: 4, encoding_format: 'float' };
    const reply = await post(`${lenient.url}/v1/embeddings`, body);
    expect(reply.status).toBe(200);
    expect(String(reply.headers['x-heimdall-warnings'])).toMatch(/^dimensions: /);
    expect(upstreamBody()).toEqual({ inputText: 'a b' });
    const refused = await post(`${strict.url}/v1/embeddings`, body);
    expect(refused).toMatchObject({ status: 400, json: { error: { param: 'dimensions', code: 'unsupported_parameter' } } });
  });
});

describe('drop-in surfaces: fields the target cannot take', () => {
  it('Anthropic surface -> OpenAI: top_k and metadata keys are dropped with warnings; strict mode refuses', async () => {
    const body = { model: NATIVE_MODELS.openai, max_tokens: 50, top_k: 5, metadata: { user_id: 'u-1', session: 's' }, messages: [{ role: 'user', content: 'hi' }] };
    const headers = { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' };
    const reply = await post(`${lenient.url}/anthropic/v1/messages`, body, headers);
    expect(reply.status).toBe(200);
    const warned = String(reply.headers['x-heimdall-warnings']).split('; ').map((w) => w.split(':')[0]);
    expect(warned).toEqual(expect.arrayContaining(['metadata.session', 'top_k']));
    expect(upstreamBody()).toMatchObject({ user: 'u-1' });
    expect(upstreamBody()).not.toHaveProperty('top_k');
    const refused = await post(`${strict.url}/anthropic/v1/messages`, body, headers);
    expect(refused).toMatchObject({ status: 400, json: { type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('(strict mode)') } } });
  });

  it('Anthropic surface -> Anthropic: a pass-through keeps every field, strict or not', async () => {
    const body = { model: NATIVE_MODELS.anthropic, max_tokens: 50, top_k: 5, container: 'c-1', messages: [{ role: 'user', content: 'hi' }] };
    const reply = await post(`${strict.url}/anthropic/v1/messages`, body, { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-heimdall-warnings']).toBeUndefined();
    expect(upstreamBody()).toMatchObject({ top_k: 5, container: 'c-1', model: 'claude-sonnet-4-5' });
  });

  it('Gemini surface -> Cohere: safety settings and a response modality are dropped with warnings; strict mode refuses', async () => {
    const body = {
      contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
      safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }],
      generationConfig: { responseModalities: ['TEXT', 'IMAGE'], temperature: 0.5 },
    };
    const path = `/genai/v1beta/models/${NATIVE_MODELS.cohere}:generateContent`;
    const reply = await post(`${lenient.url}${path}`, body);
    expect(reply.status).toBe(200);
    const warned = String(reply.headers['x-heimdall-warnings']).split('; ').map((w) => w.split(':')[0]);
    expect(warned).toEqual(expect.arrayContaining(['safetySettings', 'generationConfig.responseModalities']));
    expect(upstreamBody()).toMatchObject({ temperature: 0.5 });
    const refused = await post(`${strict.url}${path}`, body);
    expect(refused).toMatchObject({ status: 400, json: { error: { code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining('(strict mode)') } } });
  });
});
