/**
 * The request-log writer of cluster mode: the request path only calls enqueue() (memory, O(1)); the
 * records are posted in chunks to a worker thread (pg-log-writer-thread.ts) that turns them into
 * rows and writes them to Postgres in multi-row INSERTs, so neither the serialisation nor the
 * network round trips run on the event loop.
 *
 * Bounds: this thread's queue holds at most `maxQueue` records (10,000; oldest bodies, then oldest
 * records shed and counted, as the SQLite writers); the writer thread holds at most
 * `buffer.maxRecords` records (100,000) and `buffer.maxBytes` bytes of row text (64 MiB) while
 * Postgres cannot take them, retrying with backoff; past that the oldest are dropped, counted in
 * `droppedRecords` (heimdall_log_dropped_total) and logged.
 *
 * flush() waits (Atomics.wait, at most `flushTimeoutMs`, default 2 s) for one attempt to write what is
 * held: the management API then lists what was just logged. While Postgres is unreachable it does
 * not wait at all. close() writes what it can within its budget and counts the rest in `unwritten`.
 */
import { Worker } from 'node:worker_threads';
import { LogQueue } from '../log-queue.js';
import type { LogBodyOptions } from '../log-sink.js';
import { superviseThread, threadScript } from '../log-thread-script.js';
import type { RequestLogRecord } from '../log-types.js';
import {
  dropBodiesUnlessEnabled, resolveBodyOptions, type LogWriterOptions, type LogWriterStats, type RequestLogWriter,
} from '../log-writer.js';
import { silentLogger, type StoreLogger } from '../store-logger.js';
import { knownSecrets, secretsGeneration } from '../../telemetry/secrets.js';
import type { PgConnectionSettings } from './connection.js';
import { MAX_BATCH_ROWS } from './log-batch.js';
import {
  CONTROL_ACKED, CONTROL_CLOSED, COUNTER_AVAILABLE, COUNTER_BATCHES, COUNTER_BUFFERED, COUNTER_DROPPED,
  COUNTER_FAILED_BATCHES, COUNTER_RECEIVED, COUNTER_UNWRITTEN, COUNTER_WRITTEN,
  pgSharedMemory, sharedViews, type PgBufferBound, type PgThreadData, type PgThreadMessage,
} from './log-protocol.js';

export const DEFAULT_PG_BUFFER: PgBufferBound = { maxRecords: 100_000, maxBytes: 64 * 1024 * 1024 };

export interface PgLogWriterOptions extends LogWriterOptions {
  connection: PgConnectionSettings;
  /** What the writer thread holds while Postgres cannot take it. */
  buffer?: Partial<PgBufferBound>;
  /** Records per message to the thread. Default 256. */
  postEvery?: number;
  /** Longest flush() waits for the thread. Default 2 s. */
  flushTimeoutMs?: number;
  /** Backoff while Postgres is unreachable. Defaults 100 ms to 5 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

const RESTART_DELAY_MS = 1000;

export class PgLogWriter implements RequestLogWriter {
  readonly #options: PgLogWriterOptions;
  readonly #logger: StoreLogger;
  readonly #queue: LogQueue;
  readonly #postEvery: number;
  readonly #flushIntervalMs: number;
  readonly #flushTimeoutMs: number;
  readonly #memory = pgSharedMemory();
  readonly #shared = sharedViews(this.#memory);
  #bodies: LogBodyOptions;
  #thread: Worker | undefined;
  #restartAt = 0;
  #secretsSent = -1;
  #seq = 0;
  /** Records posted to the current thread (those it has not received yet are counted as queued). */
  #posted = 0;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #closed = false;
  /** Records lost with a thread that died, or enqueued after close. */
  #dropped = 0;
  /** Counters of threads that died (a new thread starts its counters at 0). */
  #past = { written: 0, dropped: 0, batches: 0, failedBatches: 0 };
  unwritten = 0;

  constructor(options: PgLogWriterOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#queue = new LogQueue(options.maxQueue ?? 10_000, options.maxQueuedBodyChars ?? 16 * 1024 * 1024);
    this.#postEvery = Math.max(1, Math.floor(options.postEvery ?? 256));
    this.#flushIntervalMs = Math.max(1, options.flushIntervalMs ?? 200);
    this.#flushTimeoutMs = Math.max(1, options.flushTimeoutMs ?? 2000);
    this.#bodies = resolveBodyOptions(options.bodies);
    this.#shared.counters[COUNTER_AVAILABLE] = 1;
    if (options.autoFlush ?? true) this.start();
  }

  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => this.#post(), this.#flushIntervalMs);
    this.#timer.unref();
  }

  setBodyOptions(bodies: Partial<LogBodyOptions>): void {
    this.#bodies = { ...this.#bodies, ...bodies };
  }

  get bodyOptions(): Readonly<LogBodyOptions> {
    return this.#bodies;
  }

  /** False while the writer thread cannot reach Postgres (records are held, then written). */
  get available(): boolean {
    return this.#shared.counters[COUNTER_AVAILABLE] === 1;
  }

  get stats(): LogWriterStats {
    const { counters } = this.#shared;
    return {
      queued: this.#queue.length + Math.max(0, this.#posted - counters[COUNTER_RECEIVED]) + counters[COUNTER_BUFFERED],
      written: this.#past.written + counters[COUNTER_WRITTEN],
      droppedBodies: this.#queue.droppedBodies,
      droppedRecords: this.#queue.droppedRecords + this.#dropped + this.#past.dropped + counters[COUNTER_DROPPED],
      batches: this.#past.batches + counters[COUNTER_BATCHES],
      failedBatches: this.#past.failedBatches + counters[COUNTER_FAILED_BATCHES],
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
      if (this.#queue.length >= this.#postEvery && this.#immediate === undefined) {
        this.#immediate = setImmediate(() => {
          this.#immediate = undefined;
          this.#post();
        });
      }
    } catch {
      this.#dropped++; // a log record is never worth failing a request
    }
  }

  flush(): number {
    if (this.#closed) return 0;
    const before = this.stats.written;
    const thread = this.#post(true);
    if (thread === undefined || !this.available) return 0;
    const seq = ++this.#seq;
    thread.postMessage({ type: 'flush', seq } satisfies PgThreadMessage);
    this.#wait(CONTROL_ACKED, seq, this.#flushTimeoutMs);
    return this.stats.written - before;
  }

  close(budgetMs = 10_000): void {
    if (this.#closed) return;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    const start = performance.now();
    const thread = this.#post(true);
    this.#closed = true;
    if (thread === undefined) {
      this.unwritten += this.#queue.take(Number.MAX_SAFE_INTEGER).length;
      return;
    }
    const seq = ++this.#seq;
    const left = Math.max(1, budgetMs - (performance.now() - start));
    // The thread gives up a little before the budget, so it can still count what is left and end its connection.
    thread.postMessage({ type: 'close', seq, budgetMs: Math.max(1, left - 250) } satisfies PgThreadMessage);
    if (this.#wait(CONTROL_CLOSED, 1, left)) {
      this.unwritten += this.#shared.counters[COUNTER_UNWRITTEN];
    } else {
      this.#logger.warn({ budget_ms: budgetMs }, 'request log: the Postgres writer thread did not close in time');
      this.unwritten += this.#shared.counters[COUNTER_BUFFERED] + Math.max(0, this.#posted - this.#shared.counters[COUNTER_RECEIVED]);
      void thread.terminate();
    }
    this.#thread = undefined;
  }

  /** Waits until control[slot] >= value or `timeoutMs` passed; true when reached. */
  #wait(slot: number, value: number, timeoutMs: number): boolean {
    const { control } = this.#shared;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const current = Atomics.load(control, slot);
      if (current >= value) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(control, slot, current, left);
    }
  }

  /** Posts everything queued, in chunks; returns the thread (undefined: none could start). */
  #post(force = false): Worker | undefined {
    const thread = this.#ensureThread(force);
    if (thread === undefined) return undefined;
    while (this.#queue.length > 0) {
      const records = this.#queue.take(this.#postEvery);
      const generation = secretsGeneration();
      const message: PgThreadMessage = { type: 'records', records, bodies: this.#bodies };
      if (generation !== this.#secretsSent) message.secrets = knownSecrets();
      try {
        thread.postMessage(message);
        this.#posted += records.length;
        this.#secretsSent = generation;
      } catch (error) {
        // e.g. a function in a record's metadata: the chunk is lost, counted
        this.#logger.error({ err: error }, 'request log records could not be handed to the Postgres writer thread');
        this.#dropped += records.length;
      }
    }
    return thread;
  }

  #ensureThread(force: boolean): Worker | undefined {
    if (this.#thread !== undefined) return this.#thread;
    if (this.#closed || (!force && Date.now() < this.#restartAt)) return undefined;
    const { batchSize, flushIntervalMs, retryMinMs, retryMaxMs, buffer, connection } = this.#options;
    const workerData: PgThreadData = {
      connection,
      memory: this.#memory,
      bound: { ...DEFAULT_PG_BUFFER, ...buffer },
      batchSize: Math.min(MAX_BATCH_ROWS, Math.max(1, Math.floor(batchSize ?? 500))),
      flushIntervalMs: Math.max(1, flushIntervalMs ?? 200),
      retryMinMs: Math.max(1, retryMinMs ?? 100),
      retryMaxMs: Math.max(1, retryMaxMs ?? 5000),
    };
    try {
      const thread = new Worker(threadScript(import.meta.url, 'pg-log-writer-thread', ['pg']), {
        workerData, name: 'heimdall-pg-request-log',
      });
      superviseThread(thread, this.#logger, 'request log: the Postgres writer thread', () => this.#thread === thread && !this.#closed, () => this.#lost(thread));
      this.#thread = thread;
      this.#secretsSent = -1;
      return thread;
    } catch (error) {
      this.#logger.error({ err: error }, 'request log: the Postgres writer thread could not start');
      this.#restartAt = Date.now() + RESTART_DELAY_MS;
      return undefined;
    }
  }

  /** A thread that died loses what it held (counted); its counters are kept, the next post starts another. */
  #lost(thread: Worker): void {
    if (this.#thread !== thread) return;
    this.#thread = undefined;
    void thread.terminate();
    const { counters, control } = this.#shared;
    this.#past.written += counters[COUNTER_WRITTEN];
    this.#past.dropped += counters[COUNTER_DROPPED] + counters[COUNTER_BUFFERED] + Math.max(0, this.#posted - counters[COUNTER_RECEIVED]);
    this.#posted = 0;
    this.#past.batches += counters[COUNTER_BATCHES];
    this.#past.failedBatches += counters[COUNTER_FAILED_BATCHES];
    counters.fill(0);
    counters[COUNTER_AVAILABLE] = 1;
    Atomics.store(control, CONTROL_ACKED, this.#seq); // nobody waits for what is gone
    Atomics.notify(control, CONTROL_ACKED);
    this.#restartAt = Date.now() + RESTART_DELAY_MS;
  }
}
