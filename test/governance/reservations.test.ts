/**
 * Budget reservations of calls that set no max_tokens: the model's typical
 * output is reserved (the configured prior until completions were seen), never
 * more than the model's maximum; a call refused only because calls in flight
 * hold the rest of a budget gets a retryable 429 that says so, never a 402
 * "budget spent".
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutputEstimator, outputLimitWithoutMaxTokens } from '../../src/governance/output-estimate.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { call, startGov, type GovGateway } from './helpers.js';

describe('OutputEstimator', () => {
  it('the prior until a completion was seen; then the typical output (mean + 2 deviations), following the model', () => {
    const estimator = new OutputEstimator();
    expect(estimator.estimate('openai', 'gpt-4o', 1024)).toBe(1024);
    estimator.observe('openai', 'gpt-4o', 100);
    expect(estimator.estimate('openai', 'gpt-4o', 1024)).toBe(300); // one sample: its spread is taken as large as itself
    for (let i = 0; i < 100; i++) estimator.observe('openai', 'gpt-4o', 100);
    expect(estimator.estimate('openai', 'gpt-4o', 1024)).toBeLessThanOrEqual(101);
    expect(estimator.estimate('openai', 'gpt-4o', 1024)).toBeGreaterThanOrEqual(100);
    // Answers getting longer raise it quickly; other models keep their own.
    for (let i = 0; i < 10; i++) estimator.observe('openai', 'gpt-4o', 800);
    expect(estimator.estimate('openai', 'gpt-4o', 1024)).toBeGreaterThan(700);
    expect(estimator.estimate('openai', 'gpt-4o-mini', 1024)).toBe(1024);
  });

  it('beyond 10,000 models, the one updated least recently is dropped (back to the prior), not the first seen', () => {
    const estimator = new OutputEstimator();
    for (let i = 0; i < 10_000; i++) estimator.observe('p', `m${i}`, 100);
    // m0 was seen first but is updated now: m1 is the least recently updated.
    estimator.observe('p', 'm0', 100);
    estimator.observe('p', 'new', 100);
    expect(estimator.estimate('p', 'm0', 1024)).toBeLessThan(1024);
    expect(estimator.estimate('p', 'm1', 1024)).toBe(1024);
    expect(estimator.estimate('p', 'm2', 1024)).toBeLessThan(1024);
    expect(estimator.estimate('p', 'new', 1024)).toBe(300);
  });

  it('never reserves more than the model can write (the catalog\'s max output)', () => {
    const estimator = new OutputEstimator();
    expect(estimator.estimate('openai', 'gpt-4o-mini', 50_000, 16_384)).toBe(16_384);
    expect(estimator.estimate('openai', 'gpt-4o-mini', 1024, 16_384)).toBe(1024);
  });

  it('a provider whose format needs max_tokens gets the one the gateway sends (Anthropic: 4096); others have none', () => {
    expect(outputLimitWithoutMaxTokens('anthropic')).toBe(4096);
    expect(outputLimitWithoutMaxTokens('openai')).toBeUndefined();
  });
});

describe('a $1 budget at gpt-4o prices, 100 concurrent calls without max_tokens', () => {
  let mock: MockUpstream;
  let gw: GovGateway;
  beforeAll(async () => {
    mock = await startMockUpstream();
    gw = await startGov({ config: { providers: { openai: { api_key: 'sk-upstream-reserve-0000', base_url: mock.openaiBaseUrl, max_retries: 0 } } } });
  });
  afterAll(async () => {
    await gw.close();
    await mock.close();
  });

  it('none is refused as "spent": those held back by calls in flight get 429 budget_reserved_in_flight, retryable, and pass on retry', async () => {
    const created = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'burst', budget: { max_usd: 1 } });
    expect(created.status).toBe(201);
    const send = () => call('POST', `${gw.url}/v1/chat/completions`, { model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Say hi.' }] }, { authorization: `Bearer ${created.json.key}` });
    const replies = await Promise.all(Array.from({ length: 100 }, send));
    const statuses = replies.map((reply) => reply.status);
    expect(statuses.filter((status) => status === 402)).toEqual([]);
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
    // The prior (1024 output tokens, ~$0.0103 a call) fits 97 calls in $1: the last few wait for the first to settle.
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(90);
    for (const reply of replies.filter((r) => r.status === 429)) {
      expect(reply.json.error.code).toBe('budget_reserved_in_flight');
      expect(reply.json.error.message).toMatch(/has spent \$.* of \$1\.00; calls in flight hold the rest/);
      expect(reply.headers['retry-after']).toBe('1');
      expect(reply.headers['x-should-retry']).toBeUndefined();
    }
    const spent = (await call('GET', `${gw.url}/api/virtual-keys/${created.json.id}`)).json.budget;
    expect(spent.spend_usd).toBeLessThan(0.01);
    expect(spent.reserved_usd).toBe(0);
    // Now the model's typical output is known (a few tokens): all 100 fit at once, and again.
    const again = await Promise.all(Array.from({ length: 100 }, send));
    expect(again.map((reply) => reply.status)).toEqual(Array(100).fill(200));
    expect(gw.app.governance.rejections.budget_exceeded).toBe(0);
  });

  it('a spent budget is still a 402 budget_exceeded that says so, not retryable', async () => {
    const created = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'tiny', budget: { max_usd: 0.00001 } });
    const headers = { authorization: `Bearer ${created.json.key}` };
    const body = { model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Say hi.' }] };
    expect((await call('POST', `${gw.url}/v1/chat/completions`, body, headers)).status).toBe(200);
    const refused = await call('POST', `${gw.url}/v1/chat/completions`, body, headers);
    expect(refused.status).toBe(402);
    expect(refused.json.error.code).toBe('budget_exceeded');
    expect(refused.json.error.message).toContain('has spent');
    expect(refused.headers['x-should-retry']).toBe('false');
  });

  it('the official SDK retries a 429 budget_reserved_in_flight on its own', async () => {
    const created = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'sdk', budget: { max_usd: 0.4 } });
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: created.json.key, maxRetries: 3, timeout: 15_000 });
    // Each call reserves its max_tokens ($0.16 at $10 per million; gpt-4o writes at most 16,384): the third waits for one in flight.
    const calls = Array.from({ length: 3 }, () => openai.chat.completions.create({ model: 'openai/gpt-4o', max_tokens: 16_000, messages: [{ role: 'user', content: 'hi' }] }));
    const results = await Promise.allSettled(calls);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
  });
});
