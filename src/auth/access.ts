/**
 * Who may call which management API route: one table, route × role. The guard looks every call up
 * here before its handler runs; a route missing from the table is refused to everyone (and a test
 * walks Fastify's route list so a new route without an entry fails).
 *
 * Levels:
 *   open          no sign-in needed (the sign-in routes themselves)
 *   self          any signed-in user (their own profile, sessions, personal tokens)
 *   read          admin, operator, viewer
 *   read+team     admin, operator, viewer; a member too, limited to their team's records
 *   operate       admin, operator
 *   operate+team  admin, operator; a member too, limited to their team's records
 *   admin         admin only (users, sessions of others, settings)
 *
 * A personal API token narrows its user's role further by scope: "read" and "write" cover every
 * area, "<area>:read" and "<area>:write" one area; a GET needs a read or write scope, anything else
 * a write scope.
 */
import type { Role } from '../store/auth-store.js';

export type AccessLevel = 'open' | 'self' | 'read' | 'read+team' | 'operate' | 'operate+team' | 'admin';
export type AccessArea =
  | 'auth' | 'account' | 'users' | 'providers' | 'routing' | 'settings' | 'logs' | 'audit' | 'keys' | 'teams' | 'customers' | 'usage' | 'pricing'
  | 'cache' | 'plugins' | 'cluster' | 'mcp';

export const AREAS: readonly AccessArea[] = [
  'auth', 'account', 'users', 'providers', 'routing', 'settings', 'logs', 'audit', 'keys', 'teams', 'customers', 'usage', 'pricing',
  'cache', 'plugins', 'cluster', 'mcp',
];

/** `METHOD /api/path` (Fastify's route pattern) -> [level, area]. */
export const ACCESS_TABLE: Readonly<Record<string, readonly [AccessLevel, AccessArea]>> = {
  'GET /api/auth/status': ['open', 'auth'],
  'POST /api/auth/login': ['open', 'auth'],
  'POST /api/auth/logout': ['open', 'auth'],
  'POST /api/auth/setup': ['open', 'auth'],
  'GET /api/auth/oidc/login': ['open', 'auth'],
  'GET /api/auth/oidc/callback': ['open', 'auth'],
  'GET /api/auth/github/login': ['open', 'auth'],
  'GET /api/auth/github/callback': ['open', 'auth'],

  'GET /api/auth/me': ['self', 'account'],
  'POST /api/auth/password': ['self', 'account'],
  'GET /api/auth/tokens': ['self', 'account'],
  'POST /api/auth/tokens': ['self', 'account'],
  'DELETE /api/auth/tokens/:id': ['self', 'account'],

  'GET /api/users': ['admin', 'users'],
  'POST /api/users': ['admin', 'users'],
  'GET /api/users/:id': ['admin', 'users'],
  'PATCH /api/users/:id': ['admin', 'users'],
  'DELETE /api/users/:id': ['admin', 'users'],
  'GET /api/sessions': ['admin', 'users'],
  'DELETE /api/sessions/:id': ['admin', 'users'],
  'GET /api/tokens': ['admin', 'users'],
  'DELETE /api/tokens/:id': ['admin', 'users'],

  'GET /api/provider-types': ['read', 'providers'],
  'GET /api/providers': ['read', 'providers'],
  'GET /api/providers/:name': ['read', 'providers'],
  'POST /api/providers': ['operate', 'providers'],
  'PATCH /api/providers/:name': ['operate', 'providers'],
  'DELETE /api/providers/:name': ['operate', 'providers'],
  'POST /api/providers/:name/keys': ['operate', 'providers'],
  'PATCH /api/providers/:name/keys/:key_id': ['operate', 'providers'],
  'DELETE /api/providers/:name/keys/:key_id': ['operate', 'providers'],
  'POST /api/providers/:name/test': ['operate', 'providers'],

  'GET /api/routing': ['read', 'routing'],
  'PATCH /api/routing': ['operate', 'routing'],
  'GET /api/routing/health': ['read', 'routing'],
  'PUT /api/routing/aliases/:alias': ['operate', 'routing'],
  'DELETE /api/routing/aliases/:alias': ['operate', 'routing'],
  'PUT /api/routing/fallbacks/:model': ['operate', 'routing'],
  'DELETE /api/routing/fallbacks/:model': ['operate', 'routing'],
  'GET /api/routing/model-groups': ['read', 'routing'],
  'GET /api/routing/model-groups/:name': ['read', 'routing'],
  'POST /api/routing/model-groups': ['operate', 'routing'],
  'PATCH /api/routing/model-groups/:name': ['operate', 'routing'],
  'DELETE /api/routing/model-groups/:name': ['operate', 'routing'],

  'GET /api/settings': ['read', 'settings'],
  'PATCH /api/settings': ['admin', 'settings'],
  'GET /api/config': ['read', 'settings'],

  'GET /api/logs': ['read+team', 'logs'],
  'GET /api/logs/stats': ['read+team', 'logs'],
  'GET /api/logs/:id': ['read+team', 'logs'],
  'GET /api/audit': ['read', 'audit'],
  // Batch jobs made through the gateway: ids, status, counts and cost (no bodies).
  'GET /api/batches': ['read', 'logs'],

  'GET /api/virtual-keys': ['read+team', 'keys'],
  'POST /api/virtual-keys': ['operate+team', 'keys'],
  'GET /api/virtual-keys/:id': ['read+team', 'keys'],
  'PATCH /api/virtual-keys/:id': ['operate+team', 'keys'],
  'POST /api/virtual-keys/:id/rotate': ['operate+team', 'keys'],
  'POST /api/virtual-keys/:id/revoke': ['operate+team', 'keys'],
  'DELETE /api/virtual-keys/:id': ['operate+team', 'keys'],

  'GET /api/teams': ['read+team', 'teams'],
  'POST /api/teams': ['operate', 'teams'],
  'GET /api/teams/:id': ['read+team', 'teams'],
  'PATCH /api/teams/:id': ['operate', 'teams'],
  'DELETE /api/teams/:id': ['operate', 'teams'],
  'GET /api/customers': ['read', 'customers'],
  'POST /api/customers': ['operate', 'customers'],
  'GET /api/customers/:id': ['read', 'customers'],
  'PATCH /api/customers/:id': ['operate', 'customers'],
  'DELETE /api/customers/:id': ['operate', 'customers'],
  'GET /api/usage': ['read+team', 'usage'],
  'GET /api/pricing': ['read+team', 'pricing'],

  // The cache's statistics are counts; its shadow review holds prompts and answers (bodies).
  'GET /api/cache/stats': ['read', 'cache'],
  'GET /api/cache/shadow': ['operate', 'cache'],
  'DELETE /api/cache': ['operate', 'cache'],
  'DELETE /api/cache/shadow': ['operate', 'cache'],

  // A plugin is code the gateway imports and runs: only an admin may change the list.
  'GET /api/plugins': ['read', 'plugins'],
  'PUT /api/plugins': ['admin', 'plugins'],
  'DELETE /api/plugins': ['admin', 'plugins'],

  'GET /api/cluster': ['read', 'cluster'],

  'GET /api/mcp/servers': ['read', 'mcp'],
  'GET /api/mcp/servers/:name': ['read', 'mcp'],
  'POST /api/mcp/servers': ['operate', 'mcp'],
  'PATCH /api/mcp/servers/:name': ['operate', 'mcp'],
  'DELETE /api/mcp/servers/:name': ['operate', 'mcp'],
  'POST /api/mcp/servers/:name/restart': ['operate', 'mcp'],
  'POST /api/mcp/servers/:name/oauth/authorize': ['operate', 'mcp'],
  'DELETE /api/mcp/servers/:name/oauth': ['operate', 'mcp'],
  'GET /api/mcp/oauth/callback': ['operate', 'mcp'],
  'GET /api/mcp/calls': ['read', 'mcp'],
};

/** What each level lets a role do: true, 'team' (a member, limited to their team) or false. */
const LEVEL_ROLES: Record<AccessLevel, Record<Role, boolean | 'team'>> = {
  open: { admin: true, operator: true, viewer: true, member: true },
  self: { admin: true, operator: true, viewer: true, member: true },
  read: { admin: true, operator: true, viewer: true, member: false },
  'read+team': { admin: true, operator: true, viewer: true, member: 'team' },
  operate: { admin: true, operator: true, viewer: false, member: false },
  'operate+team': { admin: true, operator: true, viewer: false, member: 'team' },
  admin: { admin: true, operator: false, viewer: false, member: false },
};

export function routeKey(method: string, url: string): string {
  return `${method} ${url}`;
}

export function accessOf(method: string, url: string): readonly [AccessLevel, AccessArea] | undefined {
  return ACCESS_TABLE[routeKey(method === 'HEAD' ? 'GET' : method, url)];
}

/** The role's verdict on a level: true, 'team' (allowed within the member's team) or false. */
export function roleAllows(level: AccessLevel, role: Role): boolean | 'team' {
  return LEVEL_ROLES[level][role];
}

/** Scopes a personal API token may carry. */
export const TOKEN_SCOPES: readonly string[] = ['read', 'write', ...AREAS.filter((area) => area !== 'auth').flatMap((area) => [`${area}:read`, `${area}:write`])];

/** True when a token's scopes cover a call of `method` to a route of `area`. */
export function scopesAllow(scopes: readonly string[], method: string, area: AccessArea): boolean {
  const reading = method === 'GET' || method === 'HEAD';
  if (scopes.includes('write') || scopes.includes(`${area}:write`)) return true;
  return reading && (scopes.includes('read') || scopes.includes(`${area}:read`));
}
