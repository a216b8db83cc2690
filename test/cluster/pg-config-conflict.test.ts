/**
 * The sync engine alone, two replicas (in-memory SQLite stores) on one Postgres schema: a local
 * write Postgres refuses is logged and put back as Postgres has it; changes from Postgres are not
 * recorded for pushing back; an outbox row for a row that is gone becomes a delete.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { ConfigSync } from '../../src/store/pg/config-sync.js';
import type { StoreLogger } from '../../src/store/store-logger.js';
import { freshSchema, testDatabaseUrl, type TestSchema } from '../support/pg-schema.js';

const url = testDatabaseUrl('test/cluster/pg-config-conflict.test.ts');

interface Node {
  db: SqliteDatabase;
  sync: ConfigSync;
  lines: Array<{ level: string; msg: string; obj: object }>;
}

let schema: TestSchema;
const nodes: Node[] = [];

async function node(): Promise<Node> {
  const db = openDatabase('', { memory: true });
  const lines: Node['lines'] = [];
  const logger: StoreLogger = {
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  };
  // No timers in the way: each step is driven by flush().
  const sync = await ConfigSync.start({ url: schema.url, db, logger, pollIntervalMs: 60_000, checkIntervalMs: 60_000 });
  const created = { db, sync, lines };
  nodes.push(created);
  return created;
}

const insertProvider = (db: SqliteDatabase, id: string, name: string, baseUrl: string): void => {
  db.prepare(`INSERT INTO providers (id, name, type, base_url, created_at, updated_at) VALUES (?, ?, 'openai-compatible', ?, 1, 1)`).run(id, name, baseUrl);
};
const providers = (db: SqliteDatabase): unknown[] => db.prepare('SELECT id, name, base_url FROM providers ORDER BY id').all();
const outbox = (db: SqliteDatabase): number => (db.prepare('SELECT count(*) AS n FROM config_outbox').get() as { n: number }).n;

describe.skipIf(url === undefined)('configuration sync between two replicas', () => {
  beforeEach(async () => {
    schema = await freshSchema(url!);
  });
  afterEach(async () => {
    for (const { sync, db } of nodes.splice(0)) {
      await sync.close();
      db.close();
    }
    await schema.drop();
  });

  it('a write Postgres refuses (the name taken by the other replica first) is logged and replaced by Postgres\'s row', async () => {
    const a = await node();
    const b = await node();
    insertProvider(a.db, 'p_a', 'contested', 'http://a.example');
    insertProvider(b.db, 'p_b', 'contested', 'http://b.example');
    expect(outbox(a.db)).toBe(1);
    await a.sync.flush();
    expect(outbox(a.db)).toBe(0);
    await b.sync.flush();
    expect(outbox(b.db)).toBe(0);
    expect(b.lines.some((line) => line.level === 'error' && line.msg.includes('Postgres refused a change made on this instance'))).toBe(true);
    expect(b.sync.status.rejected).toBe(1);
    // b's row gave way to a's, and putting it back did not record anything to push.
    expect(providers(b.db)).toEqual([{ id: 'p_a', name: 'contested', base_url: 'http://a.example' }]);
    expect(providers(a.db)).toEqual([{ id: 'p_a', name: 'contested', base_url: 'http://a.example' }]);
    expect(b.sync.status.version).toBe(a.sync.status.version);
  });

  it('changes travel both ways in order, deletes included, and nothing applied from Postgres is pushed back', async () => {
    const a = await node();
    const b = await node();
    insertProvider(a.db, 'p_1', 'one', 'http://one.example');
    a.db.prepare(`INSERT INTO provider_keys (id, provider_id, name, secret_encrypted, last4, created_at, updated_at) VALUES ('k_1', 'p_1', 'main', 'v1:x:y:z', 'abcd', 1, 1)`).run();
    a.db.prepare(`UPDATE providers SET base_url = 'http://one-b.example' WHERE id = 'p_1'`).run();
    await a.sync.flush();
    await b.sync.flush();
    expect(providers(b.db)).toEqual([{ id: 'p_1', name: 'one', base_url: 'http://one-b.example' }]);
    expect(b.db.prepare('SELECT id FROM provider_keys').all()).toEqual([{ id: 'k_1' }]);
    expect(outbox(b.db)).toBe(0);
    // Deleted on b (the key goes with its provider), gone on a.
    b.db.prepare(`DELETE FROM providers WHERE id = 'p_1'`).run();
    await b.sync.flush();
    await a.sync.flush();
    expect(providers(a.db)).toEqual([]);
    expect(a.db.prepare('SELECT id FROM provider_keys').all()).toEqual([]);
    expect(outbox(a.db)).toBe(0);
    expect(a.sync.status.version).toBe(b.sync.status.version);
    // A local-only column (a key's last use) is not a change.
    a.db.prepare(`INSERT INTO virtual_keys (id, name, key_hash, key_prefix, created_at, updated_at) VALUES ('vk_1', 'k', 'h', 'hk-', 1, 1)`).run();
    await a.sync.flush();
    a.db.prepare(`UPDATE virtual_keys SET last_used_at = 5 WHERE id = 'vk_1'`).run();
    expect(outbox(a.db)).toBe(0);
    // Nor is the spend watermark (each instance numbers its own request log), which a snapshot leaves alone.
    a.db.prepare(`INSERT INTO settings (key, value, updated_at) VALUES ('governance.spend_log_watermark', '42', 1)`).run();
    expect(outbox(a.db)).toBe(0);
    a.db.prepare(`INSERT INTO settings (key, value, updated_at) VALUES ('routing', '{}', 1)`).run();
    expect(outbox(a.db)).toBe(1);
    await a.sync.flush();
    a.sync.replica.replaceAll(new Map(), a.sync.status.version);
    expect(a.db.prepare('SELECT key, value FROM settings').all()).toEqual([{ key: 'governance.spend_log_watermark', value: '42' }]);
  });
});
