/**
 * Query parity: the same records written to SQLite (the embedded store) and to Postgres (cluster
 * mode) answer the logs list (every filter, sort, order and page), one log, the dashboard's stats
 * and the usage API's groups identically.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { LogQueries, type ListLogsParams, type LogPage } from '../../src/store/log-queries.js';
import { LogWriter } from '../../src/store/log-writer.js';
import type { RequestLogRecord } from '../../src/store/log-types.js';
import { createPgPool } from '../../src/store/pg/connection.js';
import { PgLogQueries } from '../../src/store/pg/log-queries.js';
import { PgLogWriter } from '../../src/store/pg/log-writer.js';
import { PgUsageQueries } from '../../src/store/pg/usage-queries.js';
import { UsageQueries, type UsageGroup, type UsagePeriod } from '../../src/governance/usage-query.js';
import { logRecord } from '../store/helpers.js';
import { freshSchema, testDatabaseUrl, type TestSchema } from '../support/pg-schema.js';
import type pg from 'pg';

const url = testDatabaseUrl('test/cluster/pg-log-queries.test.ts');

const NOW = Date.UTC(2026, 10, 20, 15, 30);
const HOUR = 3_600_000;

/** 400 records over 40 days: providers, models, keys, teams, customers, statuses, unknown costs, ids of mixed case. */
function records(): RequestLogRecord[] {
  const providers = ['openai', 'anthropic', 'groq', null];
  const models = ['gpt-4o-mini', 'claude-sonnet-4', 'llama-3.1-8b', 'GPT-4o'];
  const statuses = [200, 200, 200, 201, 304, 400, 429, 500, 502];
  const list: RequestLogRecord[] = [];
  for (let index = 0; index < 400; index++) {
    const known = index % 11 !== 0;
    list.push(logRecord({
      id: `${index % 3 === 0 ? 'Req' : 'req'}-${String((index * 7919) % 1000).padStart(4, '0')}-${index % 5 === 0 ? 'B' : 'a'}`,
      time: NOW - Math.floor((index * 2.4 * HOUR) % (40 * 24 * HOUR)) - (index % 17) * 1000,
      provider: providers[index % 4],
      model: index % 13 === 0 ? null : models[(index >> 1) % 4],
      requested_model: `x/${models[index % 4]}`,
      status: statuses[index % statuses.length],
      latency_ms: 10 + ((index * 37) % 500) + (index % 3) / 4,
      input_tokens: index % 9 === 0 ? null : (index * 13) % 1000,
      output_tokens: (index * 29) % 700,
      reasoning_tokens: index % 4,
      cost_known: known,
      // multiples of 1/1024: sums are exact whatever the order they are added in
      cost_usd: known ? ((index * 31) % 200) / 1024 : null,
      virtual_key_id: index % 5 === 0 ? null : `vk_${index % 4}`,
      team_id: index % 3 === 0 ? null : `team_${index % 2}`,
      customer_id: index % 7 === 0 ? null : `cus_${index % 3}`,
      error_code: index % 9 > 4 ? 'upstream_error' : null,
      error_message: index % 9 > 4 ? `Upstream said ${index % 2 ? 'Overloaded' : 'rate limit_100%'}` : null,
      stream: index % 2 === 0,
      cache: index % 6 === 0 ? 'hit' : null,
    }));
  }
  return list;
}

describe.skipIf(url === undefined)('Postgres log queries answer as the SQLite ones', () => {
  let schema: TestSchema;
  let db: SqliteDatabase;
  let pool: pg.Pool;
  let sqlite: LogQueries;
  let postgres: PgLogQueries;

  beforeAll(async () => {
    schema = await freshSchema(url!, { migrate: true });
    db = openDatabase('', { memory: true });
    const local = new LogWriter(db, { autoFlush: false, bodies: { enabled: true } });
    const remote = new PgLogWriter({ connection: schema.settings(), autoFlush: false, bodies: { enabled: true } });
    for (const record of records()) {
      local.enqueue(structuredClone(record));
      remote.enqueue(structuredClone(record));
    }
    local.flush();
    remote.close(10_000);
    expect(remote.unwritten).toBe(0);
    expect(remote.stats.written).toBe(400);
    pool = createPgPool(schema.settings());
    sqlite = new LogQueries(db, { now: () => NOW });
    // Exact percentiles whatever the range, as SQLite gives them (the histogram's: test/cluster/pg-rollups.test.ts).
    postgres = new PgLogQueries(pool, { now: () => NOW, histogram: false });
  });
  afterAll(async () => {
    db?.close();
    await pool?.end();
    await schema?.drop();
  });

  const pages = async (list: (params: ListLogsParams) => LogPage | Promise<LogPage>, params: ListLogsParams) => {
    const all: LogPage[] = [];
    let cursor: string | null = null;
    do {
      const page: LogPage = await list({ ...params, cursor });
      all.push(page);
      cursor = page.next_cursor;
    } while (cursor !== null && all.length < 100);
    return all;
  };

  const listings: ListLogsParams[] = [
    {},
    { limit: 37 },
    { sort: 'latency', order: 'asc', limit: 50 },
    { sort: 'cost', order: 'desc', limit: 45 },
    { sort: 'cost', order: 'asc', limit: 500 },
    { from: NOW - 10 * 24 * HOUR, to: NOW - 2 * 24 * HOUR, limit: 20 },
    { provider: 'openai', limit: 10 },
    { model: 'GPT-4o' },
    { status_class: '5xx', sort: 'latency', order: 'desc', limit: 7 },
    { status_class: '4xx' },
    { virtual_key_id: 'vk_2', limit: 9 },
    { team_id: 'team_1', sort: 'time', order: 'asc', limit: 30 },
    { q: 'overloaded' },
    { q: 'limit_100%' },
    { q: 'Req-0000-B' },
    { q: 'gpt' },
  ];

  it.each(listings)('lists the same pages: %o', async (params) => {
    const expected = await pages((p) => sqlite.listLogs(p), params);
    const actual = await pages((p) => postgres.listLogs(p), params);
    expect(expected.flatMap((page) => page.items).length).toBeGreaterThan(0);
    expect(actual).toEqual(expected);
  });

  it('returns one log in full, and nothing for an unknown id', async () => {
    const some = sqlite.listLogs({ limit: 3 }).items.map((item) => item.id);
    for (const id of some) {
      const expected = sqlite.getLog(id);
      expect(expected).toBeDefined();
      expect(await postgres.getLog(id)).toEqual(expected);
    }
    expect(await postgres.getLog('nope')).toBeUndefined();
  });

  it.each([
    {},
    { from: NOW - 40 * 24 * HOUR, to: NOW + HOUR, top: 3 },
    { from: NOW - 7 * 24 * HOUR, bucket_ms: 6 * HOUR },
    { team_id: 'team_0', from: NOW - 30 * 24 * HOUR },
  ])('computes the same stats: %o', async (params) => {
    const expected = sqlite.logStats(params);
    expect(expected.totals.requests).toBeGreaterThan(0);
    expect(await postgres.logStats(params)).toEqual(expected);
  });

  const usage: Array<{ period: UsagePeriod; group_by: UsageGroup; key?: string; team?: string; customer?: string; limit?: number }> = [
    { period: '30d', group_by: 'model' },
    { period: '30d', group_by: 'provider' },
    { period: '7d', group_by: 'key' },
    { period: 'month', group_by: 'team' },
    { period: '30d', group_by: 'customer', team: 'team_1' },
    { period: '30d', group_by: 'day' },
    { period: 'today', group_by: 'model' },
    { period: '30d', group_by: 'model', key: 'vk_1', limit: 2 },
    { period: '30d', group_by: 'day', customer: 'cus_2' },
  ];

  it.each(usage)('reports the same usage: %o', async (params) => {
    const expected = new UsageQueries(db).report({ ...params, now: NOW });
    expect(expected.totals.requests).toBeGreaterThan(0);
    expect(await new PgUsageQueries(pool).report({ ...params, now: NOW })).toEqual(expected);
  });
});
