/**
 * Every change through the API applies to the next request, with no restart:
 * a provider's base URL, a new provider and its key, an alias, a fallback,
 * the body size limit, timeouts, and body logging.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { apiError, call, chat, startAdminGateway, type AdminGateway } from './helpers.js';

const KEY = 'sk-hot-reload-key-0123456789';
let first: MockUpstream;
let second: MockUpstream;
let gw: AdminGateway;

beforeAll(async () => {
  first = await startMockUpstream();
  second = await startMockUpstream();
  gw = await startAdminGateway({
    env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: first.openaiBaseUrl },
    config: { providers: { openai: { max_retries: 0 } } },
  });
});
afterAll(async () => {
  await gw.close();
  await first.close();
  await second.close();
});
beforeEach(() => {
  first.reset();
  second.reset();
});

describe('hot reload through the API', () => {
  it('a new base URL: the next request goes to the new upstream', async () => {
    expect((await chat(gw.url, 'openai/gpt-4o-mini')).status).toBe(200);
    expect(first.requests).toHaveLength(1);

    const patched = await call(gw.url, 'PATCH', '/api/providers/openai', { base_url: second.openaiBaseUrl });
    expect(patched.status).toBe(200);
    expect(patched.json.base_url).toBe(second.openaiBaseUrl);

    const reply = await chat(gw.url, 'openai/gpt-4o-mini');
    expect(reply.status).toBe(200);
    expect(reply.json.choices[0].message.content).toBe('echo: hello there');
    expect(first.requests).toHaveLength(1);
    expect(second.requests).toHaveLength(1);
    expect(second.requests[0].headers.authorization).toBe(`Bearer ${KEY}`);

    // Reverting the override (null) sends traffic back where the environment points.
    await call(gw.url, 'PATCH', '/api/providers/openai', { base_url: null });
    await chat(gw.url, 'openai/gpt-4o-mini');
    expect(first.requests).toHaveLength(2);
    expect(second.requests).toHaveLength(1);
  });

  it('a provider created through the API serves at once, with its key', async () => {
    const created = await call(gw.url, 'POST', '/api/providers', {
      name: 'mine', type: 'openai-compatible', base_url: second.openaiBaseUrl, api_key: 'sk-mine-abcdefghijklmnop',
    });
    expect(created.status).toBe(201);
    const reply = await chat(gw.url, 'mine/some-model');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-heimdall-provider']).toBe('mine');
    expect(second.requests[0].headers.authorization).toBe('Bearer sk-mine-abcdefghijklmnop');
    expect(second.requests[0].body).toMatchObject({ model: 'some-model' });
  });

  it('an alias and a fallback apply to the next request', async () => {
    expect((await call(gw.url, 'PUT', '/api/routing/aliases/fast', { target: 'openai/gpt-4o-mini' })).status).toBe(200);
    const aliased = await chat(gw.url, 'fast');
    expect(aliased.status).toBe(200);
    expect(first.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4o-mini' });

    expect((await call(gw.url, 'PUT', `/api/routing/fallbacks/${encodeURIComponent('openai/gpt-4o')}`, { fallbacks: ['mine/backup-model'] })).status).toBe(200);
    first.enqueue({ kind: 'error', status: 500 });
    const fellBack = await chat(gw.url, 'openai/gpt-4o');
    expect(fellBack.status).toBe(200);
    expect(fellBack.headers['x-heimdall-provider']).toBe('mine');
    expect(fellBack.headers['x-heimdall-attempts']).toBe('2');
  });

  it('limits.max_body_bytes is live', async () => {
    const small = await call(gw.url, 'PATCH', '/api/settings', { limits: { max_body_bytes: 200 } });
    expect(small.status).toBe(200);
    expect(small.json.limits.max_body_bytes).toBe(200);
    const big = await chat(gw.url, 'openai/gpt-4o-mini', { user: 'x'.repeat(300) });
    expect(big.status).toBe(413);
    expect(apiError(big).message).toBe('The request body is larger than the limit of 200 bytes (limits.max_body_bytes).');
    // The management API itself still takes its bodies (it keeps a 1 MiB floor), and raising the limit applies at once.
    expect((await call(gw.url, 'PUT', '/api/routing/aliases/long', { target: `openai/${'m'.repeat(200)}` })).status).toBe(200);
    await call(gw.url, 'DELETE', '/api/routing/aliases/long');
    expect((await call(gw.url, 'PATCH', '/api/settings', { limits: { max_body_bytes: null } })).json.limits.max_body_bytes).toBe(20 * 1024 * 1024);
    expect((await chat(gw.url, 'openai/gpt-4o-mini', { user: 'x'.repeat(300) })).status).toBe(200);
  });

  it('a chunked body over the live limit is refused too', async () => {
    await call(gw.url, 'PATCH', '/api/settings', { limits: { max_body_bytes: 100 } });
    try {
      const body = JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'y'.repeat(500) }] });
      const response = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new ReadableStream({ start(controller) { controller.enqueue(new TextEncoder().encode(body)); controller.close(); } }),
        duplex: 'half',
      } as RequestInit);
      expect(response.status).toBe(413);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
    } finally {
      await call(gw.url, 'PATCH', '/api/settings', { limits: null });
    }
  });

  it('timeouts are live: a short first-byte timeout fails the next slow call with 504', async () => {
    const patched = await call(gw.url, 'PATCH', '/api/settings', { timeouts: { first_byte_ms: 150 } });
    expect(patched.json.timeouts.first_byte_ms).toBe(150);
    first.enqueue({ kind: 'delay', ms: 1000 });
    const slow = await chat(gw.url, 'openai/gpt-4o-mini');
    expect(slow.status).toBe(504);
    expect(apiError(slow).code).toBe('upstream_timeout');
    await call(gw.url, 'PATCH', '/api/settings', { timeouts: null });
    expect((await call(gw.url, 'GET', '/api/settings')).json.timeouts.first_byte_ms).toBe(300_000);
  });
});
