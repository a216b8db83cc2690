/**
 * The store facade: one SQLite database in the data dir, with the batched log
 * writer, log queries, retention, and the configuration repository on it.
 *
 *   const store = Store.open({ dataDir, logger });
 *   store.logs.enqueue(record);          // request path: memory only
 *   store.logQueries.listLogs({...});    // management API
 *   store.config.listProviders();
 *   store.close();                       // shutdown: flush logs, close the file
 */
import { existsSync } from 'node:fs';
import { AuthStore } from './auth-store.js';
import { BatchStore } from './batch-store.js';
import { ConfigRepo } from './config-repo.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import type { LogSequence } from './spend-watermark.js';
import { openDatabase, schemaVersion, type SqliteDatabase } from './database.js';
import { LogQueries, type LogReader } from './log-queries.js';
import { LogWriter, type RequestLogWriter } from './log-writer.js';
import { LogRetention, type RetentionOptions } from './retention.js';
import { ResponseStore } from './response-store.js';
import { SecretBox, loadMasterKey, type MasterKeySource } from './secret-box.js';
import { checkStoredSecrets } from './key-rotation.js';
import { ThreadedLogWriter, type ThreadedLogWriterOptions } from './threaded-log-writer.js';
import { silentLogger, type StoreLogger } from './store-logger.js';
import { sharedStores, type SharedStores, type PostgresStoreOptions } from './pg/shared-stores.js';

export interface StoreOptions {
  /** Holds heimdall.db and encryption.key; created with mode 0700. Required unless memory. */
  dataDir?: string;
  /** An in-memory database (tests). The encryption key is then random unless HEIMDALL_ENCRYPTION_KEY is set. */
  memory?: boolean;
  logger?: StoreLogger;
  /** Where HEIMDALL_ENCRYPTION_KEY is read from. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Clock for timestamps, retention and default stats ranges. */
  now?: () => number;
  /**
   * Request-log writer settings. `thread` (default true; a database file only): a worker thread
   * writes the request log, off the event loop; false writes in this thread.
   */
  logs?: Omit<ThreadedLogWriterOptions, 'logger'> & { thread?: boolean };
  /** false: no background retention (tests); otherwise started on open. */
  retention?: Omit<RetentionOptions, 'logger' | 'now'> | false;
  /**
   * Cluster mode (database.url): the stored secrets are checked (and rotated) by the caller once the
   * store is brought up to date from Postgres (src/store/pg/wiring.ts), not at open.
   */
  deferSecretCheck?: boolean;
  /**
   * Cluster mode: the request log (writes, queries, retention) and stored responses in Postgres,
   * shared by every instance (src/store/pg/). Configuration stays in this store.
   */
  postgres?: PostgresStoreOptions;
}

export class Store {
  readonly db: SqliteDatabase;
  /** Batched request-log writer: the only part the request path touches. */
  readonly logs: RequestLogWriter;
  /** The request log's queries on this database. */
  readonly logQueries: LogQueries;
  /** What the management API reads the request log with: logQueries, or in cluster mode Postgres (promises). */
  readonly logReader: LogReader;
  readonly retention: LogRetention;
  readonly config: ConfigRepo;
  /** Users, sessions, personal API tokens (the management API's accounts). */
  readonly auth: AuthStore;
  /** Stored responses of the Responses API (written on the request path: see response-store.ts). */
  readonly responses: ResponseStore;
  /** Files and batch jobs made through the gateway (written on the request path: see batch-store.ts). */
  readonly batches: BatchStore;
  readonly secrets: SecretBox;
  /** Where the encryption key came from (env, env-passphrase, file, generated, ephemeral). */
  readonly encryptionKeySource: MasterKeySource;
  readonly schemaVersion: number;
  #closed = false;
  /** The request log's numbering, when spend is reconciled from it (one process; see spend-watermark.ts). */
  logSequence: LogSequence | undefined;
  /** This process's hold on the data dir (none in memory). */
  #lock: DataDirLock | undefined;
  readonly #logger: StoreLogger;
  /** Cluster mode: what lives in Postgres (see pg/shared-stores.ts); undefined with SQLite alone. */
  readonly shared: SharedStores | undefined;

  private constructor(db: SqliteDatabase, options: StoreOptions, secrets: SecretBox, keySource: MasterKeySource) {
    const logger = options.logger ?? silentLogger;
    this.#logger = logger;
    const now = options.now ?? Date.now;
    this.db = db;
    this.secrets = secrets;
    this.encryptionKeySource = keySource;
    this.schemaVersion = schemaVersion(db);
    this.config = new ConfigRepo(db, secrets, { now });
    this.auth = new AuthStore(db, { now });
    this.batches = new BatchStore(db, { now });
    const { thread = true, ...logOptions } = options.logs ?? {};
    this.retention = new LogRetention(db, { ...(options.retention || {}), logger, now });
    this.logQueries = new LogQueries(db, { now });
    if (options.postgres === undefined) {
      this.logReader = this.logQueries;
      this.responses = new ResponseStore(db);
      this.logs = thread && !db.memory
        ? new ThreadedLogWriter(db, { ...logOptions, logger })
        : new LogWriter(db, { ...logOptions, logger });
    } else {
      // Cluster mode: the same retention limits (live settings) apply to Postgres.
      const retention = this.retention;
      this.shared = sharedStores(db, options.postgres, { logs: logOptions, logger, now, limits: () => retention.limits });
      this.logReader = this.shared.logQueries;
      this.responses = this.shared.responses;
      this.logs = this.shared.logs;
      if (options.retention !== false) this.shared.retention.start();
    }
    if (options.retention !== false) this.retention.start();
    this.#checkEncryptionKey(logger);
  }

  /** A lost or changed encryption key makes stored provider keys unreadable: say so at start. */
  #checkEncryptionKey(logger: StoreLogger): void {
    const sample = this.db.prepare('SELECT id, secret_encrypted FROM provider_keys LIMIT 1').get() as
      | { id: string; secret_encrypted: string }
      | undefined;
    if (!sample) return;
    try {
      this.secrets.decrypt(sample.secret_encrypted);
    } catch {
      logger.error(
        { provider_key: sample.id, key_source: this.encryptionKeySource },
        'stored provider keys cannot be decrypted with the current encryption key ' +
          '(HEIMDALL_ENCRYPTION_KEY or <data-dir>/encryption.key changed or was lost); re-enter the keys or restore the key',
      );
    }
  }

  /**
   * Opens (and creates or migrates) the database; throws if it is newer than this code, and
   * DataDirLockedError when another live process holds the data dir.
   */
  static open(options: StoreOptions): Store {
    const memory = options.memory === true;
    if (!memory && !options.dataDir) throw new Error('Store.open needs a dataDir (or memory: true).');
    const dataDir = options.dataDir ?? '';
    const lock = memory ? undefined : lockDataDir(dataDir);
    let db: SqliteDatabase | undefined;
    try {
      const master = loadMasterKey({ dataDir: memory ? undefined : dataDir, env: options.env });
      db = openDatabase(dataDir, { memory });
      const box = new SecretBox(master.key);
      // Refuses to start when stored secrets do not open with this key (key-rotation.ts); rotates from the previous key.
      const checked = options.deferSecretCheck === true ? { rotated: 0 } : checkStoredSecrets(db, box, master.source, options.env ?? process.env);
      if (checked.rotated > 0) (options.logger ?? silentLogger).info({ secrets: checked.rotated }, 'stored secrets re-encrypted with the new encryption key (HEIMDALL_ENCRYPTION_KEY_PREVIOUS opened them)');
      const store = new Store(db, options, box, master.source);
      store.#lock = lock;
      return store;
    } catch (error) {
      db?.close();
      lock?.release();
      throw error;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * What the last close could not do, for the shutdown's exit code: request log records given up
   * (the store failed or did not answer in time) and whether the database file was gone.
   */
  closeProblems: string[] = [];

  /**
   * Stops retention, flushes queued logs in one last pass, closes the database. `budgetMs` bounds
   * the flush (shutdown); what could not be written is logged and listed in `closeProblems`.
   */
  close(budgetMs?: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.retention.stop();
    this.shared?.retention.stop();
    try {
      this.logs.close(budgetMs);
    } finally {
      this.shared?.end();
      const unwritten = this.logs.unwritten;
      if (unwritten > 0) this.closeProblems.push(`${unwritten} request log record${unwritten === 1 ? '' : 's'} could not be written`);
      // A data dir removed under the running process: SQLite wrote into a file nobody can open again.
      if (this.db.name !== ':memory:' && this.db.name !== '' && !existsSync(this.db.name)) {
        this.closeProblems.push(`the database file ${this.db.name} no longer exists: what this process wrote to it is lost`);
      }
      for (const problem of this.closeProblems) this.#logger.error({ database: this.db.name }, `store close: ${problem}`);
      if (this.db.open) {
        try {
          this.db.pragma('wal_checkpoint(TRUNCATE)');
        } catch {
          // another connection may hold the WAL; SQLite checkpoints on its own later
        }
        this.db.close();
      }
      this.#lock?.release();
    }
  }
}
