/**
 * `heimdall migrate`: applies the pending schema migrations and exits. With a database URL
 * (HEIMDALL_DATABASE_URL or database.url) to Postgres, under the advisory lock the instances take
 * too; otherwise to the SQLite database in the data dir (refused while a gateway runs on it).
 *
 *   heimdall migrate [--config heimdall.json] [--data-dir DIR]
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../../config/load.js';
import { databasePath, DATABASE_FILE, openDatabase, schemaVersion } from '../database.js';
import { lockDataDir } from '../data-dir-lock.js';
import { SCHEMA_VERSION } from '../migrations.js';
import { migratePostgres } from './migrate.js';
import { createPool, databaseTarget } from './pool.js';

interface MigrateFlags {
  config?: string;
  dataDir?: string;
}

async function migrateCommand(flags: MigrateFlags): Promise<string> {
  const config = loadConfig({ configPath: flags.config, overrides: { dataDir: flags.dataDir } });
  if (config.database !== undefined) {
    const pool = createPool({ url: config.database.url, max: 1 });
    try {
      const { from, to } = await migratePostgres(pool);
      const target = databaseTarget(config.database.url);
      return from === to ? `Postgres ${target}: schema version ${to}, up to date` : `Postgres ${target}: schema version ${from} -> ${to}`;
    } finally {
      await pool.end();
    }
  }
  const dataDir = config.server.dataDir;
  const lock = lockDataDir(dataDir);
  try {
    const file = databasePath(dataDir);
    let from = 0;
    if (fs.existsSync(file)) {
      const existing = new Database(file, { readonly: true });
      from = schemaVersion(existing);
      existing.close();
    }
    const db = openDatabase(dataDir);
    const to = schemaVersion(db);
    db.close();
    const where = `${dataDir}/${DATABASE_FILE}`;
    return from === to ? `SQLite ${where}: schema version ${to}, up to date` : `SQLite ${where}: schema version ${from} -> ${to} (this build knows ${SCHEMA_VERSION})`;
  } finally {
    lock.release();
  }
}

export async function runMigrateCommand(argv: readonly string[]): Promise<void> {
  const program = new Command('heimdall migrate')
    .description('Apply the pending schema migrations (to Postgres when HEIMDALL_DATABASE_URL or database.url is set, else to the SQLite database in the data dir) and exit.')
    .option('-c, --config <file>', 'JSON config file (env HEIMDALL_CONFIG)')
    .option('-d, --data-dir <dir>', 'the data dir (env HEIMDALL_DATA_DIR, default ~/.heimdall)')
    .action(async (flags: MigrateFlags) => {
      try {
        process.stdout.write(`${await migrateCommand(flags)}\n`);
      } catch (error) {
        if (error instanceof ConfigError) throw new Error(error.message);
        throw error;
      }
    });
  await program.parseAsync([...argv.slice(0, 2), ...argv.slice(3)]);
}
