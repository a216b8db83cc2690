/**
 * The model catalog over real sockets, with the official SDKs as clients and
 * a mock upstream that refuses what the real APIs refuse: requests translated
 * for a model are fitted to it (output limit, reasoning-model parameters,
 * Claude's temperature/top_p), with x-heimdall-warnings; strict mode refuses
 * instead; same-format pass-through is left as sent; GET /v1/models carries
 * limits and prices; a catalog-priced model's cost is charged.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call, removeDir, startGov, type GovGateway } from '../governance/helpers.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { onlyUpstreamBody, post } from './helpers.js';

let mock: MockUpstream;
let gateway: TestGateway;
let strict: TestGateway;
let anthropic: Anthropic;

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({ env: providers.env, config: providers.config });
  strict = await startGateway({ env: providers.env, config: { ...providers.config, routing: { strict_params: true } } });
  anthropic = new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: 'client-key', maxRetries: 0 });
});
afterAll(async () => {
  await gateway.close();
  await strict.close();
  await mock.close();
});
beforeEach(() => mock.reset());

const upstreamBody = (): Record<string, unknown> => onlyUpstreamBody(mock);

function warningParams(header: string | null | undefined): string[] {
  return header === null || header === undefined ? [] : header.split('; ').map((warning) => warning.slice(0, warning.indexOf(':')));
}

describe('the mock upstream refuses what the real APIs refuse', () => {
  it('OpenAI reasoning models: max_tokens and a non-default temperature; chat models: an output limit above the maximum', async () => {
    const openai = new OpenAI({ baseURL: mock.openaiBaseUrl, apiKey: 'sk-test', maxRetries: 0 });
    const refused = async (body: Record<string, unknown>) => {
      try {
        await openai.chat.completions.create({ messages: [{ role: 'user', content: 'hi' }], ...body } as never);
      } catch (error) {
        return error as InstanceType<typeof OpenAI.BadRequestError>;
      }
      throw new Error('not refused');
    };
    const maxTokens = await refused({ model: 'gpt-5-mini', max_tokens: 100 });
    expect(maxTokens.status).toBe(400);
    expect(maxTokens.error).toMatchObject({ message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", param: 'max_tokens', code: 'unsupported_parameter' });
    const temperature = await refused({ model: 'o3', temperature: 0.7 });
    expect(temperature.error).toMatchObject({ message: "Unsupported value: 'temperature' does not support 0.7 with this model. Only the default (1) value is supported.", param: 'temperature' });
    const tooLarge = await refused({ model: 'gpt-4o-mini', max_tokens: 32_000 });
    expect(tooLarge.error).toMatchObject({ message: 'max_tokens is too large: 32000. This model supports at most 16384 completion tokens, whereas you provided 32000.', param: 'max_tokens' });
    expect((await openai.chat.completions.create({ model: 'gpt-5-mini', max_completion_tokens: 100, temperature: 1, messages: [{ role: 'user', content: 'hi' }] })).choices[0].message.content).toBe('echo: hi');
  });

  it('Claude: temperature with top_p, and max_tokens above the model maximum', async () => {
    const direct = new Anthropic({ baseURL: mock.url, apiKey: 'sk-ant-test', maxRetries: 0 });
    const refused = async (body: Record<string, unknown>) => {
      try {
        await direct.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'hi' }], ...body } as never, { timeout: 60_000 });
      } catch (error) {
        return error as InstanceType<typeof Anthropic.BadRequestError>;
      }
      throw new Error('not refused');
    };
    const both = await refused({ temperature: 0.5, top_p: 0.9 });
    expect(both.status).toBe(400);
    expect(both.error).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: '`temperature` and `top_p` cannot both be specified for this model. Please use only one.' } });
    const tooLarge = await refused({ max_tokens: 100_000 });
    expect((tooLarge.error as { error: { message: string } }).error.message).toBe('max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-5');
  });
});

describe('a translated request is fitted to its target model', () => {
  it('Anthropic SDK to openai/gpt-5-mini with max_tokens 32000 and temperature: max_completion_tokens, temperature dropped, warned', async () => {
    const { data, response } = await anthropic.messages
      // @anthropic-ai/sdk 1.x no longer types temperature/top_p (current Claude models refuse them); older clients still send them.
      .create({ model: 'openai/gpt-5-mini', max_tokens: 32_000, temperature: 0.7, messages: [{ role: 'user', content: 'hello there' }] } as Anthropic.MessageCreateParamsNonStreaming, { timeout: 60_000 })
      .withResponse();
    expect(data.content).toEqual([{ type: 'text', text: 'echo: hello there', citations: null }].map(({ citations: _c, ...block }) => expect.objectContaining(block)));
    const sent = upstreamBody();
    expect(sent.max_completion_tokens).toBe(32_000);
    expect(sent).not.toHaveProperty('max_tokens');
    expect(sent).not.toHaveProperty('temperature');
    expect(warningParams(response.headers.get('x-heimdall-warnings'))).toEqual(['temperature']);
    expect(response.headers.get('x-heimdall-warnings')).toBe("temperature: openai/gpt-5-mini does not take 'temperature' (only 1), so it was dropped.");
  });

  it('Claude Code shape (max_tokens 32000, streamed) to openai/gpt-4o-mini: lowered to 16384 with a warning', async () => {
    const stream = anthropic.messages.stream({
      model: 'openai/gpt-4o-mini',
      max_tokens: 32_000,
      system: [{ type: 'text', text: 'You are Claude Code.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'list the files' }] }],
    });
    const message = await stream.finalMessage();
    expect(message.stop_reason).toBe('end_turn');
    const sent = upstreamBody();
    expect(sent.max_tokens).toBe(16_384);
    const { response } = await stream.withResponse();
    expect(response.headers.get('x-heimdall-warnings')).toBe('max_tokens: max_tokens 32000 is above the maximum output of openai/gpt-4o-mini (16384 tokens), so it was lowered to 16384.');
  });

  it('Gemini SDK with temperature and topP to anthropic/claude-sonnet-4-5: top_p dropped, the call succeeds', async () => {
    const ai = new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl: `${gateway.url}/genai` } });
    const reply = await ai.models.generateContent({
      model: 'anthropic/claude-sonnet-4-5',
      contents: 'why is the sky blue',
      config: { temperature: 0.4, topP: 0.95, maxOutputTokens: 200_000 },
    });
    expect(reply.text).toBe('echo: why is the sky blue');
    const sent = upstreamBody();
    expect(sent.temperature).toBe(0.4);
    expect(sent).not.toHaveProperty('top_p');
    expect(sent.max_tokens).toBe(64_000);
    expect(warningParams(reply.sdkHttpResponse?.headers?.['x-heimdall-warnings'])).toEqual(['max_tokens', 'top_p']);
  });

  it('Gemini SDK to openai/gpt-5-mini: maxOutputTokens arrives as max_completion_tokens, temperature and topP dropped', async () => {
    const ai = new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl: `${gateway.url}/genai` } });
    const reply = await ai.models.generateContent({ model: 'openai/gpt-5-mini', contents: 'hello', config: { temperature: 0.3, topP: 0.9, maxOutputTokens: 2048 } });
    expect(reply.text).toBe('echo: hello');
    const sent = upstreamBody();
    expect(sent.max_completion_tokens).toBe(2048);
    for (const field of ['max_tokens', 'temperature', 'top_p']) expect(sent).not.toHaveProperty(field);
    expect(warningParams(reply.sdkHttpResponse?.headers?.['x-heimdall-warnings'])).toEqual(['temperature', 'top_p']);
  });

  it('OpenAI SDK with temperature and top_p to Claude on Vertex AI: top_p dropped; the Anthropic SDK passing through gets the refusal', async () => {
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    const { data, response } = await openai.chat.completions
      .create({ model: 'vertex-anthropic/claude-sonnet-4-5@20250929', temperature: 0.2, top_p: 0.8, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(data.choices[0].message.content).toBe('echo: hi');
    expect(upstreamBody()).toMatchObject({ temperature: 0.2 });
    expect(upstreamBody()).not.toHaveProperty('top_p');
    expect(warningParams(response.headers.get('x-heimdall-warnings'))).toEqual(['top_p']);
    mock.reset();
    // Same format (Anthropic to Claude on Vertex): passed through as sent, refused upstream as in production.
    await expect(anthropic.messages.create({ model: 'vertex-anthropic/claude-sonnet-4-5@20250929', max_tokens: 100, temperature: 0.2, top_p: 0.8, messages: [{ role: 'user', content: 'hi' }] } as Anthropic.MessageCreateParamsNonStreaming))
      .rejects.toMatchObject({ status: 400, error: { error: { message: '`temperature` and `top_p` cannot both be specified for this model. Please use only one.' } } });
  });

  it('strict mode refuses instead, naming the parameter, and nothing is sent', async () => {
    const reply = await post(`${strict.url}/anthropic/v1/messages`, { model: 'openai/gpt-5-mini', max_tokens: 1000, temperature: 0.7, messages: [{ role: 'user', content: 'hi' }] }, { 'anthropic-version': '2023-06-01' });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining("'temperature'") } });
    expect(mock.requests).toHaveLength(0);
    // The rename alone is no warning: strict mode lets it through.
    const renamed = await post(`${strict.url}/anthropic/v1/messages`, { model: 'openai/gpt-5-mini', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] }, { 'anthropic-version': '2023-06-01' });
    expect(renamed.status).toBe(200);
    expect(upstreamBody().max_completion_tokens).toBe(1000);
  });

  it('same-format pass-through is not rewritten: the OpenAI SDK sending max_tokens to gpt-5-mini gets the upstream refusal', async () => {
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    await expect(openai.chat.completions.create({ model: 'openai/gpt-5-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }))
      .rejects.toMatchObject({ status: 400, param: 'max_tokens', code: 'unsupported_parameter' });
    expect(upstreamBody().max_tokens).toBe(100);
  });
});

describe('GET /v1/models', () => {
  it('lists limits, reasoning and prices from the catalog, in the OpenAI shape', async () => {
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    const models = [];
    for await (const model of openai.models.list()) models.push(model as unknown as Record<string, unknown>);
    const mini = models.find((model) => model.id === 'openai/gpt-4o-mini');
    expect(mini).toMatchObject({
      object: 'model', owned_by: 'openai', context_window: 128_000, max_output_tokens: 16_384, reasoning: false,
      pricing: { input: 0.15, cached_input: 0.075, output: 0.6, currency: 'USD', unit: 'per 1M tokens' },
    });
    const sonnet = await openai.models.retrieve('anthropic/claude-sonnet-4-5') as unknown as Record<string, unknown>;
    expect(sonnet).toMatchObject({ id: 'anthropic/claude-sonnet-4-5', context_window: 200_000, max_output_tokens: 64_000, pricing: { input: 3, cache_write: 3.75, output: 15 } });
  });
});

describe('cost of a catalog-priced model', () => {
  let gw: GovGateway;
  beforeAll(async () => {
    const providers = await startMockProviders();
    gw = await startGov({ config: providers.config, env: providers.env });
  });
  afterAll(async () => {
    await gw.close(true);
    removeDir(gw.dataDir);
  });

  it('openai/gpt-5.2 (not in the old hand-written table) is charged at the catalog price', async () => {
    const created = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'catalog-priced' });
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: created.json.key, maxRetries: 0 });
    const completion = await openai.chat.completions.create({ model: 'openai/gpt-5.2', max_completion_tokens: 100, messages: [{ role: 'user', content: 'one two three' }] });
    const usage = completion.usage!;
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    const key = (await call('GET', `${gw.url}/api/virtual-keys/${created.json.id}`)).json;
    // @pydantic/genai-prices 0.1.8: gpt-5.2 at $1.75 in, $14 out per million tokens.
    expect(key.spend_usd).toBeCloseTo((usage.prompt_tokens * 1.75 + usage.completion_tokens * 14) / 1e6, 12);
    expect(key.spend_usd).toBeGreaterThan(0);
  });
});
