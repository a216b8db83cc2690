/**
 * One set of migrations, two backends: every migration applied to SQLite and to Postgres gives
 * the same tables and columns; the Postgres runner tracks its version, refuses a newer database
 * and a migration without a Postgres variant, and several pools or processes migrating at once
 * apply each migration once.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openDatabase } from '../../src/store/database.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { migratePostgres, postgresSchemaVersion } from '../../src/store/pg/migrate.js';
import { createPool } from '../../src/store/pg/pool.js';
import { CLI, ensureBuilt, ROOT } from '../support/cli.js';
import { freshSchema, testDatabaseUrl, type TestSchema } from '../support/pg-schema.js';

const url = testDatabaseUrl('test/cluster/pg-migrations.test.ts');
const schemas: TestSchema[] = [];
const pools: pg.Pool[] = [];

/** Tables that exist on one backend only: the bookkeeping of each. */
const SQLITE_ONLY = new Set(['sqlite_sequence', 'config_sync', 'config_outbox']);
const PG_ONLY = new Set(['heimdall_migrations', 'config_state', 'config_changes']);

async function schemaPool(): Promise<{ schema: TestSchema; pool: pg.Pool }> {
  const schema = await freshSchema(url!);
  schemas.push(schema);
  const pool = createPool({ url: schema.url });
  pools.push(pool);
  return { schema, pool };
}

function sqliteShape(count: number): { columns: string[]; indexes: string[] } {
  const db = openDatabase('', { memory: true, migrations: MIGRATIONS.slice(0, count) });
  const columns = (db.prepare(`SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY 1, 2`).all() as Array<{ t: string; c: string }>)
    .filter((row) => !SQLITE_ONLY.has(row.t)).map((row) => `${row.t}.${row.c}`);
  const indexes = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY 1`).all() as Array<{ name: string }>).map((row) => row.name);
  db.close();
  return { columns, indexes };
}

async function pgShape(pool: pg.Pool, schema: string): Promise<{ columns: string[]; indexes: string[] }> {
  const columns = (await pool.query<{ t: string; c: string }>(
    'SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = $1 ORDER BY 1, 2', [schema],
  )).rows.filter((row) => !PG_ONLY.has(row.t)).map((row) => `${row.t}.${row.c}`);
  const indexes = (await pool.query<{ name: string }>('SELECT indexname AS name FROM pg_indexes WHERE schemaname = $1', [schema])).rows.map((row) => row.name);
  return { columns, indexes };
}

const sorted = (values: string[]): string[] => [...values].sort();

describe.skipIf(url === undefined)('migrations on SQLite and Postgres', () => {
  beforeAll(() => ensureBuilt(), 180_000);
  afterAll(async () => {
    for (const pool of pools) await pool.end().catch(() => undefined);
    for (const schema of schemas) await schema.drop();
  });

  it('after every migration, both backends have the same tables and columns, and every SQLite index', async () => {
    const { schema, pool } = await schemaPool();
    for (let count = 1; count <= MIGRATIONS.length; count++) {
      const result = await migratePostgres(pool, MIGRATIONS.slice(0, count));
      expect(result.to).toBe(MIGRATIONS[count - 1].version);
      const sqlite = sqliteShape(count);
      const postgres = await pgShape(pool, schema.schema);
      expect(sorted(postgres.columns)).toEqual(sorted(sqlite.columns));
      expect(sqlite.columns.length).toBeGreaterThan(10);
      for (const index of sqlite.indexes) expect(postgres.indexes).toContain(index);
    }
    expect(await postgresSchemaVersion(pool)).toBe(SCHEMA_VERSION);
    const applied = (await pool.query<{ version: number }>('SELECT version FROM heimdall_migrations ORDER BY version')).rows.map((row) => row.version);
    expect(applied).toEqual(MIGRATIONS.map((migration) => migration.version));
    // Applied again: nothing to do.
    expect(await migratePostgres(pool)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
  });

  it('a database newer than the code is refused, and so is a migration without a Postgres variant (nothing applied)', async () => {
    const { pool } = await schemaPool();
    await migratePostgres(pool);
    await expect(migratePostgres(pool, MIGRATIONS.slice(0, 3))).rejects.toThrow(`The Postgres database has schema version ${SCHEMA_VERSION}, but this Heimdall only knows versions up to 3`);
    const withoutPg = [...MIGRATIONS, { version: SCHEMA_VERSION + 1, name: 'sqlite only', up: 'CREATE TABLE later (id TEXT)' }];
    await expect(migratePostgres(pool, withoutPg)).rejects.toThrow(`Migration ${SCHEMA_VERSION + 1} ("sqlite only") has no Postgres variant`);
    expect(await postgresSchemaVersion(pool)).toBe(SCHEMA_VERSION);
  });

  it('six pools migrating one schema at once: each migration applied once', async () => {
    const { schema } = await schemaPool();
    const many = Array.from({ length: 6 }, () => {
      const pool = createPool({ url: schema.url, max: 1 });
      pools.push(pool);
      return pool;
    });
    const results = await Promise.all(many.map((pool) => migratePostgres(pool)));
    expect(results.filter((result) => result.from === 0 && result.to === SCHEMA_VERSION)).toHaveLength(1);
    expect(results.filter((result) => result.from === SCHEMA_VERSION)).toHaveLength(5);
    const counts = (await many[0].query<{ n: number }>('SELECT count(*)::int AS n FROM heimdall_migrations')).rows[0].n;
    expect(counts).toBe(MIGRATIONS.length);
  });

  it('`heimdall migrate` from three processes at once, then once more: up to date', async () => {
    const { schema, pool } = await schemaPool();
    const run = (): Promise<{ code: number | null; out: string; err: string }> => new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, 'migrate'], { cwd: ROOT, env: { PATH: process.env.PATH, HEIMDALL_DATABASE_URL: schema.url } });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk) => (out += String(chunk)));
      child.stderr.on('data', (chunk) => (err += String(chunk)));
      child.on('exit', (code) => resolve({ code, out, err }));
    });
    const results = await Promise.all([run(), run(), run()]);
    for (const result of results) expect(result.code, result.err).toBe(0);
    expect(results.filter((result) => result.out.includes(`schema version 0 -> ${SCHEMA_VERSION}`))).toHaveLength(1);
    expect(results.filter((result) => result.out.includes(`schema version ${SCHEMA_VERSION}, up to date`))).toHaveLength(2);
    expect(results.every((result) => !result.out.includes('postgres@'))).toBe(true);
    expect(await postgresSchemaVersion(pool)).toBe(SCHEMA_VERSION);
    const again = await run();
    expect(again.out).toContain(`schema version ${SCHEMA_VERSION}, up to date`);
  }, 120_000);
});
