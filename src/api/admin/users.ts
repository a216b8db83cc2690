/**
 * /api/users (admin): list, create, read, change (role, team, password, disabled, unlock), delete;
 * /api/sessions: every signed-in session, each revocable; /api/tokens: every personal API token,
 * each revocable. Users declared in the config file are changed there. The last active admin
 * cannot be removed, disabled or demoted.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { hashPassword, passwordProblem, MAX_PASSWORD_LENGTH } from '../../auth/password.js';
import { invalidField } from '../../errors/gateway-error.js';
import type { Governance } from '../../governance/governance.js';
import { ROLES, type Role, type UserRecord } from '../../store/auth-store.js';
import type { AdminAuth } from './auth.js';
import { sessionView, tokenView, usernameSchema, userView, type AuthRouteHooks } from './auth-routes.js';
import { conflict, notFound, parseBody } from './http.js';
import { isUniqueViolation } from '../../store/config-rows.js';

const roleSchema = z.enum(ROLES as [Role, ...Role[]]);
const fields = {
  password: z.string().min(1).max(MAX_PASSWORD_LENGTH).optional(),
  role: roleSchema,
  team_id: z.string().min(1).max(200).nullable().optional(),
  view_bodies: z.boolean().optional(),
  display_name: z.string().max(200).nullable().optional(),
  email: z.string().max(320).nullable().optional(),
};
const createBody = z.strictObject({ username: usernameSchema, ...fields });
const patchBody = z.strictObject({ ...fields, role: roleSchema.optional(), disabled: z.boolean().optional(), unlock: z.literal(true).optional() });

/** A team id from an id or a name; undefined when none matches. */
export function resolveTeam(governance: Governance, value: string): string | undefined {
  if (governance.registry.teams.has(value)) return value;
  for (const team of governance.registry.teams.values()) if (team.name === value) return team.id;
  return undefined;
}

export function registerUserRoutes(api: FastifyInstance, auth: AdminAuth, hooks: Pick<AuthRouteHooks, 'audit'>): void {
  const store = auth.store;
  const find = (id: string): UserRecord => {
    const user = store.getUser(id) ?? store.getUserByName(id);
    if (user === undefined) throw notFound(`No user with id or username "${id}".`, 'id');
    return user;
  };
  const teamOf = (role: Role, value: string | null | undefined): string | null | undefined => {
    if (value === undefined || value === null) {
      if (role === 'member' && value === null) throw invalidField('team_id', 'team_id: a member needs a team.');
      return value;
    }
    const team = resolveTeam(api.governance, value);
    if (team === undefined) throw invalidField('team_id', `team_id: no team has the id or name "${value}".`);
    return team;
  };
  const checkPassword = (password: string | undefined): void => {
    const problem = password === undefined ? undefined : passwordProblem(password);
    if (problem !== undefined) throw invalidField('password', `password: ${problem}.`);
  };
  /** The change would leave no active admin. */
  const lastAdmin = (user: UserRecord): boolean => user.role === 'admin' && !user.disabled && store.countActiveAdmins() <= 1 && !auth.hasAdminToken;

  api.get('/users', async () => ({ data: store.listUsers().map((user) => userView(user, auth.now)) }));

  api.post('/users', async (request, reply) => {
    const body = parseBody(createBody, request.body);
    checkPassword(body.password);
    if (store.getUserByName(body.username) !== undefined) throw conflict(`A user named "${body.username}" exists already.`, 'username');
    const teamId = teamOf(body.role, body.team_id === undefined && body.role === 'member' ? null : body.team_id);
    const passwordHash = body.password === undefined ? null : await hashPassword(body.password);
    let user;
    try {
      user = store.createUser({
        username: body.username,
        role: body.role,
        team_id: teamId ?? null,
        view_bodies: body.view_bodies,
        display_name: body.display_name ?? null,
        email: body.email ?? null,
        password_hash: passwordHash,
      });
    } catch (error) {
      // Another request made the same user while the password was being hashed.
      if (isUniqueViolation(error)) throw conflict(`A user named "${body.username}" exists already.`, 'username');
      throw error;
    }
    hooks.audit(request, 'user.create', { target: user.username, after: { role: user.role, team_id: user.team_id, view_bodies: user.view_bodies } });
    reply.code(201);
    return userView(user, auth.now);
  });

  api.get<{ Params: { id: string } }>('/users/:id', async (request) => userView(find(request.params.id), auth.now));

  api.patch<{ Params: { id: string } }>('/users/:id', async (request) => {
    const user = find(request.params.id);
    const body = parseBody(patchBody, request.body);
    if (user.source === 'file' && Object.keys(body).some((key) => key !== 'unlock')) {
      throw conflict(`The user "${user.username}" is declared in the config file (auth.users); change it there.`, 'id');
    }
    checkPassword(body.password);
    const role = body.role ?? user.role;
    if (lastAdmin(user) && ((body.role !== undefined && body.role !== 'admin') || body.disabled === true)) {
      throw conflict(`"${user.username}" is the last active admin: make another admin first.`, body.role !== undefined ? 'role' : 'disabled');
    }
    const teamId = role === 'member' ? teamOf(role, body.team_id !== undefined ? body.team_id : (user.team_id ?? null)) : body.team_id === undefined ? undefined : teamOf(role, body.team_id);
    const updated = store.updateUser(user.id, {
      role: body.role,
      team_id: teamId,
      view_bodies: body.view_bodies,
      disabled: body.disabled,
      display_name: body.display_name,
      email: body.email,
      password_hash: body.password === undefined ? undefined : await hashPassword(body.password),
    })!;
    if (body.unlock === true) store.clearLock(user.id);
    // A disabled account or a new password ends the account's sessions.
    if (body.disabled === true || body.password !== undefined) store.deleteSessionsOfUser(user.id);
    const { password: _password, ...changes } = body;
    hooks.audit(request, 'user.update', { target: user.username, after: { ...changes, ...(body.password === undefined ? {} : { password: 'changed' }) } });
    return userView(store.getUser(updated.id)!, auth.now);
  });

  api.delete<{ Params: { id: string } }>('/users/:id', async (request) => {
    const user = find(request.params.id);
    if (user.source === 'file') throw conflict(`The user "${user.username}" is declared in the config file (auth.users); remove it there.`, 'id');
    if (lastAdmin(user)) throw conflict(`"${user.username}" is the last active admin: make another admin first.`, 'id');
    store.deleteUser(user.id);
    hooks.audit(request, 'user.delete', { target: user.username });
    return { deleted: true, id: user.id };
  });

  api.get('/sessions', async (request) => {
    const names = new Map(store.listUsers().map((user) => [user.id, user.username]));
    return {
      data: store.listSessions().map((session) => ({ ...sessionView(session, request.principal), username: session.user_id === null ? null : (names.get(session.user_id) ?? null) })),
    };
  });

  api.delete<{ Params: { id: string } }>('/sessions/:id', async (request) => {
    const session = store.getSessionByLabel(request.params.id);
    if (session === undefined) throw notFound(`No session with id "${request.params.id}" (it may have ended).`, 'id');
    store.deleteSession(session.id);
    hooks.audit(request, 'session.revoke', { target: session.label });
    return { deleted: true, id: session.label };
  });

  api.get('/tokens', async () => {
    const names = new Map(store.listUsers().map((user) => [user.id, user.username]));
    return { data: store.listTokens().map((token) => ({ ...tokenView(token, auth.now), username: names.get(token.user_id) ?? null })) };
  });

  api.delete<{ Params: { id: string } }>('/tokens/:id', async (request) => {
    const token = store.getToken(request.params.id);
    if (token === undefined) throw notFound(`No API token with id "${request.params.id}".`, 'id');
    store.deleteToken(token.id);
    hooks.audit(request, 'api_token.revoke', { target: `${store.getUser(token.user_id)?.username ?? token.user_id}/${token.name}` });
    return { deleted: true, id: token.id };
  });
}
