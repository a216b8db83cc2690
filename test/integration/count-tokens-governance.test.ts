/**
 * Token counts go through governance like any call made with the gateway's
 * provider keys (src/api/count-tokens.ts): authenticate (401 without a valid
 * virtual key when enforced), admit (403 for a model the key may not use, 429
 * past a request rate limit), and a settle at $0 and 0 tokens (counting is
 * free upstream: the key's budget and token limits are not charged), each
 * error in the surface's own format.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { get, post } from './helpers.js';

const COUNTER = 'hk-counter-key-0123456789abcdef';
const OPENAI_ONLY = 'hk-openai-only-0123456789abcdef';

let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startGateway({
    env: { ANTHROPIC_API_KEY: 'sk-ant-count-0123', ANTHROPIC_BASE_URL: mock.url, GEMINI_API_KEY: 'gemini-count-0123', GEMINI_BASE_URL: mock.url },
    config: {
      governance: {
        enforce: true,
        virtual_keys: {
          counter: {
            key: COUNTER,
            allowed_models: ['anthropic/*', 'gemini/*'],
            budget: { max_usd: 1, period: 'monthly' },
            rate_limits: [{ requests: 4, window: '1m' }, { tokens: 50, window: '1m' }],
          },
          'openai-only': { key: OPENAI_ONLY, allowed_models: ['openai/*'] },
        },
      },
    },
  });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

const anthropicCount = (headers: Record<string, string>): ReturnType<typeof post> =>
  post(`${gateway.url}/anthropic/v1/messages/count_tokens`, { model: 'anthropic/claude-sonnet-4-5', messages: [{ role: 'user', content: 'count these words please' }] }, headers);
const geminiCount = (headers: Record<string, string>): ReturnType<typeof post> =>
  post(`${gateway.url}/genai/v1beta/models/gemini/gemini-2.5-flash:countTokens`, { contents: [{ role: 'user', parts: [{ text: 'count these words please' }] }] }, headers);

describe('count_tokens and countTokens under governance', () => {
  it('without a virtual key (enforced): 401 in the surface\'s format, nothing sent upstream', async () => {
    const anthropic = await anthropicCount({});
    expect(anthropic.status).toBe(401);
    expect(anthropic.json).toEqual({ type: 'error', error: { type: 'authentication_error', message: expect.stringContaining('virtual key is required') } });
    const gemini = await geminiCount({});
    expect(gemini.status).toBe(401);
    expect(gemini.json).toEqual({ error: { code: 401, message: expect.stringContaining('virtual key is required'), status: 'UNAUTHENTICATED' } });
    const invalid = await geminiCount({ 'x-goog-api-key': 'hk-not-a-real-key-0123456789' });
    expect(invalid.status).toBe(401);
    expect(mock.requests).toHaveLength(0);
  });

  it('a key that may not use the model: 403 in the surface\'s format, nothing sent upstream', async () => {
    const anthropic = await anthropicCount({ 'x-api-key': OPENAI_ONLY });
    expect(anthropic.status).toBe(403);
    expect(anthropic.json).toEqual({ type: 'error', error: { type: 'permission_error', message: expect.stringContaining('may not use the model "anthropic/claude-sonnet-4-5"') } });
    const gemini = await geminiCount({ 'x-goog-api-key': OPENAI_ONLY });
    expect(gemini.status).toBe(403);
    expect(gemini.json).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
    expect(mock.requests).toHaveLength(0);
  });

  it('an allowed key counts; the request rate limit applies, the budget and token limit are not charged', async () => {
    const first = await anthropicCount({ 'x-api-key': COUNTER });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ input_tokens: 4 });
    expect(first.headers['x-ratelimit-limit-requests']).toBe('4');
    const second = await geminiCount({ 'x-goog-api-key': COUNTER });
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({ totalTokens: 4 });
    await anthropicCount({ 'x-api-key': COUNTER });
    await geminiCount({ 'x-goog-api-key': COUNTER });
    // Four counts of about 30 bytes each: a token limit of 50 would have refused the later ones if counts were charged.
    const limited = await anthropicCount({ 'x-api-key': COUNTER });
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringContaining('Rate limit reached') } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(mock.requests.filter((r) => /count_tokens|countTokens/.test(r.path))).toHaveLength(4);

    const keys = await get(`${gateway.url}/api/virtual-keys`);
    const counter = (keys.json as { data: Array<{ name: string; budget: { spend_usd: number; reserved_usd: number } }> }).data.find((k) => k.name === 'counter');
    expect(counter?.budget).toMatchObject({ spend_usd: 0, reserved_usd: 0 });
    const lines = gateway.logs().filter((line) => line.msg === 'request' && line.status !== 401 && line.status !== 403);
    expect(lines.filter((line) => line.status === 200)).toHaveLength(4);
    expect(lines.every((line) => line.input_tokens === undefined || line.input_tokens === 0)).toBe(true);
  });
});
