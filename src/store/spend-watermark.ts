/**
 * The watermark that ties persisted spend to the request log, so spend lost in
 * a crash is rebuilt from the log at the next start, and nothing is counted
 * twice.
 *
 * Every request log record gets the next number of one sequence, and is
 * inserted with it as its rowid. A request is charged to the spend ledger and
 * its record enqueued in the same synchronous step (Gateway.finish), and the
 * spend writer takes its rows and the sequence's last number in one step too:
 * the spend it writes covers exactly the log rows up to that number. The
 * number is saved in the same transaction as the spend rows (the settings row
 * below). At start, spend = saved spend + the logged costs of rows above it.
 *
 * One process only: `--workers N` has one ledger for several writers, so no
 * sequence is kept there and the saved watermark is dropped (a later
 * single-process start then begins a new one instead of trusting a stale one).
 */
import type { SqliteDatabase } from './database.js';

/** The settings row holding the last log sequence number the saved spend covers. */
export const SPEND_WATERMARK_SETTING = 'governance.spend_log_watermark';

export function readSpendWatermark(db: SqliteDatabase): number | undefined {
  const row = db.prepare('SELECT value FROM settings WHERE key = ?').get(SPEND_WATERMARK_SETTING) as { value: string } | undefined;
  if (row === undefined) return undefined;
  const value = JSON.parse(row.value) as unknown;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** The request log's numbering: rowids that follow the order in which requests were charged. */
export class LogSequence {
  #last: number;

  constructor(db: SqliteDatabase) {
    const max = (db.prepare('SELECT MAX(rowid) AS max FROM request_logs').get() as { max: number | null }).max ?? 0;
    // Above every row and every saved watermark: a number is never reused, even for rows a crash lost.
    this.#last = Math.max(max, readSpendWatermark(db) ?? 0);
  }

  next(): number {
    return ++this.#last;
  }

  /** The number of the last record enqueued. */
  get last(): number {
    return this.#last;
  }
}
