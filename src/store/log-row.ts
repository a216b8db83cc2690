/** Mapping between request log records and request_logs rows, both directions. */
import type {
  LogAttempt,
  LogSurface,
  RequestLogRecord,
  RequestLogSummary,
  StoredRequestLog,
} from './log-types.js';

/** Columns in table order; bodies last. */
export const LOG_COLUMNS = [
  'id', 'time', 'surface', 'route', 'method', 'virtual_key_id', 'team_id', 'customer_id',
  'provider', 'model', 'requested_model', 'status', 'latency_ms', 'upstream_ms', 'ttft_ms',
  'overhead_us', 'input_tokens', 'output_tokens', 'cached_tokens', 'reasoning_tokens',
  'cost_usd', 'cost_known', 'stream', 'cache', 'attempts', 'error_code', 'error_message',
  'metadata', 'request_body', 'response_body',
] as const;

export type LogColumn = (typeof LOG_COLUMNS)[number];
/**
 * A row as INSERT_LOG_SQL's parameters, by position: the rowid (the record's sequence number, or null
 * for SQLite's next one), then LOG_COLUMNS in order. Bound by position, not by name: better-sqlite3
 * looks a named parameter up on the object, one property at a time, which cost the writer thread more
 * than the rest of the binding.
 */
export type LogRow = Array<string | number | null>;

/** Where a column's value is in a LogRow (the rowid is first). */
export const ROW_INDEX = Object.fromEntries(LOG_COLUMNS.map((column, index) => [column, index + 1])) as Record<LogColumn, number>;

export const INSERT_LOG_SQL = `INSERT INTO request_logs (rowid, ${LOG_COLUMNS.join(', ')})
  VALUES (?${', ?'.repeat(LOG_COLUMNS.length)})`;

/** The columns listLogs() reads: everything but the bodies and metadata. */
export const SUMMARY_COLUMNS = LOG_COLUMNS.filter(
  (column) => column !== 'request_body' && column !== 'response_body' && column !== 'metadata' && column !== 'attempts',
);

function num(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function int(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? Math.round(value) : null;
}

function str(value: string | null | undefined): string | null {
  return typeof value === 'string' ? value : null;
}

/** A row ready for INSERT_LOG_SQL (LogRow: the rowid, then LOG_COLUMNS in order); bodies are passed already prepared (or null). */
export function recordToRow(
  record: RequestLogRecord,
  requestBody: string | null,
  responseBody: string | null,
): LogRow {
  return [
    int(record.seq),
    String(record.id),
    int(record.time) ?? Date.now(),
    record.surface,
    String(record.route ?? ''),
    String(record.method ?? ''),
    str(record.virtual_key_id),
    str(record.team_id),
    str(record.customer_id),
    str(record.provider),
    str(record.model),
    str(record.requested_model),
    int(record.status) ?? 0,
    num(record.latency_ms) ?? 0,
    num(record.upstream_ms),
    num(record.ttft_ms),
    int(record.overhead_us),
    int(record.input_tokens),
    int(record.output_tokens),
    int(record.cached_tokens),
    int(record.reasoning_tokens),
    // a cost is either known (a number, possibly 0) or unknown (null), never a guess
    record.cost_known ? num(record.cost_usd) : null,
    record.cost_known && num(record.cost_usd) !== null ? 1 : 0,
    record.stream ? 1 : 0,
    record.cache === 'hit' || record.cache === 'miss' ? record.cache : null,
    JSON.stringify(Array.isArray(record.attempts) ? record.attempts : []),
    str(record.error_code),
    str(record.error_message),
    record.metadata ? JSON.stringify(record.metadata) : null,
    requestBody,
    responseBody,
  ];
}

type Row = Record<string, unknown>;

function parseJson<T>(text: unknown, fallback: T): T {
  if (typeof text !== 'string') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function rowToSummary(row: Row): RequestLogSummary {
  return {
    id: row.id as string,
    time: row.time as number,
    surface: row.surface as LogSurface,
    route: row.route as string,
    method: row.method as string,
    virtual_key_id: row.virtual_key_id as string | null,
    team_id: row.team_id as string | null,
    customer_id: row.customer_id as string | null,
    provider: row.provider as string | null,
    model: row.model as string | null,
    requested_model: row.requested_model as string | null,
    status: row.status as number,
    latency_ms: row.latency_ms as number,
    upstream_ms: row.upstream_ms as number | null,
    ttft_ms: row.ttft_ms as number | null,
    overhead_us: row.overhead_us as number | null,
    input_tokens: row.input_tokens as number | null,
    output_tokens: row.output_tokens as number | null,
    cached_tokens: row.cached_tokens as number | null,
    reasoning_tokens: row.reasoning_tokens as number | null,
    cost_usd: row.cost_usd as number | null,
    cost_known: row.cost_known === 1,
    stream: row.stream === 1,
    cache: row.cache as 'hit' | 'miss' | null,
    error_code: row.error_code as string | null,
    error_message: row.error_message as string | null,
    attempt_count: (row.attempt_count as number | null) ?? 0,
  };
}

export function rowToStored(row: Row): StoredRequestLog {
  const { attempt_count: _count, ...summary } = rowToSummary(row);
  return {
    ...summary,
    attempts: parseJson<LogAttempt[]>(row.attempts, []),
    metadata: parseJson<Record<string, unknown> | null>(row.metadata, null),
    request_body: row.request_body as string | null,
    response_body: row.response_body as string | null,
  };
}
