/**
 * Wires the store into a running app: opens the database in the data dir,
 * builds the configuration service over it (file + store -> gateway.reload),
 * plugs in the request log, makes the body limit live, watches the config
 * file, and closes it all on app close (logs flushed, database closed).
 */
import type { FastifyInstance } from 'fastify';
import { BODY_LIMIT_CEILING, enforceBodyLimit } from '../config/body-limit.js';
import { ConfigService } from '../config/effective.js';
import type { ResolvedConfig } from '../config/load.js';
import { ConfigFileWatcher } from '../config/watch.js';
import type { Gateway } from '../gateway/gateway.js';
import { attachRequestLogging } from './request-logging.js';
import { LogSequence } from './spend-watermark.js';
import { Store, type StoreOptions } from './store.js';
import type { ConfigSync } from './pg/config-sync.js';
import { startConfigSync, type ConfigSharing } from './pg/wiring.js';
import type { StoreLogger } from './store-logger.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The SQLite store: configuration rows, request logs, audit log (src/store). */
    store: Store;
    /** The running configuration: file + store, rebuilt and reloaded on every change. */
    configService: ConfigService;
  }
}

export { BODY_LIMIT_CEILING };

export interface WireStoreOptions {
  gateway: Gateway;
  logger: StoreLogger;
  /** Store settings (tests: flush interval, retention off...). The data dir comes from the config. */
  store?: Omit<StoreOptions, 'dataDir' | 'logger' | 'env'>;
  /** Watch the config file when there is one. Default true. */
  watchConfig?: boolean;
  /** Quiet period of the config-file watch. Default 150 ms. */
  watchDebounceMs?: number;
  /** Number the request log for spend reconciliation (default true; false with --workers N: several writers). */
  sequenced?: boolean;
  /** Cluster mode with --workers N: this worker's part in sharing the data dir's configuration. */
  configSharing?: ConfigSharing;
}

export interface WiredStore {
  store: Store;
  configService: ConfigService;
  watcher: ConfigFileWatcher | undefined;
}

/** The longest the final flush of the request log may take at shutdown; what is left is reported, not waited for. */
export const STORE_CLOSE_BUDGET_MS = 5_000;

export async function wireStore(app: FastifyInstance, config: ResolvedConfig, options: WireStoreOptions): Promise<WiredStore> {
  const { gateway, logger } = options;
  // Cluster mode (database.url): the request log and stored responses are written to Postgres too.
  const postgres = options.store?.postgres ?? (config.database === undefined ? undefined : { connection: { connectionString: config.database.url } });
  const store = Store.open({ ...options.store, postgres, dataDir: config.server.dataDir, logger, env: config.input.env, deferSecretCheck: config.database !== undefined });
  let configService: ConfigService;
  // Cluster mode (database.url): the store is the local replica of the configuration in Postgres.
  let configSync: ConfigSync | undefined;
  try {
    configSync = await startConfigSync(store, config, logger, options.configSharing);
    configService = new ConfigService(config, { store, gateway, logger });
  } catch (error) {
    await configSync?.close();
    store.close();
    throw error;
  }
  if (configSync !== undefined) app.decorate('configSync', configSync);
  app.decorate('store', store);
  app.decorate('configService', configService);
  // Cluster mode: the request log is in Postgres, shared; spend is not rebuilt from it (see spend-watermark.ts).
  if (options.sequenced !== false && store.shared === undefined) store.logSequence = new LogSequence(store.db);
  attachRequestLogging(gateway, store.logs, store.logSequence);
  // heimdall_log_queue_depth and heimdall_log_dropped_total read the writer's counts at scrape time.
  gateway.metrics.sources.logWriter = () => (store.closed ? undefined : store.logs.stats);
  enforceBodyLimit(app, () => gateway.state.limits.maxBodyBytes);

  let watcher: ConfigFileWatcher | undefined;
  if (config.configPath !== undefined && options.watchConfig !== false) {
    watcher = new ConfigFileWatcher({
      path: config.configPath,
      logger,
      debounceMs: options.watchDebounceMs,
      onText: (text) => configService.reloadFileText(text),
    });
    await watcher.start();
  }

  app.addHook('onClose', async () => {
    watcher?.close();
    await configSync?.close();
    // Cluster mode: the stored responses still queued for Postgres go first (the request log's thread flushes in close).
    await store.shared?.flush(STORE_CLOSE_BUDGET_MS);
    // Bounded whatever the store does (a failing disk, a removed data dir): see Store.closeProblems.
    store.close(STORE_CLOSE_BUDGET_MS);
  });
  return { store, configService, watcher };
}
