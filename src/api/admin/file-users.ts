/**
 * Users declared in the config file (`auth.users`) are made to match it at start: created when
 * missing, updated when changed, and removed when taken out of the file. A store user with the same
 * name is left alone (with a warning): the file does not take over an account made elsewhere.
 */
import type { FastifyInstance } from 'fastify';
import { hashPassword, isPasswordHash, verifyPassword } from '../../auth/password.js';
import type { AuthStore } from '../../store/auth-store.js';
import { resolveTeam } from './users.js';
import { isUniqueViolation } from '../../store/config-rows.js';

export async function seedFileUsers(app: FastifyInstance, store: AuthStore): Promise<void> {
  const declared = app.configService.config.auth?.users ?? [];
  const names = new Set(declared.map((user) => user.username.toLowerCase()));
  for (const user of store.listUsers()) {
    if (user.source === 'file' && !names.has(user.username.toLowerCase())) {
      store.deleteUser(user.id);
      app.store.config.appendAudit({ actor: 'config-file', action: 'user.delete', target: user.username });
    }
  }
  for (const entry of declared) {
    let teamId: string | null = null;
    if (entry.team !== null) {
      teamId = resolveTeam(app.governance, entry.team) ?? null;
      if (teamId === null) app.log.warn({ user: entry.username, team: entry.team }, 'auth.users: the team does not exist; the user sees no team records');
    }
    const existing = store.getUserByName(entry.username);
    if (existing !== undefined && existing.source !== 'file') {
      app.log.warn({ user: entry.username }, 'auth.users: a user with this name was made in the dashboard, API or CLI; the config file entry is ignored');
      continue;
    }
    let passwordHash: string | null = null;
    if (entry.password !== undefined) {
      if (isPasswordHash(entry.password)) passwordHash = entry.password;
      else if (existing?.password_hash != null && (await verifyPassword(entry.password, existing.password_hash))) passwordHash = existing.password_hash;
      else passwordHash = await hashPassword(entry.password);
    }
    const fields = {
      role: entry.role, team_id: teamId, view_bodies: entry.view_bodies, display_name: entry.display_name, email: entry.email, password_hash: passwordHash,
    };
    if (existing === undefined) {
      try {
        store.createUser({ username: entry.username, source: 'file', ...fields });
      } catch (error) {
        // Another worker process (--workers) seeding the same file created it first.
        if (isUniqueViolation(error)) continue;
        throw error;
      }
      app.store.config.appendAudit({ actor: 'config-file', action: 'user.create', target: entry.username, after: { role: entry.role } });
      continue;
    }
    const changed = existing.role !== fields.role || existing.team_id !== fields.team_id || existing.view_bodies !== fields.view_bodies ||
      existing.display_name !== fields.display_name || existing.email !== fields.email || existing.password_hash !== fields.password_hash;
    if (!changed) continue;
    store.updateUser(existing.id, fields);
    if (existing.password_hash !== fields.password_hash) store.deleteSessionsOfUser(existing.id);
    app.store.config.appendAudit({ actor: 'config-file', action: 'user.update', target: entry.username, after: { role: entry.role } });
  }
}
