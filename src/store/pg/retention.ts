/**
 * Retention of the request log in Postgres (cluster mode), with the store's retention limits
 * (retention.ts: `maxAgeMs`, `maxBytes`):
 *  - by age: a day partition whose whole day is older than `maxAgeMs` is dropped (a log is kept up to
 *    one day longer than the limit); stored responses older than the limit are deleted;
 *  - by size: while the request log's partitions (pg_total_relation_size: rows, indexes, TOAST) hold
 *    more than `maxBytes`, the oldest day is dropped. Today's partition and the ones ahead are never
 *    dropped: a cap smaller than one day's logs is reported, not enforced by deleting today's rows.
 *
 * Dropping a partition frees its disk space at once (no DELETE, no VACUUM), which is also what a
 * full disk needs. One instance runs it at a time (a session advisory lock, tried, never waited for);
 * failures are logged and tried again at the next run: nothing here can stop the gateway.
 */
import type pg from 'pg';
import type { RetentionLimits } from '../retention.js';
import { silentLogger, type StoreLogger } from '../store-logger.js';
import { DAY_MS, dayStart, dropPartition, listPartitions, partitionDay } from './partitions.js';

/** The rollups (request-log-rollups.ts) of the days before `end`, whose rows retention dropped: they count what the rows no longer show. */
async function deleteRollups(client: pg.PoolClient, end: number): Promise<void> {
  await client.query('DELETE FROM request_log_rollups WHERE hour < $1', [end]);
  await client.query('DELETE FROM request_log_series WHERE start < $1', [end]);
  await client.query('DELETE FROM request_log_latency WHERE hour < $1', [end]);
}

/** The advisory lock key of a retention run ("Hdrt"). */
const RETENTION_LOCK = 0x4864_7274;
/** Stored responses deleted per statement. */
const RESPONSE_BATCH = 1000;

export interface PgRetentionOptions {
  /** The live limits (the store's retention settings). */
  limits: () => Readonly<RetentionLimits>;
  /** Pause between runs once started. Default 10 minutes. */
  intervalMs?: number;
  now?: () => number;
  logger?: StoreLogger;
}

export interface PgRetentionResult {
  /** False when another instance held the lock (nothing done). */
  ran: boolean;
  droppedByAge: string[];
  droppedBySize: string[];
  deletedResponses: number;
  /** The request log's partitions' size after the run. */
  bytes: number;
}

export class PgRetention {
  readonly #pool: pg.Pool;
  readonly #options: PgRetentionOptions;
  readonly #now: () => number;
  readonly #logger: StoreLogger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<PgRetentionResult> | undefined;
  #stopped = false;

  constructor(pool: pg.Pool, options: PgRetentionOptions) {
    this.#pool = pool;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger ?? silentLogger;
  }

  /** One run (one at a time in this process; one at a time in the cluster through the lock). */
  run(): Promise<PgRetentionResult> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Runs now and then every intervalMs; the timer is unref'd, errors are logged. */
  start(): void {
    if (this.#timer || this.#stopped) return;
    const tick = (): void => {
      this.run()
        .catch((error: unknown) => this.#logger.error({ err: error }, 'request log retention (Postgres) failed; tried again at the next run'))
        .finally(() => {
          if (this.#stopped) return;
          this.#timer = setTimeout(tick, Math.max(1000, this.#options.intervalMs ?? 10 * 60 * 1000));
          this.#timer.unref();
        });
    };
    this.#timer = setTimeout(tick, 0);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #run(): Promise<PgRetentionResult> {
    const result: PgRetentionResult = { ran: false, droppedByAge: [], droppedBySize: [], deletedResponses: 0, bytes: 0 };
    const client = await this.#pool.connect();
    try {
      const locked = (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [RETENTION_LOCK])).rows[0].locked;
      if (!locked) return result;
      try {
        result.ran = true;
        await this.#apply(client, result);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK]);
      }
    } finally {
      client.release();
    }
    if (result.droppedByAge.length + result.droppedBySize.length + result.deletedResponses > 0) {
      this.#logger.info({ ...result }, 'request log retention (Postgres)');
    }
    return result;
  }

  async #apply(client: pg.PoolClient, result: PgRetentionResult): Promise<void> {
    const { maxAgeMs, maxBytes } = this.#options.limits();
    const now = this.#now();
    let partitions = await listPartitions(client);
    if (maxAgeMs !== null) {
      const cutoff = now - maxAgeMs;
      for (const partition of partitions) {
        if (partition.day + DAY_MS > cutoff) break;
        await dropPartition(client, partition.name);
        result.droppedByAge.push(partition.name);
      }
      partitions = partitions.filter((partition) => !result.droppedByAge.includes(partition.name));
      for (;;) {
        const deleted = await client.query(`DELETE FROM stored_responses WHERE id IN (
          SELECT id FROM stored_responses WHERE created_at < $1 ORDER BY created_at LIMIT ${RESPONSE_BATCH})`, [cutoff]);
        result.deletedResponses += deleted.rowCount ?? 0;
        if ((deleted.rowCount ?? 0) < RESPONSE_BATCH) break;
      }
    }
    let bytes = partitions.reduce((sum, partition) => sum + partition.bytes, 0);
    if (maxBytes !== null && bytes > maxBytes) {
      const today = dayStart(now);
      for (const partition of partitions) {
        if (bytes <= maxBytes) break;
        if (partition.day >= today) {
          this.#logger.warn({ bytes, max_bytes: maxBytes }, 'request log (Postgres) is over its size cap with only today\'s logs left; raise the cap');
          break;
        }
        await dropPartition(client, partition.name);
        result.droppedBySize.push(partition.name);
        bytes -= partition.bytes;
      }
    }
    result.bytes = bytes;
    const dropped = [...result.droppedByAge, ...result.droppedBySize].map((name) => partitionDay(name) ?? 0);
    if (dropped.length > 0) await deleteRollups(client, Math.max(...dropped) + DAY_MS);
  }
}
