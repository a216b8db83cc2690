/**
 * Accounts end to end over the real app: the first admin from the one-time setup token, password
 * sign-in with lockout, sessions in the store (survive a restart, expire, revoked by an admin,
 * cookie flags), personal API tokens (shown once, hashed at rest, scopes, expiry), team members
 * limited to their team, hidden bodies for viewers, and an audit log that names the user and the
 * source address and filters by user.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { startAdminGateway, tempDir, type AdminGateway } from '../api/helpers.js';
import { ADMIN_TOKEN, PASSWORD, REMOTE, createUser, inject, login } from './support.js';

const open: AdminGateway[] = [];
const dirs: Array<{ remove(): void }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((gw) => gw.close()));
  for (const dir of dirs.splice(0)) dir.remove();
});

async function gateway(options: Parameters<typeof startAdminGateway>[0] = {}): Promise<AdminGateway> {
  const gw = await startAdminGateway(options);
  open.push(gw);
  return gw;
}

describe('the first admin', () => {
  it('is made with the one-time setup token; after that the token is refused and sign-in is required everywhere', async () => {
    const gw = await gateway();
    expect(gw.app.adminAuth.setupPending).toBe(true);
    const setupToken = gw.app.adminAuth.issueSetupToken();
    // Another machine: refused until the first admin exists, but the status says setup is due.
    expect((await inject(gw.app, 'GET', '/api/providers')).status).toBe(403);
    expect((await inject(gw.app, 'GET', '/api/auth/status')).json).toMatchObject({ setup_required: true, authenticated: false });

    const wrong = await inject(gw.app, 'POST', '/api/auth/setup', { body: { setup_token: 'hds_wrong', username: 'root', password: PASSWORD } });
    expect(wrong.status).toBe(401);
    const weak = await inject(gw.app, 'POST', '/api/auth/setup', { body: { setup_token: setupToken, username: 'root', password: 'short' } });
    expect(weak.status).toBe(400);
    expect(weak.json.error.param).toBe('password');

    const setup = await inject(gw.app, 'POST', '/api/auth/setup', { body: { setup_token: setupToken, username: 'root', password: PASSWORD } });
    expect(setup.status).toBe(201);
    expect(setup.json.user).toMatchObject({ username: 'root', role: 'admin' });
    const cookie = String(setup.headers['set-cookie']).split(';')[0];
    expect((await inject(gw.app, 'GET', '/api/users', { cookie })).json.data.map((user: { username: string }) => user.username)).toEqual(['root']);

    const again = await inject(gw.app, 'POST', '/api/auth/setup', { body: { setup_token: setupToken, username: 'root2', password: PASSWORD } });
    expect(again.status).toBe(409);
    // Loopback is no longer open once a user exists.
    expect((await inject(gw.app, 'GET', '/api/providers', { remote: '127.0.0.1' })).status).toBe(401);
    // The stored password is an scrypt hash, never the password.
    const row = new Database(join(gw.dataDir, 'heimdall.db'), { readonly: true }).prepare('SELECT password_hash FROM users').get() as { password_hash: string };
    expect(row.password_hash).toMatch(/^scrypt\$16\$8\$1\$/);
    expect(row.password_hash).not.toContain(PASSWORD);
  });

  it('HEIMDALL_ADMIN_TOKEN keeps working for automation: it creates users over the API', async () => {
    const gw = await gateway({ env: { HEIMDALL_ADMIN_TOKEN: ADMIN_TOKEN } });
    expect(gw.app.adminAuth.setupPending).toBe(false);
    const user = await createUser(gw.app, { username: 'ops', role: 'operator' });
    expect(user).toMatchObject({ username: 'ops', role: 'operator', has_password: true });
    expect((await inject(gw.app, 'GET', '/api/providers', { bearer: ADMIN_TOKEN })).status).toBe(200);
  });

  it('two requests creating the same user at once: one is made (201), the other is a conflict (409), never a 500', async () => {
    const gw = await gateway({ env: { HEIMDALL_ADMIN_TOKEN: ADMIN_TOKEN } });
    const body = { username: 'twin', role: 'viewer', password: PASSWORD };
    // Both pass the name check while their passwords are hashed; the second insert meets the first.
    const answers = await Promise.all([1, 2].map(() => inject(gw.app, 'POST', '/api/users', { bearer: ADMIN_TOKEN, body })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409]);
    const refused = answers.find((answer) => answer.status === 409)!;
    expect(refused.json).toMatchObject({ error: { param: 'username' } });
    expect(((await inject(gw.app, 'GET', '/api/users', { bearer: ADMIN_TOKEN })).json as { data: Array<{ username: string }> }).data.filter((user) => user.username === 'twin')).toHaveLength(1);
  });

  it('users declared in the config file are created at start, and changed only there', async () => {
    const gw = await gateway({
      env: { ALICE_PASSWORD: PASSWORD },
      config: { auth: { users: [{ username: 'alice', password: 'env.ALICE_PASSWORD', role: 'viewer' }] } },
    });
    const cookie = await login(gw.app, 'alice');
    const me = await inject(gw.app, 'GET', '/api/auth/me', { cookie });
    expect(me.json.user).toMatchObject({ username: 'alice', role: 'viewer', source: 'file' });
    expect(gw.logText()).not.toContain(PASSWORD);
  });
});

describe('password sign-in', () => {
  it('locks an account after repeated wrong passwords, says for how long, and an admin can unlock it', async () => {
    const gw = await gateway({ env: { HEIMDALL_ADMIN_TOKEN: ADMIN_TOKEN }, config: { auth: { lockout: { max_failures: 3, lock_minutes: 10 } } } });
    const user = await createUser(gw.app, { username: 'bob', role: 'viewer' });
    for (let attempt = 0; attempt < 3; attempt++) {
      const wrong = await inject(gw.app, 'POST', '/api/auth/login', { body: { username: 'bob', password: 'not the password' } });
      expect(wrong.status).toBe(401);
      expect(wrong.json.error.message).toBe('The username or password is not right.');
    }
    // Locked: even the right password is refused, with Retry-After.
    const locked = await inject(gw.app, 'POST', '/api/auth/login', { body: { username: 'bob', password: PASSWORD } });
    expect(locked.status).toBe(429);
    expect(locked.json.error.code).toBe('admin_account_locked');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(500);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(600);
    expect((await inject(gw.app, 'GET', `/api/users/${user.id}`, { bearer: ADMIN_TOKEN })).json.locked_until).toBeGreaterThan(Date.now());
    // An unknown user gets the same answer as a wrong password (no user enumeration).
    const unknown = await inject(gw.app, 'POST', '/api/auth/login', { body: { username: 'nobody', password: PASSWORD }, remote: '192.0.2.99' });
    expect(unknown.status).toBe(401);
    expect(unknown.json.error.message).toBe('The username or password is not right.');

    const unlock = await inject(gw.app, 'PATCH', `/api/users/${user.id}`, { bearer: ADMIN_TOKEN, body: { unlock: true } });
    expect(unlock.status).toBe(200);
    expect(unlock.json.locked_until).toBeNull();
    await login(gw.app, 'bob', PASSWORD, '192.0.2.98');
    const audit = await inject(gw.app, 'GET', '/api/audit?action=user.lock', { bearer: ADMIN_TOKEN });
    expect(audit.json.data[0]).toMatchObject({ target: 'bob', address: REMOTE, user_id: user.id });
  });

  it('a disabled user cannot sign in and loses their sessions; the last admin cannot be demoted', async () => {
    const gw = await gateway();
    const setupToken = gw.app.adminAuth.issueSetupToken();
    const setup = await inject(gw.app, 'POST', '/api/auth/setup', { body: { setup_token: setupToken, username: 'root', password: PASSWORD } });
    const admin = String(setup.headers['set-cookie']).split(';')[0];
    const demote = await inject(gw.app, 'PATCH', `/api/users/${setup.json.user.id}`, { cookie: admin, body: { role: 'viewer' } });
    expect(demote.status).toBe(409);
    const carol = (await inject(gw.app, 'POST', '/api/users', { cookie: admin, body: { username: 'carol', role: 'operator', password: PASSWORD } })).json;
    const session = await login(gw.app, 'carol');
    expect((await inject(gw.app, 'GET', '/api/providers', { cookie: session })).status).toBe(200);
    expect((await inject(gw.app, 'PATCH', `/api/users/${carol.id}`, { cookie: admin, body: { disabled: true } })).status).toBe(200);
    expect((await inject(gw.app, 'GET', '/api/providers', { cookie: session })).status).toBe(401);
    expect((await inject(gw.app, 'POST', '/api/auth/login', { body: { username: 'carol', password: PASSWORD } })).status).toBe(401);
  });
});

describe('sessions', () => {
  it('are in the store: they survive a restart, an admin can revoke them, and they expire', async () => {
    const data = tempDir();
    dirs.push(data);
    const env = { HEIMDALL_ADMIN_TOKEN: ADMIN_TOKEN };
    let gw = await gateway({ env, dataDir: data.dir, config: { admin: { session_ttl_hours: 0.001 } } });
    await createUser(gw.app, { username: 'dave', role: 'viewer' });
    const login1 = await inject(gw.app, 'POST', '/api/auth/login', { body: { username: 'dave', password: PASSWORD } });
    const setCookie = String(login1.headers['set-cookie']);
    expect(setCookie).toMatch(/^heimdall_session=[\w-]{43}; Path=\/api; HttpOnly; SameSite=Lax; Max-Age=4$/);
    const shortCookie = setCookie.split(';')[0];
    await gw.close();
    open.splice(open.indexOf(gw), 1);

    gw = await gateway({ env, dataDir: data.dir });
    const cookie = await login(gw.app, 'dave');
    // A restart kept the sessions table: the new process knows the cookie.
    await gw.close();
    open.splice(open.indexOf(gw), 1);
    gw = await gateway({ env, dataDir: data.dir });
    expect((await inject(gw.app, 'GET', '/api/auth/me', { cookie })).json.user.username).toBe('dave');
    // The short session (3.6 s) has expired by now or soon.
    await expect.poll(async () => (await inject(gw.app, 'GET', '/api/auth/me', { cookie: shortCookie })).status, { timeout: 15_000, interval: 500 }).toBe(401);

    const sessions = await inject(gw.app, 'GET', '/api/sessions', { bearer: ADMIN_TOKEN });
    const mine = sessions.json.data.find((session: { username: string }) => session.username === 'dave');
    expect(mine).toMatchObject({ method: 'password', address: REMOTE });
    expect(JSON.stringify(sessions.json)).not.toContain(cookie.split('=')[1]);
    expect((await inject(gw.app, 'DELETE', `/api/sessions/${mine.id}`, { bearer: ADMIN_TOKEN })).status).toBe(200);
    expect((await inject(gw.app, 'GET', '/api/auth/me', { cookie })).status).toBe(401);
    // The cookie's secret is not in the database, only its digest.
    expect(readFileSync(join(data.dir, 'heimdall.db')).includes(cookie.split('=')[1])).toBe(false);
  }, 60_000);

  it('are Secure when the page is served over TLS (a TLS-terminating proxy in front: the browser\'s https Origin)', async () => {
    const gw = await gateway({ env: { HEIMDALL_ADMIN_TOKEN: ADMIN_TOKEN } });
    const overTls = await gw.app.inject({
      method: 'POST', url: '/api/auth/login', remoteAddress: REMOTE,
      headers: { 'content-type': 'application/json', host: 'gateway.example', origin: 'https://gateway.example' }, payload: JSON.stringify({ token: ADMIN_TOKEN }),
    });
    expect(overTls.statusCode).toBe(200);
    expect(String(overTls.headers['set-cookie'])).toMatch(/; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/);
    const plain = await inject(gw.app, 'POST', '/api/auth/login', { body: { token: ADMIN_TOKEN } });
    expect(String(plain.headers['set-cookie'])).not.toContain('Secure');
  });
});

describe('personal API tokens', () => {
  it('are shown once, kept as a digest, limited by scopes and expiry, and revocable', async () => {
    const gw = await gateway({ env: { HEIMDALL_ADMIN_TOKEN: ADMIN_TOKEN } });
    await createUser(gw.app, { username: 'erin', role: 'operator' });
    const cookie = await login(gw.app, 'erin');
    const made = await inject(gw.app, 'POST', '/api/auth/tokens', { cookie, body: { name: 'ci', scopes: ['providers:read', 'routing:write'], expires_in_days: 30 } });
    expect(made.status).toBe(201);
    const secret: string = made.json.token;
    expect(secret).toMatch(/^hdp_[\w-]{43}$/);
    expect(made.json.expires_at).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const listed = await inject(gw.app, 'GET', '/api/auth/tokens', { cookie });
    expect(listed.json.data).toHaveLength(1);
    expect(JSON.stringify(listed.json)).not.toContain(secret);
    const db = new Database(join(gw.dataDir, 'heimdall.db'), { readonly: true });
    expect(JSON.stringify(db.prepare('SELECT * FROM api_tokens').all())).not.toContain(secret);
    db.close();

    expect((await inject(gw.app, 'GET', '/api/providers', { bearer: secret })).status).toBe(200);
    expect((await inject(gw.app, 'PUT', '/api/routing/aliases/fast', { bearer: secret, body: { target: 'openai/gpt-4o-mini' } })).status).toBe(200);
    const outOfScope = await inject(gw.app, 'GET', '/api/logs', { bearer: secret });
    expect(outOfScope.status).toBe(403);
    expect(outOfScope.json.error.code).toBe('admin_role_forbidden');
    // The token's change is in the audit log under the token and its user.
    const audit = await inject(gw.app, 'GET', '/api/audit?action=alias.set', { cookie });
    expect(audit.json.data[0]).toMatchObject({ actor: 'user:erin/token:ci', address: REMOTE });

    const past = await inject(gw.app, 'POST', '/api/auth/tokens', { cookie, body: { name: 'old', scopes: ['read'], expires_at: Date.now() - 1000 } });
    expect(past.status).toBe(400);
    const revoke = await inject(gw.app, 'DELETE', `/api/auth/tokens/${made.json.id}`, { cookie });
    expect(revoke.status).toBe(200);
    expect((await inject(gw.app, 'GET', '/api/providers', { bearer: secret })).status).toBe(401);
  });
});

describe('team members and viewers', () => {
  it('a member sees and manages only their team\'s virtual keys; other teams\' keys do not exist for them', async () => {
    const gw = await gateway({ env: { HEIMDALL_ADMIN_TOKEN: ADMIN_TOKEN } });
    const research = (await inject(gw.app, 'POST', '/api/teams', { bearer: ADMIN_TOKEN, body: { name: 'research' } })).json;
    const sales = (await inject(gw.app, 'POST', '/api/teams', { bearer: ADMIN_TOKEN, body: { name: 'sales' } })).json;
    const salesKey = (await inject(gw.app, 'POST', '/api/virtual-keys', { bearer: ADMIN_TOKEN, body: { name: 'sales-bot', team_id: sales.id } })).json;
    await createUser(gw.app, { username: 'mia', role: 'member', team_id: 'research' });
    const cookie = await login(gw.app, 'mia');

    const made = await inject(gw.app, 'POST', '/api/virtual-keys', { cookie, body: { name: 'notebook' } });
    expect(made.status).toBe(201);
    expect(made.json.team_id).toBe(research.id);
    const elsewhere = await inject(gw.app, 'POST', '/api/virtual-keys', { cookie, body: { name: 'sneaky', team_id: sales.id } });
    expect(elsewhere.status).toBe(403);
    const list = await inject(gw.app, 'GET', '/api/virtual-keys', { cookie });
    expect(list.json.data.map((key: { name: string }) => key.name)).toEqual(['notebook']);
    expect((await inject(gw.app, 'GET', `/api/virtual-keys/${salesKey.id}`, { cookie })).status).toBe(404);
    expect((await inject(gw.app, 'POST', `/api/virtual-keys/${salesKey.id}/revoke`, { cookie })).status).toBe(404);
    expect((await inject(gw.app, 'GET', '/api/teams', { cookie })).json.data.map((team: { name: string }) => team.name)).toEqual(['research']);
    expect((await inject(gw.app, 'GET', `/api/usage?team=${sales.id}`, { cookie })).status).toBe(403);
    expect((await inject(gw.app, 'GET', '/api/usage', { cookie })).status).toBe(200);
    expect((await inject(gw.app, 'GET', '/api/providers', { cookie })).status).toBe(403);
  });
});

describe('the audit log', () => {
  it('names the acting user and source address of every change, and filters by user', async () => {
    const gw = await gateway({ env: { HEIMDALL_ADMIN_TOKEN: ADMIN_TOKEN } });
    const frank = await createUser(gw.app, { username: 'frank', role: 'operator' });
    const grace = await createUser(gw.app, { username: 'grace', role: 'operator' });
    const frankCookie = await login(gw.app, 'frank', PASSWORD, '198.51.100.7');
    const graceCookie = await login(gw.app, 'grace', PASSWORD, '198.51.100.8');
    expect((await inject(gw.app, 'PUT', '/api/routing/aliases/a1', { cookie: frankCookie, body: { target: 'openai/gpt-4o' }, remote: '198.51.100.7' })).status).toBe(200);
    expect((await inject(gw.app, 'POST', '/api/virtual-keys', { cookie: graceCookie, body: { name: 'k1' }, remote: '198.51.100.8' })).status).toBe(201);
    expect((await inject(gw.app, 'POST', '/api/providers', { cookie: frankCookie, body: { name: 'extra', type: 'openai', keys: [] }, remote: '198.51.100.7' })).status).toBeLessThan(500);

    const byFrank = await inject(gw.app, 'GET', `/api/audit?user_id=${frank.id}`, { bearer: ADMIN_TOKEN });
    expect(byFrank.json.data.length).toBeGreaterThanOrEqual(2);
    for (const entry of byFrank.json.data) expect(entry).toMatchObject({ user_id: frank.id, address: '198.51.100.7' });
    expect(byFrank.json.data.map((entry: { action: string }) => entry.action)).toContain('alias.set');
    const byGrace = await inject(gw.app, 'GET', `/api/audit?user_id=${grace.id}`, { bearer: ADMIN_TOKEN });
    const keyEntry = byGrace.json.data.find((entry: { action: string }) => entry.action.startsWith('virtual_key'));
    expect(keyEntry).toMatchObject({ actor: 'user:grace', user_id: grace.id, address: '198.51.100.8' });
  });
});
