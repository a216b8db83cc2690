/**
 * The request log's rollups in Postgres (src/store/pg/request-log-rollups.ts): the dashboard's stats
 * and the usage report read from the rollups answer exactly as reading every row does, for ranges
 * that start and end on whole hours and minutes (the dashboard's) and for ranges and buckets that do
 * not, except the latency percentiles of ranges over 24 hours, read from the latency histogram:
 * within the stated bound (latency-histogram.ts) of the exact ones; a batch written again is counted
 * once; retention deletes the rollups of the days it drops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { LogStats, LogStatsParams } from '../../src/store/log-queries.js';
import type { RequestLogRecord } from '../../src/store/log-types.js';
import { createPgPool } from '../../src/store/pg/connection.js';
import { LATENCY_RELATIVE_ERROR } from '../../src/store/pg/latency-histogram.js';
import { PgLogQueries } from '../../src/store/pg/log-queries.js';
import { EXACT_PERCENTILES_MAX_MS } from '../../src/store/pg/rollup-stats.js';
import { PgLogWriter } from '../../src/store/pg/log-writer.js';
import { PgRetention } from '../../src/store/pg/retention.js';
import { PgUsageQueries } from '../../src/store/pg/usage-queries.js';
import type { UsageGroup, UsagePeriod } from '../../src/governance/usage-query.js';
import { logRecord } from '../store/helpers.js';
import { freshSchema, testDatabaseUrl, type TestSchema } from '../support/pg-schema.js';

const url = testDatabaseUrl('test/cluster/pg-rollups.test.ts');

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Not on a whole minute: the default ranges cut minutes and hours. */
const NOW = Date.UTC(2026, 10, 20, 15, 30, 12, 345);

/** 3,000 records over 12 days, denser in the last hours; some exactly on hour and minute edges. */
function records(): RequestLogRecord[] {
  const providers = ['openai', 'anthropic', 'groq', null];
  const list: RequestLogRecord[] = [];
  for (let index = 0; index < 3000; index++) {
    const recent = index % 3 === 0;
    let time = NOW - Math.floor(((index * 7_777_777) % (recent ? 6 * HOUR : 12 * DAY)));
    if (index % 50 === 0) time = Math.floor(time / HOUR) * HOUR;
    else if (index % 17 === 0) time = Math.floor(time / MINUTE) * MINUTE - (index % 2);
    const known = index % 11 !== 0;
    list.push(logRecord({
      id: `req-${index}`,
      time,
      provider: providers[index % 4],
      model: index % 13 === 0 ? null : `model-${(index >> 1) % 6}`,
      status: [200, 200, 200, 201, 400, 429, 500][index % 7],
      latency_ms: 5 + ((index * 37) % 900) + (index % 3) / 4,
      input_tokens: index % 9 === 0 ? null : (index * 13) % 1000,
      output_tokens: index % 10 === 0 ? null : (index * 29) % 700,
      cached_tokens: index % 5,
      reasoning_tokens: index % 4,
      cost_known: known,
      // multiples of 1/1024: sums are exact whatever the order they are added in
      cost_usd: known ? ((index * 31) % 200) / 1024 : null,
      virtual_key_id: index % 5 === 0 ? null : `vk_${index % 23}`,
      team_id: index % 3 === 1 ? null : `team_${index % 4}`,
      customer_id: index % 7 === 0 ? null : `cus_${index % 3}`,
    }));
  }
  return list;
}

/** Every percentile of the stats, in order: the totals' p50, p95, p99, then each bucket's p50 and p95. */
function percentilesOf(stats: LogStats): Array<number | null> {
  return [stats.totals.p50_ms, stats.totals.p95_ms, stats.totals.p99_ms, ...stats.buckets.flatMap((bucket) => [bucket.p50_ms, bucket.p95_ms])];
}

/** The stats without their percentiles (and without saying how they were computed). */
function withoutPercentiles(stats: LogStats): unknown {
  return {
    ...stats, percentiles: undefined,
    totals: { ...stats.totals, p50_ms: undefined, p95_ms: undefined, p99_ms: undefined },
    buckets: stats.buckets.map((bucket) => ({ ...bucket, p50_ms: undefined, p95_ms: undefined })),
  };
}

/** The histogram's answer: the same sums; each percentile within the bound of the exact one (all latencies here are 5 ms and over). */
function expectWithinBound(approximate: LogStats, exact: LogStats): void {
  expect(approximate.percentiles).toBe('approximate');
  expect(withoutPercentiles(approximate)).toEqual(withoutPercentiles(exact));
  const exactOnes = percentilesOf(exact);
  expect(exactOnes.filter((value) => value !== null).length).toBeGreaterThan(3);
  percentilesOf(approximate).forEach((value, index) => {
    const expected = exactOnes[index];
    if (expected === null) return expect(value).toBeNull();
    expect(value).not.toBeNull();
    expect(Math.abs(value! - expected)).toBeLessThanOrEqual(expected * LATENCY_RELATIVE_ERROR * (1 + 1e-9));
  });
}

async function write(schema: TestSchema, batch: RequestLogRecord[]): Promise<number> {
  const writer = new PgLogWriter({ connection: schema.settings(), autoFlush: false });
  for (const record of batch) writer.enqueue(structuredClone(record));
  writer.close(10_000);
  expect(writer.unwritten).toBe(0);
  return writer.stats.written;
}

describe.skipIf(url === undefined)('request log rollups in Postgres answer as the rows do', () => {
  let schema: TestSchema;
  let pool: pg.Pool;
  let rollups: PgLogQueries;
  let rows: PgLogQueries;
  let exactRollups: PgLogQueries;
  let usageRollups: PgUsageQueries;
  let usageRows: PgUsageQueries;
  const all = records();

  beforeAll(async () => {
    schema = await freshSchema(url!, { migrate: true });
    // Several batches and writers: the rollups add up across statements.
    for (let start = 0; start < all.length; start += 700) await write(schema, all.slice(start, start + 700));
    pool = createPgPool(schema.settings());
    rollups = new PgLogQueries(pool, { now: () => NOW });
    rows = new PgLogQueries(pool, { now: () => NOW, rollups: false });
    exactRollups = new PgLogQueries(pool, { now: () => NOW, histogram: false });
    usageRollups = new PgUsageQueries(pool);
    usageRows = new PgUsageQueries(pool, { rollups: false });
  });
  afterAll(async () => {
    await pool?.end();
    await schema?.drop();
  });

  const aligned = (span: number, bucket: number): LogStatsParams => {
    const to = Math.ceil(NOW / bucket) * bucket;
    return { from: to - span, to, bucket_ms: bucket, top: 8 };
  };
  const statsCases: Array<[string, LogStatsParams]> = [
    ['default: last 24 h, buckets of 24 min from an odd ms', {}],
    ['dashboard 1 h by minute', aligned(HOUR, MINUTE)],
    ['dashboard 24 h by 30 min', aligned(DAY, 30 * MINUTE)],
    ['dashboard 7 d by 3 h', aligned(7 * DAY, 3 * HOUR)],
    ['dashboard 30 d by 12 h', aligned(30 * DAY, 12 * HOUR)],
    ['dashboard live: the last minute', { from: NOW - MINUTE, to: NOW, bucket_ms: MINUTE, top: 1 }],
    ['5 h by 90 s from an odd ms', { from: NOW - 5 * HOUR, bucket_ms: 90_000 }],
    ['3 d by 7 min + 1 ms', { from: NOW - 3 * DAY + 17, bucket_ms: 7 * MINUTE + 1, top: 20 }],
    ['2 h by 45 s (read from the rows)', { from: NOW - 2 * HOUR, bucket_ms: 45_000 }],
    ['one team, 24 h by 30 min', { ...aligned(DAY, 30 * MINUTE), team_id: 'team_2' }],
    ['one team, 12 d from an odd ms', { from: NOW - 12 * DAY - 5, team_id: 'team_0', top: 100 }],
    ['within one hour', { from: NOW - 20 * MINUTE, to: NOW - 5 * MINUTE }],
    ['nothing there', { from: NOW + HOUR, to: NOW + 2 * HOUR }],
  ];

  /** The rollups' stats: the rows' answer, percentiles within the bound for ranges over 24 hours. */
  async function expectStats(params: LogStatsParams): Promise<void> {
    const expected = await rows.logStats(params);
    expect(expected.percentiles).toBe('exact');
    if (expected.to - expected.from >= HOUR && expected.from < NOW) expect(expected.totals.requests).toBeGreaterThan(0);
    expect(await exactRollups.logStats(params)).toEqual(expected);
    const actual = await rollups.logStats(params);
    if (expected.to - expected.from > EXACT_PERCENTILES_MAX_MS) expectWithinBound(actual, expected);
    else expect(actual).toEqual(expected);
  }

  it.each(statsCases)('stats: %s', async (_, params) => expectStats(params));

  it('stats over 24 hours read the latency histogram (the dashboard\'s 7 and 30 days, unaligned ranges, one team)', async () => {
    for (const [name, params] of statsCases) {
      const stats = await rollups.logStats(params);
      expect([name, stats.percentiles]).toEqual([name, stats.to - stats.from > EXACT_PERCENTILES_MAX_MS ? 'approximate' : 'exact']);
    }
  });

  const periods: UsagePeriod[] = ['today', '7d', '30d', 'month'];
  const groups: UsageGroup[] = ['model', 'provider', 'key', 'team', 'customer', 'day'];
  const usageCases: Array<{ period: UsagePeriod; group_by: UsageGroup; key?: string; team?: string; customer?: string; limit?: number }> =
    periods.flatMap((period) => groups.map((group_by) => ({ period, group_by })));
  it.each([
    ...usageCases,
    { period: '30d' as const, group_by: 'day' as const, key: 'vk_7' },
    { period: '7d' as const, group_by: 'model' as const, team: 'team_3' },
    { period: '30d' as const, group_by: 'key' as const, customer: 'cus_1', limit: 3 },
    { period: 'today' as const, group_by: 'provider' as const, key: 'vk_none' },
  ])('usage: %o', async (params) => {
    const expected = await usageRows.report({ ...params, now: NOW });
    if (params.key !== 'vk_none') expect(expected.totals.requests).toBeGreaterThan(0);
    expect(await usageRollups.report({ ...params, now: NOW })).toEqual(expected);
  });

  it('a batch written again is counted once', async () => {
    const before = await rollups.logStats({ from: NOW - 13 * DAY, to: NOW + 1 });
    expect(before.totals.requests).toBe(all.length);
    expect(await write(schema, all.slice(0, 500))).toBe(500);
    const after = await rollups.logStats({ from: NOW - 13 * DAY, to: NOW + 1 });
    expect(after).toEqual(before);
  });

  it('retention drops the rollups of the days it drops, and the answers still agree', async () => {
    const result = await new PgRetention(pool, { limits: () => ({ maxAgeMs: 5 * DAY, maxBytes: null }), now: () => NOW }).run();
    expect(result.droppedByAge.length).toBeGreaterThan(3);
    const counted = await pool.query<{ requests: number }>('SELECT coalesce(sum(requests), 0) AS requests FROM request_log_rollups');
    const logged = await pool.query<{ requests: number }>('SELECT count(*) AS requests FROM request_logs');
    expect(counted.rows[0].requests).toBe(logged.rows[0].requests);
    expect(logged.rows[0].requests).toBeLessThan(all.length);
    for (const params of [{ from: NOW - 30 * DAY }, aligned(30 * DAY, 12 * HOUR)]) await expectStats(params);
    const latency = await pool.query<{ requests: number }>('SELECT coalesce(sum(requests), 0) AS requests FROM request_log_latency');
    expect(latency.rows[0].requests).toBe(logged.rows[0].requests);
    expect(await usageRollups.report({ period: '30d', group_by: 'day', now: NOW })).toEqual(await usageRows.report({ period: '30d', group_by: 'day', now: NOW }));
  });
});
