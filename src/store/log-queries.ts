/**
 * Read side of the request logs: filtered lists with keyset (cursor) pagination,
 * one log in full, and aggregate stats for the dashboard. Statements are built
 * from a fixed set of fragments and prepared once per distinct shape.
 */
import type { Statement } from 'better-sqlite3';
import { invalidField } from '../errors/gateway-error.js';
import type { SqliteDatabase } from './database.js';
import { SUMMARY_COLUMNS, rowToStored, rowToSummary } from './log-row.js';
import type { RequestLogSummary, StoredRequestLog } from './log-types.js';

export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx';
export type LogSort = 'time' | 'latency' | 'cost';
export type SortOrder = 'asc' | 'desc';

export interface ListLogsParams {
  /** Inclusive, ms epoch. */
  from?: number;
  /** Exclusive, ms epoch. */
  to?: number;
  provider?: string;
  /** Exact match on the model that answered. */
  model?: string;
  status_class?: StatusClass;
  virtual_key_id?: string;
  /** Only the requests of this team's virtual keys (a team member's view). */
  team_id?: string;
  /** Substring of error message, error code, model or requested model; or an exact log id. */
  q?: string;
  sort?: LogSort;
  order?: SortOrder;
  /** Default 50; clamped to 1..500. */
  limit?: number;
  /** next_cursor of the previous page. */
  cursor?: string | null;
}

export interface LogPage {
  items: RequestLogSummary[];
  /** null on the last page. */
  next_cursor: string | null;
}

export interface LogStatsParams {
  /** Default: `to` minus 24 hours. */
  from?: number;
  /** Default: now. */
  to?: number;
  /** Default: the range over 60 buckets (at least 1 s); raised so there are at most 1,000 buckets. */
  bucket_ms?: number;
  /** Rows in each top list. Default 10. */
  top?: number;
  /** Only the requests of this team's virtual keys (a team member's view). */
  team_id?: string;
}

/**
 * Latency percentiles interpolate linearly between the closest ranks (SQLite's
 * percentile_cont, numpy's default method); null when there are no requests.
 */
export interface LogStatsBucket {
  start: number;
  requests: number;
  errors: number;
  p50_ms: number | null;
  p95_ms: number | null;
  tokens: number;
  cost_usd: number;
}

export interface LogStatsTop {
  requests: number;
  errors: number;
  tokens: number;
  cost_usd: number;
}

export interface LogStats {
  from: number;
  to: number;
  bucket_ms: number;
  /**
   * How the latency percentiles were computed: `exact` from every request's latency, or `approximate`
   * from a latency histogram, within 5% (cluster mode, ranges over 24 hours: docs/cluster.md).
   */
  percentiles: 'exact' | 'approximate';
  totals: {
    requests: number;
    errors: number;
    input_tokens: number;
    output_tokens: number;
    cached_tokens: number;
    /** Sum over requests with a known price. */
    cost_usd: number;
    /** Requests whose cost is unknown (no price for the model). */
    unknown_cost_requests: number;
    p50_ms: number | null;
    p95_ms: number | null;
    p99_ms: number | null;
  };
  /** Every bucket of the range, empty ones included. */
  buckets: LogStatsBucket[];
  top_models: Array<LogStatsTop & { provider: string | null; model: string }>;
  top_providers: Array<LogStatsTop & { provider: string }>;
  top_keys: Array<LogStatsTop & { virtual_key_id: string }>;
}

/** The read side of the request log, from SQLite (LogQueries) or, in cluster mode, Postgres (pg/log-queries.ts). */
export interface LogReader {
  getLog(id: string): StoredRequestLog | undefined | Promise<StoredRequestLog | undefined>;
  listLogs(params?: ListLogsParams): LogPage | Promise<LogPage>;
  logStats(params?: LogStatsParams): LogStats | Promise<LogStats>;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
const MAX_BUCKETS = 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Sort keys; unknown cost sorts below every known cost. */
const SORT_EXPRESSIONS: Record<LogSort, string> = {
  time: 'time',
  latency: 'latency_ms',
  cost: 'COALESCE(cost_usd, -1)',
};

const TOP_FIELDS = `count(*) AS requests, coalesce(sum(status >= 400), 0) AS errors,
  coalesce(sum(input_tokens), 0) + coalesce(sum(output_tokens), 0) AS tokens, total(cost_usd) AS cost_usd`;

type Cursor = [sort: LogSort, order: SortOrder, value: number, id: string];

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor(text: string, sort: LogSort, order: SortOrder): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalidField('cursor', 'cursor is not a value returned as next_cursor.');
  }
  if (
    !Array.isArray(parsed) || parsed.length !== 4 || typeof parsed[2] !== 'number' || typeof parsed[3] !== 'string'
  ) {
    throw invalidField('cursor', 'cursor is not a value returned as next_cursor.');
  }
  if (parsed[0] !== sort || parsed[1] !== order) {
    throw invalidField('cursor', 'cursor belongs to a listing with another sort or order; start again without it.');
  }
  return parsed as Cursor;
}

export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/** What differs between SQLite and Postgres in the statements both build from these fragments. */
export interface LogSqlDialect {
  /** The integer type a millisecond time is cast to. */
  integer: string;
  /** Case-insensitive (ASCII) LIKE. */
  like: string;
  /** The number of attempts of a row. */
  attemptCount: string;
}

const SQLITE: LogSqlDialect = { integer: 'INTEGER', like: 'LIKE', attemptCount: 'json_array_length(attempts)' };

export interface ListQuery {
  /** With named parameters (@name). */
  sql: string;
  values: Record<string, string | number>;
  sort: LogSort;
  order: SortOrder;
  limit: number;
}

/** The list's statement: filters, keyset cursor, sort; one row more than the page, to tell if there is a next. */
export function listQuery(params: ListLogsParams, dialect: LogSqlDialect): ListQuery {
  const sort: LogSort = params.sort ?? 'time';
  const order: SortOrder = params.order ?? 'desc';
  if (!(sort in SORT_EXPRESSIONS)) throw invalidField('sort', 'sort must be one of time, latency, cost.');
  if (order !== 'asc' && order !== 'desc') throw invalidField('order', 'order must be asc or desc.');
  const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(params.limit ?? DEFAULT_LIMIT)));
  const expression = SORT_EXPRESSIONS[sort];
  const { integer, like } = dialect;

  const where: string[] = [];
  const values: Record<string, string | number> = { limit: limit + 1 };
  if (params.from !== undefined) {
    where.push(`time >= CAST(@from AS ${integer})`);
    values.from = params.from;
  }
  if (params.to !== undefined) {
    where.push(`time < CAST(@to AS ${integer})`);
    values.to = params.to;
  }
  for (const column of ['provider', 'model', 'virtual_key_id', 'team_id'] as const) {
    const value = params[column];
    if (value === undefined) continue;
    where.push(`${column} = @${column}`);
    values[column] = value;
  }
  if (params.status_class !== undefined) {
    const base = /^([2-5])xx$/.exec(params.status_class);
    if (!base) throw invalidField('status_class', 'status_class must be one of 2xx, 3xx, 4xx, 5xx.');
    where.push('status >= @status_min AND status < @status_min + 100');
    values.status_min = Number(base[1]) * 100;
  }
  if (params.q !== undefined && params.q !== '') {
    where.push(`(id = @q OR error_message ${like} @q_like ESCAPE '\\' OR error_code ${like} @q_like ESCAPE '\\'
        OR model ${like} @q_like ESCAPE '\\' OR requested_model ${like} @q_like ESCAPE '\\')`);
    values.q = params.q;
    values.q_like = `%${escapeLike(params.q)}%`;
  }
  if (params.cursor) {
    const [, , value, id] = decodeCursor(params.cursor, sort, order);
    where.push(`(${expression}, id) ${order === 'desc' ? '<' : '>'} (@cursor_value, @cursor_id)`);
    values.cursor_value = value;
    values.cursor_id = id;
  }

  const sql = `SELECT ${SUMMARY_COLUMNS.join(', ')}, ${dialect.attemptCount} AS attempt_count FROM request_logs
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${expression} ${order}, id ${order} LIMIT @limit`;
  return { sql, values, sort, order, limit };
}

/** The page of `rows` (one more than the page when there is a next). */
export function toPage(rows: Array<Record<string, unknown>>, query: ListQuery): LogPage {
  const more = rows.length > query.limit;
  const items = (more ? rows.slice(0, query.limit) : rows).map(rowToSummary);
  const last = items[items.length - 1];
  const next_cursor =
    more && last ? encodeCursor([query.sort, query.order, sortValue(query.sort, last), last.id]) : null;
  return { items, next_cursor };
}

export interface StatsRange {
  from: number;
  to: number;
  bucket: number;
  top: number;
  /** Named parameters of `inRange`. */
  range: Record<string, string | number>;
  inRange: string;
}

/** The stats' range, bucket width and top size, checked, and the WHERE of the rows they count. */
export function statsRange(params: LogStatsParams, now: number, dialect: LogSqlDialect): StatsRange {
  const to = Math.floor(params.to ?? now);
  const from = Math.floor(params.from ?? to - DAY_MS);
  if (!(from < to)) throw invalidField('from', 'from must be before to.');
  const span = to - from;
  let bucket = Math.floor(params.bucket_ms ?? Math.max(1000, Math.ceil(span / 60)));
  if (!(bucket >= 1)) throw invalidField('bucket_ms', 'bucket_ms must be a positive number of milliseconds.');
  bucket = Math.max(bucket, Math.ceil(span / MAX_BUCKETS));
  const top = Math.min(100, Math.max(1, Math.floor(params.top ?? 10)));
  const range: Record<string, string | number> = { from, to };
  let inRange = `time >= CAST(@from AS ${dialect.integer}) AND time < CAST(@to AS ${dialect.integer})`;
  if (params.team_id !== undefined) {
    inRange = `${inRange} AND team_id = @team_id`;
    range.team_id = params.team_id;
  }
  return { from, to, bucket, top, range, inRange };
}

/** The last keys of a top list's order: ties in requests and cost in the order of their names (no value first), the same on every backend. */
export function topTieOrder(columns: string): string {
  return columns.split(', ').map((column) => `${column} NULLS FIRST`).join(', ');
}

/** Every bucket of the range, empty ones included, from the rows of the non-empty ones. */
export function fillBuckets(
  from: number, to: number, bucket: number, rows: Array<Omit<LogStatsBucket, 'start'> & { bucket: number }>,
): LogStatsBucket[] {
  const byIndex = new Map(rows.map((row) => [row.bucket, row]));
  const buckets: LogStatsBucket[] = [];
  for (let index = 0; from + index * bucket < to; index++) {
    const row = byIndex.get(index);
    buckets.push({
      start: from + index * bucket,
      requests: row?.requests ?? 0,
      errors: row?.errors ?? 0,
      p50_ms: row?.p50_ms ?? null,
      p95_ms: row?.p95_ms ?? null,
      tokens: row?.tokens ?? 0,
      cost_usd: row?.cost_usd ?? 0,
    });
  }
  return buckets;
}

export class LogQueries implements LogReader {
  readonly #db: SqliteDatabase;
  readonly #statements = new Map<string, Statement>();
  readonly #now: () => number;
  readonly #getLog: Statement<[string]>;
  readonly #statsInSnapshot: (params: LogStatsParams) => LogStats;

  constructor(db: SqliteDatabase, options: { now?: () => number } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#getLog = db.prepare<[string]>(
      'SELECT *, json_array_length(attempts) AS attempt_count FROM request_logs WHERE id = ?',
    );
    this.#statsInSnapshot = db.transaction((params: LogStatsParams) => this.#stats(params));
  }

  /** One log with attempts, metadata and bodies; undefined when unknown (or deleted by retention). */
  getLog(id: string): StoredRequestLog | undefined {
    const row = this.#getLog.get(id) as Record<string, unknown> | undefined;
    return row ? rowToStored(row) : undefined;
  }

  listLogs(params: ListLogsParams = {}): LogPage {
    const query = listQuery(params, SQLITE);
    const rows = this.#statement(query.sql).all(query.values) as Array<Record<string, unknown>>;
    return toPage(rows, query);
  }

  /**
   * The totals, buckets and tops in one read transaction: the log thread commits between statements
   * otherwise, and the totals would count a request the buckets and tops do not.
   */
  logStats(params: LogStatsParams = {}): LogStats {
    return this.#statsInSnapshot(params);
  }

  #stats(params: LogStatsParams): LogStats {
    const { from, to, bucket, top, range, inRange } = statsRange(params, this.#now(), SQLITE);
    const totals = this.#statement(`SELECT count(*) AS requests, coalesce(sum(status >= 400), 0) AS errors,
        coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
        coalesce(sum(cached_tokens), 0) AS cached_tokens, total(cost_usd) AS cost_usd,
        coalesce(sum(cost_known = 0), 0) AS unknown_cost_requests,
        percentile_cont(latency_ms, 0.5) AS p50_ms, percentile_cont(latency_ms, 0.95) AS p95_ms,
        percentile_cont(latency_ms, 0.99) AS p99_ms
      FROM request_logs WHERE ${inRange}`).get(range) as LogStats['totals'];

    const rows = this.#statement(`SELECT (time - CAST(@from AS INTEGER)) / CAST(@bucket AS INTEGER) AS bucket,
        count(*) AS requests, coalesce(sum(status >= 400), 0) AS errors,
        percentile_cont(latency_ms, 0.5) AS p50_ms, percentile_cont(latency_ms, 0.95) AS p95_ms,
        coalesce(sum(input_tokens), 0) + coalesce(sum(output_tokens), 0) AS tokens, total(cost_usd) AS cost_usd
      FROM request_logs WHERE ${inRange} GROUP BY bucket ORDER BY bucket`).all({ ...range, bucket }) as Array<
      Omit<LogStatsBucket, 'start'> & { bucket: number }
    >;
    const buckets = fillBuckets(from, to, bucket, rows);

    const topOf = (columns: string, notNull: string) =>
      this.#statement(`SELECT ${columns}, ${TOP_FIELDS} FROM request_logs
        WHERE ${inRange} AND ${notNull} IS NOT NULL GROUP BY ${columns}
        ORDER BY requests DESC, cost_usd DESC, ${topTieOrder(columns)} LIMIT @top`).all({ ...range, top });

    return {
      from,
      to,
      bucket_ms: bucket,
      percentiles: 'exact',
      totals,
      buckets,
      top_models: topOf('provider, model', 'model') as LogStats['top_models'],
      top_providers: topOf('provider', 'provider') as LogStats['top_providers'],
      top_keys: topOf('virtual_key_id', 'virtual_key_id') as LogStats['top_keys'],
    };
  }

  #statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

export function sortValue(sort: LogSort, item: RequestLogSummary): number {
  if (sort === 'latency') return item.latency_ms;
  if (sort === 'cost') return item.cost_usd ?? -1;
  return item.time;
}
