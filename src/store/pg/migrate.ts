/**
 * Migrations of a Postgres store: the Postgres variants of the numbered migrations
 * (../migrations.ts), run in one transaction under an advisory lock, so that several instances
 * starting at once migrate once; the version is kept in `heimdall_migrations`. A database newer
 * than this code is refused, as the SQLite store is.
 */
import type pg from 'pg';
import { MIGRATIONS, type Migration } from '../migrations.js';
import { isUnreachable } from './pool.js';

/** pg_advisory_lock key space: one lock per schema (hashtext of this name and the schema). */
const LOCK_NAME = 'heimdall:migrate:';

export class PostgresMigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostgresMigrationError';
  }
}

export interface MigrateResult {
  /** The version before. */
  from: number;
  /** The version now. */
  to: number;
}

/** Applies the pending migrations; throws PostgresMigrationError for a newer database or a migration without a Postgres variant. */
export async function migratePostgres(pool: pg.Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrateResult> {
  const known = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
  const client = await pool.connect();
  let locked = false;
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext($1 || current_schema()))`, [LOCK_NAME]);
    locked = true;
    await client.query(`CREATE TABLE IF NOT EXISTS heimdall_migrations (
      version     INTEGER PRIMARY KEY,
      name        TEXT NOT NULL,
      applied_at  BIGINT NOT NULL
    )`);
    const current = Number((await client.query<{ version: number | null }>('SELECT max(version) AS version FROM heimdall_migrations')).rows[0].version ?? 0);
    if (current > known) {
      throw new PostgresMigrationError(
        `The Postgres database has schema version ${current}, but this Heimdall only knows versions up to ${known}. ` +
          'It was migrated by a newer Heimdall: upgrade Heimdall, or point HEIMDALL_DATABASE_URL at another database.',
      );
    }
    const pending = migrations.filter((migration) => migration.version > current);
    const missing = pending.filter((migration) => migration.pg === undefined);
    if (missing.length > 0) {
      throw new PostgresMigrationError(
        `Migration ${missing.map((migration) => `${migration.version} ("${migration.name}")`).join(', ')} has no Postgres variant: ` +
          'this build cannot use a Postgres store. Run it without HEIMDALL_DATABASE_URL / database.url, or use a build whose migrations all have one.',
      );
    }
    if (pending.length === 0) return { from: current, to: current };
    await client.query('BEGIN');
    try {
      for (const migration of pending) {
        await client.query(migration.pg!);
        await client.query('INSERT INTO heimdall_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (isUnreachable(error)) throw error;
      const failed = error as Error;
      throw new PostgresMigrationError(`Postgres migration failed: ${failed.message}`);
    }
    return { from: current, to: known };
  } finally {
    if (locked) await client.query(`SELECT pg_advisory_unlock(hashtext($1 || current_schema()))`, [LOCK_NAME]).catch(() => undefined);
    client.release();
  }
}

/** The schema version a Postgres store holds (0: none). */
export async function postgresSchemaVersion(pool: pg.Pool): Promise<number> {
  const exists = await pool.query(`SELECT to_regclass('heimdall_migrations') IS NOT NULL AS found`);
  if (exists.rows[0].found !== true) return 0;
  return Number((await pool.query('SELECT max(version) AS version FROM heimdall_migrations')).rows[0].version ?? 0);
}
