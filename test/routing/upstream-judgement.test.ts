/**
 * A 2xx answer that is not the provider's format is an upstream failure on
 * every path: on a pass-through (an HTML page, a body that is not JSON) and on
 * a translated route (a body the codec cannot decode). The caller gets 502
 * upstream_bad_response (or the fallback's answer), and the key's breaker
 * counts it instead of recording a success.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { CONTENT, messages, startRoutingGateway, type RoutingGateway } from './helpers.js';

let mock: MockUpstream;
let gateway: RoutingGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startRoutingGateway({
    config: {
      providers: {
        oa: { type: 'openai-compatible', base_url: mock.openaiBaseUrl, models: ['m', 'f'], max_retries: 2, keys: [{ name: 'k1', api_key: 'sk-oa' }] },
        anthropic: { api_key: 'sk-ant-test', base_url: mock.url, max_retries: 2 },
      },
      routing: {
        adaptive: { enabled: false },
        circuit_breaker: { failure_threshold: 2, cooldown_ms: 60_000, probe_interval_ms: 0 },
        fallbacks: { 'oa/f': ['anthropic/claude-haiku-4-5'] },
      },
    },
  });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => {
  mock.reset();
  for (const key of [gateway.app.gateway.health.get('oa', 'k1'), gateway.app.gateway.health.get('anthropic', 'anthropic#0')]) {
    if (key !== undefined) key.breaker.onSuccess(performance.now(), gateway.app.gateway.state.routing.breaker);
  }
});

async function chat(model: string): Promise<{ status: number; body: { error?: { code: string; message: string }; choices?: Array<{ message: { content: string } }> } }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages }),
  });
  return { status: response.status, body: (await response.json()) as never };
}

const HTML = '<html><head><title>Welcome</title></head><body>Sign in to continue</body></html>';

describe('pass-through (OpenAI caller, OpenAI-format provider)', () => {
  it('a 200 HTML page is a 502, not a 200 JSON answer, and it counts against the key until the circuit opens', async () => {
    mock.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: HTML }, { times: Infinity });
    const key = () => gateway.app.gateway.health.get('oa', 'k1')!;
    const failuresBefore = key().failures;
    const first = await chat('oa/m');
    expect(first.status).toBe(502);
    expect(first.body.error).toMatchObject({ code: 'upstream_bad_response' });
    expect(first.body.error!.message).toContain('text/html, not JSON');
    expect(mock.requests).toHaveLength(1); // not retried: the same provider would send the same page
    expect(key().failures - failuresBefore).toBe(1);
    expect((await chat('oa/m')).status).toBe(502);
    expect(key().breaker.state).toBe('open');
    expect((await chat('oa/m')).status).toBe(503);
    expect(mock.requests).toHaveLength(2);
  });

  it('a 200 labelled JSON whose body is not JSON is a 502 too', async () => {
    mock.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body: HTML });
    const reply = await chat('oa/m');
    expect(reply.status).toBe(502);
    expect(reply.body.error!.message).toContain('not JSON');
  });

  it('an empty 200 is a 502', async () => {
    mock.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body: '' });
    expect((await chat('oa/m')).status).toBe(502);
  });

  it('with a fallback configured, the fallback serves', async () => {
    mock.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'text/html' }, body: HTML }, { path: '/v1/chat/completions' });
    const reply = await chat('oa/f');
    expect(reply.status).toBe(200);
    expect(reply.body.choices![0].message.content).toBe(CONTENT);
    expect(gateway.lastAttempts().map(([provider]) => provider)).toEqual(['oa', 'anthropic']);
  });
});

describe('translated (OpenAI caller, Anthropic provider)', () => {
  it('a 200 the codec cannot decode is a failure of the key, not a success', async () => {
    mock.enqueue({ kind: 'respond', body: { unexpected: true } }, { path: '/v1/messages', times: Infinity });
    const key = () => gateway.app.gateway.health.get('anthropic', 'anthropic#0')!;
    const reply = await chat('anthropic/claude-haiku-4-5');
    expect(reply.status).toBe(502);
    expect(reply.body.error).toMatchObject({ code: 'upstream_bad_response' });
    expect(key().breaker.consecutiveFailures).toBe(1);
    expect(key().lastError).toContain('unexpected response');
    expect((await chat('anthropic/claude-haiku-4-5')).status).toBe(502);
    expect(key().breaker.state).toBe('open');
  });
});

describe('token counts go through the same upstream-call builder', () => {
  async function count(): Promise<{ status: number; body: { type?: string; error?: { type: string; message: string }; input_tokens?: number } }> {
    const response = await fetch(`${gateway.url}/anthropic/v1/messages/count_tokens`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'anthropic/claude-haiku-4-5', messages: [{ role: 'user', content: 'one two three' }] }),
    });
    return { status: response.status, body: (await response.json()) as never };
  }

  it('a count answered with an HTML page is a 502 and a failure of the key; failures open its circuit; no call while open', async () => {
    const key = () => gateway.app.gateway.health.get('anthropic', 'anthropic#0')!;
    expect((await count()).status).toBe(200);
    expect(key().breaker.consecutiveFailures).toBe(0);
    mock.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'text/html' }, body: HTML }, { path: '/v1/messages/count_tokens' });
    const html = await count();
    expect(html.status).toBe(502);
    expect(html.body.type).toBe('error');
    expect(key().breaker.consecutiveFailures).toBe(1);
    mock.enqueue({ kind: 'error', status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } }, { path: '/v1/messages/count_tokens' });
    const overloaded = await count();
    expect(overloaded.status).toBe(529); // the provider's answer, as it sent it
    expect(key().breaker.state).toBe('open');
    const calls = mock.requests.length;
    const refused = await count();
    expect(refused.status).toBe(503);
    expect(mock.requests.length).toBe(calls);
  });
});
