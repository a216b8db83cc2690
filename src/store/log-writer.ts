/**
 * Batched request-log writing. The request path only calls enqueue(), which
 * appends to a bounded in-memory queue (log-queue.ts: the oldest bodies, then
 * the oldest records, are shed when it is full, and counted) and returns.
 * Batches are written one transaction each (log-sink.ts). A crash loses at
 * most one flush interval of logs.
 *
 * Two writers implement RequestLogWriter:
 *  - ThreadedLogWriter (threaded-log-writer.ts), the default for a database
 *    file: a worker thread owns the write connection, so the inserts and the
 *    WAL checkpoints never hold the event loop;
 *  - LogWriter (below): writes in this thread, in slices that yield to the
 *    event loop. For an in-memory database (which a thread cannot share) and
 *    as the threaded writer's fallback.
 */
import type { SqliteDatabase } from './database.js';
import { LogQueue } from './log-queue.js';
import { DEFAULT_BODY_BYTES, LogSink, type LogBodyOptions } from './log-sink.js';
import type { RequestLogRecord } from './log-types.js';
import { silentLogger, type StoreLogger } from './store-logger.js';

export type { LogBodyOptions } from './log-sink.js';

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
  /** Records not written yet: in the queue, and (threaded) handed to the writer thread. */
  queued: number;
  written: number;
  droppedBodies: number;
  droppedRecords: number;
  /** Committed transactions. */
  batches: number;
  /** Transactions that failed; their records count in droppedRecords. */
  failedBatches: number;
}

/** What the store and the request path use, whichever thread writes. */
export interface RequestLogWriter {
  /** Queues one record: O(1), no I/O, never throws. The writer owns the record from here on. */
  enqueue(record: RequestLogRecord): void;
  /** Writes everything queued now and waits until it is committed; returns the rows written. */
  flush(): number;
  /**
   * Flushes and stops; later enqueues are dropped and counted. `budgetMs` bounds the whole close
   * (shutdown): what is not committed by then is given up and counted in `unwritten`.
   */
  close(budgetMs?: number): void;
  /** Records given up at close (the store failed or did not answer within the budget). */
  readonly unwritten: number;
  /** Starts the flush timer (unref'd: it never keeps the process alive). */
  start(): void;
  /** Body logging is a live setting. */
  setBodyOptions(bodies: Partial<LogBodyOptions>): void;
  readonly bodyOptions: Readonly<LogBodyOptions>;
  readonly stats: LogWriterStats;
}

/** Longest stretch of writing before the writer yields to the event loop. */
const DRAIN_SLICE_MS = 10;

export function resolveBodyOptions(bodies: Partial<LogBodyOptions> | undefined): LogBodyOptions {
  return { enabled: false, maxBytes: DEFAULT_BODY_BYTES, ...bodies };
}

/** Clears the bodies of a record when body logging is off (they are never queued then). */
export function dropBodiesUnlessEnabled(record: RequestLogRecord, bodies: Readonly<LogBodyOptions>): void {
  if (!bodies.enabled && (record.request_body != null || record.response_body != null)) {
    record.request_body = null;
    record.response_body = null;
  }
}

/** Writes in the event loop's thread. */
export class LogWriter implements RequestLogWriter {
  readonly #db: SqliteDatabase;
  readonly #sink: LogSink;
  readonly #queue: LogQueue;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  #bodies: LogBodyOptions;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #closed = false;
  #written = 0;
  #dropped = 0;
  #batches = 0;
  #failedBatches = 0;

  constructor(db: SqliteDatabase, options: LogWriterOptions = {}) {
    this.#db = db;
    this.#sink = new LogSink(db, options.logger ?? silentLogger);
    this.#queue = new LogQueue(options.maxQueue ?? 10_000, options.maxQueuedBodyChars ?? 16 * 1024 * 1024);
    this.#batchSize = Math.max(1, Math.floor(options.batchSize ?? 500));
    this.#flushIntervalMs = Math.max(1, options.flushIntervalMs ?? 200);
    this.#bodies = resolveBodyOptions(options.bodies);
    if (options.autoFlush ?? true) this.start();
  }

  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => {
      if (!this.#immediate) this.#drain(); // else a drain is already on its way
    }, this.#flushIntervalMs);
    this.#timer.unref();
  }

  setBodyOptions(bodies: Partial<LogBodyOptions>): void {
    this.#bodies = { ...this.#bodies, ...bodies };
  }

  get bodyOptions(): Readonly<LogBodyOptions> {
    return this.#bodies;
  }

  get stats(): LogWriterStats {
    return {
      queued: this.#queue.length,
      written: this.#written,
      droppedBodies: this.#queue.droppedBodies,
      droppedRecords: this.#queue.droppedRecords + this.#dropped,
      batches: this.#batches,
      failedBatches: this.#failedBatches,
    };
  }

  enqueue(record: RequestLogRecord): void {
    try {
      if (this.#closed) {
        this.#dropped++;
        return;
      }
      dropBodiesUnlessEnabled(record, this.#bodies);
      this.#queue.push(record);
      if (this.#queue.length >= this.#batchSize && !this.#immediate) {
        this.#immediate = setImmediate(() => this.#drain());
      }
    } catch {
      // A log record is never worth failing a request.
      this.#dropped++;
    }
  }

  flush(): number {
    let written = 0;
    while (this.#queue.length > 0) written += this.#writeOneBatch();
    return written;
  }

  /** Records given up at close. */
  unwritten = 0;

  close(budgetMs?: number): void {
    if (this.#closed) return;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    const deadline = budgetMs === undefined ? Infinity : performance.now() + budgetMs;
    try {
      while (this.#db.open && this.#queue.length > 0 && performance.now() < deadline) this.#writeOneBatch();
    } finally {
      // Whatever could not be written (the store failed, or the budget ran out) is counted, not retried.
      this.unwritten += this.#queue.length;
      this.#closed = true;
    }
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
    while (this.#queue.length > 0 && performance.now() - start < DRAIN_SLICE_MS);
    if (this.#queue.length > 0) this.#immediate = setImmediate(() => this.#drain());
  }

  #writeOneBatch(): number {
    const records = this.#queue.take(this.#batchSize);
    if (records.length === 0) return 0;
    const result = this.#sink.write(records, this.#bodies);
    this.#written += result.written;
    this.#dropped += result.dropped;
    if (result.failed) this.#failedBatches++;
    if (result.committed) this.#batches++;
    return result.written;
  }
}
