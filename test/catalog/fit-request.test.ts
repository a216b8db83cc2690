/** fitRequestToModel: pure, fixture in, expected request and warnings out. */
import { describe, expect, it } from 'vitest';
import { ModelCatalog } from '../../src/catalog/catalog.js';
import { fitRequestToModel } from '../../src/catalog/fit-request.js';
import type { ChatRequest } from '../../src/formats/openai/types.js';

const catalog = new ModelCatalog();
const factsOf = (type: string, model: string) => catalog.facts({ provider: type, type, model });
const messages: ChatRequest['messages'] = [{ role: 'user', content: 'hi' }];

describe('fitRequestToModel', () => {
  it('OpenAI reasoning models: max_tokens becomes max_completion_tokens, refused sampling parameters are dropped with warnings', () => {
    const request: ChatRequest = { model: 'gpt-5-mini', messages, max_tokens: 32_000, temperature: 0.7, top_p: 0.9, presence_penalty: 0.1, frequency_penalty: 0.2, logprobs: true, top_logprobs: 2, stop: ['x'] };
    const { request: fitted, warnings } = fitRequestToModel(request, factsOf('openai', 'gpt-5-mini'), 'openai/gpt-5-mini');
    expect(fitted).toEqual({ model: 'gpt-5-mini', messages, max_completion_tokens: 32_000, stop: ['x'] });
    expect(warnings.map((warning) => warning.param)).toEqual(['temperature', 'top_p', 'presence_penalty', 'frequency_penalty', 'logprobs', 'top_logprobs']);
    expect(warnings[0].message).toBe("openai/gpt-5-mini does not take 'temperature' (only 1), so it was dropped.");
    // Pure: the caller's request is untouched.
    expect(request.max_tokens).toBe(32_000);
    expect(request.temperature).toBe(0.7);
  });

  it('keeps what a reasoning model takes: temperature 1, logprobs false, max_completion_tokens', () => {
    const request: ChatRequest = { model: 'o3', messages, max_completion_tokens: 1000, temperature: 1, logprobs: false };
    const result = fitRequestToModel(request, factsOf('openai', 'o3'));
    expect(result.request).toBe(request);
    expect(result.warnings).toEqual([]);
  });

  it('an output limit above the model maximum is lowered to it, with a warning', () => {
    const request: ChatRequest = { model: 'gpt-4o-mini', messages, max_tokens: 32_000, temperature: 0.3 };
    const { request: fitted, warnings } = fitRequestToModel(request, factsOf('openai', 'gpt-4o-mini'), 'openai/gpt-4o-mini');
    expect(fitted).toEqual({ model: 'gpt-4o-mini', messages, max_tokens: 16_384, temperature: 0.3 });
    expect(warnings).toEqual([{ param: 'max_tokens', message: 'max_tokens 32000 is above the maximum output of openai/gpt-4o-mini (16384 tokens), so it was lowered to 16384.' }]);
    // Both at once: lowered, then renamed.
    const reasoning = fitRequestToModel({ model: 'gpt-5-mini', messages, max_tokens: 500_000 }, factsOf('openai', 'gpt-5-mini'));
    expect(reasoning.request).toEqual({ model: 'gpt-5-mini', messages, max_completion_tokens: 128_000 });
    expect(reasoning.warnings.map((warning) => warning.param)).toEqual(['max_tokens']);
  });

  it('current Claude models: top_p is dropped when temperature is set too; either alone passes', () => {
    const facts = factsOf('anthropic', 'claude-sonnet-4-5');
    const both = fitRequestToModel({ model: 'claude-sonnet-4-5', messages, max_tokens: 1024, temperature: 0.5, top_p: 0.9 }, facts, 'anthropic/claude-sonnet-4-5');
    expect(both.request).toEqual({ model: 'claude-sonnet-4-5', messages, max_tokens: 1024, temperature: 0.5 });
    expect(both.warnings).toEqual([{ param: 'top_p', message: "anthropic/claude-sonnet-4-5 does not take 'temperature' and 'top_p' together, so 'top_p' was dropped." }]);
    expect(fitRequestToModel({ model: 'claude-sonnet-4-5', messages, top_p: 0.9 }, facts).warnings).toEqual([]);
    // An older Claude takes both.
    const old = { model: 'claude-3-5-haiku-20241022', messages, temperature: 0.5, top_p: 0.9 } satisfies ChatRequest;
    expect(fitRequestToModel(old, factsOf('anthropic', 'claude-3-5-haiku-20241022')).request).toBe(old);
  });

  it('a model the catalog does not know is left alone', () => {
    const request: ChatRequest = { model: 'mystery', messages, max_tokens: 1_000_000, temperature: 2 };
    expect(fitRequestToModel(request, factsOf('openai', 'mystery'))).toEqual({ request, warnings: [] });
  });

  it('a model that does not reason loses reasoning_effort and thinking, with one warning; turning thinking off is dropped silently', () => {
    const request: ChatRequest = { model: 'gpt-4o-mini', messages, max_tokens: 100, thinking: { type: 'enabled', budget_tokens: 8192 } };
    const fitted = fitRequestToModel(request, factsOf('openai', 'gpt-4o-mini'), 'openai/gpt-4o-mini');
    expect(fitted.request).toEqual({ model: 'gpt-4o-mini', messages, max_tokens: 100 });
    expect(fitted.warnings).toEqual([{ param: 'thinking', message: "openai/gpt-4o-mini is not a reasoning model and refuses 'thinking', so it was dropped." }]);
    expect(request.thinking).toEqual({ type: 'enabled', budget_tokens: 8192 });
    // A Gemini caller's thinkingConfig (mapped to thinking too): one warning, for what was asked.
    const gemini = fitRequestToModel({ model: 'gpt-4.1', messages, reasoning_effort: 'low', gemini_thinking_config: { thinkingLevel: 'LOW' } }, factsOf('openai', 'gpt-4.1'));
    expect(gemini.request).toEqual({ model: 'gpt-4.1', messages });
    expect(gemini.warnings.map((warning) => warning.param)).toEqual(['reasoning_effort']);
    // Off is what the model does anyway: nothing is lost, nothing to warn about.
    const off = fitRequestToModel({ model: 'gpt-4o', messages, reasoning_effort: 'none', thinking: { type: 'disabled' }, gemini_thinking_config: { thinkingBudget: 0 } }, factsOf('openai', 'gpt-4o'));
    expect(off).toEqual({ request: { model: 'gpt-4o', messages }, warnings: [] });
  });

  it('reasoning models keep their thinking parameters; an unknown model keeps them too', () => {
    for (const [type, model] of [['openai', 'gpt-5-mini'], ['anthropic', 'claude-sonnet-4-5'], ['gemini', 'gemini-2.5-flash'], ['openai', 'my-finetune']]) {
      const request: ChatRequest = { model, messages, reasoning_effort: 'medium', thinking: { type: 'enabled', budget_tokens: 2048 } };
      expect(fitRequestToModel(request, factsOf(type, model)), model).toEqual({ request, warnings: [] });
    }
  });

  it('Claude without extended thinking (3.5 Haiku, also on Bedrock) and Gemini 2.0 lose thinking', () => {
    const thinking = { type: 'enabled', budget_tokens: 2048 } as const;
    for (const [type, model] of [['anthropic', 'claude-3-5-haiku-20241022'], ['bedrock', 'us.anthropic.claude-3-5-haiku-20241022-v1:0'], ['vertex-anthropic', 'claude-3-5-sonnet-v2@20241022'], ['gemini', 'gemini-2.0-flash'], ['vertex', 'gemini-2.0-flash-lite-001'], ['gemini', 'gemini-2.5-flash-image']]) {
      const fitted = fitRequestToModel({ model, messages, thinking }, factsOf(type, model), model);
      expect(fitted.request, model).toEqual({ model, messages });
      expect(fitted.warnings, model).toEqual([{ param: 'thinking', message: `${model} is not a reasoning model and refuses 'thinking', so it was dropped.` }]);
    }
    // Claude 3.7 Sonnet and the 2.0 thinking preview do think.
    expect(factsOf('anthropic', 'claude-3-7-sonnet-20250219')).toMatchObject({ reasoning: true, reasoningKnown: true });
    expect(factsOf('gemini', 'gemini-2.0-flash-thinking-exp-01-21').reasoningKnown).toBe(false);
  });

  it('a config override saying the model reasons keeps its thinking parameters', () => {
    const overridden = new ModelCatalog({ 'openai/gpt-4o-mini': { reasoning: true } });
    const request: ChatRequest = { model: 'gpt-4o-mini', messages, reasoning_effort: 'low' };
    expect(fitRequestToModel(request, overridden.facts({ provider: 'openai', type: 'openai', model: 'gpt-4o-mini' }))).toEqual({ request, warnings: [] });
  });

  it('a thinking budget stays below a lowered output limit (Anthropic refuses max_tokens <= budget_tokens)', () => {
    const facts = factsOf('anthropic', 'claude-opus-4-1');
    const request: ChatRequest = { model: 'claude-opus-4-1', messages, max_tokens: 64_000, thinking: { type: 'enabled', budget_tokens: 40_000 } };
    const fitted = fitRequestToModel(request, facts, 'anthropic/claude-opus-4-1');
    expect(fitted.request).toEqual({ model: 'claude-opus-4-1', messages, max_tokens: 32_000, thinking: { type: 'enabled', budget_tokens: 16_000 } });
    expect(fitted.warnings).toEqual([
      { param: 'max_tokens', message: 'max_tokens 64000 is above the maximum output of anthropic/claude-opus-4-1 (32000 tokens), so it was lowered to 32000.' },
      { param: 'thinking', message: 'thinking.budget_tokens 40000 is not below the lowered output limit of anthropic/claude-opus-4-1 (32000 tokens), so it was lowered to 16000.' },
    ]);
    // A budget already below the lowered limit is kept.
    const below = fitRequestToModel({ ...request, thinking: { type: 'enabled', budget_tokens: 10_000 } }, facts);
    expect(below.request.thinking).toEqual({ type: 'enabled', budget_tokens: 10_000 });
    expect(below.warnings.map((warning) => warning.param)).toEqual(['max_tokens']);
    // A limit too small for the smallest budget: thinking is dropped.
    const tiny = fitRequestToModel({ model: 'm', messages, max_tokens: 5000, thinking: { type: 'enabled', budget_tokens: 4000 } }, { ...facts, maxOutputTokens: 1024 }, 'x/m');
    expect(tiny.request).toEqual({ model: 'm', messages, max_tokens: 1024 });
    expect(tiny.warnings[1]).toEqual({ param: 'thinking', message: 'thinking.budget_tokens 4000 does not fit below the output limit of x/m (1024 tokens), so thinking was dropped.' });
  });
});
