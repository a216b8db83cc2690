/**
 * The write end of the request log: records in, rows out, one transaction per
 * batch. Used by both writers: in the event loop's thread (LogWriter, for an
 * in-memory database and as a fallback) and in the writer thread
 * (log-writer-thread.ts), so a record is stored the same way by either.
 *
 * Everything that costs CPU per record happens here, off the request path:
 * redaction of error texts and bodies, the body cap, JSON of attempts and
 * metadata, and the INSERT.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import { INSERT_LOG_SQL, ROW_INDEX, recordToRow, type LogRow } from './log-row.js';
import type { RequestLogRecord } from './log-types.js';
import { prepareBody } from './redact.js';
import { silentLogger, type StoreLogger } from './store-logger.js';
import { redactText as redactSecrets } from '../telemetry/secrets.js';

export interface LogBodyOptions {
  /** Keep request and response bodies (redacted and capped). Default false. */
  enabled: boolean;
  /** Cap per body, UTF-8 bytes. Default 64 KiB. */
  maxBytes: number;
}

export const DEFAULT_BODY_BYTES = 64 * 1024;

/** What one batch came to: every record is either written or dropped. */
export interface BatchResult {
  written: number;
  dropped: number;
  /** A transaction was committed (not when every record failed to serialise). */
  committed: boolean;
  /** The transaction failed: every record of the batch is in `dropped`. */
  failed: boolean;
}

export class LogSink {
  readonly #insert: Statement<[LogRow]>;
  readonly #writeRows: (rows: LogRow[]) => number;
  readonly #logger: StoreLogger;
  /** Records of the current batch dropped one by one (a reused id beyond ~9 suffixes). */
  #droppedInBatch = 0;

  constructor(db: SqliteDatabase, logger: StoreLogger = silentLogger) {
    this.#logger = logger;
    this.#insert = db.prepare<[LogRow]>(INSERT_LOG_SQL);
    this.#writeRows = db.transaction((rows: LogRow[]) => {
      let written = 0;
      for (const row of rows) written += this.#insertOne(row);
      return written;
    });
  }

  /** Writes `records` in one transaction. Never throws. */
  write(records: readonly RequestLogRecord[], bodies: Readonly<LogBodyOptions>): BatchResult {
    let dropped = 0;
    const rows: LogRow[] = [];
    for (const record of records) {
      try {
        rows.push(toRow(record, bodies));
      } catch (error) {
        // e.g. metadata that JSON cannot serialise: lose this record, not the batch
        dropped++;
        this.#logger.warn({ err: error, id: record?.id }, 'request log record could not be serialised');
      }
    }
    if (rows.length === 0) return { written: 0, dropped, committed: false, failed: false };
    this.#droppedInBatch = 0;
    try {
      const written = this.#writeRows(rows);
      return { written, dropped: dropped + this.#droppedInBatch, committed: true, failed: false };
    } catch (error) {
      this.#logger.error({ err: error, records: rows.length }, 'request log batch could not be written');
      return { written: 0, dropped: dropped + rows.length, committed: false, failed: true };
    }
  }

  /** Inserts one row; a reused request id gets a suffix rather than losing the log. */
  #insertOne(row: LogRow): number {
    try {
      return this.#insert.run(row).changes;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw error;
      for (let n = 2; n < 10; n++) {
        try {
          const renamed = [...row];
          renamed[ROW_INDEX.id] = `${row[ROW_INDEX.id]}~${n}`;
          return this.#insert.run(renamed).changes;
        } catch (retry) {
          if ((retry as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw retry;
        }
      }
      this.#droppedInBatch++;
      return 0;
    }
  }
}

/** One record as a row: bodies and error texts are redacted here. */
export function toRow(record: RequestLogRecord, bodies: Readonly<LogBodyOptions>): LogRow {
  const { enabled, maxBytes } = bodies;
  const body = (value: unknown, totalBytes: number | undefined): string | null => {
    if (!enabled || value == null) return null;
    // prepareBody redacts secret-named fields, key-shaped strings and the exact keys this process
    // is configured with (keys without a recognisable shape).
    return prepareBody(typeof value === 'string' ? value : JSON.stringify(value), maxBytes, totalBytes);
  };
  // An upstream error may echo the key it was sent: never store one.
  if (typeof record.error_message === 'string') record.error_message = redactSecrets(record.error_message);
  if (Array.isArray(record.attempts)) {
    for (const attempt of record.attempts) {
      if (typeof attempt.error === 'string') attempt.error = redactSecrets(attempt.error);
    }
  }
  return recordToRow(
    record,
    body(record.request_body, record.request_body_bytes),
    body(record.response_body, record.response_body_bytes),
  );
}
