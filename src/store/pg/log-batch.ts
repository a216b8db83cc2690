/**
 * The Postgres request-log writer's parts that are plain data: rows as parameter arrays, the
 * multi-row INSERT, the bounded buffer that holds rows while Postgres cannot take them, and which
 * errors are worth a retry. Used by the writer thread (pg-log-writer-thread.ts).
 */
import { LOG_COLUMNS, ROW_INDEX, type LogRow } from '../log-row.js';
import { ROLLUP_SOURCE_COLUMNS, rollupUpserts } from './request-log-rollups.js';

export type RowValues = Array<string | number | null>;

/** Postgres text cannot hold NUL; a body or error text that has one keeps a replacement character. */
function clean(value: string | number | null): string | number | null {
  return typeof value === 'string' && value.includes('\u0000') ? value.replace(/\u0000/g, '\uFFFD') : value;
}

/** A row's values in LOG_COLUMNS order (its rowid left out: Postgres numbers its own). */
export function rowValues(row: LogRow): RowValues {
  return LOG_COLUMNS.map((column) => clean(row[ROW_INDEX[column]]));
}

/** Bytes a row holds, estimated: its text, 8 per number. */
export function rowBytes(values: RowValues): number {
  let bytes = 0;
  for (const value of values) bytes += typeof value === 'string' ? value.length : 8;
  return bytes;
}

/** Postgres types of LOG_COLUMNS, in order (request-log-schema.ts). */
const COLUMN_TYPES: Record<(typeof LOG_COLUMNS)[number], string> = {
  id: 'text', time: 'bigint', surface: 'text', route: 'text', method: 'text', virtual_key_id: 'text', team_id: 'text',
  customer_id: 'text', provider: 'text', model: 'text', requested_model: 'text', status: 'integer',
  latency_ms: 'float8', upstream_ms: 'float8', ttft_ms: 'float8', overhead_us: 'bigint', input_tokens: 'bigint',
  output_tokens: 'bigint', cached_tokens: 'bigint', reasoning_tokens: 'bigint', cost_usd: 'float8',
  cost_known: 'smallint', stream: 'smallint', cache: 'text', attempts: 'text', error_code: 'text',
  error_message: 'text', metadata: 'text', request_body: 'text', response_body: 'text',
};

/**
 * The INSERT of a batch: one array parameter per column, unnested into rows. Thirty parameters
 * whatever the batch size, so the statement is parsed and planned in the same time for 1 row or
 * 2,000 (a VALUES list of 500 rows has 15,000 parameters, and costs more to plan than to write). A
 * row already there (the same id and time: a batch sent again) is skipped. The rows inserted, and
 * only those, are added to the rollups (request-log-rollups.ts) in the same statement: a batch sent
 * again after a lost commit is counted once.
 */
const INSERT_ROWS = `INSERT INTO request_logs (${LOG_COLUMNS.join(', ')})
  SELECT * FROM unnest(${LOG_COLUMNS.map((column, index) => `$${index + 1}::${COLUMN_TYPES[column]}[]`).join(', ')})
  ON CONFLICT DO NOTHING`;
/** The rows alone, without the rollups (what the writer ran before them: bench/pg-rollups.mjs compares the two). */
export const INSERT_LOGS_ONLY_SQL = INSERT_ROWS;
const UPSERTS = rollupUpserts('inserted');
export const INSERT_LOGS_SQL = `WITH inserted AS (${INSERT_ROWS} RETURNING ${ROLLUP_SOURCE_COLUMNS}),
  rollups AS (${UPSERTS.rollups}),
  latency AS (${UPSERTS.latency})
  ${UPSERTS.series}`;

/** The parameters of INSERT_LOGS_SQL for these rows: one array per column. */
export function insertLogsParams(rows: readonly RowValues[]): RowValues[] {
  return LOG_COLUMNS.map((_, column) => rows.map((row) => row[column]));
}

/** Rows per INSERT at most (a bound on one statement's size, not a Postgres limit). */
export const MAX_BATCH_ROWS = 5000;

/**
 * Rows waiting for Postgres, oldest first, within a bound of rows and bytes: past it the oldest are
 * dropped (and counted), so an outage costs the oldest logs, never memory without end.
 */
export class RowBuffer {
  #rows: Array<{ values: RowValues; bytes: number }> = [];
  #head = 0;
  #bytes = 0;
  dropped = 0;

  constructor(readonly maxRows: number, readonly maxBytes: number) {}

  get length(): number {
    return this.#rows.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Adds a row; returns how many of the oldest were dropped to keep within the bound. */
  push(values: RowValues): number {
    const bytes = rowBytes(values);
    this.#rows.push({ values, bytes });
    this.#bytes += bytes;
    let dropped = 0;
    while (this.length > 0 && (this.length > this.maxRows || this.#bytes > this.maxBytes)) {
      this.#bytes -= this.#rows[this.#head].bytes;
      this.#head++;
      dropped++;
    }
    this.dropped += dropped;
    this.#compact();
    return dropped;
  }

  /** The oldest `max` rows, left in place until remove(). */
  peek(max: number): RowValues[] {
    const end = Math.min(this.#rows.length, this.#head + max);
    const rows: RowValues[] = [];
    for (let index = this.#head; index < end; index++) rows.push(this.#rows[index].values);
    return rows;
  }

  /** Removes the oldest `count` rows (written, or given up). */
  remove(count: number): void {
    const end = Math.min(this.#rows.length, this.#head + count);
    for (let index = this.#head; index < end; index++) this.#bytes -= this.#rows[index].bytes;
    this.#head = end;
    this.#compact();
  }

  #compact(): void {
    if (this.#head === this.#rows.length) {
      this.#rows = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#rows.length) {
      this.#rows = this.#rows.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** SQLSTATE of an insert into a partitioned table with no partition for the row. */
const NO_PARTITION = '23514';

export function isMissingPartition(error: unknown): boolean {
  const { code, message } = error as { code?: string; message?: string };
  return code === NO_PARTITION && typeof message === 'string' && message.includes('no partition');
}

/**
 * An error of the row's data (a value Postgres refuses): retrying the same batch cannot help, so the
 * batch is written row by row and only the refused rows are lost. Anything else (no connection, a
 * server shutting down, a full disk, a timeout) is retried with backoff.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return typeof code === 'string' && (code.startsWith('22') || (code.startsWith('23') && !isMissingPartition(error)));
}
