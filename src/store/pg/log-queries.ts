/**
 * The request-log queries of cluster mode, on Postgres: the same lists, log, stats (log-queries.ts)
 * and usage report (usage-query.ts) as the SQLite store, returning promises. Every instance writes
 * to the same table, so any instance lists every instance's requests.
 *
 * The statements are the SQLite ones where the two dialects agree (the list's filters and keyset
 * cursor are built by the same code); the aggregates use Postgres's spelling (FILTER,
 * percentile_cont ... WITHIN GROUP, the same linear interpolation). Stats and usage read in one
 * REPEATABLE READ transaction, so totals and groups count the same rows.
 *
 * The stats read the rollups the log writer keeps (rollup-stats.ts); `rollups: false` reads every row
 * of the range instead (the reference the rollups are tested and measured against); `histogram:
 * false` reads the rollups' sums but every row's latency, whatever the range (exact percentiles).
 */
import type pg from 'pg';
import {
  fillBuckets, listQuery, statsRange, toPage, topTieOrder,
  type ListLogsParams, type LogPage, type LogSqlDialect, type LogStats, type LogStatsBucket, type LogStatsParams,
} from '../log-queries.js';
import { rowToStored } from '../log-row.js';
import type { StoredRequestLog } from '../log-types.js';
import { rollupStats } from './rollup-stats.js';
import { positional } from './sql.js';

const POSTGRES: LogSqlDialect = { integer: 'bigint', like: 'ILIKE', attemptCount: 'json_array_length(attempts::json)' };

const ERRORS = 'count(*) FILTER (WHERE status >= 400)';
const TOP_FIELDS = `count(*) AS requests, ${ERRORS} AS errors,
  coalesce(sum(input_tokens), 0) + coalesce(sum(output_tokens), 0) AS tokens, coalesce(sum(cost_usd), 0) AS cost_usd`;
const percentile = (fraction: number) => `percentile_cont(${fraction}) WITHIN GROUP (ORDER BY latency_ms)`;

/** Runs `read` in one read-only snapshot. */
export async function inSnapshot<T>(pool: pg.Pool, read: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const result = await read(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function all<T>(db: pg.Pool | pg.PoolClient, sql: string, values: Record<string, unknown>): Promise<T[]> {
  const query = positional(sql, values);
  return (await db.query(query.text, query.values)).rows as T[];
}

export class PgLogQueries {
  readonly #pool: pg.Pool;
  readonly #now: () => number;
  readonly #rollups: boolean;
  readonly #histogram: boolean;

  constructor(pool: pg.Pool, options: { now?: () => number; rollups?: boolean; histogram?: boolean } = {}) {
    this.#pool = pool;
    this.#now = options.now ?? Date.now;
    this.#rollups = options.rollups ?? true;
    this.#histogram = options.histogram ?? true;
  }

  async getLog(id: string): Promise<StoredRequestLog | undefined> {
    const result = await this.#pool.query('SELECT * FROM request_logs WHERE id = $1 ORDER BY time DESC LIMIT 1', [id]);
    return result.rows[0] === undefined ? undefined : rowToStored(result.rows[0] as Record<string, unknown>);
  }

  async listLogs(params: ListLogsParams = {}): Promise<LogPage> {
    const query = listQuery(params, POSTGRES);
    return toPage(await all(this.#pool, query.sql, query.values), query);
  }

  async logStats(params: LogStatsParams = {}): Promise<LogStats> {
    const stats = statsRange(params, this.#now(), POSTGRES);
    if (this.#rollups) return inSnapshot(this.#pool, (client) => rollupStats(client, stats, this.#histogram));
    const { from, to, bucket, top, range, inRange } = stats;
    return inSnapshot(this.#pool, async (client) => {
      const [totals] = await all<LogStats['totals']>(client, `SELECT count(*) AS requests, ${ERRORS} AS errors,
          coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
          coalesce(sum(cached_tokens), 0) AS cached_tokens, coalesce(sum(cost_usd), 0) AS cost_usd,
          count(*) FILTER (WHERE cost_known = 0) AS unknown_cost_requests,
          ${percentile(0.5)} AS p50_ms, ${percentile(0.95)} AS p95_ms, ${percentile(0.99)} AS p99_ms
        FROM request_logs WHERE ${inRange}`, range);
      const rows = await all<Omit<LogStatsBucket, 'start'> & { bucket: number }>(client, `SELECT
          (time - CAST(@from AS bigint)) / CAST(@bucket AS bigint) AS bucket,
          count(*) AS requests, ${ERRORS} AS errors, ${percentile(0.5)} AS p50_ms, ${percentile(0.95)} AS p95_ms,
          coalesce(sum(input_tokens), 0) + coalesce(sum(output_tokens), 0) AS tokens, coalesce(sum(cost_usd), 0) AS cost_usd
        FROM request_logs WHERE ${inRange} GROUP BY 1 ORDER BY 1`, { ...range, bucket });
      const topOf = (columns: string, notNull: string) => all(client, `SELECT ${columns}, ${TOP_FIELDS} FROM request_logs
          WHERE ${inRange} AND ${notNull} IS NOT NULL GROUP BY ${columns}
          ORDER BY requests DESC, cost_usd DESC, ${topTieOrder(columns)} LIMIT @top`, { ...range, top });
      return {
        from,
        to,
        bucket_ms: bucket,
        percentiles: 'exact',
        totals,
        buckets: fillBuckets(from, to, bucket, rows),
        top_models: (await topOf('provider, model', 'model')) as LogStats['top_models'],
        top_providers: (await topOf('provider', 'provider')) as LogStats['top_providers'],
        top_keys: (await topOf('virtual_key_id', 'virtual_key_id')) as LogStats['top_keys'],
      };
    });
  }
}
