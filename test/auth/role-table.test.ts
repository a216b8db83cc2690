/**
 * The access table on every route: Fastify's route list is walked, every /api route must have an
 * entry in ACCESS_TABLE (a new route without one fails here), and each route is called as each role
 * (admin, operator, viewer, team member, personal token with a read scope, nobody): the server
 * answers 403 admin_role_forbidden (or 401 for nobody) exactly where the table says no.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_TABLE, roleAllows, type AccessLevel } from '../../src/auth/access.js';
import type { Role } from '../../src/store/auth-store.js';
import { startAdminGateway, type AdminGateway } from '../api/helpers.js';
import { ADMIN_TOKEN, apiRoutes, createUser, inject, login } from './support.js';

let gw: AdminGateway;
const cookies: Partial<Record<Role, string>> = {};
let readToken = '';

beforeAll(async () => {
  gw = await startAdminGateway({ env: { HEIMDALL_ADMIN_TOKEN: ADMIN_TOKEN } });
  const team = await inject(gw.app, 'POST', '/api/teams', { bearer: ADMIN_TOKEN, body: { name: 'research' } });
  expect(team.status).toBe(201);
  for (const role of ['admin', 'operator', 'viewer', 'member'] as const) {
    await createUser(gw.app, { username: `${role}-user`, role, ...(role === 'member' ? { team_id: 'research' } : {}) });
    cookies[role] = await login(gw.app, `${role}-user`);
  }
  const token = await inject(gw.app, 'POST', '/api/auth/tokens', { cookie: cookies.operator, body: { name: 'ci', scopes: ['read'] } });
  expect(token.status).toBe(201);
  readToken = token.json.token;
}, 60_000);
afterAll(async () => gw?.close());

/** A concrete URL for a route pattern: every parameter gets a value no record has. */
function urlOf(pattern: string): string {
  return pattern.replace(/:(\w+)/g, 'no-such-$1');
}

function refusedByRole(answer: { status: number; json: any }): boolean {
  return answer.status === 403 && answer.json?.error?.code === 'admin_role_forbidden';
}

describe('the access table', () => {
  it('has an entry for every /api route Fastify knows, and none for a route that does not exist', () => {
    const routes = apiRoutes(gw.app);
    expect(routes.length).toBeGreaterThan(60);
    expect(routes.filter((route) => ACCESS_TABLE[route] === undefined)).toEqual([]);
    expect(Object.keys(ACCESS_TABLE).filter((route) => !routes.includes(route))).toEqual([]);
  });

  it('is enforced by the server on every route for every role', async () => {
    const mismatches: string[] = [];
    for (const route of apiRoutes(gw.app)) {
      const [method, pattern] = route.split(' ');
      const [level] = ACCESS_TABLE[route];
      // Signing out would end the test's sessions; the open routes are checked for nobody below.
      if (level === 'open') continue;
      const body = method === 'GET' || method === 'DELETE' ? undefined : {};
      for (const role of ['admin', 'operator', 'viewer', 'member'] as const) {
        const answer = await inject(gw.app, method, urlOf(pattern), { cookie: cookies[role], body });
        const allowed = roleAllows(level as AccessLevel, role) !== false;
        if (allowed === refusedByRole(answer) || answer.status === 401) mismatches.push(`${role} ${route}: ${answer.status} ${answer.json?.error?.code ?? ''}`);
      }
      // The operator's read-only token: reads as the operator may, no write at all.
      const byToken = await inject(gw.app, method, urlOf(pattern), { bearer: readToken, body });
      const tokenAllowed = roleAllows(level as AccessLevel, 'operator') !== false && method === 'GET' && level !== 'self'
        || (level === 'self' && method === 'GET');
      if (tokenAllowed === refusedByRole(byToken) || byToken.status === 401) mismatches.push(`read token ${route}: ${byToken.status}`);
      const nobody = await inject(gw.app, method, urlOf(pattern), { body });
      if (nobody.status !== 401) mismatches.push(`nobody ${route}: ${nobody.status}`);
    }
    expect(mismatches).toEqual([]);
  }, 120_000);

  it('open routes answer without a sign-in', async () => {
    expect((await inject(gw.app, 'GET', '/api/auth/status')).status).toBe(200);
    expect((await inject(gw.app, 'POST', '/api/auth/login', { body: { username: 'x', password: 'y' } })).status).toBe(401);
  });

  it('says what the issue asks of each role', () => {
    const may = (role: Role, route: string) => roleAllows(ACCESS_TABLE[route][0], role) !== false;
    // operator: providers, routing, keys; no users or settings
    expect(may('operator', 'POST /api/providers')).toBe(true);
    expect(may('operator', 'PATCH /api/routing')).toBe(true);
    expect(may('operator', 'POST /api/virtual-keys')).toBe(true);
    expect(may('operator', 'GET /api/users')).toBe(false);
    expect(may('operator', 'PATCH /api/settings')).toBe(false);
    // viewer: read-only
    expect(Object.entries(ACCESS_TABLE).filter(([route, [level]]) => !route.startsWith('GET ') && level !== 'open' && level !== 'self' && may('viewer', route))).toEqual([]);
    expect(may('viewer', 'GET /api/logs')).toBe(true);
    // member: their team's keys, usage and logs only
    expect(roleAllows(ACCESS_TABLE['GET /api/virtual-keys'][0], 'member')).toBe('team');
    expect(roleAllows(ACCESS_TABLE['GET /api/usage'][0], 'member')).toBe('team');
    expect(roleAllows(ACCESS_TABLE['GET /api/logs'][0], 'member')).toBe('team');
    expect(may('member', 'GET /api/providers')).toBe(false);
    expect(may('member', 'GET /api/audit')).toBe(false);
  });
});
