/**
 * Requests refused or failed before routing are counted under the provider
 * and model the caller asked for, in the request log (hence the dashboard),
 * the log line and the metrics; not under provider "none".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { call, startAdminGateway, until, type AdminGateway } from '../api/helpers.js';

let mock: MockUpstream;
let gw: AdminGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startAdminGateway({
    env: { OPENAI_API_KEY: 'sk-attribution-0123456789', OPENAI_BASE_URL: mock.openaiBaseUrl },
    // Every call needs a virtual key: a call without one is refused before routing (401).
    config: { governance: { enforce: true }, providers: { openai: { models: ['gpt-4o-mini'] } } },
    management: { store: { logs: { flushIntervalMs: 50 } } },
  });
});
afterAll(async () => {
  await gw.close();
  await mock.close();
});

async function logOf(id: string): Promise<Record<string, unknown>> {
  let row: Record<string, unknown> | undefined;
  await until(async () => {
    const reply = await call(gw.url, 'GET', `/api/logs/${encodeURIComponent(id)}`);
    if (reply.status === 200) row = reply.json as Record<string, unknown>;
    return row !== undefined;
  }, 5000, `the log row of ${id}`);
  return row!;
}

const chatBody = (model: string) => ({ model, messages: [{ role: 'user', content: 'hi' }] });

describe('refused before routing: attributed to what was asked for', () => {
  it.each([
    ['provider/model, no virtual key (401)', '/v1/chat/completions', chatBody('openai/gpt-4o-mini'), 401, 'openai', 'gpt-4o-mini'],
    ['a bare name some provider serves (401)', '/v1/chat/completions', chatBody('gpt-4o-mini'), 401, 'openai', 'gpt-4o-mini'],
    ['a known provider that is not configured (401)', '/anthropic/v1/messages', { model: 'anthropic/claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, 401, 'anthropic', 'claude-sonnet-4-5'],
    ['the Gemini surface: the model is in the URL (401)', '/genai/v1beta/models/openai/gpt-4o-mini:generateContent', { contents: [{ parts: [{ text: 'hi' }] }] }, 401, 'openai', 'gpt-4o-mini'],
  ])('%s', async (_name, path, body, status, provider, model) => {
    const id = `attr-${Math.random().toString(36).slice(2)}`;
    const reply = await call(gw.url, 'POST', path, body, { 'x-request-id': id });
    expect(reply.status).toBe(status);
    const row = await logOf(id);
    expect(row).toMatchObject({ provider, model, status });
    const line = gw.logs().find((entry) => entry.msg === 'request' && entry.request_id === id);
    expect(line).toMatchObject({ provider, upstream_model: model, status });
  });

  it('/metrics counts them under that provider and model, not "none"', async () => {
    const metrics = (await call(gw.url, 'GET', '/metrics')).text;
    const lines = metrics.split('\n').filter((text) => text.startsWith('heimdall_requests_total{') && text.includes('provider="openai"') && text.includes('model="gpt-4o-mini"') && text.includes('status_class="4xx"'));
    // Three refusals above on the OpenAI and Gemini surfaces (one series per surface).
    expect(lines.reduce((sum, text) => sum + Number(text.split(' ').pop()), 0)).toBe(3);
  });

  it('a body that names no model stays unattributed (provider null), and a control character is not taken as a model', async () => {
    const none = await call(gw.url, 'POST', '/v1/chat/completions', { messages: [] }, { 'x-request-id': 'attr-no-model' });
    expect(none.status).toBe(401);
    expect(await logOf('attr-no-model')).toMatchObject({ provider: null, model: null });
    const bad = await call(gw.url, 'POST', '/v1/chat/completions', chatBody('openai/gpt\u0007x'), { 'x-request-id': 'attr-bad-model' });
    expect(bad.status).toBe(401);
    expect(await logOf('attr-bad-model')).toMatchObject({ provider: null, model: null });
  });
});
