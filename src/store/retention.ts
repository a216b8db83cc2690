/**
 * Request-log retention by age and by database size; stored responses (response-store.ts) follow
 * the same limits, by age and, over the size cap, oldest first. Work is cut into small
 * steps (one DELETE of at most `batchRows` rows each) spaced out with unref'd
 * timers, so a large backlog never holds the event loop or the write lock for long.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import { silentLogger, type StoreLogger } from './store-logger.js';

export const DEFAULT_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;
export const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;

export interface RetentionLimits {
  /** Logs older than this are deleted; null keeps them forever. Default 30 days. */
  maxAgeMs: number | null;
  /** When the database's used pages exceed this, the oldest logs go; null: no cap. Default 1 GiB. */
  maxBytes: number | null;
}

export interface RetentionOptions extends Partial<RetentionLimits> {
  /** Rows per DELETE. Default 1,000. */
  batchRows?: number;
  /** Pause between steps of a run. Default 20 ms. */
  stepDelayMs?: number;
  /** Pause between runs once started. Default 10 minutes. */
  intervalMs?: number;
  now?: () => number;
  logger?: StoreLogger;
}

export interface RetentionStep {
  deleted: number;
  reason: 'age' | 'size' | null;
}

export interface RetentionResult {
  deletedByAge: number;
  deletedBySize: number;
  steps: number;
}

/** Pages handed back to the file system per step (auto_vacuum = INCREMENTAL). */
const VACUUM_PAGES_PER_STEP = 1024;

export class LogRetention {
  readonly #db: SqliteDatabase;
  readonly #deleteOlder: Statement<{ cutoff: number; n: number }>;
  readonly #deleteOldest: Statement<{ n: number }>;
  readonly #deleteOlderResponses: Statement<{ cutoff: number; n: number }>;
  readonly #deleteOldestResponses: Statement<{ n: number }>;
  /** MCP tool calls (migration 7) age out with the request logs. */
  readonly #deleteOlderToolCalls: Statement<{ cutoff: number; n: number }>;
  readonly #batchRows: number;
  readonly #stepDelayMs: number;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #logger: StoreLogger;
  #limits: RetentionLimits;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RetentionResult> | undefined;
  #generation = 0;

  constructor(db: SqliteDatabase, options: RetentionOptions = {}) {
    this.#db = db;
    this.#batchRows = Math.max(1, Math.floor(options.batchRows ?? 1000));
    this.#stepDelayMs = Math.max(0, options.stepDelayMs ?? 20);
    this.#intervalMs = Math.max(1000, options.intervalMs ?? 10 * 60 * 1000);
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger ?? silentLogger;
    this.#limits = {
      maxAgeMs: options.maxAgeMs === undefined ? DEFAULT_MAX_AGE_MS : options.maxAgeMs,
      maxBytes: options.maxBytes === undefined ? DEFAULT_MAX_BYTES : options.maxBytes,
    };
    this.#deleteOlder = db.prepare(`DELETE FROM request_logs WHERE rowid IN (
      SELECT rowid FROM request_logs WHERE time < CAST(@cutoff AS INTEGER) ORDER BY time LIMIT @n)`);
    this.#deleteOldest = db.prepare(`DELETE FROM request_logs WHERE rowid IN (
      SELECT rowid FROM request_logs ORDER BY time LIMIT @n)`);
    this.#deleteOlderResponses = db.prepare(`DELETE FROM stored_responses WHERE rowid IN (
      SELECT rowid FROM stored_responses WHERE created_at < CAST(@cutoff AS INTEGER) ORDER BY created_at LIMIT @n)`);
    this.#deleteOldestResponses = db.prepare(`DELETE FROM stored_responses WHERE rowid IN (
      SELECT rowid FROM stored_responses ORDER BY created_at LIMIT @n)`);
    this.#deleteOlderToolCalls = db.prepare(`DELETE FROM mcp_tool_calls WHERE id IN (
      SELECT id FROM mcp_tool_calls WHERE time < CAST(@cutoff AS INTEGER) ORDER BY time LIMIT @n)`);
  }

  /** Retention limits are live settings. */
  setLimits(limits: Partial<RetentionLimits>): void {
    this.#limits = { ...this.#limits, ...limits };
  }

  get limits(): Readonly<RetentionLimits> {
    return this.#limits;
  }

  /** Bytes in use: pages minus free pages (freed pages count as free before the file shrinks). */
  usedBytes(): number {
    const pageSize = this.#db.pragma('page_size', { simple: true }) as number;
    const pages = this.#db.pragma('page_count', { simple: true }) as number;
    const free = this.#db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * pageSize;
  }

  /** One bounded DELETE: expired logs first, then the oldest while over the size cap. */
  step(): RetentionStep {
    const { maxAgeMs, maxBytes } = this.#limits;
    let result: RetentionStep = { deleted: 0, reason: null };
    if (maxAgeMs !== null) {
      const cutoff = this.#now() - maxAgeMs;
      const deleted = this.#deleteOlder.run({ cutoff, n: this.#batchRows }).changes
        + this.#deleteOlderResponses.run({ cutoff, n: this.#batchRows }).changes
        + this.#deleteOlderToolCalls.run({ cutoff, n: this.#batchRows }).changes;
      if (deleted > 0) result = { deleted, reason: 'age' };
    }
    if (result.deleted === 0 && maxBytes !== null && this.usedBytes() > maxBytes) {
      const deleted = this.#deleteOldest.run({ n: this.#batchRows }).changes + this.#deleteOldestResponses.run({ n: this.#batchRows }).changes;
      if (deleted > 0) result = { deleted, reason: 'size' };
    }
    if (result.deleted > 0) this.#db.pragma(`incremental_vacuum(${VACUUM_PAGES_PER_STEP})`);
    return result;
  }

  /** Steps until nothing is left to delete, pausing between steps. One run at a time. */
  run(): Promise<RetentionResult> {
    this.#running ??= this.#runSteps().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Runs now and then every intervalMs; timers are unref'd. */
  start(): void {
    if (this.#timer) return;
    const generation = this.#generation;
    const schedule = (delay: number): void => {
      this.#timer = setTimeout(tick, delay);
      this.#timer.unref();
    };
    const tick = (): void => {
      this.run()
        .catch((error: unknown) => this.#logger.error({ err: error }, 'request log retention failed'))
        .finally(() => {
          if (generation === this.#generation) schedule(this.#intervalMs);
        });
    };
    schedule(0);
  }

  /** Stops the schedule; a run in progress ends after its current step. */
  stop(): void {
    this.#generation++;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #runSteps(): Promise<RetentionResult> {
    const result: RetentionResult = { deletedByAge: 0, deletedBySize: 0, steps: 0 };
    const generation = this.#generation;
    for (;;) {
      if (!this.#db.open) break;
      const step = this.step();
      if (step.reason === null) break;
      result.steps++;
      if (step.reason === 'age') result.deletedByAge += step.deleted;
      else result.deletedBySize += step.deleted;
      await new Promise<void>((resolve) => setTimeout(resolve, this.#stepDelayMs).unref());
      if (generation !== this.#generation) break; // stop() was called
    }
    if (result.steps > 0) this.#logger.info({ ...result }, 'request log retention');
    return result;
  }
}
