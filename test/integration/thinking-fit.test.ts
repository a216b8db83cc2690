/**
 * Thinking across formats, fitted by the model catalog, over real sockets with
 * the official SDKs: a model that does not reason loses the caller's thinking
 * parameters (with a warning) instead of refusing the call; a reasoning model
 * keeps them; a thinking budget stays below a lowered output limit; and an
 * Anthropic caller's `anthropic-beta` reaches Claude on Bedrock in the body.
 * The mock upstream refuses what the real APIs refuse, with their texts.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { onlyUpstreamBody, post } from './helpers.js';

let mock: MockUpstream;
let gateway: TestGateway;
let anthropic: Anthropic;
let genai: GoogleGenAI;

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({ env: providers.env, config: providers.config });
  anthropic = new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: 'client-key', maxRetries: 0 });
  genai = new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl: `${gateway.url}/genai` } });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

const upstreamBody = (): Record<string, unknown> => onlyUpstreamBody(mock);
const hi = [{ role: 'user' as const, content: 'hello there' }];

describe('the mock refuses thinking where the real APIs do (the premise)', () => {
  it('OpenAI: reasoning_effort on gpt-4o-mini', async () => {
    const reply = await post(`${mock.openaiBaseUrl}/chat/completions`, { model: 'gpt-4o-mini', reasoning_effort: 'low', messages: hi }, { authorization: 'Bearer sk-mock-openai' });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: { message: "Unsupported parameter: 'reasoning_effort' is not supported with this model.", type: 'invalid_request_error', param: 'reasoning_effort', code: 'unsupported_parameter' } });
  });

  it('Anthropic: thinking on Claude 3.5 Haiku, and max_tokens not above budget_tokens', async () => {
    const direct = new Anthropic({ baseURL: mock.url, apiKey: 'sk-ant-test', maxRetries: 0 });
    await expect(direct.messages.create({ model: 'claude-3-5-haiku-20241022', max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 }, messages: hi }))
      .rejects.toMatchObject({ status: 400, error: { error: { type: 'invalid_request_error', message: "'claude-3-5-haiku-20241022' does not support thinking." } } });
    await expect(direct.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 2048 }, messages: hi }))
      .rejects.toMatchObject({ status: 400, error: { error: { message: expect.stringContaining('`max_tokens` must be greater than `thinking.budget_tokens`') } } });
  });

  it('Gemini: a thinkingConfig on gemini-2.0-flash', async () => {
    const reply = await post(`${mock.url}/v1beta/models/gemini-2.0-flash:generateContent`, { contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { thinkingConfig: { thinkingBudget: 1024 } } }, { 'x-goog-api-key': 'mock-gemini-key' });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: { code: 400, message: 'thinking_config is not supported.', status: 'INVALID_ARGUMENT' } });
  });
});

describe('a model that does not reason loses the thinking parameters, with a warning', () => {
  it('Gemini SDK with thinkingConfig (as Gemini CLI sends on every call) to openai/gpt-4o-mini', async () => {
    const reply = await genai.models.generateContent({
      model: 'openai/gpt-4o-mini',
      contents: 'hello there',
      config: { thinkingConfig: { includeThoughts: true, thinkingBudget: 8192 } },
    });
    expect(reply.text).toBe('echo: hello there');
    const sent = upstreamBody();
    expect(sent.model).toBe('gpt-4o-mini');
    expect(sent).not.toHaveProperty('reasoning_effort');
    expect(reply.sdkHttpResponse?.headers?.['x-heimdall-warnings']).toBe("thinking: openai/gpt-4o-mini is not a reasoning model and refuses 'thinking', so it was dropped.");
  });

  it('Anthropic SDK with extended thinking to openai/gpt-4o-mini', async () => {
    const { data, response } = await anthropic.messages
      .create({ model: 'openai/gpt-4o-mini', max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 }, messages: hi })
      .withResponse();
    expect(data.content).toMatchObject([{ type: 'text', text: 'echo: hello there' }]);
    expect(upstreamBody()).not.toHaveProperty('reasoning_effort');
    expect(response.headers.get('x-heimdall-warnings')).toBe("thinking: openai/gpt-4o-mini is not a reasoning model and refuses 'thinking', so it was dropped.");
  });

  it('OpenAI SDK with reasoning_effort to Claude 3.5 Haiku and to Gemini 2.0 Flash', async () => {
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    const claude = await openai.chat.completions.create({ model: 'anthropic/claude-3-5-haiku-20241022', reasoning_effort: 'high', messages: hi }).withResponse();
    expect(claude.data.choices[0].message.content).toBe('echo: hello there');
    expect(upstreamBody()).not.toHaveProperty('thinking');
    expect(claude.response.headers.get('x-heimdall-warnings')).toBe("reasoning_effort: anthropic/claude-3-5-haiku-20241022 is not a reasoning model and refuses 'reasoning_effort', so it was dropped.");
    mock.reset();
    const gemini = await openai.chat.completions.create({ model: 'gemini/gemini-2.0-flash', reasoning_effort: 'low', messages: hi }).withResponse();
    expect(gemini.data.choices[0].message.content).toBe('echo: hello there');
    expect(upstreamBody().generationConfig ?? {}).not.toHaveProperty('thinkingConfig');
    expect(gemini.response.headers.get('x-heimdall-warnings')).toContain('reasoning_effort: gemini/gemini-2.0-flash is not a reasoning model');
  });
});

describe('the Responses surface (Codex) too', () => {
  it('reasoning.effort to anthropic/claude-3-5-haiku: no thinking sent, one warning', async () => {
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    const { data, response } = await openai.responses.create({ model: 'anthropic/claude-3-5-haiku-20241022', reasoning: { effort: 'medium' }, input: 'hello there' }).withResponse();
    expect(data.output_text).toBe('echo: hello there');
    expect(upstreamBody()).not.toHaveProperty('thinking');
    expect(response.headers.get('x-heimdall-warnings')).toContain("reasoning_effort: anthropic/claude-3-5-haiku-20241022 is not a reasoning model and refuses 'reasoning_effort', so it was dropped.");
  });
});

describe('a reasoning model keeps them', () => {
  it('Anthropic SDK with extended thinking to openai/gpt-5-mini: reasoning_effort from the budget, no warning', async () => {
    const { data, response } = await anthropic.messages
      .create({ model: 'openai/gpt-5-mini', max_tokens: 16_000, thinking: { type: 'enabled', budget_tokens: 8192 }, messages: hi })
      .withResponse();
    expect(data.content).toMatchObject([{ type: 'text', text: 'echo: hello there' }]);
    expect(upstreamBody()).toMatchObject({ model: 'gpt-5-mini', reasoning_effort: 'medium', max_completion_tokens: 16_000 });
    expect(response.headers.get('x-heimdall-warnings')).toBeNull();
  });

  it('Gemini SDK with thinkingConfig to openai/gpt-5-mini', async () => {
    const reply = await genai.models.generateContent({ model: 'openai/gpt-5-mini', contents: 'hello there', config: { thinkingConfig: { thinkingBudget: 2048 } } });
    expect(reply.text).toBe('echo: hello there');
    expect(upstreamBody()).toMatchObject({ reasoning_effort: 'low' });
    expect(reply.sdkHttpResponse?.headers?.['x-heimdall-warnings']).toBeUndefined();
  });
});

describe('an effort to Claude stays within the model', () => {
  it("OpenAI SDK with reasoning_effort 'max' and no max_tokens to anthropic/claude-sonnet-4-5: max_tokens at its 64,000, the budget below it", async () => {
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    const { data, response } = await openai.chat.completions.create({ model: 'anthropic/claude-sonnet-4-5', reasoning_effort: 'max' as never, messages: hi }).withResponse();
    expect(data.choices[0].message.content).toBe('echo: hello there');
    expect(upstreamBody()).toMatchObject({ max_tokens: 64_000, thinking: { type: 'enabled', budget_tokens: 32_000 } });
    expect(response.headers.get('x-heimdall-warnings')).toBe("reasoning_effort: The thinking budget for 'max' (65536) must be below max_tokens (64000), it was lowered to 32000.");
  });
});

describe('Claude on Bedrock', () => {
  const BEDROCK_CLAUDE = 'bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0';

  it("the Anthropic SDK's anthropic-beta header arrives as additionalModelRequestFields.anthropic_beta", async () => {
    const { data, response } = await anthropic.messages
      .create(
        { model: BEDROCK_CLAUDE, max_tokens: 1024, messages: hi },
        { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14, context-1m-2025-08-07' } },
      )
      .withResponse();
    expect(data.content).toMatchObject([{ type: 'text', text: 'echo: hello there' }]);
    expect(upstreamBody().additionalModelRequestFields).toEqual({ anthropic_beta: ['interleaved-thinking-2025-05-14', 'context-1m-2025-08-07'] });
    expect(response.headers.get('x-heimdall-warnings')).toBeNull();
  });

  it("Claude Code's own betas, which Bedrock refuses ('invalid beta flag'), are dropped with a warning; the rest go", async () => {
    const { data, response } = await anthropic.messages
      .create(
        { model: BEDROCK_CLAUDE, max_tokens: 1024, messages: hi },
        { headers: { 'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14' } },
      )
      .withResponse();
    expect(data.content).toMatchObject([{ type: 'text', text: 'echo: hello there' }]);
    expect(upstreamBody().additionalModelRequestFields).toEqual({ anthropic_beta: ['interleaved-thinking-2025-05-14'] });
    expect(response.headers.get('x-heimdall-warnings')).toBe("anthropic-beta: Claude on Bedrock does not take the beta 'claude-code-20250219', 'fine-grained-tool-streaming-2025-05-14', dropped.");
  });

  it('client.beta.messages.create({ betas }) too; without a header nothing is added', async () => {
    await anthropic.beta.messages.create({ model: BEDROCK_CLAUDE, max_tokens: 1024, betas: ['token-efficient-tools-2025-02-19'], messages: hi });
    expect(upstreamBody().additionalModelRequestFields).toEqual({ anthropic_beta: ['token-efficient-tools-2025-02-19'] });
    mock.reset();
    await anthropic.messages.create({ model: BEDROCK_CLAUDE, max_tokens: 1024, messages: hi });
    expect(upstreamBody()).not.toHaveProperty('additionalModelRequestFields');
  });

  it('the same header to an OpenAI model is no warning and sends nothing extra', async () => {
    const { response } = await anthropic.messages
      .create({ model: 'openai/gpt-4o-mini', max_tokens: 1024, messages: hi }, { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14' } })
      .withResponse();
    expect(response.headers.get('x-heimdall-warnings')).toBeNull();
    expect(JSON.stringify(upstreamBody())).not.toContain('interleaved-thinking');
  });

  it('a thinking budget stays below the lowered output limit (Claude Opus 4.1: 32,000 at most)', async () => {
    const { data, response } = await anthropic.messages
      .create({ model: 'bedrock/anthropic.claude-opus-4-1-20250805-v1:0', max_tokens: 64_000, thinking: { type: 'enabled', budget_tokens: 40_000 }, messages: hi }, { timeout: 60_000 })
      .withResponse();
    expect(data.content.filter((block) => block.type === 'text')).toMatchObject([{ text: 'echo: hello there' }]);
    const sent = upstreamBody();
    expect(sent.inferenceConfig).toMatchObject({ maxTokens: 32_000 });
    expect(sent.additionalModelRequestFields).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 16_000 } });
    expect(response.headers.get('x-heimdall-warnings')).toBe(
      'max_tokens: max_tokens 64000 is above the maximum output of bedrock/anthropic.claude-opus-4-1-20250805-v1:0 (32000 tokens), so it was lowered to 32000.; '
      + 'thinking: thinking.budget_tokens 40000 is not below the lowered output limit of bedrock/anthropic.claude-opus-4-1-20250805-v1:0 (32000 tokens), so it was lowered to 16000.',
    );
  });
});
