/**
 * Sign-in with GitHub's OAuth against a loopback stand-in for github.com and api.github.com that
 * follows GitHub's documented wire format (authorize redirect, form-encoded token exchange with
 * PKCE, /user, /user/orgs, /user/teams) and refuses what GitHub refuses (wrong secret, wrong
 * verifier, reused code). The browser's redirects are followed by hand, cookies included.
 * @see https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminGateway, type AdminGateway } from '../api/helpers.js';

const SECRET = 'github-client-secret-for-tests-abcdef';
let github: Server;
let base = '';
const codes = new Map<string, { challenge: string; redirect: string }>();
let teamsOfUser: Array<{ slug: string; organization: { login: string } }> = [];

beforeAll(async () => {
  github = createServer((request, response) => {
    const url = new URL(request.url ?? '/', base);
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (url.pathname === '/login/oauth/authorize') {
      // The user approves at once: back to the app with a code bound to the PKCE challenge.
      const code = `code-${codes.size + 1}`;
      codes.set(code, { challenge: url.searchParams.get('code_challenge') ?? '', redirect: url.searchParams.get('redirect_uri') ?? '' });
      response.writeHead(302, { location: `${url.searchParams.get('redirect_uri')}?code=${code}&state=${encodeURIComponent(url.searchParams.get('state') ?? '')}` });
      response.end();
      return;
    }
    if (url.pathname === '/login/oauth/access_token' && request.method === 'POST') {
      let text = '';
      request.on('data', (chunk) => (text += chunk));
      request.on('end', () => {
        const form = new URLSearchParams(text);
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
        if (form.get('client_secret') !== SECRET) return json(200, { error: 'incorrect_client_credentials' });
        if (grant === undefined || grant.challenge !== verifier || grant.redirect !== form.get('redirect_uri')) return json(200, { error: 'bad_verification_code' });
        json(200, { access_token: 'gho_test_token', token_type: 'bearer', scope: 'read:org,read:user,user:email' });
      });
      return;
    }
    if (request.headers.authorization !== 'Bearer gho_test_token') return json(401, { message: 'Bad credentials' });
    if (url.pathname === '/api/user') return json(200, { id: 583231, login: 'octocat', name: 'The Octocat', email: 'octocat@example.com' });
    if (url.pathname === '/api/user/orgs') return json(200, [{ login: 'acme' }]);
    if (url.pathname === '/api/user/teams') return json(200, teamsOfUser);
    json(404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => github.listen(0, '127.0.0.1', resolve));
  const address = github.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});
afterAll(async () => {
  await new Promise((resolve) => github.close(resolve));
});

async function gateway(extra: Record<string, unknown> = {}): Promise<AdminGateway> {
  return startAdminGateway({
    env: { HEIMDALL_ADMIN_TOKEN: 'admin-token-for-github-tests-12345', GITHUB_SECRET: SECRET },
    config: { auth: { github: { client_id: 'Iv1.test', client_secret: 'env.GITHUB_SECRET', base_url: base, api_url: `${base}/api`, role_map: { 'acme/platform': 'operator' }, default_role: 'viewer', ...extra } } },
  });
}

/** Follows the sign-in as a browser would; returns the last redirect's location and the session cookie, if any. */
async function signIn(gw: AdminGateway): Promise<{ location: string; cookie: string | undefined }> {
  const start = await fetch(`${gw.url}/api/auth/github/login`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const flow = start.headers.getSetCookie().find((cookie) => cookie.startsWith('heimdall_sso='))!.split(';')[0];
  const authorize = new URL(start.headers.get('location')!);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorize.searchParams.get('scope')).toBe('read:user user:email read:org');
  const approved = await fetch(authorize, { redirect: 'manual' });
  const callback = await fetch(approved.headers.get('location')!, { redirect: 'manual', headers: { cookie: flow } });
  expect(callback.status).toBe(303);
  const session = callback.headers.getSetCookie().find((cookie) => cookie.startsWith('heimdall_session='));
  return { location: decodeURIComponent(callback.headers.get('location')!), cookie: session?.split(';')[0] };
}

describe('sign-in with GitHub', () => {
  it('creates the user from the GitHub account, with the role its team maps to', async () => {
    const gw = await gateway();
    try {
      teamsOfUser = [{ slug: 'platform', organization: { login: 'acme' } }];
      const { location, cookie } = await signIn(gw);
      expect(location).toBe('/');
      const me = await fetch(`${gw.url}/api/auth/me`, { headers: { cookie: cookie! } }).then((response) => response.json() as Promise<{ user: Record<string, unknown> }>);
      expect(me.user).toMatchObject({ username: 'octocat', role: 'operator', source: 'github', display_name: 'The Octocat', email: 'octocat@example.com' });
      // Out of the mapped team: the next sign-in gets the default role, not the stale one.
      teamsOfUser = [];
      const again = await signIn(gw);
      const later = await fetch(`${gw.url}/api/auth/me`, { headers: { cookie: again.cookie! } }).then((response) => response.json() as Promise<{ user: Record<string, unknown> }>);
      expect(later.user.role).toBe('viewer');
      expect(gw.logText()).not.toContain('gho_test_token');
      expect(gw.logText()).not.toContain(SECRET);
    } finally {
      await gw.close();
    }
  });

  it('refuses an account outside allowed_orgs, and a wrong client secret', async () => {
    const outside = await gateway({ allowed_orgs: ['other-org'] });
    try {
      const { location, cookie } = await signIn(outside);
      expect(cookie).toBeUndefined();
      expect(location).toContain('in none of the allowed organisations');
    } finally {
      await outside.close();
    }
    const wrongSecret = await startAdminGateway({
      env: { GITHUB_SECRET: 'not-the-secret' },
      config: { auth: { github: { client_id: 'Iv1.test', client_secret: 'env.GITHUB_SECRET', base_url: base, api_url: `${base}/api` } } },
    });
    try {
      const { location, cookie } = await signIn(wrongSecret);
      expect(cookie).toBeUndefined();
      expect(location).toMatch(/^\/\?sso_error=Single sign-on failed/);
      expect(wrongSecret.logText()).not.toContain('not-the-secret');
    } finally {
      await wrongSecret.close();
    }
  });
});
