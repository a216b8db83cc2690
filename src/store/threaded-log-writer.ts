/**
 * The request-log writer for a database file: the event loop only queues
 * records and posts them, in chunks, to a worker thread that owns the write
 * connection (log-writer-thread.ts). The inserts, their transactions and the
 * WAL checkpoints run there, so they never hold requests up. Reads (the
 * management API) stay on the store's connection and see every committed row
 * (WAL mode).
 *
 * - A chunk of `postEvery` records is posted as one message once queued (the
 *   next turn of the event loop), the rest on the flush timer; the thread
 *   commits every `batchSize` records and at every flush, so a crash loses at
 *   most one flush interval.
 * - The queue is bounded as LogWriter's (oldest bodies, then oldest records
 *   shed and counted); what the thread holds is bounded too (`maxQueue`
 *   records, `maxQueuedBodyChars` body characters): past that, posting waits
 *   and the queue sheds. A request never waits.
 * - flush() and close() block until the thread has committed (Atomics.wait on
 *   shared memory, bounded by `flushTimeoutMs`): the API reads what was logged,
 *   and shutdown writes everything and closes the thread's connection.
 * - A thread that dies loses what it held (counted as dropped) and is started
 *   again; after three deaths in a row, or if no thread can start, the writer
 *   falls back to writing in this thread (LogWriter).
 */
import { Worker } from 'node:worker_threads';
import type { SqliteDatabase } from './database.js';
import { LogQueue, recordBodyChars } from './log-queue.js';
import type { LogBodyOptions } from './log-sink.js';
import {
  CONTROL_ACKED, CONTROL_CLOSED, COUNTER_BATCHES, COUNTER_DROPPED, COUNTER_FAILED_BATCHES, COUNTER_WRITTEN,
  sharedMemory, sharedViews, type SharedViews, type ThreadData, type ThreadMessage,
} from './log-thread-protocol.js';
import { logThreadScript, superviseThread } from './log-thread-script.js';
import type { RequestLogRecord } from './log-types.js';
import {
  LogWriter, dropBodiesUnlessEnabled, resolveBodyOptions,
  type LogWriterOptions, type LogWriterStats, type RequestLogWriter,
} from './log-writer.js';
import { silentLogger, type StoreLogger } from './store-logger.js';
import { knownSecrets, secretsGeneration } from '../telemetry/secrets.js';

export interface ThreadedLogWriterOptions extends LogWriterOptions {
  /** Records per message to the thread. Default 64 (a message costs the event loop ~3 µs a record to copy). */
  postEvery?: number;
  /** How long flush() and close() wait for the thread. Default 10 s. */
  flushTimeoutMs?: number;
  busyTimeoutMs?: number;
  /** The thread's code (tests: a thread that fails). Default: log-writer-thread. */
  threadScript?: URL;
}

/** Deaths in a row after which the writer stops starting threads and writes in this one. */
const MAX_THREAD_DEATHS = 3;
/** Wait before starting a thread again after one died. */
const RESTART_DELAY_MS = 1000;
/** The thread's young generation: its garbage is short-lived and small; RSS stays low. */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 4 };

interface InFlight {
  seq: number;
  records: number;
  bodyChars: number;
}

export class ThreadedLogWriter implements RequestLogWriter {
  readonly #db: SqliteDatabase;
  readonly #options: ThreadedLogWriterOptions;
  readonly #logger: StoreLogger;
  readonly #queue: LogQueue;
  readonly #batchSize: number;
  readonly #postEvery: number;
  readonly #flushIntervalMs: number;
  readonly #flushTimeoutMs: number;
  readonly #maxInFlightRecords: number;
  readonly #maxInFlightChars: number;
  readonly #memory = sharedMemory();
  readonly #shared: SharedViews = sharedViews(this.#memory);
  #bodies: LogBodyOptions;

  #thread: Worker | undefined;
  #deaths = 0;
  #restartAt = 0;
  #fallback: LogWriter | undefined;
  /** The thread's secrets are those of this generation. */
  #secretsSent = -1;

  #seq = 0;
  #inFlight: InFlight[] = [];
  #inFlightRecords = 0;
  #inFlightChars = 0;
  /** Records posted since the last commit message. */
  #uncommitted = 0;
  /** Records lost with a thread, or enqueued after close. */
  #dropped = 0;
  /** Records given up at close. */
  #unwritten = 0;
  /** While closing: the time (performance.now) by which flush and close must be over. */
  #closeDeadline = Infinity;

  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #closed = false;

  constructor(db: SqliteDatabase, options: ThreadedLogWriterOptions = {}) {
    if (db.memory) throw new Error('ThreadedLogWriter needs a database file; use LogWriter for :memory:.');
    this.#db = db;
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    const maxQueue = options.maxQueue ?? 10_000;
    const maxBodyChars = options.maxQueuedBodyChars ?? 16 * 1024 * 1024;
    this.#queue = new LogQueue(maxQueue, maxBodyChars);
    this.#batchSize = Math.max(1, Math.floor(options.batchSize ?? 500));
    this.#postEvery = Math.max(1, Math.min(this.#batchSize, Math.floor(options.postEvery ?? 64)));
    this.#flushIntervalMs = Math.max(1, options.flushIntervalMs ?? 200);
    this.#flushTimeoutMs = Math.max(1, options.flushTimeoutMs ?? 10_000);
    this.#maxInFlightRecords = Math.max(this.#batchSize, maxQueue);
    this.#maxInFlightChars = Math.max(0, maxBodyChars);
    this.#bodies = resolveBodyOptions(options.bodies);
    if (options.autoFlush ?? true) this.start();
  }

  start(): void {
    if (this.#fallback) return this.#fallback.start();
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => this.#post(true), this.#flushIntervalMs);
    this.#timer.unref();
  }

  setBodyOptions(bodies: Partial<LogBodyOptions>): void {
    this.#bodies = { ...this.#bodies, ...bodies };
    this.#fallback?.setBodyOptions(bodies);
  }

  get bodyOptions(): Readonly<LogBodyOptions> {
    return this.#bodies;
  }

  /** True while a writer thread does the writing (false after a fallback to this thread). */
  get threaded(): boolean {
    return this.#fallback === undefined;
  }

  get stats(): LogWriterStats {
    this.#settleInFlight();
    const { counters } = this.#shared;
    const own: LogWriterStats = {
      queued: this.#queue.length + this.#inFlightRecords,
      written: counters[COUNTER_WRITTEN],
      droppedBodies: this.#queue.droppedBodies,
      droppedRecords: this.#queue.droppedRecords + this.#dropped + counters[COUNTER_DROPPED],
      batches: counters[COUNTER_BATCHES],
      failedBatches: counters[COUNTER_FAILED_BATCHES],
    };
    const other = this.#fallback?.stats;
    if (other === undefined) return own;
    return {
      queued: own.queued + other.queued,
      written: own.written + other.written,
      droppedBodies: own.droppedBodies + other.droppedBodies,
      droppedRecords: own.droppedRecords + other.droppedRecords,
      batches: own.batches + other.batches,
      failedBatches: own.failedBatches + other.failedBatches,
    };
  }

  enqueue(record: RequestLogRecord): void {
    try {
      if (this.#fallback) return this.#fallback.enqueue(record);
      if (this.#closed) {
        this.#dropped++;
        return;
      }
      dropBodiesUnlessEnabled(record, this.#bodies);
      this.#queue.push(record);
      if (this.#queue.length >= this.#postEvery && this.#immediate === undefined) {
        this.#immediate = setImmediate(this.#postChunks);
      }
    } catch {
      // A log record is never worth failing a request.
      this.#dropped++;
    }
  }

  flush(): number {
    if (this.#fallback) return this.#fallback.flush();
    const before = this.#shared.counters[COUNTER_WRITTEN];
    for (;;) {
      const seq = this.#post(true, true);
      if (seq === undefined || !this.#waitAcked(seq) || this.#queue.length === 0) break;
    }
    const written = this.#shared.counters[COUNTER_WRITTEN] - before;
    // A thread that kept failing on the way handed the rest to a writer in this thread.
    const fallback = this.#fallback as LogWriter | undefined;
    return written + (fallback ? fallback.flush() : 0);
  }

  /** Records given up at close: not committed when the thread failed or the budget ran out. */
  get unwritten(): number {
    return this.#unwritten + (this.#fallback?.unwritten ?? 0);
  }

  /**
   * Flushes, closes the thread's connection and stops. The whole of it (flush and close) is bounded by
   * `budgetMs` (default: the flush timeout), so a store that fails or hangs during shutdown costs at
   * most that long: the thread is then terminated and what it had not committed is counted in `unwritten`.
   */
  close(budgetMs = this.#flushTimeoutMs): void {
    if (this.#closed) return;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    const deadline = performance.now() + Math.max(1, budgetMs);
    if (this.#fallback) {
      this.#fallback.close(budgetMs);
      this.#closed = true;
      return;
    }
    this.#closeDeadline = deadline;
    if (this.#queue.length > 0 || this.#inFlightRecords > 0) this.flush();
    this.#closed = true;
    const thread = this.#thread;
    if (thread === undefined) {
      this.#giveUp();
      return;
    }
    thread.postMessage({ type: 'close', seq: ++this.#seq } satisfies ThreadMessage);
    const { control } = this.#shared;
    while (Atomics.load(control, CONTROL_CLOSED) === 0) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.#logger.warn({ timeout_ms: Math.round(budgetMs) }, 'request log writer thread did not close in time');
        void thread.terminate();
        break;
      }
      Atomics.wait(control, CONTROL_CLOSED, 0, left);
    }
    this.#thread = undefined;
    this.#giveUp();
  }

  /** At close: what is still queued or uncommitted in the thread is lost; count it. */
  #giveUp(): void {
    this.#settleInFlight();
    this.#unwritten += this.#queue.length + this.#inFlightRecords;
    this.#queue.take(Number.MAX_SAFE_INTEGER);
    this.#inFlight = [];
    this.#inFlightRecords = 0;
    this.#inFlightChars = 0;
  }

  readonly #postChunks = (): void => {
    this.#immediate = undefined;
    this.#post(false);
  };

  /**
   * Posts queued records in chunks of `postEvery` (all of them when `commit`, else whole chunks
   * only), while what the thread holds stays under its bounds. With `commit`, the last message
   * asks for a commit. Returns the sequence number to wait for, if a commit was asked.
   */
  #post(commit: boolean, force = false): number | undefined {
    if (this.#fallback) return undefined;
    this.#settleInFlight();
    if (this.#queue.length === 0 && (!commit || this.#uncommitted === 0)) {
      return commit && this.#inFlight.length > 0 ? this.#inFlight[this.#inFlight.length - 1].seq : undefined;
    }
    const thread = this.#ensureThread(force);
    if (thread === undefined) return undefined;
    let asked: number | undefined;
    while (this.#queue.length > 0 && (commit || this.#queue.length >= this.#postEvery)) {
      if (this.#inFlightRecords >= this.#maxInFlightRecords || this.#inFlightChars > this.#maxInFlightChars) break;
      const records = this.#queue.take(this.#postEvery);
      const commitNow = this.#uncommitted + records.length >= this.#batchSize || (commit && this.#queue.length === 0);
      const seq = ++this.#seq;
      const sent = this.#send(thread, seq, records, commitNow);
      if (this.#thread === undefined) return undefined; // it died on the way
      let chars = 0;
      for (const record of sent) chars += recordBodyChars(record);
      this.#inFlight.push({ seq, records: sent.length, bodyChars: chars });
      this.#inFlightRecords += sent.length;
      this.#inFlightChars += chars;
      this.#uncommitted += sent.length;
      if (commitNow) {
        this.#uncommitted = 0;
        asked = seq;
      }
    }
    if (commit && this.#uncommitted > 0) {
      const seq = ++this.#seq;
      this.#send(thread, seq, [], true);
      this.#inFlight.push({ seq, records: 0, bodyChars: 0 });
      this.#uncommitted = 0;
      asked = seq;
    }
    return asked ?? (commit && this.#inFlight.length > 0 ? this.#inFlight[this.#inFlight.length - 1].seq : undefined);
  }

  /** Posts one chunk; returns the records sent (a record that cannot be copied is dropped, not its chunk). */
  #send(thread: Worker, seq: number, records: RequestLogRecord[], commit: boolean): RequestLogRecord[] {
    const generation = secretsGeneration();
    const message: ThreadMessage = { type: 'records', seq, records, commit, bodies: this.#bodies };
    if (generation !== this.#secretsSent) message.secrets = knownSecrets();
    try {
      thread.postMessage(message);
    } catch {
      // e.g. a function in a record's metadata: keep the records that can be copied
      message.records = records.filter((record) => {
        try {
          structuredClone(record);
          return true;
        } catch {
          this.#dropped++;
          return false;
        }
      });
      try {
        thread.postMessage(message);
      } catch (error) {
        this.#logger.error({ err: error }, 'request log records could not be handed to the writer thread');
        this.#dropped += message.records.length;
        message.records = [];
        thread.postMessage(message); // the sequence number and the commit still count
      }
    }
    this.#secretsSent = generation;
    return message.records;
  }

  /** Forgets the chunks the thread has acknowledged. */
  #settleInFlight(): void {
    const acked = Atomics.load(this.#shared.control, CONTROL_ACKED);
    let index = 0;
    while (index < this.#inFlight.length && this.#inFlight[index].seq <= acked) {
      this.#inFlightRecords -= this.#inFlight[index].records;
      this.#inFlightChars -= this.#inFlight[index].bodyChars;
      index++;
    }
    if (index > 0) {
      this.#inFlight.splice(0, index);
      this.#deaths = 0;
    }
  }

  #waitAcked(seq: number): boolean {
    const { control } = this.#shared;
    const deadline = Math.min(performance.now() + this.#flushTimeoutMs, this.#closeDeadline);
    for (;;) {
      const acked = Atomics.load(control, CONTROL_ACKED);
      if (acked >= seq) {
        this.#settleInFlight();
        return true;
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        this.#logger.warn({ timeout_ms: this.#flushTimeoutMs }, 'request log writer thread did not answer a flush in time');
        return false;
      }
      Atomics.wait(control, CONTROL_ACKED, acked, left);
    }
  }

  #ensureThread(force: boolean): Worker | undefined {
    if (this.#thread !== undefined) return this.#thread;
    if (!force && Date.now() < this.#restartAt) return undefined;
    try {
      const workerData: ThreadData = {
        file: this.#db.name,
        busyTimeoutMs: this.#options.busyTimeoutMs ?? 5000,
        memory: this.#memory,
      };
      const thread = new Worker(this.#options.threadScript ?? logThreadScript(), {
        workerData, resourceLimits: THREAD_LIMITS, name: 'heimdall-request-log',
      });
      superviseThread(thread, this.#logger, 'request log writer thread', () => this.#thread === thread, () => this.#threadLost(thread));
      this.#thread = thread;
      this.#secretsSent = -1;
      // The thread checkpoints the WAL after its commits; this connection's writes are few.
      this.#db.pragma('wal_autocheckpoint = 0');
      return thread;
    } catch (error) {
      this.#logger.error({ err: error }, 'request log writer thread could not start; writing in the main thread');
      this.#fallBack();
      return undefined;
    }
  }

  /** What the thread held is lost (counted); the next post starts another, or falls back. */
  #threadLost(thread: Worker): void {
    if (this.#thread !== thread) return;
    this.#thread = undefined;
    void thread.terminate();
    this.#dropped += this.#inFlightRecords;
    this.#inFlight = [];
    this.#inFlightRecords = 0;
    this.#inFlightChars = 0;
    this.#uncommitted = 0;
    Atomics.store(this.#shared.control, CONTROL_ACKED, this.#seq); // nobody waits for what is gone
    Atomics.notify(this.#shared.control, CONTROL_ACKED);
    this.#restartAt = Date.now() + RESTART_DELAY_MS;
    if (++this.#deaths >= MAX_THREAD_DEATHS && !this.#closed) {
      this.#logger.error({ deaths: this.#deaths }, 'request log writer thread keeps failing; writing in the main thread');
      this.#fallBack();
    }
  }

  #fallBack(): void {
    if (this.#fallback) return;
    this.#db.pragma('wal_autocheckpoint = 1000');
    const fallback = new LogWriter(this.#db, { ...this.#options, autoFlush: false, bodies: this.#bodies });
    for (const record of this.#queue.take(Number.MAX_SAFE_INTEGER)) fallback.enqueue(record);
    this.#fallback = fallback;
    if (this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      fallback.start();
    }
  }
}
