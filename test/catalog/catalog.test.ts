/**
 * The model catalog: lookups by provider and model (dated, regional, routed
 * ids), the parameter rules table, config overrides, and the shipped data
 * file kept in step with the packages it is derived from.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOG_DATE, CATALOG_SOURCES, ModelCatalog } from '../../src/catalog/catalog.js';
import { modelNames } from '../../src/catalog/model-names.js';
import { configSchema } from '../../src/config/schema.js';

const catalog = new ModelCatalog();
const facts = (provider: string, model: string, type = provider) => catalog.facts({ provider, type, model });

describe('model catalog lookups', () => {
  it('knows the limits, reasoning rules and price of OpenAI models', () => {
    const mini = facts('openai', 'gpt-5-mini');
    expect(mini).toMatchObject({ contextWindow: 400_000, maxOutputTokens: 128_000, reasoning: true, priceSource: 'catalog', priceKey: 'openai/gpt-5-mini' });
    expect(mini.price).toEqual({ input: 0.25, cached_input: 0.025, output: 2 });
    expect(mini.rules.maxTokensField).toBe('max_completion_tokens');
    expect(mini.rules.refuses.map((rule) => rule.param)).toEqual(['temperature', 'top_p', 'presence_penalty', 'frequency_penalty', 'logprobs', 'top_logprobs']);
    expect(mini.rules.responsesOnly).toBe(false);
    const small = facts('openai', 'gpt-4o-mini');
    expect(small).toMatchObject({ contextWindow: 128_000, maxOutputTokens: 16_384, reasoning: false });
    expect(small.rules.families).toEqual(['openai-no-reasoning']);
    expect(small.reasoningKnown).toBe(true);
    expect(small.modalities?.input).toContain('image');
    expect(facts('openai', 'o3').rules.families).toEqual(['openai-reasoning']);
    // -pro and -codex models are served by the Responses API only.
    expect(facts('openai', 'gpt-5-pro').rules).toMatchObject({ responsesOnly: true, families: ['openai-reasoning', 'openai-responses-only'] });
    expect(facts('openai', 'gpt-5.1-codex-mini').rules.responsesOnly).toBe(true);
    for (const model of ['o3-deep-research', 'o4-mini-deep-research-2025-06-26', 'computer-use-preview', 'codex-mini-latest', 'o3-pro-2025-06-10']) {
      expect(facts('openai', model).rules.responsesOnly, model).toBe(true);
    }
    expect(facts('openai', 'gpt-5-mini').rules.responsesOnly).toBe(false);
    // A "chat" GPT-5 is not a reasoning model.
    expect(facts('openai', 'gpt-5-chat-latest').rules.families).toEqual([]);
  });

  it('finds dated, versioned, regional and routed ids, and answers provider prefixes', () => {
    const sonnet = facts('anthropic', 'claude-sonnet-4-5-20250929');
    expect(sonnet).toMatchObject({ contextWindow: 200_000, maxOutputTokens: 64_000, priceKey: 'anthropic/claude-sonnet-4-5' });
    expect(sonnet.price).toMatchObject({ input: 3, cached_input: 0.3, cache_write: 3.75, output: 15, long_context: { threshold: 200_000, input: 6 } });
    expect(sonnet.rules.exclusive).toEqual([['temperature', 'top_p']]);
    expect(facts('anthropic', 'claude-opus-4-1').maxOutputTokens).toBe(32_000);
    expect(facts('anthropic', 'claude-3-5-haiku-20241022').rules.exclusive).toEqual([]);
    expect(facts('vertex-anthropic', 'claude-opus-4-5@20251101')).toMatchObject({ maxOutputTokens: 64_000, priceKey: 'vertex-anthropic/claude-opus-4-5' });
    const bedrock = facts('bedrock', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(bedrock.maxOutputTokens).toBe(64_000);
    expect(bedrock.rules.families).toEqual(['claude-sampling-exclusive']);
    expect(bedrock.price?.input).toBeGreaterThan(0);
    expect(facts('gemini', 'models/gemini-2.5-pro')).toMatchObject({ maxOutputTokens: 65_536, priceKey: 'gemini/gemini-2.5-pro' });
    expect(facts('openrouter', 'openai/gpt-4o-mini')).toMatchObject({ maxOutputTokens: 16_384, priceKey: 'openrouter/openai/gpt-4o-mini' });
    // A configured provider named apart from its type ("openai-eu" of type openai).
    expect(facts('openai-eu', 'gpt-4.1', 'openai')).toMatchObject({ maxOutputTokens: 32_768, price: { input: 2, output: 8 } });
    expect(facts('ollama', 'llama3.2')).toMatchObject({ priceSource: 'rule', priceKey: 'ollama/*', price: { input: 0, output: 0 } });
    const unknown = facts('openai', 'gpt-unknown');
    expect(unknown.price).toBeUndefined();
    expect(unknown.maxOutputTokens).toBeUndefined();
  });

  it('memoises: the same facts object for the same target', () => {
    expect(facts('openai', 'gpt-5-mini')).toBe(facts('openai', 'gpt-5-mini'));
    expect(facts('anthropic', 'claude-sonnet-4-5')).toBe(facts('anthropic', 'claude-sonnet-4-5'));
  });

  it('config overrides win per field, by configured name or type, dated ids included', () => {
    const overridden = new ModelCatalog({
      'openai/my-model': { max_output_tokens: 8192, price: { input: 1, output: 3 } },
      'openai/gpt-4o-mini': { max_output_tokens: 4000 },
      'eu/claude-sonnet-4-5': { context_window: 1_000_000, reasoning: false },
    });
    expect(overridden.facts({ provider: 'openai', type: 'openai', model: 'my-model' })).toMatchObject({ maxOutputTokens: 8192, priceSource: 'config', priceKey: 'openai/my-model', price: { input: 1, output: 3 } });
    expect(overridden.facts({ provider: 'openai', type: 'openai', model: 'gpt-4o-mini-2024-07-18' })).toMatchObject({ maxOutputTokens: 4000, contextWindow: 128_000, priceSource: 'catalog' });
    const eu = overridden.facts({ provider: 'eu', type: 'anthropic', model: 'claude-sonnet-4-5-20250929' });
    expect(eu).toMatchObject({ contextWindow: 1_000_000, reasoning: false, maxOutputTokens: 64_000 });
    expect(eu.rules.exclusive).toEqual([['temperature', 'top_p']]);
  });

  it('validates the config section', () => {
    const ok = configSchema.safeParse({ catalog: { overrides: { 'openai/my-model': { max_output_tokens: 8192, price: { input: 1 } } } } });
    expect(ok.success).toBe(true);
    const bad = configSchema.safeParse({ catalog: { overrides: { 'openai/my-model': { max_output_tokens: -1 } } } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].path).toEqual(['catalog', 'overrides', 'openai/my-model', 'max_output_tokens']);
    expect(configSchema.safeParse({ catalog: { overrides: { 'no-provider': {} } } }).success).toBe(false);
    expect(configSchema.safeParse({ catalog: { overrides: { 'openai/x': { max_tokens: 1 } } } }).success).toBe(false);
  });

  it('model names: dates, versions, regions and vendor prefixes come off', () => {
    expect(modelNames('us.anthropic.claude-sonnet-4-5-20250929-v1:0')).toMatchObject({ bare: 'claude-sonnet-4-5', vendor: 'anthropic' });
    expect(modelNames('claude-opus-4-5@20251101').bare).toBe('claude-opus-4-5');
    expect(modelNames('models/gemini-2.5-pro').all).toContain('gemini-2.5-pro');
    expect(modelNames('openai/gpt-4o-mini')).toMatchObject({ bare: 'gpt-4o-mini', vendor: 'openai' });
    expect(modelNames('gpt-4o-2024-08-06').bare).toBe('gpt-4o');
  });
});

describe('catalog data', () => {
  it('names its sources, their versions and dates, and matches the installed packages', async () => {
    expect(CATALOG_SOURCES.map((source) => source.package)).toEqual(['@pydantic/genai-prices', 'llm-zoo']);
    expect(CATALOG_DATE).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    const declared = { ...pkg.dependencies, ...pkg.devDependencies };
    for (const source of CATALOG_SOURCES) {
      expect(declared[source.package], source.package).toBe(source.version);
      expect(source.published, source.package).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
    // Regenerated from the installed packages, the data equals the shipped file (run `npm run catalog` after an upgrade).
    const generator = '../../scripts/gen-catalog.mjs';
    const { buildCatalogData } = (await import(generator)) as { buildCatalogData: (previous: unknown) => unknown };
    const shipped = JSON.parse(readFileSync(new URL('../../src/catalog/catalog-data.json', import.meta.url), 'utf8')) as unknown;
    expect(buildCatalogData(shipped)).toEqual(shipped);
  });

  it('prices far more models than the hand-written table did (~140)', () => {
    const rows = catalog.priceRows(catalog.pricedProviders);
    expect(new Set(rows.map((row) => `${row.provider}/${row.name}`)).size).toBeGreaterThan(1000);
  });
});
