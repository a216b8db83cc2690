/**
 * Single sign-on with OpenID Connect, end to end in Chromium: a real OpenID provider (the
 * oidc-provider package) on loopback, the gateway discovering it, authorization code with PKCE,
 * state and nonce. Covered: a first sign-in creates the user (just in time) with the role its
 * groups map to, a member gets the mapped team, a user whose groups map to nothing is refused,
 * a forged or foreign state is refused, an expired session sends the browser back to sign-in, and
 * signing out ends the provider's session too.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Provider from 'oidc-provider';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { hasChromium, launchBrowser, screenshot } from './support/browser.js';
import { ensureUiBuilt } from './support/build-ui.js';
import { adminCall } from './support/helpers.js';

const ADMIN_TOKEN = 'admin-token-for-the-sso-browser-test';
const CLIENT_SECRET = 'client-secret-for-the-sso-browser-test-0123456789';
/** The identity provider's accounts and their groups. */
const GROUPS: Record<string, string[]> = {
  alice: ['heimdall-admins', 'staff'],
  bob: ['heimdall-viewers'],
  rita: ['research'],
  eve: ['contractors'],
};

describe.skipIf(!hasChromium)('single sign-on with OpenID Connect', { timeout: 90_000 }, () => {
  let browser: Browser;
  let gateway: TestGateway;
  let idpServer: Server;
  let issuer: string;
  let context: BrowserContext | undefined;

  const api = <T>(method: string, path: string, body?: unknown): Promise<T> => adminCall<T>(gateway, ADMIN_TOKEN, method, path, body);

  beforeAll(async () => {
    await ensureUiBuilt();
    browser = await launchBrowser();
    // The provider's port first (the gateway's config names the issuer), then the gateway (the provider's client names its callback).
    idpServer = createServer();
    await new Promise<void>((resolve) => idpServer.listen(0, '127.0.0.1', resolve));
    const address = idpServer.address();
    issuer = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    gateway = await startGateway({
      env: { HEIMDALL_ADMIN_TOKEN: ADMIN_TOKEN, OIDC_CLIENT_SECRET: CLIENT_SECRET },
      config: {
        auth: {
          oidc: {
            issuer,
            client_id: 'heimdall',
            client_secret: 'env.OIDC_CLIENT_SECRET',
            name: 'Example SSO',
            scopes: ['openid', 'profile', 'email', 'groups'],
            role_claim: 'groups',
            role_map: { 'heimdall-admins': 'admin', 'heimdall-viewers': 'viewer', research: 'member' },
            team_map: { research: 'research' },
            default_role: null,
          },
        },
      },
      logLevel: 'warn',
    });
    const provider = new Provider(issuer, {
      clients: [{
        client_id: 'heimdall',
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${gateway.url}/api/auth/oidc/callback`],
        post_logout_redirect_uris: [`${gateway.url}/`],
        token_endpoint_auth_method: 'client_secret_post',
      }],
      claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email', 'email_verified'], groups: ['groups'] },
      scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
      findAccount: async (_ctx: unknown, id: string) => ({
        accountId: id,
        claims: async () => ({ sub: id, preferred_username: id, name: `${id[0].toUpperCase()}${id.slice(1)} Example`, email: `${id}@example.com`, email_verified: true, groups: GROUPS[id] ?? [] }),
      }),
      features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
      cookies: { keys: ['oidc-provider-cookie-key-for-tests'] },
      pkce: { required: () => true },
    } as ConstructorParameters<typeof Provider>[1]);
    idpServer.on('request', provider.callback());
    await api('POST', '/teams', { name: 'research' });
  }, 120_000);
  afterEach(async () => {
    await context?.close();
    context = undefined;
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await new Promise((resolve) => idpServer?.close(resolve));
  });

  async function fresh(): Promise<Page> {
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    return page;
  }

  /** From the dashboard's sign-in page through the provider's login and consent screens. */
  async function signInAs(page: Page, account: string): Promise<void> {
    await page.goto(`${gateway.url}/`);
    await page.getByRole('link', { name: 'Sign in with Example SSO' }).click();
    await page.waitForURL((url) => url.href.startsWith(issuer));
    await page.locator('input[name="login"]').fill(account);
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    const consent = page.getByRole('button', { name: 'Continue' });
    await Promise.race([consent.waitFor().then(() => consent.click()), page.waitForURL((url) => url.href.startsWith(gateway.url))]);
    await page.waitForURL((url) => url.href.startsWith(gateway.url));
  }

  it('creates the user on first sign-in with the role its groups map to, and the mapped team for a member', async () => {
    const page = await fresh();
    await signInAs(page, 'alice');
    await page.getByTestId('signed-in-as').waitFor();
    expect(await page.getByTestId('signed-in-as').textContent()).toContain('admin');
    await screenshot(page, 'sso-signed-in');
    const users = await api<{ data: Array<{ username: string; role: string; source: string; sso: boolean; team_id: string | null; email: string | null }> }>('GET', '/users');
    expect(users.data.find((user) => user.username === 'alice')).toMatchObject({ role: 'admin', source: 'oidc', sso: true, email: 'alice@example.com' });
    const audit = await api<{ data: Array<{ action: string; actor: string }> }>('GET', '/audit?action=user.create');
    expect(audit.data.some((entry) => entry.actor === 'sso:oidc')).toBe(true);

    await context!.close();
    const second = await fresh();
    await signInAs(second, 'bob');
    await second.getByTestId('signed-in-as').waitFor();
    expect(await second.getByTestId('signed-in-as').textContent()).toContain('viewer');

    await context!.close();
    const third = await fresh();
    await signInAs(third, 'rita');
    await third.getByTestId('signed-in-as').waitFor();
    const teams = await api<{ data: Array<{ id: string; name: string }> }>('GET', '/teams');
    const rita = (await api<{ data: Array<{ username: string; role: string; team_id: string | null }> }>('GET', '/users')).data.find((user) => user.username === 'rita');
    expect(rita).toMatchObject({ role: 'member', team_id: teams.data.find((team) => team.name === 'research')!.id });
  });

  it('refuses a user whose groups map to no role (no default role)', async () => {
    const page = await fresh();
    await signInAs(page, 'eve');
    await page.getByText(/no group of this account maps to a role/).waitFor();
    const users = await api<{ data: Array<{ username: string }> }>('GET', '/users');
    expect(users.data.some((user) => user.username === 'eve')).toBe(false);
  });

  it('refuses a forged state, and a real state brought by another browser', async () => {
    const page = await fresh();
    await page.goto(`${gateway.url}/api/auth/oidc/callback?code=made-up&state=forged-state`);
    await page.getByText(/not started here or has expired/).waitFor();
    expect(page.url()).toContain('sso_error=');
    await screenshot(page, 'sso-refused-state');

    // Browser A starts a sign-in; its state, replayed from browser B, is refused (B has not the state cookie).
    const start = await page.request.get(`${gateway.url}/api/auth/oidc/login`, { maxRedirects: 0 });
    expect(start.status()).toBe(302);
    const state = new URL(start.headers().location).searchParams.get('state')!;
    expect(new URL(start.headers().location).searchParams.get('code_challenge_method')).toBe('S256');
    const other = await browser.newContext();
    const replay = await other.request.get(`${gateway.url}/api/auth/oidc/callback?code=x&state=${encodeURIComponent(state)}`, { maxRedirects: 0 });
    await other.close();
    expect(replay.status()).toBe(303);
    expect(decodeURIComponent(replay.headers().location)).toContain('not started here or has expired');
    expect(replay.headers()['set-cookie'] ?? '').not.toContain('heimdall_session=');
  });

  it('an expired session sends the browser back to sign-in', async () => {
    const page = await fresh();
    await signInAs(page, 'bob');
    await page.getByTestId('signed-in-as').waitFor();
    // The session's end moves into the past (as time passing would); the next call finds it expired.
    const db = new Database(join(gateway.dataDir, 'heimdall.db'));
    const user = db.prepare("SELECT id FROM users WHERE username = 'bob'").get() as { id: string };
    expect(db.prepare('UPDATE sessions SET expires_at = ? WHERE user_id = ?').run(Date.now() - 1000, user.id).changes).toBeGreaterThan(0);
    db.close();
    await page.reload();
    await page.getByRole('link', { name: 'Sign in with Example SSO' }).waitFor();
    const status = await page.evaluate(() => fetch('/api/auth/status').then((response) => response.json()));
    expect(status).toMatchObject({ authenticated: false });
  });

  it('signing out ends the gateway session and goes on to the provider\'s logout', async () => {
    const page = await fresh();
    await signInAs(page, 'alice');
    await page.getByTestId('signed-in-as').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.href.startsWith(`${issuer}/session/end`));
    const status = await (await context!.request.get(`${gateway.url}/api/auth/status`)).json();
    expect(status).toMatchObject({ authenticated: false });
  });
});
