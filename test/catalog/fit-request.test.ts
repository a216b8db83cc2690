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
});
