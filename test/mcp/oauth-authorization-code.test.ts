/**
 * Connecting an upstream MCP server with the OAuth authorization code grant and PKCE, the way an
 * operator does it from the dashboard: the gateway's authorize route, then a browser (a cookie jar
 * following redirects) through a real authorization server (the SDK's auth router, which signs the
 * user in with a cookie, registers Heimdall dynamically and checks the PKCE verifier) and back to
 * the gateway's callback. Then the tool works, the tokens are sealed in the database file, they
 * are refreshed after a 401 and before they expire, a forged or foreign state is refused, and a
 * disconnect forgets them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './oauth-authorization-server.js';
import { connectClient, textOf, waitFor, waitForStatus } from './support.js';

const KEY = 'hk-mcp-oauth-code-test-key-01';
const STATIC_SECRET = 'static-client-secret-for-the-oauth-code-test';

/** A browser's cookies: by host (not port, as browsers do) and path prefix. */
class Browser {
  private readonly cookies: Array<{ host: string; name: string; value: string; path: string }> = [];
  /** Every URL visited, in order. */
  readonly visited: string[] = [];

  private header(url: URL): string {
    return this.cookies.filter((cookie) => cookie.host === url.hostname && url.pathname.startsWith(cookie.path)).map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
  }

  private remember(url: URL, response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const path = attributes.find((attribute) => attribute.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const maxAge = attributes.find((attribute) => attribute.toLowerCase().startsWith('max-age='));
      const index = this.cookies.findIndex((cookie) => cookie.host === url.hostname && cookie.name === name && cookie.path === path);
      if (index >= 0) this.cookies.splice(index, 1);
      if (maxAge === undefined || Number(maxAge.slice(8)) > 0) this.cookies.push({ host: url.hostname, name, value, path });
    }
  }

  forget(name: string): void {
    for (let index = this.cookies.length - 1; index >= 0; index--) if (this.cookies[index].name === name) this.cookies.splice(index, 1);
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    this.visited.push(target.href);
    const headers = new Headers(init.headers);
    const cookie = this.header(target);
    if (cookie !== '') headers.set('cookie', cookie);
    const response = await fetch(target, { ...init, headers, redirect: 'manual' });
    this.remember(target, response);
    return response;
  }

  /** GETs `url` and follows redirects until one leaves for `stopAt` (a path on any host); answers that location. */
  async follow(url: string, stopAt: string): Promise<URL> {
    let next = new URL(url);
    for (let hops = 0; hops < 10; hops++) {
      const response = await this.request(next.href);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) throw new Error(`${next.href} answered ${response.status}: ${await response.text()}`);
      next = new URL(location, next);
      if (next.pathname === stopAt) return next;
    }
    throw new Error('too many redirects');
  }
}

describe('an upstream MCP server connected with OAuth authorization code and PKCE', () => {
  let as: TestAuthorizationServer;
  let gw: TestGateway;

  const authorize = async (browser: Browser, server = 'secured'): Promise<{ status: number; body: Record<string, unknown>; text: string }> => {
    const response = await browser.request(`${gw.url}/api/mcp/servers/${server}/oauth/authorize`, { method: 'POST' });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, text };
  };

  const stored = (server: string): string | undefined =>
    (gw.app.store.db.prepare('SELECT tokens FROM mcp_oauth_tokens WHERE server = ?').get(server) as { tokens: string } | undefined)?.tokens;

  beforeAll(async () => {
    as = await startAuthorizationServer();
    gw = await startGateway({
      config: {
        governance: { virtual_keys: { dev: { key: KEY } } },
        mcp: {
          restart_min_ms: 200,
          restart_max_ms: 1000,
          servers: {
            secured: { transport: 'http', url: as.mcpUrl, oauth: { grant: 'authorization_code', scope: 'mcp:tools' } },
            plain: { transport: 'http', url: as.mcpUrl },
            // A client registered beforehand (confidential): no dynamic registration.
            confidential: { transport: 'http', url: as.mcpUrl, oauth: { grant: 'authorization_code', client_id: 'heimdall-static', client_secret: STATIC_SECRET, issuer: as.base } },
          },
        },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await as?.close();
  });

  it('waits for an operator before it connects', async () => {
    await waitFor('the first attempt', () => (gw.app.mcp.hub.server('secured')!.health().failures >= 1 ? true : undefined));
    expect(gw.app.mcp.hub.server('secured')!.health().error).toMatch(/not been authorized yet.*connect the MCP server "secured"/);
    const view = await (await fetch(`${gw.url}/api/mcp/servers/secured`)).json() as { oauth: Record<string, unknown> };
    expect(view.oauth).toMatchObject({ grant: 'authorization_code', connected: false, client_id: null });
    // A server without the authorization code grant cannot be connected this way.
    expect((await authorize(new Browser(), 'plain')).status).toBe(409);
  });

  it('sends the browser through the authorization server and back, then calls the tool', async () => {
    const browser = new Browser();
    const started = await authorize(browser);
    expect(started.status).toBe(200);
    const url = new URL(String(started.body.authorization_url));
    expect(url.origin + url.pathname).toBe(`${as.base}/authorize`);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(url.searchParams.get('redirect_uri')).toBe(`${gw.url}/api/mcp/oauth/callback`);
    expect(url.searchParams.get('resource')).toBe(as.mcpUrl);
    expect(url.searchParams.get('state')).toMatch(/^[\w-]{43}$/);
    // Heimdall registered itself (no client id configured).
    expect(as.provider.registrations).toBe(1);
    expect(url.searchParams.get('client_id')).toBe([...as.provider.clients.keys()][0]);

    const landed = await browser.follow(url.href, '/mcp-servers');
    expect(landed.searchParams.get('oauth_connected')).toBe('secured');
    // The browser went to the authorization server's login and back: cookies on both sides.
    expect(browser.visited.some((visited) => visited.startsWith(`${as.base}/login`))).toBe(true);
    expect(browser.visited.some((visited) => visited.startsWith(`${gw.url}/api/mcp/oauth/callback?code=`))).toBe(true);
    // The verifier was never in an answer or a URL the browser saw, and it matched the challenge (the router checked it).
    const verifier = as.provider.verifiers[0];
    expect(verifier).toMatch(/^[\w.~-]{43,128}$/);
    expect(started.text).not.toContain(verifier);
    expect(browser.visited.join('\n')).not.toContain(verifier);

    await waitForStatus(gw.app, 'secured', 'ready');
    const client = await connectClient(gw.url, KEY);
    const text = textOf(await client.callTool({ name: 'secured__whoami', arguments: {} }));
    await client.close();
    const token = text.replace(/^token /, '');
    expect(as.provider.access.has(token)).toBe(true);

    const view = await (await fetch(`${gw.url}/api/mcp/servers/secured`)).text();
    expect(JSON.parse(view).oauth).toMatchObject({ connected: true, refreshable: true, client_registered: true });
    expect(view).not.toContain(token);
    expect(gw.logText()).not.toContain(verifier);
    expect(gw.logText()).not.toContain(token);
  });

  it('keeps the tokens encrypted: not in the database file in plaintext', async () => {
    const sealed = stored('secured')!;
    expect(sealed.startsWith('v1:')).toBe(true);
    const record = gw.app.mcp.store!.record('secured')!;
    const access = record.tokens!.access_token;
    const refresh = record.tokens!.refresh_token!;
    expect(as.provider.access.has(access)).toBe(true);
    gw.app.store.db.pragma('wal_checkpoint(TRUNCATE)');
    const files = readdirSync(gw.dataDir).filter((name) => /\.(db|sqlite)(-wal)?$|heimdall/.test(name));
    expect(files.length).toBeGreaterThan(0);
    const bytes = Buffer.concat(files.map((name) => readFileSync(join(gw.dataDir, name))));
    expect(bytes.includes(Buffer.from(sealed))).toBe(true);
    expect(bytes.includes(Buffer.from(access))).toBe(false);
    expect(bytes.includes(Buffer.from(refresh))).toBe(false);
  });

  it('refreshes the token after a 401, and before it expires', async () => {
    const before = gw.app.mcp.store!.record('secured')!.tokens!.access_token;
    // The authorization server ends every access token; the next ones live 63 s.
    as.provider.expireAccessTokens();
    as.provider.accessTtl = 63;
    const refusedBefore = as.refused;
    const client = await connectClient(gw.url, KEY);
    const text = textOf(await client.callTool({ name: 'secured__whoami', arguments: {} }));
    expect(as.refused).toBeGreaterThan(refusedBefore);
    expect(as.provider.refreshes).toBe(1);
    const after = gw.app.mcp.store!.record('secured')!.tokens!.access_token;
    expect(after).not.toBe(before);
    expect(text).toBe(`token ${after}`);

    // 63 s tokens are within a minute of expiring after three seconds: the next call refreshes first, without a 401.
    await new Promise((resolve) => setTimeout(resolve, 3200));
    const refusedNow = as.refused;
    const again = textOf(await client.callTool({ name: 'secured__whoami', arguments: {} }));
    await client.close();
    expect(as.provider.refreshes).toBe(2);
    expect(as.refused).toBe(refusedNow);
    const latest = gw.app.mcp.store!.record('secured')!.tokens!.access_token;
    expect(latest).not.toBe(after);
    expect(again).toBe(`token ${latest}`);
    as.provider.accessTtl = 3600;
  });

  it('refuses a callback with a forged state, one from another browser, and a reused one', async () => {
    const tokensBefore = stored('secured');
    const operator = new Browser();
    const started = await authorize(operator);
    const state = new URL(String(started.body.authorization_url)).searchParams.get('state')!;

    // A forged state (the browser holds a real one).
    const forged = await operator.follow(`${gw.url}/api/mcp/oauth/callback?code=whatever&state=forged-state`, '/mcp-servers');
    expect(forged.searchParams.get('oauth_error')).toMatch(/not started here/);

    // The right state from another browser (no flow cookie): refused, and the state is spent.
    const other = new Browser();
    const foreign = await other.follow(`${gw.url}/api/mcp/oauth/callback?code=whatever&state=${state}`, '/mcp-servers');
    expect(foreign.searchParams.get('oauth_error')).toMatch(/not started here/);
    const reused = await operator.follow(`${gw.url}/api/mcp/oauth/callback?code=whatever&state=${state}`, '/mcp-servers');
    expect(reused.searchParams.get('oauth_error')).toMatch(/not started here/);
    expect(stored('secured')).toBe(tokensBefore);
    expect(as.provider.verifiers).toHaveLength(1);
  });

  it('uses a configured client id and secret instead of registering', async () => {
    as.provider.clients.set('heimdall-static', {
      client_id: 'heimdall-static', client_secret: STATIC_SECRET, redirect_uris: [`${gw.url}/api/mcp/oauth/callback`],
      token_endpoint_auth_method: 'client_secret_post', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
    });
    const registrations = as.provider.registrations;
    const browser = new Browser();
    const started = await authorize(browser, 'confidential');
    expect(started.status).toBe(200);
    const url = new URL(String(started.body.authorization_url));
    expect(url.searchParams.get('client_id')).toBe('heimdall-static');
    const landed = await browser.follow(url.href, '/mcp-servers');
    expect(landed.searchParams.get('oauth_connected')).toBe('confidential');
    expect(as.provider.registrations).toBe(registrations);
    await waitForStatus(gw.app, 'confidential', 'ready');
    const client = await connectClient(gw.url, KEY);
    const text = textOf(await client.callTool({ name: 'confidential__whoami', arguments: {} }));
    await client.close();
    expect(as.provider.access.get(text.replace(/^token /, ''))?.clientId).toBe('heimdall-static');
    const view = await (await fetch(`${gw.url}/api/mcp/servers/confidential`)).text();
    expect(JSON.parse(view).oauth).toMatchObject({ client_id: 'heimdall-static', client_registered: false, connected: true });
    expect(view).not.toContain(STATIC_SECRET);
    expect(gw.logText()).not.toContain(STATIC_SECRET);
  });

  it('waits for an operator again when the authorization server refuses the refresh token', async () => {
    as.provider.expireAccessTokens();
    as.provider.refresh.clear();
    const client = await connectClient(gw.url, KEY);
    const result = await client.callTool({ name: 'confidential__whoami', arguments: {} });
    await client.close();
    expect(result.isError).toBe(true);
    await waitFor('the server to wait for an operator', () => {
      const health = gw.app.mcp.hub.server('confidential')!.health();
      // The refused refresh first, then (after a reconnect attempt) the missing tokens.
      return health.status === 'failed' && /(no longer accepts Heimdall's tokens|has not been authorized yet).*connect the MCP server "confidential"/.test(health.error ?? '') ? true : undefined;
    });
    expect(gw.app.mcp.store!.record('confidential')?.tokens).toBeUndefined();
  });

  it('disconnects: the tokens are gone and the server waits for an operator again', async () => {
    const response = await fetch(`${gw.url}/api/mcp/servers/secured/oauth`, { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(stored('secured')).toBeUndefined();
    await waitFor('the server to wait for an operator', () => {
      const health = gw.app.mcp.hub.server('secured')!.health();
      return health.status === 'failed' && /not been authorized/.test(health.error ?? '') ? true : undefined;
    });
    const view = await (await fetch(`${gw.url}/api/mcp/servers/secured`)).json() as { oauth: Record<string, unknown> };
    expect(view.oauth).toMatchObject({ connected: false });
  });
});
