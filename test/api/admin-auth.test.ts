/**
 * Admin auth on and off: without a token, loopback clients only (under a
 * loopback Host name); with a token, a Bearer header or a login session
 * cookie; cross-site writes refused; the dashboard's files stay reachable;
 * the admin token never opens /v1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { banner } from '../../src/server.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { apiError, call, chat, startAdminGateway, until, type AdminGateway } from './helpers.js';

const TOKEN = 'admin-token-for-tests-3f9a1c7e55';
let mock: MockUpstream;

beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => {
  await mock.close();
});

describe('without an admin token', () => {
  let gw: AdminGateway;
  beforeAll(async () => {
    gw = await startAdminGateway();
  });
  afterAll(async () => gw.close());

  it('loopback clients are served; start-up warned', async () => {
    const status = await call(gw.url, 'GET', '/api/auth/status');
    expect(status.json).toMatchObject({ auth_required: false, authenticated: true, loopback_only: true, setup_required: true, role: 'admin' });
    expect((await call(gw.url, 'GET', '/api/providers')).status).toBe(200);
    expect(gw.logs().some((line) => line.level === 'warn' && String(line.msg).startsWith('no admin token'))).toBe(true);
  });

  it('another address gets 403 admin_loopback_only', async () => {
    const reply = await gw.app.inject({ method: 'GET', url: '/api/providers', remoteAddress: '192.0.2.10' });
    expect(reply.statusCode).toBe(403);
    expect(reply.json().error).toMatchObject({ code: 'admin_loopback_only', type: 'permission_error' });
    expect(reply.json().error.message).toContain('HEIMDALL_ADMIN_TOKEN');
    // It may still read the auth status (the dashboard shows why it cannot go on).
    const status = await gw.app.inject({ method: 'GET', url: '/api/auth/status', remoteAddress: '192.0.2.10' });
    expect(status.json()).toMatchObject({ auth_required: false, authenticated: false, loopback_only: true, role: null, access: [] });
  });

  it('a page on another name that resolves to 127.0.0.1 (DNS rebinding) is refused', async () => {
    const reply = await call(gw.url, 'GET', '/api/providers', undefined, { host: 'evil.example:8080' });
    expect(reply.status).toBe(403);
    expect(apiError(reply).code).toBe('admin_request_refused');
    expect((await call(gw.url, 'GET', '/api/providers', undefined, { host: 'localhost:1234' })).status).toBe(200);
  });

  it('a cross-site write is refused even from loopback', async () => {
    const reply = await call(gw.url, 'PATCH', '/api/settings', { logging: { bodies: true } }, { origin: 'http://evil.example' });
    expect(reply.status).toBe(403);
    expect(apiError(reply).code).toBe('admin_request_refused');
    expect((await call(gw.url, 'GET', '/api/settings')).json.logging.bodies).toBe(false);
    const sameOrigin = await call(gw.url, 'PATCH', '/api/settings', { logging: { bodies: false } }, { origin: gw.url });
    expect(sameOrigin.status).toBe(200);
  });

  it('login is refused: there is no token to log in with', async () => {
    const reply = await call(gw.url, 'POST', '/api/auth/login', { token: 'x' });
    expect(reply.status).toBe(400);
    expect(apiError(reply).param).toBe('token');
  });
});

describe('with an admin token', () => {
  let gw: AdminGateway;
  beforeAll(async () => {
    gw = await startAdminGateway({
      env: { HEIMDALL_ADMIN_TOKEN: TOKEN, OPENAI_API_KEY: 'sk-provider-key-abcdefghijkl', OPENAI_BASE_URL: mock.openaiBaseUrl },
      config: { governance: { enforce: true } },
    });
  });
  afterAll(async () => gw.close());

  it('no credentials: 401 admin_auth_required, even from loopback', async () => {
    const reply = await call(gw.url, 'GET', '/api/providers');
    expect(reply.status).toBe(401);
    expect(apiError(reply)).toMatchObject({ code: 'admin_auth_required', type: 'authentication_error' });
    expect((await call(gw.url, 'GET', '/api/auth/status')).json).toMatchObject({ auth_required: true, authenticated: false, loopback_only: false });
  });

  it('a wrong Bearer token: 401; the right one: 200 and the audit says "token"', async () => {
    expect((await call(gw.url, 'GET', '/api/providers', undefined, { authorization: 'Bearer wrong-token' })).status).toBe(401);
    const ok = await call(gw.url, 'GET', '/api/providers', undefined, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    const changed = await call(gw.url, 'PUT', '/api/routing/aliases/a1', { target: 'openai/gpt-4o-mini' }, { authorization: `Bearer ${TOKEN}` });
    expect(changed.status).toBe(200);
    const audit = await call(gw.url, 'GET', '/api/audit?action=alias.set', undefined, { authorization: `Bearer ${TOKEN}` });
    expect(audit.json.data[0]).toMatchObject({ actor: 'token', action: 'alias.set', target: 'a1', before: null, after: 'openai/gpt-4o-mini' });
  });

  it('other machines are served with the token (no loopback rule when a token is set)', async () => {
    const reply = await gw.app.inject({ method: 'GET', url: '/api/providers', remoteAddress: '192.0.2.10', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(reply.statusCode).toBe(200);
  });

  it('login sets an HttpOnly SameSite=Lax cookie that opens /api; logout ends it', async () => {
    const wrong = await call(gw.url, 'POST', '/api/auth/login', { token: 'nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();

    const login = await call(gw.url, 'POST', '/api/auth/login', { token: TOKEN });
    expect(login.status).toBe(200);
    expect(login.json).toMatchObject({ auth_required: true, authenticated: true });
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/^heimdall_session=[A-Za-z0-9_-]{43}; Path=\/api; HttpOnly; SameSite=Lax; Max-Age=86\d{3}$/);
    const cookie = setCookie.split(';')[0];

    expect((await call(gw.url, 'GET', '/api/auth/status', undefined, { cookie })).json.authenticated).toBe(true);
    expect((await call(gw.url, 'GET', '/api/settings', undefined, { cookie })).status).toBe(200);
    const change = await call(gw.url, 'PUT', '/api/routing/aliases/a2', { target: 'openai/gpt-4o' }, { cookie });
    expect(change.status).toBe(200);
    const audit = await call(gw.url, 'GET', '/api/audit?action=alias.set&target=a2', undefined, { cookie });
    expect(audit.json.data[0].actor).toMatch(/^session:[0-9a-f]{12}$/);
    // The session id itself is in no log line and no audit entry.
    expect(gw.logText()).not.toContain(cookie.split('=')[1]);
    expect(audit.text).not.toContain(cookie.split('=')[1]);

    // A cookie-carrying write from another site is refused (SameSite aside, Origin says so).
    const crossSite = await call(gw.url, 'DELETE', '/api/routing/aliases/a2', undefined, { cookie, origin: 'http://evil.example' });
    expect(crossSite.status).toBe(403);

    const logout = await call(gw.url, 'POST', '/api/auth/logout', {}, { cookie });
    expect(logout.json).toEqual({ auth_required: true, authenticated: false });
    expect(String(logout.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await call(gw.url, 'GET', '/api/settings', undefined, { cookie })).status).toBe(401);
  });

  it('the token never appears in a log line or an answer', async () => {
    await call(gw.url, 'POST', '/api/auth/login', { token: TOKEN });
    expect(gw.logText()).not.toContain(TOKEN);
    const config = await call(gw.url, 'GET', '/api/config', undefined, { authorization: `Bearer ${TOKEN}` });
    expect(config.json.config.admin).toEqual({ token: '[REDACTED]', session_ttl_hours: 24 });
    expect(config.json.admin_token_source).toBe('env');
    expect(config.text).not.toContain(TOKEN);
  });

  it('the dashboard files stay reachable without a token (the login page must load)', async () => {
    const page = await call(gw.url, 'GET', '/');
    expect([200, 503]).toContain(page.status);
    expect(String(page.headers['content-type'])).toContain('text/html');
  });

  it('the admin token does not open /v1 (it is not a virtual key)', async () => {
    const reply = await chat(gw.url, 'openai/gpt-4o-mini', {}, { authorization: `Bearer ${TOKEN}` });
    expect(reply.status).toBe(401);
    expect(mock.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(0);
  });
});

describe('session lifetime and login throttling', () => {
  let gw: AdminGateway;
  beforeAll(async () => {
    gw = await startAdminGateway({ env: { HEIMDALL_ADMIN_TOKEN: TOKEN }, config: { admin: { session_ttl_hours: 0.0001 } } });
  });
  afterAll(async () => gw.close());

  it('a session ends after admin.session_ttl_hours', async () => {
    const login = await call(gw.url, 'POST', '/api/auth/login', { token: TOKEN });
    const cookie = String(login.headers['set-cookie']).split(';')[0];
    expect((await call(gw.url, 'GET', '/api/settings', undefined, { cookie })).status).toBe(200);
    await until(async () => (await call(gw.url, 'GET', '/api/settings', undefined, { cookie })).status === 401, 3000, 'the session to expire');
  });

  it('ten failed logins from one address: 429 with Retry-After, even for the right token', async () => {
    for (let i = 0; i < 10; i++) await call(gw.url, 'POST', '/api/auth/login', { token: `bad-${i}` });
    const reply = await call(gw.url, 'POST', '/api/auth/login', { token: TOKEN });
    expect(reply.status).toBe(429);
    expect(Number(reply.headers['retry-after'])).toBeGreaterThan(0);
    // One limiter for both ways in: the Bearer header from this address waits too...
    const bearer = await call(gw.url, 'GET', '/api/settings', undefined, { authorization: `Bearer ${TOKEN}` });
    expect(bearer.status).toBe(429);
    expect(Number(bearer.headers['retry-after'])).toBeGreaterThan(0);
    // ...while another address keeps access (the limiter counts per source address).
    const other = await gw.app.inject({ method: 'GET', url: '/api/settings', remoteAddress: '192.0.2.77', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(other.statusCode).toBe(200);
  });

  it('wrong Bearer tokens are throttled like logins: 9 x 401, then 429 with Retry-After; each failure logged with the address, never the token', async () => {
    const address = '198.51.100.23';
    const guesses: string[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const guess = `wrong-admin-guess-${i}-0123456789`;
      guesses.push(guess);
      const reply = await gw.app.inject({ method: 'GET', url: '/api/providers', remoteAddress: address, headers: { authorization: `Bearer ${guess}` } });
      statuses.push(reply.statusCode);
      if (reply.statusCode === 429) {
        expect(Number(reply.headers['retry-after'])).toBeGreaterThan(0);
        expect(reply.json().error.code).toBe('rate_limit_exceeded');
      }
    }
    expect(statuses.slice(0, 9)).toEqual(Array(9).fill(401));
    expect(statuses.slice(9)).toEqual(Array(21).fill(429));
    // The right token from the locked address waits too: guessing cannot go on by other means.
    const right = await gw.app.inject({ method: 'GET', url: '/api/providers', remoteAddress: address, headers: { authorization: `Bearer ${TOKEN}` } });
    expect(right.statusCode).toBe(429);
    const failures = gw.logs().filter((line) => line.msg === 'admin authentication failed' && line.remote_address === address);
    expect(failures).toHaveLength(10);
    const text = JSON.stringify(gw.logs());
    for (const guess of guesses) expect(text).not.toContain(guess);
    expect(text).not.toContain(TOKEN);
  });
});

describe('the start-up banner', () => {
  const url = 'http://127.0.0.1:8080';
  it('says when there is no admin token, and shouts when the bind is not loopback', () => {
    const local = banner(loadConfig({ config: {}, env: {}, overrides: { host: '127.0.0.1', dataDir: '/tmp/x' } }), url);
    expect(local).toContain('! no admin token: the management API (/api) answers loopback clients only');
    const exposed = banner(loadConfig({ config: {}, env: {}, overrides: { host: '0.0.0.0', dataDir: '/tmp/x' } }), url);
    expect(exposed).toContain('!!! WARNING: NO ADMIN TOKEN on a non-loopback address');
    const tokened = banner(loadConfig({ config: {}, env: { HEIMDALL_ADMIN_TOKEN: TOKEN }, overrides: { host: '0.0.0.0', dataDir: '/tmp/x' } }), url);
    expect(tokened).toContain('Admin API      http://127.0.0.1:8080/api (admin token from HEIMDALL_ADMIN_TOKEN)');
    expect(tokened).not.toContain(TOKEN);
  });
});
