/**
 * Batched request-log writer. The request path only calls enqueue(), which
 * appends to an in-memory queue and returns; a timer writes the queue in
 * batches, one transaction and one prepared INSERT per batch. A crash loses at
 * most one flush interval of logs.
 *
 * The queue is bounded twice, and sheds what costs memory first:
 *  - bodies: when the queued bodies exceed `maxQueuedBodyChars`, the bodies of the
 *    oldest queued records are dropped (the records stay) — `droppedBodies`;
 *  - records: when more than `maxQueue` records are queued, the oldest records
 *    are dropped — `droppedRecords`.
 * Neither ever blocks or fails the request that enqueues.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import { INSERT_LOG_SQL, recordToRow, type LogRow } from './log-row.js';
import type { RequestLogRecord } from './log-types.js';
import { redactText as redactSecrets } from '../telemetry/secrets.js';
import { prepareBody } from './redact.js';
import { silentLogger, type StoreLogger } from './store-logger.js';

export interface LogBodyOptions {
  /** Keep request and response bodies (redacted and capped). Default false. */
  enabled: boolean;
  /** Cap per body, UTF-8 bytes. Default 64 KiB. */
  maxBytes: number;
}

export interface LogWriterOptions {
  /** Default 200 ms. */
  flushIntervalMs?: number;
  /** Records per transaction; reaching it triggers a flush. Default 500. */
  batchSize?: number;
  /** Most records held in memory. Default 10,000. */
  maxQueue?: number;
  /** Most body characters held in memory before the oldest bodies are shed. Default 16 Mi. */
  maxQueuedBodyChars?: number;
  bodies?: Partial<LogBodyOptions>;
  logger?: StoreLogger;
  /** Start the flush timer now. Default true; tests call flush() by hand. */
  autoFlush?: boolean;
}

export interface LogWriterStats {
  queued: number;
  written: number;
  droppedBodies: number;
  droppedRecords: number;
  /** Committed transactions. */
  batches: number;
  /** Transactions that failed; their records count in droppedRecords. */
  failedBatches: number;
}

interface QueueEntry {
  record: RequestLogRecord;
  bodyChars: number;
}

const DEFAULT_BODY_BYTES = 64 * 1024;
/** Longest stretch of writing before the writer yields to the event loop. */
const DRAIN_SLICE_MS = 10;
/** Compact the queue array once this many consumed slots lead it. */
const COMPACT_AT = 4096;

function bodyLength(body: unknown): number {
  return typeof body === 'string' ? body.length : 0;
}

export class LogWriter {
  readonly #db: SqliteDatabase;
  readonly #insert: Statement<[LogRow]>;
  readonly #writeBatch: (rows: LogRow[]) => number;
  readonly #logger: StoreLogger;
  readonly #batchSize: number;
  readonly #maxQueue: number;
  readonly #maxBodyChars: number;
  readonly #flushIntervalMs: number;
  #bodies: LogBodyOptions;

  /** entries[head..] are queued; entries[bodyScan..] may still hold bodies. */
  #entries: QueueEntry[] = [];
  #head = 0;
  #bodyScan = 0;
  #bodyChars = 0;

  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #closed = false;
  #stats: Omit<LogWriterStats, 'queued'> = {
    written: 0, droppedBodies: 0, droppedRecords: 0, batches: 0, failedBatches: 0,
  };

  constructor(db: SqliteDatabase, options: LogWriterOptions = {}) {
    this.#db = db;
    this.#logger = options.logger ?? silentLogger;
    this.#batchSize = Math.max(1, Math.floor(options.batchSize ?? 500));
    this.#maxQueue = Math.max(1, Math.floor(options.maxQueue ?? 10_000));
    this.#maxBodyChars = Math.max(0, options.maxQueuedBodyChars ?? 16 * 1024 * 1024);
    this.#flushIntervalMs = Math.max(1, options.flushIntervalMs ?? 200);
    this.#bodies = { enabled: false, maxBytes: DEFAULT_BODY_BYTES, ...options.bodies };
    this.#insert = db.prepare<[LogRow]>(INSERT_LOG_SQL);
    this.#writeBatch = db.transaction((rows: LogRow[]) => {
      let written = 0;
      for (const row of rows) written += this.#insertOne(row);
      return written;
    });
    if (options.autoFlush ?? true) this.start();
  }

  /** Starts the flush timer (unref'd: it never keeps the process alive). */
  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => {
      if (!this.#immediate) this.#drain(); // else a drain is already on its way
    }, this.#flushIntervalMs);
    this.#timer.unref();
  }

  /** Body logging is a live setting. */
  setBodyOptions(bodies: Partial<LogBodyOptions>): void {
    this.#bodies = { ...this.#bodies, ...bodies };
  }

  get bodyOptions(): Readonly<LogBodyOptions> {
    return this.#bodies;
  }

  get stats(): LogWriterStats {
    return { queued: this.#entries.length - this.#head, ...this.#stats };
  }

  /**
   * Queues one record: O(1), no I/O, never throws. The writer owns the record
   * from here on (its bodies may be cleared to shed memory).
   */
  enqueue(record: RequestLogRecord): void {
    try {
      if (this.#closed) {
        this.#stats.droppedRecords++;
        return;
      }
      if (!this.#bodies.enabled && (record.request_body != null || record.response_body != null)) {
        record.request_body = null;
        record.response_body = null;
      }
      const bodyChars = bodyLength(record.request_body) + bodyLength(record.response_body);
      this.#entries.push({ record, bodyChars });
      this.#bodyChars += bodyChars;
      if (this.#bodyChars > this.#maxBodyChars) this.#shedBodies();
      if (this.#entries.length - this.#head > this.#maxQueue) this.#shedRecords();
      if (this.#entries.length - this.#head >= this.#batchSize && !this.#immediate) {
        this.#immediate = setImmediate(() => this.#drain());
      }
    } catch {
      // A log record is never worth failing a request.
      this.#stats.droppedRecords++;
    }
  }

  /** Writes everything queued now, in batches; returns the rows written. */
  flush(): number {
    let written = 0;
    while (this.#entries.length > this.#head) written += this.#writeOneBatch();
    return written;
  }

  /** Stops the timer and flushes synchronously; later enqueues are dropped and counted. */
  close(): void {
    if (this.#closed) return;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    if (this.#db.open) this.flush();
    this.#closed = true;
  }

  /**
   * Writes batches for at most DRAIN_SLICE_MS, then yields to the event loop and
   * continues on the next turn, so a backlog is written quickly without stalling requests.
   */
  #drain(): void {
    this.#immediate = undefined;
    if (this.#closed || !this.#db.open) return;
    const start = performance.now();
    do this.#writeOneBatch();
    while (this.#entries.length > this.#head && performance.now() - start < DRAIN_SLICE_MS);
    if (this.#entries.length > this.#head) this.#immediate = setImmediate(() => this.#drain());
  }

  #writeOneBatch(): number {
    const end = Math.min(this.#entries.length, this.#head + this.#batchSize);
    const batch = this.#entries.slice(this.#head, end);
    this.#head = end;
    for (const entry of batch) this.#bodyChars -= entry.bodyChars;
    this.#compact();
    if (batch.length === 0) return 0;
    const rows: LogRow[] = [];
    for (const entry of batch) {
      try {
        rows.push(this.#toRow(entry.record));
      } catch (error) {
        // e.g. metadata that JSON cannot serialise: lose this record, not the batch
        this.#stats.droppedRecords++;
        this.#logger.warn({ err: error, id: entry.record.id }, 'request log record could not be serialised');
      }
    }
    try {
      const written = this.#writeBatch(rows);
      this.#stats.written += written;
      this.#stats.batches++;
      return written;
    } catch (error) {
      this.#stats.failedBatches++;
      this.#stats.droppedRecords += rows.length;
      this.#logger.error({ err: error, records: rows.length }, 'request log batch could not be written');
      return 0;
    }
  }

  /** Runs at flush time, off the request path: bodies and error texts are redacted here. */
  #toRow(record: RequestLogRecord): LogRow {
    const { enabled, maxBytes } = this.#bodies;
    const body = (value: unknown, totalBytes: number | undefined): string | null => {
      if (!enabled || value == null) return null;
      // prepareBody redacts secret-named fields and key-shaped strings; redactSecrets also masks
      // the exact keys this process is configured with (keys without a recognisable shape).
      return redactSecrets(prepareBody(typeof value === 'string' ? value : JSON.stringify(value), maxBytes, totalBytes));
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

  /** Inserts one row; a reused request id gets a suffix rather than losing the log. */
  #insertOne(row: LogRow): number {
    try {
      return this.#insert.run(row).changes;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw error;
      for (let n = 2; n < 10; n++) {
        try {
          return this.#insert.run({ ...row, id: `${row.id}~${n}` }).changes;
        } catch (retry) {
          if ((retry as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw retry;
        }
      }
      this.#stats.droppedRecords++;
      return 0;
    }
  }

  #shedBodies(): void {
    if (this.#bodyScan < this.#head) this.#bodyScan = this.#head;
    while (this.#bodyChars > this.#maxBodyChars && this.#bodyScan < this.#entries.length) {
      const entry = this.#entries[this.#bodyScan++];
      if (entry.bodyChars === 0) continue;
      entry.record.request_body = null;
      entry.record.response_body = null;
      this.#bodyChars -= entry.bodyChars;
      entry.bodyChars = 0;
      this.#stats.droppedBodies++;
    }
  }

  #shedRecords(): void {
    while (this.#entries.length - this.#head > this.#maxQueue) {
      const entry = this.#entries[this.#head++];
      this.#bodyChars -= entry.bodyChars;
      entry.record.request_body = null; // release it now; the slot goes at the next compaction
      entry.record.response_body = null;
      this.#stats.droppedRecords++;
    }
    this.#compact();
  }

  #compact(): void {
    if (this.#head === this.#entries.length) {
      this.#entries = [];
      this.#bodyScan = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#bodyScan = Math.max(0, this.#bodyScan - this.#head);
      this.#head = 0;
    }
  }
}
