import { describe, expect, it } from 'vitest';
import { costOf, estimateCost, tokenCounts } from '../../src/governance/cost.js';
import { credentialFrom, queryKeyOf } from '../../src/governance/credentials.js';
import { budgetWindow, formatResetDuration, isBudgetPeriod, parseDuration } from '../../src/governance/durations.js';
import { rateLimitHeaders } from '../../src/governance/enforcer.js';
import { displayKey, generateKeySecret, hashKey } from '../../src/governance/key-secret.js';
import type { LimitReading, LimitSpec } from '../../src/governance/ledger.js';
import { compilePatterns } from '../../src/governance/patterns.js';
import { PriceBook } from '../../src/governance/pricing.js';
import { CATALOG_DATE } from '../../src/catalog/catalog.js';
import { LimitCounter, SNAPSHOT_ENTRIES } from '../../src/governance/rate-limiter.js';
import { withoutAddedUsage } from '../../src/governance/stream-usage.js';
import { providerDefinitions } from '../../src/providers/registry.js';

const T0 = Date.UTC(2026, 10, 29, 10, 30); // Sunday 29 Nov 2026, 10:30 UTC

describe('durations and budget windows', () => {
  it('parses durations and periods', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('2w')).toBe(1_209_600_000);
    expect(parseDuration('0m')).toBeUndefined();
    expect(parseDuration('1.5h')).toBeUndefined();
    expect(isBudgetPeriod('monthly')).toBe(true);
    expect(isBudgetPeriod('yearly')).toBe(false);
  });

  it('calendar windows are UTC days, ISO weeks and months', () => {
    expect(budgetWindow('daily', T0, 0)).toEqual({ start: Date.UTC(2026, 10, 29), end: Date.UTC(2026, 10, 30) });
    expect(budgetWindow('weekly', T0, 0)).toEqual({ start: Date.UTC(2026, 10, 23), end: Date.UTC(2026, 10, 30) });
    expect(budgetWindow('monthly', T0, 0)).toEqual({ start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 11, 1) });
    expect(budgetWindow('monthly', Date.UTC(2026, 11, 31, 23), 0)).toEqual({ start: Date.UTC(2026, 11, 1), end: Date.UTC(2027, 0, 1) });
    expect(budgetWindow(null, T0, 0)).toEqual({ start: 0, end: Number.POSITIVE_INFINITY });
  });

  it('duration windows step from the anchor', () => {
    const anchor = T0 - 45 * 60_000; // created 45 minutes ago
    expect(budgetWindow('30m', T0, anchor)).toEqual({ start: anchor + 30 * 60_000, end: anchor + 60 * 60_000 });
    expect(budgetWindow('1h', anchor + 3_600_000, anchor).start).toBe(anchor + 3_600_000);
  });

  it('formats reset durations like OpenAI', () => {
    expect(formatResetDuration(250)).toBe('250ms');
    expect(formatResetDuration(1000)).toBe('1s');
    expect(formatResetDuration(360_000)).toBe('6m0s');
    expect(formatResetDuration(3_723_000)).toBe('1h2m3s');
  });
});

describe('key secrets and patterns', () => {
  it('generates hk- secrets with 256 random bits and hashes them', () => {
    const secret = generateKeySecret();
    expect(secret).toMatch(/^hk-[A-Za-z0-9_-]{43}$/);
    expect(generateKeySecret()).not.toBe(secret);
    expect(hashKey('hk-abc')).toMatch(/^[0-9a-f]{64}$/);
    expect(displayKey('hk-ABCDEFGHwxyz')).toBe('hk-ABCD…wxyz');
  });

  it('matches wildcards', () => {
    const set = compilePatterns(['openai/*', 'gpt-4o', 'claude-*-4-5']);
    expect(set.matches('openai/gpt-5')).toBe(true);
    expect(set.matches('gpt-4o')).toBe(true);
    expect(set.matches('gpt-4o-mini')).toBe(false);
    expect(set.matches('claude-sonnet-4-5')).toBe(true);
    expect(set.matches('anthropic/claude-sonnet-4-5')).toBe(false);
    expect(set.matches('openai.evil/x')).toBe(false);
    expect(compilePatterns(['*']).matches('anything/at/all')).toBe(true);
  });

  it('reads the key the way each SDK sends it', () => {
    expect(credentialFrom({ authorization: 'Bearer hk-1' }, undefined)).toBe('hk-1');
    expect(credentialFrom({ 'x-api-key': 'hk-2' }, undefined)).toBe('hk-2');
    expect(credentialFrom({ 'x-goog-api-key': 'hk-3' }, undefined)).toBe('hk-3');
    expect(credentialFrom({}, 'hk-4')).toBe('hk-4');
    expect(credentialFrom({ 'x-heimdall-key': 'hk-5', authorization: 'Bearer sk-provider' }, undefined)).toBe('hk-5');
    expect(credentialFrom({ authorization: 'Basic abc' }, undefined)).toBeUndefined();
    // The scheme in any case, the token trimmed; blank values fall through to the next header.
    expect(credentialFrom({ authorization: 'bearer hk-7' }, undefined)).toBe('hk-7');
    expect(credentialFrom({ authorization: 'BEARER  hk-8 ' }, undefined)).toBe('hk-8');
    expect(credentialFrom({ authorization: 'Bearers hk-9' }, undefined)).toBeUndefined();
    expect(credentialFrom({ 'x-heimdall-key': '  ', authorization: 'Bearer ', 'x-api-key': ' hk-10 ' }, undefined)).toBe('hk-10');
    expect(queryKeyOf('/genai/v1beta/models/x:generateContent?alt=sse&key=hk-6')).toBe('hk-6');
    expect(queryKeyOf('/genai/v1beta/models/x:generateContent?alt=sse')).toBeUndefined();
  });
});

describe('x-ratelimit-* headers', () => {
  const reading = (kind: LimitSpec['kind'], limit: number, remaining: number, resetMs: number): LimitReading => ({
    spec: { id: `key:vk_1:0:${kind}`, scope: 'key', kind, limit, windowMs: 60_000, algorithm: 'sliding' },
    state: { limit, remaining, resetMs },
  });

  it('the most constrained limit of each kind, requests first', () => {
    const headers = rateLimitHeaders([reading('tokens', 1000, 900, 1), reading('requests', 100, 7, 60_000), reading('requests', 10, 9, 1500)]);
    expect(Object.entries(headers!)).toEqual([
      ['x-ratelimit-limit-requests', '100'], ['x-ratelimit-remaining-requests', '7'], ['x-ratelimit-reset-requests', '1m0s'],
      ['x-ratelimit-limit-tokens', '1000'], ['x-ratelimit-remaining-tokens', '900'], ['x-ratelimit-reset-tokens', '1ms'],
    ]);
  });

  it('only the kinds limited; none without limits', () => {
    expect(rateLimitHeaders([reading('requests', 5, 0, 250)])).toEqual({
      'x-ratelimit-limit-requests': '5', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '250ms',
    });
    expect(rateLimitHeaders([reading('tokens', 5, 4, 2000)])).toEqual({
      'x-ratelimit-limit-tokens': '5', 'x-ratelimit-remaining-tokens': '4', 'x-ratelimit-reset-tokens': '2s',
    });
    expect(rateLimitHeaders([])).toBeUndefined();
  });

  it('each call reads its own limits and reset times (the texts of repeated numbers are kept, never mixed up)', () => {
    for (const [limit, resetMs, text] of [[100, 60_000, '1m0s'], [100, 60_000, '1m0s'], [7, 250, '250ms'], [100, 1500, '2s'], [7, 250, '250ms']] as const) {
      const headers = rateLimitHeaders([reading('requests', limit, 1, resetMs), reading('tokens', limit * 10, 2, resetMs)]);
      expect(headers).toMatchObject({
        'x-ratelimit-limit-requests': String(limit), 'x-ratelimit-reset-requests': text,
        'x-ratelimit-limit-tokens': String(limit * 10), 'x-ratelimit-reset-tokens': text,
      });
    }
  });
});

describe('price book', () => {
  const book = new PriceBook({ 'openai/gpt-4o': { input: 1, output: 2 }, 'local/*': { input: 0, output: 0 } });
  const lookup = (provider: string, model: string, type = provider) => book.lookup({ provider, type, model });

  /**
   * Registry models @pydantic/genai-prices 0.1.8 does not price: their cost is unknown until the package
   * has them or governance.pricing sets them. Gemini's moving "-latest" aliases and Vertex's per-character
   * embeddings are unknown on purpose (a price never guessed).
   */
  const KNOWN_GAPS = new Set([
    'together/deepseek-ai/DeepSeek-V3', 'together/Qwen/Qwen2.5-72B-Instruct-Turbo', 'together/BAAI/bge-large-en-v1.5',
    'together/togethercomputer/m2-bert-80M-8k-retrieval', 'fireworks/accounts/fireworks/models/llama-v3p3-70b-instruct',
    'fireworks/accounts/fireworks/models/deepseek-v3', 'fireworks/nomic-ai/nomic-embed-text-v1.5', 'anthropic/claude-haiku-5-5',
    'gemini/gemini-pro-latest', 'gemini/gemini-flash-latest', 'gemini/gemini-flash-lite-latest', 'gemini/text-embedding-004',
    'vertex/text-embedding-005', 'vertex/text-multilingual-embedding-002', 'bedrock/cohere.embed-english-v3',
    'bedrock/cohere.embed-multilingual-v3', 'cohere/command-a-reasoning-08-2025', 'cohere/command-a-vision-07-2025',
    'cohere/embed-english-v3.0', 'cohere/embed-multilingual-v3.0',
  ]);

  it('is dated and prices a current model of every provider with a public price list', () => {
    expect(CATALOG_DATE).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // Providers without a list price in the catalog: router-of-routers (huggingface), free tiers (nvidia),
    // DeepInfra, SambaNova, Jina and Voyage (not in @pydantic/genai-prices), and the generic openai-compatible server.
    const unpriced = new Set(['huggingface', 'nvidia', 'openai-compatible', 'deepinfra', 'sambanova', 'jina', 'voyage']);
    for (const definition of providerDefinitions()) {
      if (unpriced.has(definition.id)) continue;
      expect(book.catalog.pricedProviders.includes(definition.id) || definition.id === 'ollama', definition.id).toBe(true);
    }
    for (const model of providerDefinitions().find((d) => d.id === 'anthropic')!.models) {
      if (KNOWN_GAPS.has(`anthropic/${model}`)) continue;
      expect(lookup('anthropic', model), model).toBeDefined();
    }
    for (const model of providerDefinitions().find((d) => d.id === 'openai')!.models) {
      expect(lookup('openai', model), model).toBeDefined();
    }
  });

  it('prices every model the provider registry lists, but moving aliases and providers without a list price', () => {
    const book = new PriceBook();
    const missing: string[] = [];
    for (const definition of providerDefinitions()) {
      if (['huggingface', 'nvidia', 'deepinfra', 'sambanova', 'jina', 'voyage'].includes(definition.id)) continue;
      for (const model of [...definition.models, ...(definition.embeddingModels ?? [])]) {
        if (KNOWN_GAPS.has(`${definition.id}/${model}`)) continue;
        if (book.lookup({ provider: definition.id, type: definition.id, model }) === undefined) missing.push(`${definition.id}/${model}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('config overrides win, then exact, dated, regional and aliased names, then provider wildcards', () => {
    expect(lookup('openai', 'gpt-4o')).toMatchObject({ source: 'config', price: { input: 1, output: 2 } });
    expect(lookup('openai', 'gpt-4o-mini-2024-07-18')).toMatchObject({ key: 'openai/gpt-4o-mini', source: 'catalog' });
    expect(lookup('anthropic', 'claude-sonnet-4-5-20250929')).toMatchObject({ key: 'anthropic/claude-sonnet-4-5' });
    expect(lookup('vertex-anthropic', 'claude-opus-4-5@20251101')).toMatchObject({ key: 'vertex-anthropic/claude-opus-4-5' });
    expect(lookup('bedrock', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0')).toMatchObject({ key: 'bedrock/regional.anthropic.claude-sonnet-4-5-20250929-v1:0' });
    expect(lookup('openai-eu', 'gpt-4.1', 'openai')).toMatchObject({ key: 'openai/gpt-4.1' });
    expect(lookup('azure', 'gpt-4o')).toMatchObject({ key: 'openai/gpt-4o', source: 'config' });
    expect(lookup('azure', 'gpt-4o-mini')).toMatchObject({ key: 'azure/gpt-4o-mini', source: 'catalog' });
    expect(lookup('local', 'anything', 'openai-compatible')).toMatchObject({ key: 'local/*' });
    expect(lookup('openrouter', 'openai/gpt-4o-mini')).toMatchObject({ key: 'openrouter/openai/gpt-4o-mini' });
    expect(lookup('openai', 'gpt-unknown')).toBeUndefined();
  });
});

describe('cost', () => {
  it('prices fresh, cached and written input, output and reasoning', () => {
    const price = { input: 3, cached_input: 0.3, cache_write: 3.75, output: 15 };
    const tokens = tokenCounts({
      prompt_tokens: 1_000_000, completion_tokens: 200_000, total_tokens: 1_200_000,
      prompt_tokens_details: { cached_tokens: 400_000 }, cache_creation_input_tokens: 100_000,
      completion_tokens_details: { reasoning_tokens: 50_000 },
    })!;
    // 500k fresh * 3 + 400k * 0.3 + 100k * 3.75 + 200k * 15 (reasoning is output here)
    expect(costOf(price, tokens, false)).toBeCloseTo(1.5 + 0.12 + 0.375 + 3, 10);
    expect(costOf({ ...price, reasoning: 30 }, tokens, false)).toBeCloseTo(1.5 + 0.12 + 0.375 + 150_000 * 15e-6 + 50_000 * 30e-6, 10);
  });

  it('reads Responses API usage and prices the long-context tier', () => {
    const tokens = tokenCounts({ input_tokens: 300_000, output_tokens: 1000, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 10 } })!;
    expect(tokens).toEqual({ input: 300_000, cachedInput: 0, cacheWrite: 0, output: 1000, reasoning: 10, images: 0, audioSeconds: 0, characters: 0 });
    const price = { input: 1.25, output: 10, long_context: { threshold: 200_000, input: 2.5, output: 15 } };
    expect(costOf(price, tokens, false)).toBeCloseTo(0.75 + 0.015, 10);
  });

  it('embeddings, unknown rates and estimates', () => {
    const tokens = tokenCounts({ prompt_tokens: 1_000_000, total_tokens: 1_000_000 })!;
    expect(costOf({ embedding: 0.02 }, tokens, true)).toBeCloseTo(0.02, 12);
    expect(costOf({ embedding: 0.02 }, tokenCounts({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 })!, false)).toBeNull();
    expect(tokenCounts(undefined)).toBeUndefined();
    expect(estimateCost({ input: 2, output: 10, cache_write: 2.5 }, 1000, 100, false)).toBeCloseTo((1000 * 2.5 + 100 * 10) / 1e6, 12);
  });
});

describe('rate-limit counters', () => {
  it('sliding: exactly the limit inside the window, one more at its end', () => {
    const counter = new LimitCounter(3, 60_000, 'sliding', T0);
    for (let i = 0; i < 3; i++) {
      expect(counter.waitMs(T0 + i)).toBe(0);
      counter.add(T0 + i, 1);
    }
    expect(counter.waitMs(T0 + 10)).toBe(60_000 - 10);
    expect(counter.state(T0 + 10)).toEqual({ limit: 3, remaining: 0, resetMs: 60_000 - 10 + 2 });
    expect(counter.waitMs(T0 + 59_999)).toBe(1);
    expect(counter.waitMs(T0 + 60_000)).toBe(0);
    expect(counter.state(T0 + 60_000)).toEqual({ limit: 3, remaining: 1, resetMs: 2 });
  });

  it('sliding: amounts of the same millisecond are one entry, and leave the window together', () => {
    const counter = new LimitCounter(4, 1000, 'sliding', T0);
    counter.add(T0, 1);
    counter.add(T0 + 5, 1);
    counter.add(T0 + 5, 1);
    counter.add(T0 + 5, 1);
    expect(counter.snapshot(T0 + 6)).toEqual({ algorithm: 'sliding', entries: [[T0, 1], [T0 + 5, 3]] });
    expect(counter.waitMs(T0 + 6)).toBe(1000 - 6);
    expect(counter.state(T0 + 1000)).toMatchObject({ remaining: 1 });
    expect(counter.waitMs(T0 + 1000)).toBe(0);
    // The first entry has left: a new one at the same time as the (consumed) head is not merged into it.
    counter.add(T0 + 1000, 1);
    expect(counter.state(T0 + 1004)).toEqual({ limit: 4, remaining: 0, resetMs: 1000 - 4 });
    expect(counter.state(T0 + 1005)).toEqual({ limit: 4, remaining: 3, resetMs: 995 });
  });

  it('sliding tokens: in-flight estimates count until settled', () => {
    const counter = new LimitCounter(100, 1000, 'sliding', T0);
    counter.inFlight += 60;
    expect(counter.waitMs(T0)).toBe(0);
    counter.inFlight += 60;
    expect(counter.waitMs(T0)).toBe(1000); // only in-flight: unknown, a window
    counter.inFlight -= 60;
    counter.add(T0 + 5, 80);
    counter.inFlight -= 60;
    expect(counter.waitMs(T0 + 10)).toBe(0);
    counter.add(T0 + 10, 30);
    expect(counter.waitMs(T0 + 20)).toBe(1000 + 5 - 20);
  });

  it('token bucket: bursts to the limit, then refills continuously', () => {
    const counter = new LimitCounter(10, 10_000, 'token_bucket', T0);
    for (let i = 0; i < 10; i++) counter.add(T0, 1);
    expect(counter.waitMs(T0)).toBe(1000);
    expect(counter.waitMs(T0 + 999)).toBe(1);
    expect(counter.waitMs(T0 + 1000)).toBe(0);
    expect(counter.state(T0 + 5000)).toEqual({ limit: 10, remaining: 5, resetMs: 5000 });
  });

  it('snapshots restore a sliding window exactly (few entries) and never free capacity early (many)', () => {
    const small = new LimitCounter(3, 60_000, 'sliding', T0);
    small.add(T0, 1);
    small.add(T0 + 10_000, 1);
    small.add(T0 + 20_000, 1);
    expect(small.dirty).toBe(true);
    const snapshot = small.snapshot(T0 + 30_000);
    expect(snapshot).toEqual({ algorithm: 'sliding', entries: [[T0, 1], [T0 + 10_000, 1], [T0 + 20_000, 1]] });
    const restored = LimitCounter.restore(3, 60_000, JSON.parse(JSON.stringify(snapshot)), T0 + 30_000)!;
    expect(restored.waitMs(T0 + 30_000)).toBe(small.waitMs(T0 + 30_000));
    expect(restored.state(T0 + 30_000)).toEqual(small.state(T0 + 30_000));
    expect(restored.dirty).toBe(false);
    // Restored later, what has left the window is gone.
    expect(LimitCounter.restore(3, 60_000, snapshot, T0 + 65_000)!.state(T0 + 65_000)).toMatchObject({ remaining: 1 });

    // 2000 requests over a minute: saved in at most SNAPSHOT_ENTRIES buckets, the same total.
    const busy = new LimitCounter(5000, 60_000, 'sliding', T0);
    for (let i = 0; i < 2000; i++) busy.add(T0 + i * 30, 1);
    const now = T0 + 60_000;
    const saved = busy.snapshot(now);
    expect(saved.algorithm === 'sliding' && saved.entries.length).toBeLessThanOrEqual(SNAPSHOT_ENTRIES);
    const copy = LimitCounter.restore(5000, 60_000, saved, now)!;
    expect(copy.used(now)).toBe(busy.used(now));
    // At every later instant the copy counts at least what the original counts, and holds an amount at most
    // one bucket (window / (SNAPSHOT_ENTRIES - 1)) longer.
    const times = Array.from({ length: 2000 }, (_, i) => T0 + i * 30);
    const countAt = (t: number): number => times.filter((time) => time > t - 60_000).length;
    const width = Math.ceil(60_000 / (SNAPSHOT_ENTRIES - 1));
    for (let t = now; t <= now + 60_000; t += 97) {
      expect(copy.used(t)).toBeGreaterThanOrEqual(countAt(t));
      expect(copy.used(t)).toBeLessThanOrEqual(countAt(t - width));
    }
  });

  it('snapshots restore a token bucket, refilled for the time it was down', () => {
    const bucket = new LimitCounter(10, 10_000, 'token_bucket', T0);
    for (let i = 0; i < 10; i++) bucket.add(T0, 1);
    const saved = bucket.snapshot(T0);
    expect(saved).toEqual({ algorithm: 'token_bucket', level: 0, updated_at: T0 });
    const restored = LimitCounter.restore(10, 10_000, saved, T0 + 3000)!;
    expect(restored.state(T0 + 3000)).toEqual({ limit: 10, remaining: 3, resetMs: 7000 });
    expect(LimitCounter.restore(10, 10_000, { algorithm: 'token_bucket', level: Number.NaN, updated_at: T0 }, T0)).toBeUndefined();
    expect(LimitCounter.restore(10, 10_000, { algorithm: 'sliding', entries: [[T0, Number.NaN]] }, T0)).toBeUndefined();
  });
});

describe('stream usage strip', () => {
  it('drops the added usage chunk and the usage: null of every other chunk', () => {
    expect(withoutAddedUsage({ data: '{"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}' }))
      .toBe('data: {"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n');
    expect(withoutAddedUsage({ data: '{"usage":null,"id":"c","choices":[]}' })).toBe('data: {"id":"c","choices":[]}\n\n');
    expect(withoutAddedUsage({ data: '{"id":"c","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}' })).toBeUndefined();
    expect(withoutAddedUsage({ data: '{"id":"c","choices":[], "usage": null, "x": {"usage":null}}' })).toBe('data: {"id":"c","choices":[],"x":{"usage":null}}\n\n');
    expect(withoutAddedUsage({ data: '[DONE]' })).toBe('data: [DONE]\n\n');
    expect(withoutAddedUsage({ data: '{"content":"the word \\"usage\\" in text"}' })).toBe('data: {"content":"the word \\"usage\\" in text"}\n\n');
  });
});

describe('cost of media units', () => {
  it('prices images, seconds of audio and characters; tokens carry the cost when the model is priced by tokens', () => {
    expect(costOf({ image: 0.04 }, tokenCounts({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, images: 3 })!, false)).toBeCloseTo(0.12, 12);
    expect(costOf({ audio_second: 0.0001 }, tokenCounts({ audio_seconds: 90, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 })!, false)).toBeCloseTo(0.009, 12);
    expect(costOf({ characters: 15 }, tokenCounts({ characters: 1000, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 })!, false)).toBeCloseTo(0.015, 12);
    // gpt-image-1 reports tokens and the gateway counts images: the token prices apply.
    expect(costOf({ input: 5, output: 40 }, tokenCounts({ input_tokens: 10, output_tokens: 1000, images: 1 })!, false)).toBeCloseTo(0.04005, 12);
    // Images of a model with no per-image price and no tokens: unknown, never 0.
    expect(costOf({ input: 5, output: 40 }, tokenCounts({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, images: 2 })!, false)).toBeNull();
  });
});
