/**
 * Users, sessions, personal API tokens and short-lived auth state (migration 6). Every process on
 * the database reads the same rows: a session opened by one worker is valid in the others and
 * after a restart; revoking it is deleting its row. Secrets never reach this table in the clear:
 * sessions and tokens are stored as SHA-256 digests of 256-bit random values, passwords as scrypt.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

export type Role = 'admin' | 'operator' | 'viewer' | 'member';
export const ROLES: readonly Role[] = ['admin', 'operator', 'viewer', 'member'];

export interface UserRecord {
  id: string;
  username: string;
  display_name: string | null;
  email: string | null;
  password_hash: string | null;
  role: Role;
  team_id: string | null;
  view_bodies: boolean;
  disabled: boolean;
  source: string;
  external_id: string | null;
  failed_logins: number;
  locked_until: number | null;
  last_login_at: number | null;
  created_at: number;
  updated_at: number;
}

export type UserInput = Pick<UserRecord, 'username' | 'role'> &
  Partial<Pick<UserRecord, 'display_name' | 'email' | 'password_hash' | 'team_id' | 'view_bodies' | 'disabled' | 'source' | 'external_id'>>;
export type UserPatch = Partial<Omit<UserInput, 'source' | 'external_id'>>;

export interface SessionRecord {
  id: string;
  label: string;
  user_id: string | null;
  token_digest: string | null;
  method: string;
  address: string | null;
  user_agent: string | null;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  id_token: string | null;
}

export type SessionInput = Pick<SessionRecord, 'user_id' | 'method' | 'expires_at'> &
  Partial<Pick<SessionRecord, 'token_digest' | 'address' | 'user_agent' | 'id_token'>>;

export interface ApiTokenRecord {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  scopes: string[];
  expires_at: number | null;
  last_used_at: number | null;
  created_at: number;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

type Row = Record<string, unknown>;

function toUser(row: Row | undefined): UserRecord | undefined {
  if (row === undefined) return undefined;
  return { ...(row as unknown as UserRecord), view_bodies: row.view_bodies === 1, disabled: row.disabled === 1 };
}

function toToken(row: Row | undefined): (ApiTokenRecord & { digest: string }) | undefined {
  if (row === undefined) return undefined;
  return { ...(row as unknown as ApiTokenRecord & { digest: string }), scopes: JSON.parse(row.scopes as string) as string[] };
}

const USER_COLUMNS = ['display_name', 'email', 'password_hash', 'role', 'team_id', 'view_bodies', 'disabled'] as const;

export class AuthStore {
  readonly #db: SqliteDatabase;
  readonly #now: () => number;
  readonly #statements = new Map<string, Statement>();

  constructor(db: SqliteDatabase, options: { now?: () => number } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
  }

  /** Statements are prepared on first use and kept. */
  #sql(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  // ---- users

  countUsers(): number {
    return (this.#sql('SELECT count(*) AS n FROM users').get() as { n: number }).n;
  }

  countActiveAdmins(): number {
    return (this.#sql("SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled = 0").get() as { n: number }).n;
  }

  listUsers(): UserRecord[] {
    return (this.#sql('SELECT * FROM users ORDER BY created_at, id').all() as Row[]).map((row) => toUser(row)!);
  }

  getUser(id: string): UserRecord | undefined {
    return toUser(this.#sql('SELECT * FROM users WHERE id = ?').get(id) as Row | undefined);
  }

  getUserByName(username: string): UserRecord | undefined {
    return toUser(this.#sql('SELECT * FROM users WHERE username = ?').get(username) as Row | undefined);
  }

  getUserByExternalId(externalId: string): UserRecord | undefined {
    return toUser(this.#sql('SELECT * FROM users WHERE external_id = ?').get(externalId) as Row | undefined);
  }

  createUser(input: UserInput): UserRecord {
    const now = this.#now();
    const id = newId('usr');
    this.#sql(`INSERT INTO users (id, username, display_name, email, password_hash, role, team_id, view_bodies, disabled, source, external_id, created_at, updated_at)
      VALUES (@id, @username, @display_name, @email, @password_hash, @role, @team_id, @view_bodies, @disabled, @source, @external_id, @now, @now)`).run({
      id,
      username: input.username,
      display_name: input.display_name ?? null,
      email: input.email ?? null,
      password_hash: input.password_hash ?? null,
      role: input.role,
      team_id: input.team_id ?? null,
      view_bodies: input.view_bodies === true ? 1 : 0,
      disabled: input.disabled === true ? 1 : 0,
      source: input.source ?? 'store',
      external_id: input.external_id ?? null,
      now,
    });
    return this.getUser(id)!;
  }

  updateUser(id: string, patch: UserPatch): UserRecord | undefined {
    const sets: string[] = [];
    const values: Record<string, unknown> = { id, now: this.#now() };
    for (const column of ['username', ...USER_COLUMNS] as const) {
      const value = patch[column];
      if (value === undefined) continue;
      sets.push(`${column} = @${column}`);
      values[column] = typeof value === 'boolean' ? (value ? 1 : 0) : value;
    }
    if (sets.length > 0) this.#db.prepare(`UPDATE users SET ${sets.join(', ')}, updated_at = @now WHERE id = @id`).run(values);
    // A new password or a disabled account ends the failures count and any lock.
    if (patch.password_hash !== undefined) this.#sql('UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?').run(id);
    return this.getUser(id);
  }

  deleteUser(id: string): boolean {
    return this.#sql('DELETE FROM users WHERE id = ?').run(id).changes > 0;
  }

  /** Counts a failed password for the user; locks the account for lockMs once maxFailures is reached. */
  recordLoginFailure(id: string, maxFailures: number, lockMs: number): UserRecord | undefined {
    const now = this.#now();
    this.#sql(`UPDATE users SET failed_logins = failed_logins + 1,
      locked_until = CASE WHEN failed_logins + 1 >= @max THEN @until ELSE locked_until END WHERE id = @id`).run({ id, max: maxFailures, until: now + lockMs });
    return this.getUser(id);
  }

  /** An admin's unlock: the failures count starts again. */
  clearLock(id: string): void {
    this.#sql('UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?').run(id);
  }

  recordLoginSuccess(id: string): void {
    this.#sql('UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE id = ?').run(this.#now(), id);
  }

  // ---- sessions

  /** Opens a session; the returned secret goes into the cookie and is never stored. */
  createSession(input: SessionInput): { secret: string; session: SessionRecord } {
    const secret = randomBytes(32).toString('base64url');
    const id = sha256Hex(secret);
    const now = this.#now();
    const record: SessionRecord = {
      id,
      label: id.slice(0, 12),
      user_id: input.user_id,
      token_digest: input.token_digest ?? null,
      method: input.method,
      address: input.address ?? null,
      user_agent: input.user_agent === undefined || input.user_agent === null ? null : input.user_agent.slice(0, 300),
      created_at: now,
      last_seen_at: now,
      expires_at: input.expires_at,
      id_token: input.id_token ?? null,
    };
    this.#sql(`INSERT INTO sessions (id, label, user_id, token_digest, method, address, user_agent, created_at, last_seen_at, expires_at, id_token)
      VALUES (@id, @label, @user_id, @token_digest, @method, @address, @user_agent, @created_at, @last_seen_at, @expires_at, @id_token)`).run(record);
    return { secret, session: record };
  }

  /** The live session a cookie secret names; an expired one is deleted and undefined returned. */
  findSession(secret: string): SessionRecord | undefined {
    const id = sha256Hex(secret);
    const row = this.#sql('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRecord | undefined;
    if (row === undefined) return undefined;
    if (row.expires_at <= this.#now()) {
      this.#sql('DELETE FROM sessions WHERE id = ?').run(id);
      return undefined;
    }
    return row;
  }

  /** Records activity at most once a minute per session (a dashboard polls every few seconds). */
  touchSession(session: SessionRecord): void {
    const now = this.#now();
    if (now - session.last_seen_at < 60_000) return;
    this.#sql('UPDATE sessions SET last_seen_at = ? WHERE id = ?').run(now, session.id);
  }

  deleteSession(id: string): boolean {
    return this.#sql('DELETE FROM sessions WHERE id = ?').run(id).changes > 0;
  }

  getSessionByLabel(label: string): SessionRecord | undefined {
    return this.#sql('SELECT * FROM sessions WHERE label = ?').get(label) as SessionRecord | undefined;
  }

  deleteSessionsOfUser(userId: string): number {
    return this.#sql('DELETE FROM sessions WHERE user_id = ?').run(userId).changes;
  }

  listSessions(userId?: string): SessionRecord[] {
    this.#sql('DELETE FROM sessions WHERE expires_at <= ?').run(this.#now());
    const rows = userId === undefined
      ? this.#sql('SELECT * FROM sessions ORDER BY created_at DESC').all()
      : this.#sql('SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at DESC').all(userId);
    return rows as SessionRecord[];
  }

  // ---- personal API tokens

  /** Makes a token; the returned secret is shown once and only its digest is kept. */
  createToken(input: { user_id: string; name: string; scopes: string[]; expires_at: number | null }): { secret: string; token: ApiTokenRecord } {
    const secret = `hdp_${randomBytes(32).toString('base64url')}`;
    const id = newId('tok');
    const now = this.#now();
    this.#sql(`INSERT INTO api_tokens (id, user_id, name, digest, prefix, scopes, expires_at, created_at)
      VALUES (@id, @user_id, @name, @digest, @prefix, @scopes, @expires_at, @now)`).run({
      id, user_id: input.user_id, name: input.name, digest: sha256Hex(secret), prefix: secret.slice(0, 10),
      scopes: JSON.stringify(input.scopes), expires_at: input.expires_at, now,
    });
    return { secret, token: this.getToken(id)! };
  }

  getToken(id: string): ApiTokenRecord | undefined {
    const token = toToken(this.#sql('SELECT * FROM api_tokens WHERE id = ?').get(id) as Row | undefined);
    if (token === undefined) return undefined;
    const { digest: _digest, ...rest } = token;
    return rest;
  }

  /** The unexpired token a secret names, its use recorded (at most once a minute). */
  findToken(secret: string): ApiTokenRecord | undefined {
    const token = toToken(this.#sql('SELECT * FROM api_tokens WHERE digest = ?').get(sha256Hex(secret)) as Row | undefined);
    const now = this.#now();
    if (token === undefined || (token.expires_at !== null && token.expires_at <= now)) return undefined;
    if (token.last_used_at === null || now - token.last_used_at >= 60_000) {
      this.#sql('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now, token.id);
    }
    const { digest: _digest, ...rest } = token;
    return rest;
  }

  listTokens(userId?: string): ApiTokenRecord[] {
    const rows = userId === undefined
      ? this.#sql('SELECT * FROM api_tokens ORDER BY created_at DESC').all()
      : this.#sql('SELECT * FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC').all(userId);
    return (rows as Row[]).map((row) => {
      const { digest: _digest, ...rest } = toToken(row)!;
      return rest;
    });
  }

  deleteToken(id: string): boolean {
    return this.#sql('DELETE FROM api_tokens WHERE id = ?').run(id).changes > 0;
  }

  // ---- short-lived state (setup token, SSO login transactions)

  putState(key: string, value: unknown, expiresAt: number): void {
    this.#sql('DELETE FROM auth_state WHERE expires_at <= ?').run(this.#now());
    this.#sql('INSERT OR REPLACE INTO auth_state (key, value, expires_at) VALUES (?, ?, ?)').run(key, JSON.stringify(value), expiresAt);
  }

  getState<T>(key: string): T | undefined {
    const row = this.#sql('SELECT value, expires_at FROM auth_state WHERE key = ?').get(key) as { value: string; expires_at: number } | undefined;
    if (row === undefined || row.expires_at <= this.#now()) return undefined;
    return JSON.parse(row.value) as T;
  }

  /** Reads and deletes in one step: a state value is used once. */
  takeState<T>(key: string): T | undefined {
    return this.#db.transaction(() => {
      const value = this.getState<T>(key);
      this.#sql('DELETE FROM auth_state WHERE key = ?').run(key);
      return value;
    })();
  }

  deleteState(key: string): void {
    this.#sql('DELETE FROM auth_state WHERE key = ?').run(key);
  }
}
