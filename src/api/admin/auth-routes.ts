/**
 * The sign-in routes: status, password (or admin token) login with lockout, logout, first-admin
 * setup, and the signed-in user's own profile, password and personal API tokens.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ACCESS_TABLE, TOKEN_SCOPES, roleAllows, scopesAllow } from '../../auth/access.js';
import { decoyHash, hashPassword, passwordProblem, verifyPassword, MAX_PASSWORD_LENGTH } from '../../auth/password.js';
import { GatewayError, invalidField } from '../../errors/gateway-error.js';
import type { ApiTokenRecord, UserRecord } from '../../store/auth-store.js';
import { SETUP_STATE_KEY, clientAddress, sessionCookie, type AdminAuth, type Principal } from './auth.js';
import { conflict, notFound, parseBody } from './http.js';

export const usernameSchema = z.string().min(1).max(100).regex(/^[\w.@+-]+$/, 'letters, digits and . _ @ + - only');
const passwordSchema = z.string().min(1).max(MAX_PASSWORD_LENGTH);

const loginBody = z.union([
  z.strictObject({ token: z.string().min(1).max(4096) }),
  z.strictObject({ username: z.string().min(1).max(200), password: passwordSchema }),
]);
const setupBody = z.strictObject({ setup_token: z.string().min(1).max(200), username: usernameSchema, password: passwordSchema });
const passwordBody = z.strictObject({ current_password: passwordSchema, new_password: passwordSchema });
const instant = z.union([z.number().int().positive(), z.string().datetime({ offset: true }).transform((value) => Date.parse(value))]);
const tokenBody = z.strictObject({
  name: z.string().min(1).max(100),
  scopes: z.array(z.enum(TOKEN_SCOPES as [string, ...string[]])).min(1).max(40),
  /** Either an instant or a number of days; neither: 90 days. null: never expires. */
  expires_at: instant.nullable().optional(),
  expires_in_days: z.number().positive().max(3650).optional(),
});

export function userView(user: UserRecord, now: number) {
  return {
    id: user.id,
    username: user.username,
    display_name: user.display_name,
    email: user.email,
    role: user.role,
    team_id: user.team_id,
    view_bodies: user.view_bodies,
    disabled: user.disabled,
    source: user.source,
    sso: user.external_id !== null,
    has_password: user.password_hash !== null,
    locked_until: user.locked_until !== null && user.locked_until > now ? user.locked_until : null,
    last_login_at: user.last_login_at,
    created_at: user.created_at,
    updated_at: user.updated_at,
  };
}

export function tokenView(token: ApiTokenRecord, now: number) {
  return { ...token, expired: token.expires_at !== null && token.expires_at <= now };
}

/** What this caller may do: the table routes they may call, and those of them limited to a member's team. */
function accessOfPrincipal(principal: Principal): { access: string[]; team_only: string[] } {
  const access: string[] = [];
  const teamOnly: string[] = [];
  if (principal.role === null) return { access, team_only: teamOnly };
  for (const [route, [level, area]] of Object.entries(ACCESS_TABLE)) {
    if (level === 'open') continue;
    const verdict = roleAllows(level, principal.role);
    if (verdict === false) continue;
    if (principal.scopes !== undefined && !scopesAllow(principal.scopes, route.slice(0, route.indexOf(' ')), area)) continue;
    access.push(route);
    if (verdict === 'team') teamOnly.push(route);
  }
  return { access, team_only: teamOnly };
}

export interface SsoNames {
  oidc: string | null;
  github: boolean;
}

export interface AuthRouteHooks {
  /** An audit entry for the request's caller, or for `as` (a sign-in: the caller is who just signed in). */
  audit(request: FastifyRequest, action: string, entry?: { target?: string | null; after?: unknown; as?: { actor: string; userId: string | null } }): void;
  sso(): SsoNames;
  /** For a single-sign-on session: the provider's logout URL the browser goes to next. */
  endSessionUrl(request: FastifyRequest, idToken: string | null): Promise<string | undefined>;
}

/** Sets the session cookie and the answer of a successful sign-in. */
export function startSession(request: FastifyRequest, reply: FastifyReply, auth: AdminAuth, secret: string, expiresAt: number): void {
  // Rounded: the milliseconds since the session was made must not turn a 24 h TTL into Max-Age=86399.
  const maxAge = Math.max(1, Math.round((expiresAt - auth.now) / 1000));
  reply.header('set-cookie', sessionCookie(request, secret, maxAge)).header('cache-control', 'no-store');
}

export function registerAuthRoutes(api: FastifyInstance, auth: AdminAuth, hooks: AuthRouteHooks): void {
  const store = auth.store;

  api.get('/auth/status', async (request) => {
    const principal = request.principal;
    const user = principal.user;
    return {
      auth_required: auth.required,
      authenticated: principal.role !== null,
      loopback_only: !auth.required,
      setup_required: auth.setupPending,
      password_login: store.countUsers() > 0,
      token_login: auth.hasAdminToken,
      kind: principal.kind,
      role: principal.role,
      team_id: principal.teamId,
      view_bodies: principal.viewBodies,
      user: user === undefined ? null : userView(user, auth.now),
      sso: hooks.sso(),
      ...accessOfPrincipal(principal),
    };
  });

  api.post('/auth/login', async (request: FastifyRequest, reply: FastifyReply) => {
    const body = parseBody(loginBody, request.body);
    auth.checkFailures(clientAddress(request), false);
    if ('token' in body) {
      if (!auth.hasAdminToken) {
        throw invalidField('token', 'No admin token is configured (HEIMDALL_ADMIN_TOKEN or admin.token): sign in with a username and password.');
      }
      if (!auth.adminTokenMatches(body.token)) {
        auth.recordFailure(request, 'admin login with a wrong token');
        throw new GatewayError('HD_ERR_ADMIN_UNAUTHORIZED', 'The admin token is not valid.', { param: 'token' });
      }
      const { secret, session } = auth.openSession(request, undefined, 'admin_token');
      hooks.audit(request, 'auth.login', { as: { actor: `session:${session.label}`, userId: null } });
      startSession(request, reply, auth, secret, session.expires_at);
      return { auth_required: true, authenticated: true, expires_at: session.expires_at };
    }
    const user = store.getUserByName(body.username);
    const refused = (reason: string): never => {
      auth.recordFailure(request, reason);
      throw new GatewayError('HD_ERR_ADMIN_UNAUTHORIZED', 'The username or password is not right.', { param: 'password' });
    };
    if (user === undefined || user.password_hash === null) {
      // The same scrypt work as a real check: the answer time does not tell which usernames exist.
      await verifyPassword(body.password, await decoyHash());
      return refused(user === undefined ? 'password login for an unknown user' : 'password login for a single-sign-on account');
    }
    const now = auth.now;
    if (user.locked_until !== null && user.locked_until > now) {
      throw new GatewayError('HD_ERR_ADMIN_ACCOUNT_LOCKED', 'This account is locked after repeated wrong passwords; try again later or ask an admin to unlock it.', {
        retryAfter: Math.ceil((user.locked_until - now) / 1000),
      });
    }
    if (!(await verifyPassword(body.password, user.password_hash))) {
      const after = store.recordLoginFailure(user.id, api.configService.config.auth.lockout.maxFailures, api.configService.config.auth.lockout.lockMs);
      if (after?.locked_until !== null && after?.locked_until !== undefined && after.locked_until > now) {
        request.log.warn({ msg: 'account locked after repeated wrong passwords', user: user.username, remote_address: clientAddress(request) });
        hooks.audit(request, 'user.lock', { target: user.username, as: { actor: 'system', userId: user.id } });
      }
      return refused('wrong password');
    }
    if (user.disabled) return refused('password login for a disabled account');
    store.recordLoginSuccess(user.id);
    const { secret, session } = auth.openSession(request, user, 'password');
    hooks.audit(request, 'auth.login', { as: { actor: `user:${user.username}`, userId: user.id } });
    startSession(request, reply, auth, secret, session.expires_at);
    return { auth_required: true, authenticated: true, expires_at: session.expires_at, user: userView(store.getUser(user.id)!, auth.now) };
  });

  api.post('/auth/logout', async (request, reply) => {
    const session = auth.closeSession(request);
    if (session !== undefined && request.principal.kind === 'session') hooks.audit(request, 'auth.logout');
    reply.header('set-cookie', sessionCookie(request, '', 0));
    const endSession = session === undefined ? undefined : await hooks.endSessionUrl(request, session.id_token);
    return { auth_required: auth.required, authenticated: false, ...(endSession === undefined ? {} : { end_session_url: endSession }) };
  });

  api.post('/auth/setup', async (request, reply) => {
    const body = parseBody(setupBody, request.body);
    auth.checkFailures(clientAddress(request), false);
    if (!auth.setupPending) throw conflict('The first admin exists already (or an admin token is set): sign in instead.', 'setup_token');
    if (!auth.checkSetupToken(body.setup_token)) {
      auth.recordFailure(request, 'wrong setup token');
      throw new GatewayError('HD_ERR_ADMIN_UNAUTHORIZED', 'The setup token is not valid: use the one printed when the gateway started.', { param: 'setup_token' });
    }
    const problem = passwordProblem(body.password);
    if (problem !== undefined) throw invalidField('password', `password: ${problem}.`);
    const user = store.createUser({ username: body.username, role: 'admin', password_hash: await hashPassword(body.password), source: 'setup' });
    store.deleteState(SETUP_STATE_KEY);
    store.recordLoginSuccess(user.id);
    const { secret, session } = auth.openSession(request, user, 'setup');
    hooks.audit(request, 'user.create', { target: user.username, after: { role: 'admin', source: 'setup' }, as: { actor: `user:${user.username}`, userId: user.id } });
    startSession(request, reply, auth, secret, session.expires_at);
    reply.code(201);
    return { auth_required: true, authenticated: true, expires_at: session.expires_at, user: userView(user, auth.now) };
  });

  api.get('/auth/me', async (request) => {
    const principal = request.principal;
    const user = principal.user;
    return {
      kind: principal.kind,
      role: principal.role,
      user: user === undefined ? null : userView(user, auth.now),
      sessions: user === undefined ? [] : store.listSessions(user.id).map((session) => sessionView(session, principal)),
    };
  });

  api.post('/auth/password', async (request) => {
    const user = requireUser(request.principal);
    const body = parseBody(passwordBody, request.body);
    if (user.password_hash === null || !(await verifyPassword(body.current_password, user.password_hash))) {
      auth.recordFailure(request, 'password change with a wrong current password');
      throw invalidField('current_password', 'current_password: not the account\'s password.');
    }
    const problem = passwordProblem(body.new_password);
    if (problem !== undefined) throw invalidField('new_password', `new_password: ${problem}.`);
    if (user.source === 'file') throw conflict('This user is declared in the config file (auth.users): change the password there.', 'new_password');
    store.updateUser(user.id, { password_hash: await hashPassword(body.new_password) });
    // Every other session of the account ends: a password change is often a response to a leak.
    for (const session of store.listSessions(user.id)) if (session.id !== request.principal.session?.id) store.deleteSession(session.id);
    hooks.audit(request, 'user.password', { target: user.username });
    return { changed: true };
  });

  api.get('/auth/tokens', async (request) => {
    const user = requireUser(request.principal);
    return { data: store.listTokens(user.id).map((token) => tokenView(token, auth.now)) };
  });

  api.post('/auth/tokens', async (request, reply) => {
    const user = requireUser(request.principal);
    if (request.principal.kind === 'api_token') throw new GatewayError('HD_ERR_ADMIN_ROLE_FORBIDDEN', 'An API token cannot make more API tokens: sign in to make one.');
    const body = parseBody(tokenBody, request.body);
    const now = auth.now;
    const expiresAt = body.expires_at !== undefined ? body.expires_at : now + (body.expires_in_days ?? 90) * 24 * 60 * 60 * 1000;
    if (expiresAt !== null && expiresAt <= now) throw invalidField('expires_at', 'expires_at: must be in the future.');
    if (store.listTokens(user.id).some((token) => token.name === body.name)) throw conflict(`You have a token named "${body.name}" already.`, 'name');
    const { secret, token } = store.createToken({ user_id: user.id, name: body.name, scopes: body.scopes, expires_at: expiresAt });
    hooks.audit(request, 'api_token.create', { target: `${user.username}/${token.name}`, after: { scopes: token.scopes, expires_at: token.expires_at } });
    reply.code(201);
    return { ...tokenView(token, now), token: secret };
  });

  api.delete<{ Params: { id: string } }>('/auth/tokens/:id', async (request) => {
    const user = requireUser(request.principal);
    const token = store.getToken(request.params.id);
    if (token === undefined || token.user_id !== user.id) throw notFound(`You have no API token with id "${request.params.id}".`, 'id');
    store.deleteToken(token.id);
    hooks.audit(request, 'api_token.delete', { target: `${user.username}/${token.name}` });
    return { deleted: true, id: token.id };
  });
}

function requireUser(principal: Principal): UserRecord {
  if (principal.user === undefined) {
    throw new GatewayError('HD_ERR_ADMIN_ROLE_FORBIDDEN', 'This needs a user account: the admin token and loopback access have no profile, password or personal tokens.');
  }
  return principal.user;
}

export function sessionView(session: { label: string; user_id: string | null; method: string; address: string | null; user_agent: string | null; created_at: number; last_seen_at: number; expires_at: number }, principal?: Principal) {
  return {
    id: session.label,
    user_id: session.user_id,
    method: session.method,
    address: session.address,
    user_agent: session.user_agent,
    created_at: session.created_at,
    last_seen_at: session.last_seen_at,
    expires_at: session.expires_at,
    current: principal?.session?.label === session.label,
  };
}
