/**
 * Opens the SQLite database the undici way: pragmas at open, numbered
 * migrations tracked with `PRAGMA user_version`, refused when the file is newer
 * than the code.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.js';

export type SqliteDatabase = Database.Database;

export const DATABASE_FILE = 'heimdall.db';

export interface OpenDatabaseOptions {
  /** An in-memory database (tests); dataDir is then ignored. */
  memory?: boolean;
  /** How long a statement waits for a lock held by another connection. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** Override the migration list (tests). */
  migrations?: readonly Migration[];
}

/** Creates the data dir (0700) if needed and returns the database file path in it. */
export function databasePath(dataDir: string): string {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return path.join(dataDir, DATABASE_FILE);
}

/**
 * Opens `<dataDir>/heimdall.db` (created on first start, mode 0600) and brings
 * its schema up to date. Throws a plain Error naming both versions when the file
 * was written by a newer Heimdall.
 */
export function openDatabase(dataDir: string, options: OpenDatabaseOptions = {}): SqliteDatabase {
  const file = options.memory ? ':memory:' : databasePath(dataDir);
  const created = file !== ':memory:' && !fs.existsSync(file);
  const db = new Database(file);
  try {
    if (created) fs.chmodSync(file, 0o600);
    // Must precede the first table; a no-op on an existing database. Lets retention
    // hand freed pages back to the file system with `PRAGMA incremental_vacuum`.
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    migrate(db, options.migrations ?? MIGRATIONS, file);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * A second connection to a database that openDatabase() created and migrated (the request-log
 * writer thread's): the same per-connection pragmas, no migrations.
 */
export function openWriteConnection(file: string, busyTimeoutMs = 5000): SqliteDatabase {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** The schema version recorded in the database file. */
export function schemaVersion(db: SqliteDatabase): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies every migration above the recorded version, all in one transaction. */
export function migrate(db: SqliteDatabase, migrations: readonly Migration[], file = db.name): number {
  // Numbers are handed out ahead of time, so a build may lack some below its last: they only increase.
  migrations.forEach((migration, index) => {
    const previous = index === 0 ? 0 : migrations[index - 1].version;
    if (!Number.isInteger(migration.version) || migration.version <= previous) {
      throw new Error(`Migration "${migration.name}" is number ${migration.version}; expected a number above ${previous}.`);
    }
  });
  const known = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
  const current = schemaVersion(db);
  if (current > known) {
    throw new Error(
      `The database ${file} has schema version ${current}, but this Heimdall only knows versions up to ${known}. ` +
        'It was written by a newer Heimdall: upgrade Heimdall, or point --data-dir at another directory.',
    );
  }
  const pending = migrations.filter((migration) => migration.version > current);
  if (pending.length === 0) return current;
  db.transaction(() => {
    for (const migration of pending) {
      if (typeof migration.up === 'string') db.exec(migration.up);
      else migration.up(db);
      // user_version lives in the file header and is part of the transaction.
      db.pragma(`user_version = ${Math.floor(migration.version)}`);
    }
  })();
  return known;
}
