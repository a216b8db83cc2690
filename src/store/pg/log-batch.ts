/**
 * The Postgres request-log writer's parts that are plain data: rows as parameter arrays, the
 * multi-row INSERT, the bounded buffer that holds rows while Postgres cannot take them, and which
 * errors are worth a retry. Used by the writer thread (pg-log-writer-thread.ts).
 */
import { LOG_COLUMNS, type LogRow } from '../log-row.js';

export type RowValues = Array<string | number | null>;

/** Postgres text cannot hold NUL; a body or error text that has one keeps a replacement character. */
function clean(value: string | number | null): string | number | null {
  return typeof value === 'string' && value.includes('\u0000') ? value.replace(/\u0000/g, '\uFFFD') : value;
}

export function rowValues(row: LogRow): RowValues {
  return LOG_COLUMNS.map((column) => clean(row[column]));
}

/** Bytes a row holds, estimated: its text, 8 per number. */
export function rowBytes(values: RowValues): number {
  let bytes = 0;
  for (const value of values) bytes += typeof value === 'string' ? value.length : 8;
  return bytes;
}

const insertSql = new Map<number, string>();

/** INSERT of `rows` rows; a row already there (the same id and time: a batch sent again) is skipped. */
export function insertLogsSql(rows: number): string {
  let sql = insertSql.get(rows);
  if (sql === undefined) {
    const width = LOG_COLUMNS.length;
    const tuples: string[] = [];
    for (let row = 0; row < rows; row++) {
      tuples.push(`(${LOG_COLUMNS.map((_, column) => `$${row * width + column + 1}`).join(', ')})`);
    }
    sql = `INSERT INTO request_logs (${LOG_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING`;
    if (insertSql.size < 64) insertSql.set(rows, sql);
  }
  return sql;
}

/** Postgres takes at most 65,535 parameters per statement. */
export const MAX_BATCH_ROWS = Math.floor(65_535 / LOG_COLUMNS.length);

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
