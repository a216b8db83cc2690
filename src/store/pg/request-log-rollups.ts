/**
 * Rollups of the request log in Postgres (migration 12): sums kept by the log writer in the same
 * statement as the rows it inserts (log-batch.ts), so the dashboard's stats and the usage report read
 * a few thousand rollup rows instead of every request of their range (log-queries.ts,
 * usage-queries.ts).
 *
 * - `request_log_rollups`: one row per UTC hour and (key, team, customer, provider, model): what the
 *   usage report groups and filters by, and the stats' top lists.
 * - `request_log_series`: one row per minute (`width` 60,000) and per hour (3,600,000) and team: the
 *   stats' totals and time buckets (a team member's view filters by team).
 * - `request_log_latency`: per UTC hour and team, the requests in each latency bucket
 *   (latency-histogram.ts): one row per bucket that has requests. The percentiles of ranges longer
 *   than a day come from it (within 5%); shorter ranges read the rows' latencies (exact), through
 *   indexes that hold the latency (an index-only scan of the range). Ids compare as bytes (COLLATE "C")
 * and NULL is one group (NULLS NOT DISTINCT), as GROUP BY sees them. Retention deletes the rollups
 * of the days it drops (retention.ts).
 *
 * SQLite gets the same tables (one schema for both backends) but does not fill them: its request log
 * is bounded by its retention and read in place.
 */

const SUMS_PG = `
  requests              bigint NOT NULL,
  errors                bigint NOT NULL,
  input_tokens          bigint NOT NULL,
  output_tokens         bigint NOT NULL,
  cached_tokens         bigint NOT NULL,
  cost_usd              double precision NOT NULL,
  unknown_cost_requests bigint NOT NULL`;

const SUMS_SQLITE = `
  requests              INTEGER NOT NULL,
  errors                INTEGER NOT NULL,
  input_tokens          INTEGER NOT NULL,
  output_tokens         INTEGER NOT NULL,
  cached_tokens         INTEGER NOT NULL,
  cost_usd              REAL NOT NULL,
  unknown_cost_requests INTEGER NOT NULL`;

import { latencyBucketSql } from './latency-histogram.js';

export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

/** The rows' sums as the rollups store them, from `request_logs` columns (`errors`: status >= 400; `unknown_cost_requests`: no price). */
const ROW_SUMS = `count(*), count(*) FILTER (WHERE status >= 400), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
    coalesce(sum(cached_tokens), 0), coalesce(sum(cost_usd), 0), count(*) FILTER (WHERE cost_known = 0)`;
const ROLLUP_ROW_SUMS = `${ROW_SUMS}, coalesce(sum(reasoning_tokens), 0),
    count(*) FILTER (WHERE cost_known = 0 AND (input_tokens IS NOT NULL OR output_tokens IS NOT NULL))`;
const SUM_COLUMNS = ['requests', 'errors', 'input_tokens', 'output_tokens', 'cached_tokens', 'cost_usd', 'unknown_cost_requests'];
const ROLLUP_SUM_COLUMNS = [...SUM_COLUMNS, 'reasoning_tokens', 'unpriced_requests'];
const ROLLUP_KEY = ['hour', 'virtual_key_id', 'team_id', 'customer_id', 'provider', 'model'];
const SERIES_KEY = ['width', 'start', 'team_id'];
const LATENCY_KEY = ['hour', 'team_id', 'latency_bucket'];

const adding = (table: string, columns: string[]) => columns.map((column) => `${column} = ${table}.${column} + excluded.${column}`).join(', ');

/**
 * Upserts adding the sums of the rows in `source` (a CTE of inserted request_logs rows) to both
 * rollups. Rows are fed in key order, so two writers lock the rows they share in the same order.
 */
export function rollupUpserts(source: string): { rollups: string; series: string; latency: string } {
  return {
    rollups: `INSERT INTO request_log_rollups (${ROLLUP_KEY.join(', ')}, ${ROLLUP_SUM_COLUMNS.join(', ')})
    SELECT time / ${HOUR_MS} * ${HOUR_MS}, virtual_key_id, team_id, customer_id, provider, model, ${ROLLUP_ROW_SUMS}
    FROM ${source} GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (${ROLLUP_KEY.join(', ')}) DO UPDATE SET ${adding('request_log_rollups', ROLLUP_SUM_COLUMNS)}`,
    series: `INSERT INTO request_log_series (${SERIES_KEY.join(', ')}, ${SUM_COLUMNS.join(', ')})
    SELECT w.width, time / w.width * w.width, team_id, ${ROW_SUMS}
    FROM ${source} CROSS JOIN (VALUES (${MINUTE_MS}::bigint), (${HOUR_MS}::bigint)) AS w (width)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (${SERIES_KEY.join(', ')}) DO UPDATE SET ${adding('request_log_series', SUM_COLUMNS)}`,
    latency: `INSERT INTO request_log_latency (${LATENCY_KEY.join(', ')}, requests)
    SELECT time / ${HOUR_MS} * ${HOUR_MS}, team_id, ${latencyBucketSql('latency_ms')}, count(*)
    FROM ${source} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (${LATENCY_KEY.join(', ')}) DO UPDATE SET ${adding('request_log_latency', ['requests'])}`,
  };
}

/** The request_logs columns the upserts read. */
export const ROLLUP_SOURCE_COLUMNS = 'time, virtual_key_id, team_id, customer_id, provider, model, status, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_usd, cost_known, latency_ms';

/**
 * Migration 12, Postgres: the rollups, filled from the rows already logged; and the time and team
 * indexes of request_logs made again with the latency in them, so the percentiles' scan reads the
 * index only.
 */
export const PG_REQUEST_LOG_ROLLUPS = `
CREATE TABLE request_log_rollups (
  hour                  bigint NOT NULL,
  virtual_key_id        text COLLATE "C",
  team_id               text COLLATE "C",
  customer_id           text COLLATE "C",
  provider              text COLLATE "C",
  model                 text COLLATE "C",${SUMS_PG},
  reasoning_tokens      bigint NOT NULL,
  unpriced_requests     bigint NOT NULL
);
CREATE UNIQUE INDEX request_log_rollups_key ON request_log_rollups (${ROLLUP_KEY.join(', ')}) NULLS NOT DISTINCT;
CREATE INDEX request_log_rollups_virtual_key ON request_log_rollups (virtual_key_id, hour);
CREATE INDEX request_log_rollups_team ON request_log_rollups (team_id, hour);
CREATE INDEX request_log_rollups_customer ON request_log_rollups (customer_id, hour);
CREATE TABLE request_log_series (
  width                 bigint NOT NULL,
  start                 bigint NOT NULL,
  team_id               text COLLATE "C",${SUMS_PG}
);
CREATE UNIQUE INDEX request_log_series_key ON request_log_series (${SERIES_KEY.join(', ')}) NULLS NOT DISTINCT;
CREATE TABLE request_log_latency (
  hour                  bigint NOT NULL,
  team_id               text COLLATE "C",
  latency_bucket        smallint NOT NULL,
  requests              bigint NOT NULL
);
CREATE UNIQUE INDEX request_log_latency_key ON request_log_latency (${LATENCY_KEY.join(', ')}) NULLS NOT DISTINCT;
${rollupUpserts('request_logs').rollups};
${rollupUpserts('request_logs').series};
${rollupUpserts('request_logs').latency};
DROP INDEX IF EXISTS request_logs_time;
CREATE INDEX request_logs_time ON request_logs (time, id) INCLUDE (latency_ms);
DROP INDEX IF EXISTS request_logs_team;
CREATE INDEX request_logs_team ON request_logs (team_id, time, id) INCLUDE (latency_ms) WHERE team_id IS NOT NULL;
`;

/** Migration 12, SQLite: the same tables, not filled (see above). */
export const SQLITE_REQUEST_LOG_ROLLUPS = `
CREATE TABLE request_log_rollups (
  hour                  INTEGER NOT NULL,
  virtual_key_id        TEXT,
  team_id               TEXT,
  customer_id           TEXT,
  provider              TEXT,
  model                 TEXT,${SUMS_SQLITE},
  reasoning_tokens      INTEGER NOT NULL,
  unpriced_requests     INTEGER NOT NULL
);
CREATE TABLE request_log_series (
  width                 INTEGER NOT NULL,
  start                 INTEGER NOT NULL,
  team_id               TEXT,${SUMS_SQLITE}
);
CREATE TABLE request_log_latency (
  hour                  INTEGER NOT NULL,
  team_id               TEXT,
  latency_bucket        INTEGER NOT NULL,
  requests              INTEGER NOT NULL
);
`;
