/**
 * The shared cache store on a real Postgres (HEIMDALL_TEST_DATABASE_URL; skipped loudly without
 * it), each test in a schema of its own: the store contract; two instances on one table keeping
 * each other current through LISTEN/NOTIFY (puts, invalidations, a new instance reading what is
 * there); the bounds held in the shared table; and two gateways on one database serving each
 * other's entries, exact and semantic.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresCacheStore, POSTGRES_CACHE_TABLE, type PostgresCacheStore } from '../../src/cache/postgres-store.js';
import { call, chat, CHAT_PATHS, EMBEDDING_PATHS, startCacheSuite, upstreamCalls, type CacheSuite } from './helpers.js';
import { entry, semantic, storeContract, unit } from './store-contract.js';

const url = process.env.HEIMDALL_TEST_DATABASE_URL;
if (url === undefined || url === '') {
  process.stderr.write('\n!!! cache postgres-store: SKIPPED — set HEIMDALL_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run the shared cache store tests against a real Postgres\n\n');
}

const NOW = 1_800_000_000_000;

interface Schema {
  name: string;
  /** A new pool with the schema first on its search_path (a store's own). */
  pool(): pg.Pool;
  /** One pool of the test's own, for its queries. */
  readonly query: pg.Pool;
}

const pools: pg.Pool[] = [];
const stores: PostgresCacheStore[] = [];
const schemas: string[] = [];
const suites: CacheSuite[] = [];

/** A schema no other test uses; each pool made for it has it first on its search_path. */
async function freshSchema(): Promise<Schema> {
  const name = `hd_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  await admin.query(`CREATE SCHEMA ${name}`);
  await admin.end();
  schemas.push(name);
  const pool = (): pg.Pool => {
    const made = new pg.Pool({ connectionString: url, max: 3, options: `-c search_path=${name}` });
    pools.push(made);
    return made;
  };
  return { name, pool, query: pool() };
}

async function open(schema: Schema, maxEntries = 100, maxBytes = 1_000_000): Promise<PostgresCacheStore> {
  const store = await openPostgresCacheStore(schema.pool(), { maxEntries, maxBytes, now: () => NOW + 1 });
  stores.push(store);
  return store;
}

afterEach(async () => {
  for (const suite of suites.splice(0)) {
    await suite.gw.close();
    await suite.mock.close();
  }
  for (const store of stores.splice(0)) await store.close();
  for (const pool of pools.splice(0)) await pool.end();
  if (schemas.length > 0) {
    const admin = new pg.Pool({ connectionString: url, max: 1 });
    for (const name of schemas.splice(0)) await admin.query(`DROP SCHEMA ${name} CASCADE`);
    await admin.end();
  }
});

/** Waits until `check` holds (notices arrive within milliseconds). */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`never: ${what}`);
}

async function rows(schema: Schema): Promise<number> {
  const { rows: found } = await schema.query.query(`SELECT count(*)::int AS n FROM ${POSTGRES_CACHE_TABLE}`);
  return (found[0] as { n: number }).n;
}

describe.skipIf(url === undefined || url === '')('Postgres cache store', () => {
  storeContract('postgres', async ({ maxEntries, maxBytes }) => open(await freshSchema(), maxEntries, maxBytes));

  it('two instances on one table: a put on one is served by the other, an invalidation on the other reaches the first', async () => {
    const schema = await freshSchema();
    const a = await open(schema);
    const b = await open(schema);
    expect(a.channel).toBe(`heimdall_cache_${schema.name}`);
    await a.put(semantic('q1', 'p', [1, 0, 0]), NOW);
    await eventually(() => b.get('q1', NOW + 1) !== undefined, 'b reads the entry a put');
    const copy = b.get('q1', NOW + 1)!;
    expect(copy.key).toBe('key-q1');
    expect(copy.costUsd).toBe(0.5);
    expect(copy.createdAt).toBe(NOW);
    // Its vector is indexed on b too.
    const near = b.nearest('p', unit([0.95, 0.05, 0]), 1, 0.9, NOW + 1);
    expect(near.map((match) => match.entry.id)).toEqual(['q1']);
    expect(b.stats()).toMatchObject({ entries: 1, semantic_entries: 1 });

    await b.put(entry('q2', { scope: 'vk:b' }), NOW);
    await eventually(() => a.get('q2', NOW + 1) !== undefined, 'a reads the entry b put');
    expect(await b.delete({ scope: 'vk:b' })).toBe(1);
    await eventually(() => a.get('q2', NOW + 1) === undefined, 'a forgets the entry b deleted');
    expect(a.get('q1', NOW + 1)).toBeDefined();

    // A third instance reads what is there at start.
    const c = await open(schema);
    expect(c.get('q1', NOW + 1)?.semantic?.facts.text).toBe('question q1');
    expect(await c.delete({})).toBe(1);
    await eventually(() => a.stats().entries === 0 && b.stats().entries === 0, 'everything deleted everywhere');
  });

  it('the bounds hold in the shared table: the least recently used rows go, for every instance', async () => {
    const schema = await freshSchema();
    const a = await open(schema, 3);
    const b = await open(schema, 3);
    await a.put(entry('e1', { usedAt: NOW }), NOW);
    await a.put(entry('e2', { usedAt: NOW + 1 }), NOW);
    await a.put(entry('e3', { usedAt: NOW + 2 }), NOW);
    await eventually(() => b.stats().entries === 3, 'b holds the three');
    // A hit on b makes e1 the most recently used (written before the bounds are enforced).
    b.touch(b.get('e1', NOW + 3)!, NOW + 3);
    await b.flush();
    await b.put(entry('e4', { usedAt: NOW + 4 }), NOW + 4);
    expect(await rows(schema)).toBe(3);
    expect(b.get('e2', NOW + 5)).toBeUndefined();
    await eventually(() => a.get('e2', NOW + 5) === undefined && a.get('e4', NOW + 5) !== undefined, 'a drops e2 and holds e4');
    expect(a.get('e1', NOW + 5)).toBeDefined();
    expect(a.stats().entries).toBe(3);

    // A smaller bound: this instance's view at once, the table after it.
    a.setBounds(1, 1_000_000);
    expect(a.stats().entries).toBe(1);
    await eventually(async () => (await rows(schema)) === 1, 'the table holds one row');
    await eventually(() => b.stats().entries === 1, 'b holds one');
  });
});

describe.skipIf(url === undefined || url === '')('two gateways on one database', () => {
  it('serve each other\'s entries: exact and semantic hits, and an invalidation through one reaches the other', async () => {
    const schema = await freshSchema();
    const cache = {
      enabled: true,
      scope: 'global',
      semantic: { enabled: true, embedding_model: 'openai/text-embedding-3-small', dimensions: 64, threshold: 0.9, mode: 'serve' },
    };
    const bounds = { maxEntries: 1000, maxBytes: 10_000_000 };
    const first = await startCacheSuite(cache, {}, undefined, await openPostgresCacheStore(schema.pool(), bounds));
    suites.push(first);
    const second = await startCacheSuite(cache, {}, undefined, await openPostgresCacheStore(schema.pool(), bounds));
    suites.push(second);

    const question = 'What is the capital city of France?';
    const miss = await call('POST', `${first.gw.url}/v1/chat/completions`, chat(question));

    expect(miss.headers['x-heimdall-cache']).toBe('miss');
    await eventually(async () => (await rows(schema)) === 1, 'the entry is in the table');
    await eventually(async () => {
      const stats = await call('GET', `${second.gw.url}/api/cache/stats`);
      return stats.json.store.entries === 1;
    }, 'the second gateway holds it');

    const hit = await call('POST', `${second.gw.url}/v1/chat/completions`, chat(question));
    expect(hit.headers['x-heimdall-cache']).toBe('hit');
    expect(hit.json.choices[0].message.content).toBe(miss.json.choices[0].message.content);
    const paraphrase = await call('POST', `${second.gw.url}/v1/chat/completions`, chat("Tell me France's capital"));
    expect(paraphrase.headers['x-heimdall-cache']).toBe('semantic-hit');
    expect(paraphrase.json.choices[0].message.content).toBe(miss.json.choices[0].message.content);
    expect(upstreamCalls(second.mock, CHAT_PATHS)).toBe(0);
    expect(upstreamCalls(second.mock, EMBEDDING_PATHS)).toBe(1); // the paraphrase's (an exact hit embeds nothing)

    const cleared = await call('DELETE', `${second.gw.url}/api/cache?model=openai/gpt-4o-mini`);
    expect(cleared.json.deleted).toBe(1);
    await eventually(async () => (await call('GET', `${first.gw.url}/api/cache/stats`)).json.store.entries === 0, 'the first gateway forgot it');
    const again = await call('POST', `${first.gw.url}/v1/chat/completions`, chat(question));
    expect(again.headers['x-heimdall-cache']).toBe('miss');
    expect(upstreamCalls(first.mock, CHAT_PATHS)).toBe(2);
  });
});
