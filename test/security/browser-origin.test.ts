/**
 * Who can reach the gateway from a browser (docs/security.md, "Who can reach
 * the gateway"): a cross-site simple request (text/plain or form POST, any
 * Origin) never reaches a provider; a DNS-rebinding Host is refused; the
 * gateway's own origin (the dashboard) and origins listed in server.cors
 * work, preflight included. Over real sockets, with raw requests shaped the
 * way a browser sends them.
 */
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hostCheck, hostName } from '../../src/api/browser-guard.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import type { RawReply } from '../integration/helpers.js';

let mock: MockUpstream;
let gateway: TestGateway;
let corsGateway: TestGateway;

const APP_ORIGIN = 'https://app.example';

beforeAll(async () => {
  mock = await startMockUpstream();
  const env = { OPENAI_API_KEY: 'sk-browser-origin-0000', OPENAI_BASE_URL: mock.openaiBaseUrl };
  gateway = await startGateway({ env });
  corsGateway = await startGateway({ env, config: { server: { cors: { origins: [APP_ORIGIN], credentials: false } } } });
});
afterAll(async () => {
  await gateway.close();
  await corsGateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

async function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<RawReply> {
  const response = await request(url, { method, headers, body });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}

const CHAT = JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
const ROUTES = [
  { path: '/v1/chat/completions', body: CHAT, format: 'openai' },
  { path: '/v1/embeddings', body: JSON.stringify({ model: 'openai/text-embedding-3-small', input: 'hi' }), format: 'openai' },
  { path: '/anthropic/v1/messages', body: JSON.stringify({ model: 'openai/gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }), format: 'anthropic' },
  { path: '/anthropic/v1/messages/count_tokens', body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }), format: 'anthropic' },
  { path: '/genai/v1beta/models/openai%2Fgpt-4o-mini:generateContent', body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }), format: 'gemini' },
] as const;

function expectFormat(format: string, reply: RawReply, status: number, code: string): void {
  expect(reply.status).toBe(status);
  const body = reply.json as Record<string, any>;
  if (format === 'openai') expect(body.error.code).toBe(code);
  if (format === 'anthropic') expect(body).toMatchObject({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } });
  if (format === 'gemini') expect(body.error).toMatchObject({ code: status, status: expect.any(String) });
}

describe('cross-site simple requests', () => {
  for (const route of ROUTES) {
    it(`${route.path}: a text/plain POST from another site is refused, nothing goes upstream`, async () => {
      const reply = await send(`${gateway.url}${route.path}`, 'POST', { 'content-type': 'text/plain', origin: 'http://evil.example' }, route.body);
      expectFormat(route.format, reply, 403, 'origin_not_allowed');
      expect(reply.headers['access-control-allow-origin']).toBeUndefined();
    });

    it(`${route.path}: without an Origin, a non-JSON content type is a 415 in the caller's format`, async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const reply = await send(`${gateway.url}${route.path}`, 'POST', { 'content-type': type }, route.body);
        expectFormat(route.format, reply, 415, 'unsupported_media_type');
      }
      const untyped = await send(`${gateway.url}${route.path}`, 'POST', {}, route.body);
      expectFormat(route.format, untyped, 415, 'unsupported_media_type');
    });
  }

  it('nothing reached the provider, and JSON still works (charset and +json types too)', async () => {
    for (const route of ROUTES) {
      await send(`${gateway.url}${route.path}`, 'POST', { 'content-type': 'text/plain', origin: 'null' }, route.body);
      await send(`${gateway.url}${route.path}`, 'POST', { 'content-type': 'text/plain' }, route.body);
    }
    expect(mock.requests).toHaveLength(0);
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/vnd.api+json']) {
      expect((await send(`${gateway.url}/v1/chat/completions`, 'POST', { 'content-type': type }, CHAT)).status).toBe(200);
    }
  });

  it('the gateway\'s own origin (the dashboard) passes', async () => {
    const reply = await send(`${gateway.url}/v1/chat/completions`, 'POST', { 'content-type': 'application/json', origin: gateway.url }, CHAT);
    expect(reply.status).toBe(200);
  });
});

describe('DNS rebinding: the Host header', () => {
  it('a foreign name is refused on every surface, the dashboard and /health', async () => {
    for (const route of ROUTES) {
      const reply = await send(`${gateway.url}${route.path}`, 'POST', { 'content-type': 'application/json', host: 'evil.example:8080' }, route.body);
      expectFormat(route.format, reply, 403, 'host_not_allowed');
    }
    for (const path of ['/', '/health', '/v1/models']) {
      const reply = await send(`${gateway.url}${path}`, 'GET', { host: 'evil.example:8080' });
      expect(reply.status).toBe(403);
      expect((reply.json as any).error.code).toBe('host_not_allowed');
    }
    expect(mock.requests).toHaveLength(0);
  });

  it('loopback names pass: 127.0.0.1, localhost, [::1], *.localhost', async () => {
    for (const host of ['127.0.0.1:9', 'localhost:1234', 'LOCALHOST.', '[::1]:8080', 'app.localhost']) {
      const reply = await send(`${gateway.url}/v1/chat/completions`, 'POST', { 'content-type': 'application/json', host }, CHAT);
      expect(reply.status, host).toBe(200);
    }
    // The dashboard answers 200 once built and 503 (its "not built" page) in a fresh clone: either way not the Host refusal.
    expect([200, 503]).toContain((await send(`${gateway.url}/`, 'GET', { host: 'localhost:8080' })).status);
    expect((await send(`${gateway.url}/health`, 'GET', { host: 'localhost:8080' })).status).toBe(200);
  });

  it('the management API keeps its own rules (its own error code)', async () => {
    const reply = await send(`${gateway.url}/api/providers`, 'GET', { host: 'evil.example:8080' });
    expect(reply.status).toBe(403);
    expect((reply.json as any).error.code).toBe('admin_request_refused');
  });

  it('which names are accepted, by listen address and server.allowed_hosts', () => {
    const loopback = hostCheck({ host: '127.0.0.1', allowedHosts: undefined });
    expect(['localhost', '127.0.0.1', '127.1.2.3', '::1', 'a.localhost'].every(loopback)).toBe(true);
    expect(['evil.example', '10.0.0.5', 'localhost.evil.example'].some(loopback)).toBe(false);
    const listed = hostCheck({ host: '::1', allowedHosts: ['gateway.internal', '*.corp.example'] });
    expect(['gateway.internal', 'a.corp.example', 'localhost'].every(listed)).toBe(true);
    expect(listed('corp.example.evil')).toBe(false);
    // Bound to every interface: any name by default (a reverse proxy's public name keeps working)...
    const open = hostCheck({ host: '0.0.0.0', allowedHosts: undefined });
    expect(['api.example.com', 'evil.example', '10.0.0.5'].every(open)).toBe(true);
    // ...and with an allow-list: the list, address literals and loopback names only.
    const strict = hostCheck({ host: '0.0.0.0', allowedHosts: ['api.example.com'] });
    expect(['api.example.com', '10.0.0.5', 'fe80::1', 'localhost'].every(strict)).toBe(true);
    expect(strict('evil.example')).toBe(false);
    const star = hostCheck({ host: '127.0.0.1', allowedHosts: ['*'] });
    expect(star('anything.example')).toBe(true);
    expect(hostName('[::1]:8080')).toBe('::1');
    expect(hostName('Example.COM.:443')).toBe('example.com');
  });
});

describe('server.cors', () => {
  it('a preflight from a listed origin is answered', async () => {
    const reply = await send(`${corsGateway.url}/v1/chat/completions`, 'OPTIONS', {
      origin: APP_ORIGIN,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, x-stainless-os',
    });
    expect(reply.status).toBe(204);
    expect(reply.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(reply.headers['access-control-allow-methods']).toContain('POST');
    expect(reply.headers['access-control-allow-headers']).toBe('authorization, content-type, x-stainless-os');
    expect(reply.headers['access-control-max-age']).toBe('600');
    expect(reply.headers.vary).toBe('Origin');
    expect(reply.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('a request from a listed origin is served with CORS headers (JSON and stream)', async () => {
    const reply = await send(`${corsGateway.url}/v1/chat/completions`, 'POST', { 'content-type': 'application/json', origin: APP_ORIGIN }, CHAT);
    expect(reply.status).toBe(200);
    expect(reply.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    expect(String(reply.headers['access-control-expose-headers'])).toContain('x-request-id');
    const stream = await send(`${corsGateway.url}/v1/chat/completions`, 'POST', { 'content-type': 'application/json', origin: APP_ORIGIN }, JSON.stringify({ ...JSON.parse(CHAT), stream: true }));
    expect(stream.status).toBe(200);
    expect(stream.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    // An error carries them too, so the page can read it.
    const refused = await send(`${corsGateway.url}/v1/chat/completions`, 'POST', { 'content-type': 'application/json', origin: APP_ORIGIN }, '{"model":');
    expect(refused.status).toBe(400);
    expect(refused.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
  });

  it('a listed origin still cannot send a simple text/plain request', async () => {
    const reply = await send(`${corsGateway.url}/v1/chat/completions`, 'POST', { 'content-type': 'text/plain', origin: APP_ORIGIN }, CHAT);
    expect(reply.status).toBe(415);
  });

  it('an origin not listed: preflight and request refused', async () => {
    const preflight = await send(`${corsGateway.url}/v1/chat/completions`, 'OPTIONS', { origin: 'https://other.example', 'access-control-request-method': 'POST' });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const reply = await send(`${corsGateway.url}/anthropic/v1/messages`, 'POST', { 'content-type': 'application/json', origin: 'https://other.example' }, ROUTES[2].body);
    expect(reply.status).toBe(403);
    expect(reply.json).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    expect(mock.requests).toHaveLength(0);
  });

  it('without server.cors a preflight is refused', async () => {
    const reply = await send(`${gateway.url}/v1/chat/completions`, 'OPTIONS', { origin: APP_ORIGIN, 'access-control-request-method': 'POST' });
    expect(reply.status).toBe(403);
    expect(reply.headers['access-control-allow-origin']).toBeUndefined();
  });
});
