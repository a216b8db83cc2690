import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, openDatabase, schemaVersion, type SqliteDatabase } from '../../src/store/database.js';
import { MIGRATIONS, SCHEMA_VERSION, type Migration } from '../../src/store/migrations.js';
import { makeTempDir } from './helpers.js';

function tableNames(db: SqliteDatabase): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all() as Array<{ name: string }>).map((row) => row.name);
}

describe('openDatabase', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let db: SqliteDatabase | undefined;

  beforeEach(() => {
    temp = makeTempDir();
  });
  afterEach(() => {
    if (db?.open) db.close();
    db = undefined;
    temp.cleanup();
  });

  it('creates the data dir (0700) and the database (0600) with every table on first start', () => {
    const dataDir = path.join(temp.dir, 'nested', 'data');
    db = openDatabase(dataDir);
    expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dataDir, 'heimdall.db')).mode & 0o777).toBe(0o600);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(MIGRATIONS[MIGRATIONS.length - 1].version);
    expect(tableNames(db)).toEqual([
      'aliases', 'api_tokens', 'audit_log', 'auth_state', 'batch_files', 'batch_jobs', 'config_outbox', 'config_sync', 'customers', 'mcp_oauth_tokens', 'mcp_servers', 'mcp_tool_calls', 'model_groups', 'provider_keys', 'providers',
      'rate_limit_counters', 'request_log_latency', 'request_log_rollups', 'request_log_series', 'request_logs', 'sessions', 'settings', 'spend', 'stored_response_items', 'stored_responses', 'teams', 'users', 'virtual_keys',
    ]);
  });

  it('sets the pragmas at open', () => {
    db = openDatabase(temp.dir);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2); // INCREMENTAL
  });

  it('keeps data and does not re-run migrations on reopen', () => {
    db = openDatabase(temp.dir);
    db.prepare("INSERT INTO settings (key, value, updated_at) VALUES ('a', '1', 0)").run();
    db.close();
    db = openDatabase(temp.dir);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT key, value FROM settings').all()).toEqual([{ key: 'a', value: '1' }]);
  });

  it('applies only the pending migrations of an older database', () => {
    db = openDatabase(temp.dir, { migrations: MIGRATIONS.slice(0, 1) });
    expect(schemaVersion(db)).toBe(1);
    expect(tableNames(db)).not.toContain('virtual_keys');
    db.close();
    db = openDatabase(temp.dir);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(tableNames(db)).toContain('virtual_keys');
    expect(tableNames(db)).toContain('rate_limit_counters');
    db.close();
    // A database of the previous release (version 2) gains the rate-limit counters and keeps its data.
    temp.cleanup();
    temp = makeTempDir();
    db = openDatabase(temp.dir, { migrations: MIGRATIONS.slice(0, 2) });
    db.prepare("INSERT INTO spend (entity_type, entity_id, period_start, spend_usd, updated_at) VALUES ('key', 'vk_1', 0, 1.5, 0)").run();
    db.close();
    db = openDatabase(temp.dir);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(db.prepare('SELECT spend_usd FROM spend').get()).toEqual({ spend_usd: 1.5 });
    expect(db.prepare('SELECT COUNT(*) AS n FROM rate_limit_counters').get()).toEqual({ n: 0 });
    // Version 4 adds the stored responses of the Responses API, empty.
    expect(db.prepare('SELECT COUNT(*) AS n FROM stored_responses').get()).toEqual({ n: 0 });
  });

  it('refuses a database newer than the code, naming both versions', () => {
    db = openDatabase(temp.dir);
    db.pragma('user_version = 99');
    db.close();
    const file = path.join(temp.dir, 'heimdall.db');
    expect(() => openDatabase(temp.dir)).toThrow(
      `The database ${file} has schema version 99, but this Heimdall only knows versions up to ${SCHEMA_VERSION}.`,
    );
  });

  it('rolls back every pending migration when one fails', () => {
    const broken: Migration[] = [
      MIGRATIONS[0],
      { version: 2, name: 'ok', up: 'CREATE TABLE extra (x INTEGER)' },
      { version: 3, name: 'broken', up: 'CREATE TABLE nonsense (' },
    ];
    expect(() => openDatabase(temp.dir, { migrations: broken })).toThrow(/syntax error|incomplete input/);
    db = openDatabase(temp.dir, { migrations: [] });
    expect(schemaVersion(db)).toBe(0);
    expect(tableNames(db)).toEqual([]);
  });

  it('refuses a migration list out of order', () => {
    db = openDatabase('', { memory: true, migrations: [] });
    expect(() => migrate(db!, [{ version: 2, name: 'two', up: 'SELECT 1' }, { version: 2, name: 'again', up: 'SELECT 1' }])).toThrow(
      'Migration "again" is number 2; expected a number above 2.',
    );
    expect(migrate(db!, [{ version: 1, name: 'one', up: 'SELECT 1' }, { version: 3, name: 'three', up: 'SELECT 1' }])).toBe(3);
  });

  it('opens an in-memory database without touching the disk', () => {
    db = openDatabase(path.join(temp.dir, 'unused'), { memory: true });
    expect(db.memory).toBe(true);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(fs.existsSync(path.join(temp.dir, 'unused'))).toBe(false);
  });

  it('enforces foreign keys: deleting a provider deletes its keys', () => {
    db = openDatabase('', { memory: true });
    db.prepare("INSERT INTO providers (id, name, type, created_at, updated_at) VALUES ('p', 'p', 'openai', 0, 0)").run();
    db.prepare(`INSERT INTO provider_keys (id, provider_id, name, secret_encrypted, last4, created_at, updated_at)
      VALUES ('k', 'p', 'k', 'x', 'abcd', 0, 0)`).run();
    expect(() =>
      db!.prepare(`INSERT INTO provider_keys (id, provider_id, name, secret_encrypted, last4, created_at, updated_at)
        VALUES ('k2', 'missing', 'k', 'x', 'abcd', 0, 0)`).run(),
    ).toThrow(/FOREIGN KEY/);
    db.prepare("DELETE FROM providers WHERE id = 'p'").run();
    expect(db.prepare('SELECT count(*) AS n FROM provider_keys').get()).toEqual({ n: 0 });
  });
});
