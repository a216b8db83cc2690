/**
 * The OAuth callback belongs to the operator who started the authorization: with signed-in users
 * (an admin token configured, so no loopback pass), a callback that carries another operator's
 * session is refused even with the right state and flow cookie, and spends the state; the operator
 * who started it completes it. A viewer cannot start one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminGateway, type AdminGateway } from '../api/helpers.js';
import { ADMIN_TOKEN, createUser, inject, login } from '../auth/support.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './oauth-authorization-server.js';
import { waitForStatus } from './support.js';

describe('the OAuth callback is bound to the operator who started it', () => {
  let as: TestAuthorizationServer;
  let gw: AdminGateway;
  const cookies: Record<string, string> = {};

  beforeAll(async () => {
    as = await startAuthorizationServer();
    gw = await startAdminGateway({
      env: { HEIMDALL_ADMIN_TOKEN: ADMIN_TOKEN },
      config: { mcp: { servers: { secured: { transport: 'http', url: as.mcpUrl, oauth: { grant: 'authorization_code' } } } } },
    });
    for (const [username, role] of [['alice', 'operator'], ['bob', 'operator'], ['vera', 'viewer']] as const) {
      await createUser(gw.app, { username, role });
      cookies[username] = await login(gw.app, username);
    }
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await as?.close();
  });

  /** Starts as `user`; answers the flow cookie and the callback URL the authorization server sends the browser to. */
  async function start(user: string): Promise<{ flowCookie: string; callback: string }> {
    const started = await inject(gw.app, 'POST', '/api/mcp/servers/secured/oauth/authorize', { cookie: cookies[user] });
    expect(started.status, JSON.stringify(started.json)).toBe(200);
    const flowCookie = String(started.headers['set-cookie']).split(';')[0];
    expect(flowCookie).toMatch(/^heimdall_mcp_oauth=[\w-]{43}$/);
    // The user's browser at the authorization server: sign in, then the redirect to the callback.
    let next = new URL(String(started.json.authorization_url));
    let login = '';
    for (let hops = 0; hops < 5 && !next.pathname.endsWith('/api/mcp/oauth/callback'); hops++) {
      const response = await fetch(next, { redirect: 'manual', headers: login === '' ? {} : { cookie: login } });
      login = response.headers.getSetCookie()[0]?.split(';')[0] ?? login;
      next = new URL(response.headers.get('location')!, next);
    }
    expect(next.searchParams.get('code')).toBeTruthy();
    return { flowCookie, callback: `${next.pathname}${next.search}` };
  }

  it('refuses another operator\'s session, then completes for the operator who started it', async () => {
    const first = await start('alice');
    const asBob = await inject(gw.app, 'GET', first.callback, { cookie: `${cookies.bob}; ${first.flowCookie}` });
    expect(asBob.status).toBe(303);
    expect(String(asBob.headers.location)).toMatch(/^\/mcp-servers\?oauth_error=.*not\+started\+here/);
    // The state is spent: the same callback does not work for alice either.
    const replay = await inject(gw.app, 'GET', first.callback, { cookie: `${cookies.alice}; ${first.flowCookie}` });
    expect(String(replay.headers.location)).toMatch(/oauth_error=/);
    expect(gw.app.mcp.store!.record('secured')?.tokens).toBeUndefined();

    const second = await start('alice');
    const done = await inject(gw.app, 'GET', second.callback, { cookie: `${cookies.alice}; ${second.flowCookie}` });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/mcp-servers?oauth_connected=secured');
    expect(gw.app.mcp.store!.record('secured')?.tokens?.access_token).toMatch(/^at-/);
    await waitForStatus(gw.app, 'secured', 'ready');
    // The audit log names who connected it.
    const audit = await inject(gw.app, 'GET', '/api/audit?limit=20', { bearer: ADMIN_TOKEN });
    const actions = (audit.json.data as Array<{ action: string; actor: string }>).filter((row) => row.action.startsWith('mcp_server.')).map((row) => `${row.action} ${row.actor}`);
    expect(actions).toContain('mcp_server.connect user:alice');
  });

  it('lets no viewer start an authorization, nor anyone signed out', async () => {
    expect((await inject(gw.app, 'POST', '/api/mcp/servers/secured/oauth/authorize', { cookie: cookies.vera })).status).toBe(403);
    expect((await inject(gw.app, 'POST', '/api/mcp/servers/secured/oauth/authorize')).status).toBe(401);
    expect((await inject(gw.app, 'GET', '/api/mcp/oauth/callback?code=x&state=y')).status).toBe(401);
  });
});
