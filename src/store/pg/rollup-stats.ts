/**
 * The dashboard's stats (GET /api/logs/stats) in cluster mode from the rollups
 * (request-log-rollups.ts): the sums of whole minutes and hours from request_log_series and
 * request_log_rollups, the rest of the range (its edges, a minute cut by a bucket's edge) from the
 * rows, added up in one statement per part. The latency percentiles of a range up to a day long are
 * read from the rows (exact, through the time index, which holds the latency); those of a longer
 * range from the latency histogram (request_log_latency: its whole hours, the rest from the rows'
 * latencies put in the same buckets), within 5% (latency-histogram.ts). The same answers as reading
 * every row otherwise (test/cluster/pg-rollups.test.ts); cost sums may differ in the last bits of a
 * double (added in another order).
 */
import type pg from 'pg';
import { fillBuckets, topTieOrder, type LogStats, type LogStatsBucket, type StatsRange } from '../log-queries.js';
import { addToHistogram, emptyHistogram, histogramPercentile, latencyBucketSql, type Histogram } from './latency-histogram.js';
import { HOUR_MS } from './request-log-rollups.js';
import { hourPlan, seriesPlan, type SeriesPlan } from './rollup-plan.js';
import { positional } from './sql.js';

const PERCENTILES = [0.5, 0.95, 0.99].map((fraction, index) =>
  `percentile_cont(${fraction}) WITHIN GROUP (ORDER BY latency_ms) AS ${['p50_ms', 'p95_ms', 'p99_ms'][index]}`).join(', ');

const SERIES_SUMS = ['requests', 'errors', 'input_tokens', 'output_tokens', 'cached_tokens', 'cost_usd', 'unknown_cost_requests'];
const RAW_SERIES_SUMS = `count(*), count(*) FILTER (WHERE status >= 400), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
      coalesce(sum(cached_tokens), 0), coalesce(sum(cost_usd), 0), count(*) FILTER (WHERE cost_known = 0)`;

type SumsRow = { bucket: number | null; requests: number; errors: number; input_tokens: number; output_tokens: number;
  cached_tokens: number; cost_usd: number; unknown_cost_requests: number };
type PercentileRow = { bucket: number | null; p50_ms: number | null; p95_ms: number | null; p99_ms: number | null };

async function all<T>(client: pg.PoolClient, sql: string, values: Record<string, unknown>): Promise<T[]> {
  const query = positional(sql, values);
  return (await client.query(query.text, query.values)).rows as T[];
}

const bucketOf = (column: string) => `(${column} - CAST(@from AS bigint)) / CAST(@bucket AS bigint)`;

/**
 * The parts of a plan's statement: the rollup's units (`start`: its time column) as a WHERE, the rows
 * as a FROM ... WHERE, and their parameters. One or two ranges of rows (the dashboard's: at most the
 * end of the range) are index range scans; the units cut by edges of odd buckets are joined from a list.
 */
function planParts(plan: SeriesPlan, stats: StatsRange, start: string): { units: string; raw: string; values: Record<string, unknown> } {
  const { to, range } = stats;
  const team = range.team_id === undefined ? '' : 'AND team_id = @team_id';
  const raw = plan.raw.length <= 2
    ? `FROM request_logs WHERE ((time >= @raw1_from AND time < @raw1_to) OR (time >= @raw2_from AND time < @raw2_to))`
    : `FROM request_logs JOIN unnest(@raw_from::bigint[], @raw_to::bigint[]) AS raw (lo, hi) ON time >= raw.lo AND time < raw.hi
        WHERE time >= CAST(@from AS bigint) AND time < CAST(@to AS bigint)`;
  const [first, second] = [plan.raw[0] ?? [to, to], plan.raw[1] ?? [to, to]];
  return {
    units: `${start} >= @units_from AND ${start} < @units_to ${plan.skip.length > 0 ? `AND NOT (${start} = ANY(@skip::bigint[]))` : ''} ${team}`,
    raw: `${raw} ${team}`,
    values: {
      ...range, bucket: stats.bucket, units_from: plan.units[0], units_to: plan.units[1],
      ...(plan.skip.length > 0 ? { skip: plan.skip } : {}),
      ...(plan.raw.length <= 2
        ? { raw1_from: first[0], raw1_to: first[1], raw2_from: second[0], raw2_to: second[1] }
        : { raw_from: plan.raw.map((interval) => interval[0]), raw_to: plan.raw.map((interval) => interval[1]) }),
    },
  };
}

/** Sums per bucket and over the range (the row whose bucket is null). */
function seriesSums(client: pg.PoolClient, stats: StatsRange): Promise<SumsRow[]> {
  const plan = seriesPlan(stats.from, stats.to, stats.bucket);
  const parts = planParts(plan, stats, 'start');
  return all<SumsRow>(client, `SELECT bucket, ${SERIES_SUMS.map((column) => `sum(${column}) AS ${column}`).join(', ')} FROM (
      SELECT ${bucketOf('start')} AS bucket, ${SERIES_SUMS.join(', ')} FROM request_log_series WHERE width = @width AND ${parts.units}
      UNION ALL
      SELECT ${bucketOf('time')}, ${RAW_SERIES_SUMS} ${parts.raw} GROUP BY 1
    ) parts GROUP BY GROUPING SETS ((bucket), ())`, { ...parts.values, width: plan.width });
}

/** Ranges longer than this take their percentiles from the latency histogram. */
export const EXACT_PERCENTILES_MAX_MS = 24 * HOUR_MS;

/** Latency percentiles per bucket and over the range, from the rows (exact). */
function exactPercentiles(client: pg.PoolClient, stats: StatsRange): Promise<PercentileRow[]> {
  return all<PercentileRow>(client, `SELECT ${bucketOf('time')} AS bucket, ${PERCENTILES} FROM request_logs
    WHERE ${stats.inRange} GROUP BY GROUPING SETS ((${bucketOf('time')}), ())`, { ...stats.range, bucket: stats.bucket });
}

/** Latency percentiles per bucket and over the range, from request_log_latency's whole hours and the rest's rows (within 5%). */
async function histogramPercentiles(client: pg.PoolClient, stats: StatsRange): Promise<PercentileRow[]> {
  const parts = planParts(seriesPlan(stats.from, stats.to, stats.bucket, [HOUR_MS]), stats, 'hour');
  const counts = await all<{ bucket: number; latency_bucket: number; requests: number }>(client, `SELECT bucket, latency_bucket, sum(requests) AS requests FROM (
      SELECT ${bucketOf('hour')} AS bucket, latency_bucket, requests FROM request_log_latency WHERE ${parts.units}
      UNION ALL
      SELECT ${bucketOf('time')}, ${latencyBucketSql('latency_ms')}, count(*) ${parts.raw} GROUP BY 1, 2
    ) parts GROUP BY 1, 2`, parts.values);
  const overall = emptyHistogram();
  const byBucket = new Map<number, Histogram>();
  for (const row of counts) {
    let histogram = byBucket.get(row.bucket);
    if (histogram === undefined) byBucket.set(row.bucket, (histogram = emptyHistogram()));
    addToHistogram(histogram, row.latency_bucket, row.requests);
    addToHistogram(overall, row.latency_bucket, row.requests);
  }
  const percentilesOf = (bucket: number | null, histogram: Histogram): PercentileRow => ({
    bucket, p50_ms: histogramPercentile(histogram, 0.5), p95_ms: histogramPercentile(histogram, 0.95), p99_ms: histogramPercentile(histogram, 0.99),
  });
  return [percentilesOf(null, overall), ...[...byBucket].map(([bucket, histogram]) => percentilesOf(bucket, histogram))];
}

/** One top list: whole hours from request_log_rollups, the edges from the rows. */
function top(client: pg.PoolClient, stats: StatsRange, columns: string, notNull: string): Promise<unknown[]> {
  const plan = hourPlan(stats.from, stats.to);
  const team = stats.range.team_id === undefined ? '' : 'AND team_id = @team_id';
  return all(client, `SELECT ${columns}, sum(requests) AS requests, sum(errors) AS errors, sum(tokens) AS tokens, sum(cost_usd) AS cost_usd FROM (
      SELECT ${columns}, sum(requests) AS requests, sum(errors) AS errors, sum(input_tokens + output_tokens) AS tokens, sum(cost_usd) AS cost_usd
        FROM request_log_rollups WHERE hour >= @hours_from AND hour < @hours_to AND ${notNull} IS NOT NULL ${team} GROUP BY ${columns}
      UNION ALL
      SELECT ${columns}, count(*), count(*) FILTER (WHERE status >= 400), coalesce(sum(input_tokens), 0) + coalesce(sum(output_tokens), 0),
          coalesce(sum(cost_usd), 0)
        FROM request_logs WHERE ((time >= @raw1_from AND time < @raw1_to) OR (time >= @raw2_from AND time < @raw2_to))
          AND ${notNull} IS NOT NULL ${team} GROUP BY ${columns}
    ) parts GROUP BY ${columns} ORDER BY requests DESC, cost_usd DESC, ${topTieOrder(columns)} LIMIT @top`, {
    ...stats.range, top: stats.top, hours_from: plan.hours[0], hours_to: plan.hours[1],
    raw1_from: plan.raw[0][0], raw1_to: plan.raw[0][1], raw2_from: plan.raw[1][0], raw2_to: plan.raw[1][1],
  });
}

/** The stats of `stats`' range, read in `client`'s snapshot. */
export async function rollupStats(client: pg.PoolClient, stats: StatsRange, histogram = true): Promise<LogStats> {
  const sums = await seriesSums(client, stats);
  const approximate = histogram && stats.to - stats.from > EXACT_PERCENTILES_MAX_MS;
  const latencies = await (approximate ? histogramPercentiles : exactPercentiles)(client, stats);
  const total = sums.find((row) => row.bucket === null);
  const overall = latencies.find((row) => row.bucket === null);
  const byBucket = new Map(latencies.filter((row) => row.bucket !== null).map((row) => [row.bucket, row]));
  const rows: Array<Omit<LogStatsBucket, 'start'> & { bucket: number }> = sums
    .filter((row) => row.bucket !== null && row.requests > 0)
    .sort((a, b) => a.bucket! - b.bucket!)
    .map((row) => ({
      bucket: row.bucket!, requests: row.requests, errors: row.errors,
      p50_ms: byBucket.get(row.bucket)?.p50_ms ?? null, p95_ms: byBucket.get(row.bucket)?.p95_ms ?? null,
      tokens: row.input_tokens + row.output_tokens, cost_usd: row.cost_usd,
    }));
  return {
    from: stats.from,
    to: stats.to,
    bucket_ms: stats.bucket,
    percentiles: approximate ? 'approximate' : 'exact',
    totals: {
      requests: total?.requests ?? 0, errors: total?.errors ?? 0, input_tokens: total?.input_tokens ?? 0,
      output_tokens: total?.output_tokens ?? 0, cached_tokens: total?.cached_tokens ?? 0, cost_usd: total?.cost_usd ?? 0,
      unknown_cost_requests: total?.unknown_cost_requests ?? 0,
      p50_ms: overall?.p50_ms ?? null, p95_ms: overall?.p95_ms ?? null, p99_ms: overall?.p99_ms ?? null,
    },
    buckets: fillBuckets(stats.from, stats.to, stats.bucket, rows),
    top_models: (await top(client, stats, 'provider, model', 'model')) as LogStats['top_models'],
    top_providers: (await top(client, stats, 'provider', 'provider')) as LogStats['top_providers'],
    top_keys: (await top(client, stats, 'virtual_key_id', 'virtual_key_id')) as LogStats['top_keys'],
  };
}
