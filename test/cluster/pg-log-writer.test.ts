/**
 * The Postgres request-log writer (cluster mode), against a real Postgres in a schema of its own:
 * records go out in multi-row batches from the writer thread, into day partitions it creates ahead
 * (and on the spot for another day), idempotently with several writers; with Postgres cut (a TCP
 * proxy closed, never the server) the records are held, then written when it is back, none lost
 * within the bound; past the bound the oldest are dropped and counted; close flushes.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PgLogWriter, type PgLogWriterOptions } from '../../src/store/pg/log-writer.js';
import { DAY_MS, dayStart, ensurePartitions, listPartitions, partitionName } from '../../src/store/pg/partitions.js';
import { logRecord } from '../store/helpers.js';
import { freshSchema, tcpProxy, testDatabaseUrl, type TcpProxy, type TestSchema } from '../support/pg-schema.js';
import pg from 'pg';

const url = testDatabaseUrl('test/cluster/pg-log-writer.test.ts');

async function count(schema: TestSchema): Promise<number> {
  return Number((await schema.pool.query('SELECT count(*) AS n FROM request_logs')).rows[0].n);
}

describe.skipIf(url === undefined)('Postgres request-log writer', () => {
  let schema: TestSchema;
  let proxy: TcpProxy | undefined;
  const writers: PgLogWriter[] = [];

  beforeEach(async () => {
    schema = await freshSchema(url!, { migrate: true });
  });
  afterEach(async () => {
    for (const writer of writers.splice(0)) writer.close(2000);
    await proxy?.close();
    proxy = undefined;
    await schema.drop();
  });

  const make = (options: Partial<PgLogWriterOptions> = {}) => {
    // a loaded machine may take seconds to start the thread and connect: flush() waits for it here
    const writer = new PgLogWriter({ connection: schema.settings(), flushIntervalMs: 20, flushTimeoutMs: 20_000, ...options });
    writers.push(writer);
    return writer;
  };

  it('writes N records as N rows in multi-row batches, into the partitions it creates ahead', async () => {
    const now = Date.now();
    const writer = make({ batchSize: 250 });
    for (let index = 0; index < 1000; index++) writer.enqueue(logRecord({ id: `b-${index}`, time: now - index }));
    // The rows are readable as the last INSERT commits, a moment before the writer has counted its reply.
    await vi.waitFor(async () => {
      expect(await count(schema)).toBe(1000);
      expect(writer.stats).toMatchObject({ queued: 0, written: 1000, droppedRecords: 0 });
    }, { timeout: 10_000, interval: 50 });
    // 1,000 rows in batches of at most 250: at least 4 INSERTs, far fewer than 1,000
    expect(writer.stats.batches).toBeGreaterThanOrEqual(4);
    expect(writer.stats.batches).toBeLessThanOrEqual(50);
    const names = (await listPartitions(schema.pool)).map((partition) => partition.name);
    for (let day = 0; day <= 3; day++) expect(names).toContain(partitionName(dayStart(now) + day * DAY_MS));
    // the rows live in today's partition (or yesterday's, for the first ms of a day)
    const today = await schema.pool.query(`SELECT count(*) AS n FROM ${partitionName(dayStart(now))}`);
    expect(Number(today.rows[0].n)).toBeGreaterThan(0);
    const row = (await schema.pool.query("SELECT * FROM request_logs WHERE id = 'b-7'")).rows[0];
    expect(row).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', status: 200, cost_known: 1, stream: 0 });
    expect(Number(row.time)).toBe(now - 7);
    expect(JSON.parse(row.attempts)).toEqual([{ provider: 'openai', model: 'gpt-4o-mini', status: 200, latency_ms: 95 }]);
  });

  it('creates the partition of any day a batch needs; several writers creating the same days at once agree', async () => {
    const old = Date.UTC(2024, 0, 15, 12);
    const writer = make();
    writer.enqueue(logRecord({ id: 'old-1', time: old }));
    writer.enqueue(logRecord({ id: 'old-2', time: old + 2 * DAY_MS }));
    expect(writer.flush()).toBe(2);
    const names = (await listPartitions(schema.pool)).map((partition) => partition.name);
    expect(names).toEqual(expect.arrayContaining(['request_logs_p20240115', 'request_logs_p20240117']));
    expect(names).not.toContain('request_logs_p20240116');

    const clients = await Promise.all(Array.from({ length: 4 }, async () => {
      const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema.schema}` });
      await client.connect();
      return client;
    }));
    const days = Array.from({ length: 5 }, (_, index) => Date.UTC(2025, 5, 1) + index * DAY_MS);
    const created = await Promise.all(clients.map((client) => ensurePartitions(client, days)));
    await Promise.all(clients.map((client) => client.end()));
    // every day made exactly once, by whichever got the lock first
    expect(created.flat().sort()).toEqual(days.map(partitionName).sort());
  });

  it('flush() makes the records readable; a NUL (which Postgres text refuses) is replaced, not the record lost; close() writes the rest', async () => {
    const writer = make({ flushIntervalMs: 60_000, bodies: { enabled: true } });
    writer.enqueue(logRecord({ id: 'nul', error_message: 'bad\u0000byte', request_body: '{"a":"x\\u0000"}' }));
    writer.enqueue(logRecord({ id: 'fine' }));
    expect(writer.flush()).toBe(2);
    const rows = (await schema.pool.query('SELECT id, error_message FROM request_logs ORDER BY id')).rows;
    expect(rows).toEqual([{ id: 'fine', error_message: null }, { id: 'nul', error_message: 'bad\uFFFDbyte' }]);
    for (let index = 0; index < 30; index++) writer.enqueue(logRecord({ id: `late-${index}` }));
    writer.close(5000);
    expect(writer.unwritten).toBe(0);
    expect(await count(schema)).toBe(32);
  });

  it('Postgres cut: records are held and written when it is back, none lost within the bound; flush never waits for the outage', async () => {
    proxy = await tcpProxy(new URL(url!).hostname, Number(new URL(url!).port || 5432));
    const writer = make({ connection: schema.settings(proxy.via(url!)), retryMinMs: 20, retryMaxMs: 200 });
    for (let index = 0; index < 100; index++) writer.enqueue(logRecord({ id: `before-${index}`, time: Date.now() }));
    await vi.waitFor(async () => expect(await count(schema)).toBe(100), { timeout: 10_000, interval: 50 });

    await proxy.cut();
    for (let index = 0; index < 2000; index++) writer.enqueue(logRecord({ id: `during-${index}`, time: Date.now() }));
    await vi.waitFor(() => expect(writer.available).toBe(false), { timeout: 10_000, interval: 20 });
    const started = performance.now();
    expect(writer.flush()).toBe(0);
    expect(performance.now() - started).toBeLessThan(100);
    expect(writer.stats.queued).toBe(2000);
    expect(await count(schema)).toBe(100);

    await proxy.restore();
    // The rows are readable as the last INSERT commits, a moment before the writer has counted its reply.
    await vi.waitFor(async () => {
      expect(await count(schema)).toBe(2100);
      expect(writer.stats).toMatchObject({ queued: 0, written: 2100, droppedRecords: 0 });
    }, { timeout: 15_000, interval: 50 });
    expect(writer.available).toBe(true);
    expect(writer.stats.failedBatches).toBeGreaterThan(0);
  });

  it('past the bound the oldest records are dropped and counted; the newest are written', async () => {
    proxy = await tcpProxy(new URL(url!).hostname, Number(new URL(url!).port || 5432));
    await proxy.cut();
    const writer = make({ connection: schema.settings(proxy.via(url!)), retryMinMs: 20, retryMaxMs: 100, buffer: { maxRecords: 500 } });
    for (let index = 0; index < 800; index++) writer.enqueue(logRecord({ id: `r-${String(index).padStart(4, '0')}`, time: Date.now() }));
    await vi.waitFor(() => expect(writer.stats.droppedRecords).toBe(300), { timeout: 10_000, interval: 20 });
    expect(writer.stats.queued).toBe(500);
    await proxy.restore();
    await vi.waitFor(async () => expect(await count(schema)).toBe(500), { timeout: 15_000, interval: 50 });
    const oldest = (await schema.pool.query('SELECT min(id) AS id FROM request_logs')).rows[0].id;
    expect(oldest).toBe('r-0300');
  });
});
