/**
 * Over real sockets: rate limits at their exact boundary (injected clock),
 * budgets of key, team and customer, a budget spent by a stream, a period
 * reset, and 200 concurrent requests against a tiny budget.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { call, chat, startGov, type GovGateway } from './helpers.js';

let mock: MockUpstream;
let gw: GovGateway;
const clock = { now: Date.UTC(2026, 10, 29, 12, 0) };
/** USD per token for gpt-4o-mini here: $1 per prompt token, $2 per completion token (per million: 1e6 and 2e6). */
const PRICE = { input: 1_000_000, output: 2_000_000 };

function client(apiKey: string): OpenAI {
  return new OpenAI({ baseURL: `${gw.url}/v1`, apiKey, maxRetries: 0, timeout: 15_000 });
}

async function createKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const reply = await call('POST', `${gw.url}/api/virtual-keys`, body);
  expect(reply.status, reply.text).toBe(201);
  return { id: reply.json.id, key: reply.json.key };
}

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startGov({
    config: {
      providers: { openai: { api_key: 'sk-upstream-0000', base_url: mock.openaiBaseUrl, max_retries: 0 } },
      governance: { pricing: { 'openai/gpt-4o-mini': PRICE } },
    },
  });
  gw.app.governance.clock = () => clock.now;
});

afterAll(async () => {
  await gw.close();
  await mock.close();
});

beforeEach(() => {
  clock.now += 86_400_000; // a fresh day (and fresh windows) per test
});

describe('rate limits', () => {
  it('requests: exactly the limit passes, one more gets 429 with Retry-After and x-ratelimit-*, and the window frees it', async () => {
    const { key } = await createKey({ name: 'rpm', rate_limits: [{ requests: 3, window: '1m' }] });
    const headers = { authorization: `Bearer ${key}` };
    const start = clock.now;
    for (let i = 0; i < 3; i++) {
      clock.now = start + i * 1000;
      const reply = await call('POST', `${gw.url}/v1/chat/completions`, chat('hi'), headers);
      expect(reply.status).toBe(200);
      expect(reply.headers['x-ratelimit-limit-requests']).toBe('3');
      expect(reply.headers['x-ratelimit-remaining-requests']).toBe(String(2 - i));
    }
    clock.now = start + 59_999; // the first request is still in the window
    const refused = await call('POST', `${gw.url}/v1/chat/completions`, chat('hi'), headers);
    expect(refused.status).toBe(429);
    expect(refused.json.error).toMatchObject({ code: 'rate_limit_exceeded', type: 'rate_limit_error' });
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['retry-after-ms']).toBe('1');
    expect(refused.headers['x-ratelimit-remaining-requests']).toBe('0');
    clock.now = start + 60_000; // exactly one window after the first: it has left
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('hi'), headers)).status).toBe(200);
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('hi'), headers)).status).toBe(429);
    // The SDK sees a RateLimitError.
    await expect(client(key).chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }))
      .rejects.toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    const metrics = await call('GET', `${gw.url}/metrics`);
    expect(metrics.text).toMatch(/heimdall_rate_limit_rejections_total\{[^}]*scope="virtual_key"[^}]*\} [1-9]/);
  });

  it('per key and model: a limit on one model leaves the others alone', async () => {
    const { key } = await createKey({ name: 'per-model', rate_limits: [{ model: 'openai/gpt-4o', requests: 1, window: '1h' }] });
    const headers = { authorization: `Bearer ${key}` };
    expect((await call('POST', `${gw.url}/v1/chat/completions`, { ...chat('a'), model: 'openai/gpt-4o' }, headers)).status).toBe(200);
    expect((await call('POST', `${gw.url}/v1/chat/completions`, { ...chat('a'), model: 'openai/gpt-4o' }, headers)).status).toBe(429);
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a'), headers)).status).toBe(200);
  });

  it('tokens per window: counted from real usage after each request', async () => {
    // "a b c" -> 3 prompt + 4 completion ("echo: a b c") = 7 tokens a request.
    const { key } = await createKey({ name: 'tpm', rate_limits: [{ tokens: 14, window: '1m' }] });
    const headers = { authorization: `Bearer ${key}` };
    const first = await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c', { max_tokens: 5 }), headers);
    expect(first.headers['x-ratelimit-limit-tokens']).toBe('14');
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c', { max_tokens: 5 }), headers)).status).toBe(200);
    const refused = await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c', { max_tokens: 5 }), headers);
    expect(refused.status).toBe(429);
    clock.now += 60_000;
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c', { max_tokens: 5 }), headers)).status).toBe(200);
  });
});

describe('budgets', () => {
  it('a budget spent by a stream: the stream finishes, the next call gets 402 budget_exceeded', async () => {
    // One call costs 3 * $1 + 4 * $2 = $11 and the budget is $5: admitted (nothing spent yet), then over.
    const { id, key } = await createKey({ name: 'streamer', budget: { max_usd: 5, period: 'daily' } });
    const stream = await client(key).chat.completions.create({ model: 'openai/gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a b c' }] });
    let text = '';
    const chunks: unknown[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe('echo: a b c');
    // The client did not ask for usage: the gateway asked upstream for it, and hid it again.
    expect(chunks.every((chunk) => !('usage' in (chunk as object)))).toBe(true);
    expect(chunks.every((chunk) => (chunk as { choices: unknown[] }).choices.length === 1)).toBe(true);
    expect((mock.requests[mock.requests.length - 1].body as { stream_options?: unknown }).stream_options).toEqual({ include_usage: true });

    const view = await call('GET', `${gw.url}/api/virtual-keys/${id}`);
    expect(view.json.budget).toMatchObject({ max_usd: 5, spend_usd: 11, remaining_usd: 0, reserved_usd: 0 });
    const refused = client(key).chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'again' }] });
    await expect(refused).rejects.toMatchObject({ status: 402, code: 'budget_exceeded', type: 'insufficient_quota' });
    const raw = await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), { authorization: `Bearer ${key}` });
    expect(raw.headers['x-should-retry']).toBe('false');
    expect(raw.json.error.message).toMatch(/virtual key "streamer" may spend \$5\.00 \(daily\)/);
  });

  it('a period reset lets the key spend again (injected clock)', async () => {
    const { id, key } = await createKey({ name: 'daily', budget: { max_usd: 5, period: 'daily' } });
    const headers = { authorization: `Bearer ${key}` };
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c'), headers)).status).toBe(200);
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c'), headers)).status).toBe(402);
    const view = (await call('GET', `${gw.url}/api/virtual-keys/${id}`)).json;
    clock.now = view.budget.resets_at; // midnight UTC
    const reset = (await call('GET', `${gw.url}/api/virtual-keys/${id}`)).json;
    expect(reset.budget).toMatchObject({ spend_usd: 0, remaining_usd: 5, period_start: view.budget.resets_at });
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c'), headers)).status).toBe(200);
  });

  it('a team budget blocks a key that has budget left; the customer level too', async () => {
    const customer = await call('POST', `${gw.url}/api/customers`, { name: 'cust-1', budget: { max_usd: 30 } });
    const team = await call('POST', `${gw.url}/api/teams`, { name: 'team-1', customer_id: customer.json.id, budget: { max_usd: 10, period: 'monthly' } });
    expect(team.status).toBe(201);
    const a = await createKey({ name: 'a', team_id: team.json.id, budget: { max_usd: 1000 } });
    const b = await createKey({ name: 'b', team_id: team.json.id, budget: { max_usd: 1000 } });
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c'), { authorization: `Bearer ${a.key}` })).status).toBe(200);
    const blocked = await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), { authorization: `Bearer ${b.key}` });
    expect(blocked.status).toBe(402);
    expect(blocked.json.error.message).toMatch(/team "team-1"/);
    expect((await call('GET', `${gw.url}/api/teams/${team.json.id}`)).json).toMatchObject({ spend_usd: 11, key_count: 2, budget: { remaining_usd: 0 } });
    expect((await call('GET', `${gw.url}/api/customers/${customer.json.id}`)).json).toMatchObject({ spend_usd: 11, team_count: 1, key_count: 2 });
    const detail = (await call('GET', `${gw.url}/api/virtual-keys/${b.id}`)).json;
    expect(detail.team_budget).toMatchObject({ spend_usd: 11, remaining_usd: 0 });
    expect(detail.budget).toMatchObject({ spend_usd: 0, remaining_usd: 1000 });

    // A second team of the same customer spends the customer's $30.
    const team2 = await call('POST', `${gw.url}/api/teams`, { name: 'team-2', customer_id: customer.json.id });
    const c = await createKey({ name: 'c', team_id: team2.json.id });
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c'), { authorization: `Bearer ${c.key}` })).status).toBe(200);
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c'), { authorization: `Bearer ${c.key}` })).status).toBe(200);
    const byCustomer = await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), { authorization: `Bearer ${c.key}` });
    expect(byCustomer.status).toBe(402);
    expect(byCustomer.json.error.message).toMatch(/customer "cust-1"/);
  });

  it('200 concurrent requests against a tiny budget never overspend it by more than one request', async () => {
    // Each call costs $11 (real); its reservation is larger (prompt bytes / 3 and max_tokens 5), an upper bound.
    const budget = 400;
    const { id, key } = await createKey({ name: 'burst', budget: { max_usd: budget } });
    const openai = client(key);
    const results = await Promise.allSettled(Array.from({ length: 200 }, () =>
      openai.chat.completions.create({ model: 'openai/gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'a b c' }] })));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected' && (r.reason as { status?: number }).status === 402).length;
    // Refused while the budget was not spent yet, only because calls in flight held the rest: 429, retryable.
    const held = results.filter((r) => r.status === 'rejected' && (r.reason as { status?: number; code?: string }).status === 429
      && (r.reason as { code?: string }).code === 'budget_reserved_in_flight').length;
    expect(ok + refused + held).toBe(200);
    expect(ok).toBeGreaterThanOrEqual(10);
    const spend = (await call('GET', `${gw.url}/api/virtual-keys/${id}`)).json.budget.spend_usd;
    expect(spend).toBe(ok * 11);
    expect(spend).toBeLessThanOrEqual(budget + 11);
    expect(gw.app.governance.rejections.budget_exceeded).toBeGreaterThanOrEqual(refused);
    expect(gw.app.governance.rejections.budget_in_flight).toBeGreaterThanOrEqual(held);
  });
});
