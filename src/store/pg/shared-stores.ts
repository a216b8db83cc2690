/**
 * What cluster mode keeps in Postgres for every instance to share, built over one pool: the request
 * log's writer (a worker thread), its queries and the usage report, its retention, and stored
 * responses. The Store (store.ts) uses them in place of its SQLite ones when `postgres` is set.
 */
import type pg from 'pg';
import type { SqliteDatabase } from '../database.js';
import type { LogWriterOptions } from '../log-writer.js';
import type { RetentionLimits } from '../retention.js';
import type { StoreLogger } from '../store-logger.js';
import { createPgPool, type PgConnectionSettings } from './connection.js';
import { PgLogQueries } from './log-queries.js';
import { PgLogWriter, type PgLogWriterOptions } from './log-writer.js';
import { PgRetention } from './retention.js';
import { SharedResponseStore, type SharedResponseOptions } from './response-store.js';
import { PgUsageQueries } from './usage-queries.js';

export interface PostgresStoreOptions {
  connection: PgConnectionSettings;
  /** A pool to use for the queries (its owner ends it); default: one made from `connection`, ended at close. */
  pool?: pg.Pool;
  /** The Postgres writer's own settings (buffer bound, backoff...), over the store's `logs` settings. */
  logs?: Omit<PgLogWriterOptions, 'connection' | 'logger'>;
  responses?: Omit<SharedResponseOptions, 'logger'>;
  /** Pause between retention runs. Default 10 minutes. */
  retentionIntervalMs?: number;
}

export interface SharedStores {
  pool: pg.Pool;
  logs: PgLogWriter;
  logQueries: PgLogQueries;
  usage: PgUsageQueries;
  retention: PgRetention;
  responses: SharedResponseStore;
  /** Sends the stored responses still queued (shutdown), within `budgetMs`. */
  flush(budgetMs: number): Promise<void>;
  /** Ends the pool if it was made here. */
  end(): void;
}

export function sharedStores(
  db: SqliteDatabase,
  options: PostgresStoreOptions,
  context: { logs?: LogWriterOptions; logger: StoreLogger; now: () => number; limits: () => Readonly<RetentionLimits> },
): SharedStores {
  const { logger, now } = context;
  const owned = options.pool === undefined;
  const pool = options.pool ?? createPgPool(options.connection, (error) => logger.warn({ err: error }, 'Postgres pool: a connection failed'));
  const responses = new SharedResponseStore(db, pool, { ...options.responses, logger });
  let ended = false;
  return {
    pool,
    logs: new PgLogWriter({ ...context.logs, ...options.logs, connection: options.connection, logger }),
    logQueries: new PgLogQueries(pool, { now }),
    usage: new PgUsageQueries(pool),
    retention: new PgRetention(pool, { limits: context.limits, now, logger, intervalMs: options.retentionIntervalMs }),
    responses,
    async flush(budgetMs) {
      await responses.close(budgetMs);
    },
    end() {
      if (!owned || ended) return;
      ended = true;
      void pool.end().catch(() => undefined);
    },
  };
}
