/**
 * Configuration shared through Postgres (docs/cluster.md). Each instance serves from its local
 * SQLite replica (the request path stays synchronous); this keeps the replica and Postgres in step:
 *
 * - push: the outbox the SQLite triggers fill is written to Postgres, a batch per transaction,
 *   each change numbered in config_changes, then NOTIFY with the last version. A change Postgres
 *   refuses (another instance's concurrent write holds the same name) is logged and the local
 *   row put back as Postgres has it.
 * - pull: on a notification (LISTEN), and every `checkIntervalMs` as a backup, the changes after
 *   the replica's version are applied to it, then the listeners reload (as the gateway does when
 *   another worker changes the store).
 * - Postgres unreachable: the instance serves from its replica, says so loudly, retries every
 *   `retryMs`, and pushes what it wrote meanwhile once Postgres is back.
 * - `--workers N`: the workers share one data dir, so one replica and one outbox. Every worker
 *   pulls (a change is applied to the replica once; each worker reloads), under the data dir's one
 *   origin; only the leader pushes, so each local change reaches Postgres once and in order.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { SqliteDatabase } from '../database.js';
import type { StoreLogger } from '../store-logger.js';
import { changesAfter, currentRows, currentVersion, isEmpty, pruneChanges, pushChanges, snapshot, type LocalChange } from './config-log.js';
import { migratePostgres } from './migrate.js';
import { clientConfig, createPool, databaseTarget, isUnreachable, type PoolSettings } from './pool.js';
import { Replica } from './replica.js';
import { APPENDED_TABLES, quote, SHARED_TABLES } from './shared-tables.js';
import type { ConfigSyncStatus } from '../../cluster/cluster-view.js';

export interface ConfigSyncOptions extends PoolSettings {
  db: SqliteDatabase;
  logger: StoreLogger;
  /** How often the outbox is looked at (a local write reaches Postgres within this). Default 50 ms. */
  pollIntervalMs?: number;
  /** The backup check of Postgres's version, for a missed notification. Default 2000 ms. */
  checkIntervalMs?: number;
  /** Wait between attempts while Postgres is unreachable. Default 1000 ms. */
  retryMs?: number;
  /** How long config_changes keeps a change (a replica further behind takes a snapshot). Default 7 days. */
  changeRetentionMs?: number;
  /** Who writes this data dir's changes in Postgres; the same for every process on it (`--workers N`). Default: this process. */
  origin?: string;
  /** Push the outbox to Postgres (false: another process on this data dir, the leader worker, does). Default true. */
  push?: boolean;
}

/** Why the replica changed: changes pulled from Postgres, or local rows put back as Postgres has them (a refused write). */
export type ReplicaChange = 'pulled' | 'restored';

const BATCH = 500;
const PRUNE_EVERY_MS = 60 * 60_000;

export class ConfigSync {
  readonly replica: Replica;
  readonly origin: string;
  readonly #pool: pg.Pool;
  readonly #options: ConfigSyncOptions;
  readonly #logger: StoreLogger;
  readonly #listeners: Array<(cause: ReplicaChange) => void> = [];
  #channel = '';
  #listener: pg.Client | undefined;
  #timers: NodeJS.Timeout[] = [];
  /** This process's read position in config_changes (another process on the data dir may apply for it). */
  #seen = 0;
  #connected = false;
  #retryAt = 0;
  #pullWanted = false;
  #pumping: Promise<void> | undefined;
  #again = false;
  #closed = false;
  #rejected = 0;
  #lastPrune = 0;

  private constructor(options: ConfigSyncOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.origin = options.origin ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.replica = new Replica(options.db);
    this.#pool = createPool(options);
  }

  /**
   * Migrates Postgres and brings the replica up to date (or seeds Postgres from it when moving
   * from one node), then keeps them in step. Postgres unreachable: starts from a replica that was
   * in step before, and throws for a replica that never was (nothing to serve from).
   */
  static async start(options: ConfigSyncOptions): Promise<ConfigSync> {
    const sync = new ConfigSync(options);
    const wasRecording = sync.replica.enable();
    try {
      await migratePostgres(sync.#pool);
      sync.#channel = await sync.#channelName();
      await sync.#catchUp(wasRecording);
      sync.#connected = true;
    } catch (error) {
      if (!isUnreachable(error) || sync.replica.version === 0) {
        await sync.#pool.end().catch(() => undefined);
        throw error;
      }
      sync.#offline(error as Error);
    }
    sync.#seen = sync.replica.version;
    sync.#startTimers();
    if (sync.#connected) await sync.#listen().catch((error: Error) => sync.#offline(error));
    return sync;
  }

  /** Called after changes from Postgres were applied to the replica. */
  onChange(listener: (cause: ReplicaChange) => void): void {
    this.#listeners.push(listener);
  }

  get status(): ConfigSyncStatus {
    return { target: databaseTarget(this.#options.url), connected: this.#connected, version: this.replica.version, pending: this.replica.pendingCount(), rejected: this.#rejected };
  }

  /** Push what is waiting now (a management API write), rather than at the next poll. */
  kick(): void {
    this.#wake();
  }

  /** Pushes and pulls now, and waits for it (tests, shutdown). */
  async flush(): Promise<void> {
    this.#pullWanted = true;
    this.#wake();
    while (this.#pumping !== undefined) await this.#pumping;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // A last push of what this instance wrote, when Postgres is there.
    if (this.#connected) await this.flush().catch(() => undefined);
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    while (this.#pumping !== undefined) await this.#pumping;
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.#pool.end().catch(() => undefined);
  }

  async #channelName(): Promise<string> {
    const schema = String((await this.#pool.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0].schema);
    return `heimdall_config_${schema}`.slice(0, 63);
  }

  async #catchUp(wasRecording: boolean): Promise<void> {
    if (wasRecording && this.#pushes) await this.#pushAll();
    if (await isEmpty(this.#pool)) {
      if (this.replica.hasConfiguration()) await this.#seed();
      return;
    }
    const version = await currentVersion(this.#pool);
    const local = this.replica.version;
    // Written while not recording (started without the URL), new, or from another database: take Postgres's whole.
    if (!wasRecording || local === 0 || local > version) await this.#snapshot();
    else await this.#pull(true);
  }

  /** Moving from one node: this instance's configuration becomes the cluster's (under a lock: one instance seeds). */
  async #seed(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query(`SELECT pg_advisory_lock(hashtext('heimdall:seed:' || current_schema()))`);
      try {
        if (!(await isEmpty(this.#pool))) return this.#snapshot();
        const changes: LocalChange[] = [];
        for (const table of SHARED_TABLES) {
          for (const row of this.replica.rows(table.name)) changes.push({ table: table.name, pk: table.key.map((column) => row[column]), row });
        }
        for (const name of APPENDED_TABLES) {
          for (const row of this.replica.rows(name)) changes.push({ table: name, pk: [row.id], row });
        }
        const result = await pushChanges(this.#pool, changes, this.origin, this.#channel);
        for (const { change, error } of result.rejected) this.#logger.error({ table: change.table, key: change.pk, error: error.message }, 'configuration sharing: a row of this instance could not be copied to Postgres');
        this.replica.applyChanges([], [], result.version ?? 0);
        this.#logger.info({ rows: changes.length, database: databaseTarget(this.#options.url) }, 'configuration sharing: Postgres was empty; seeded it with this instance\'s configuration');
      } finally {
        await client.query(`SELECT pg_advisory_unlock(hashtext('heimdall:seed:' || current_schema()))`).catch(() => undefined);
      }
    } finally {
      client.release();
    }
  }

  async #snapshot(): Promise<void> {
    const { version, tables } = await snapshot(this.#pool);
    this.replica.replaceAll(tables, version);
    this.#seen = version;
    this.#logger.info({ version }, 'configuration sharing: replica loaded from Postgres');
  }

  async #pushAll(): Promise<void> {
    for (;;) {
      const { entries, lastSeq } = this.replica.pending(BATCH);
      if (entries.length === 0) return;
      const changes: LocalChange[] = entries.map((entry) => {
        const key = APPENDED_TABLES.includes(entry.table) ? ['id'] : undefined;
        return { table: entry.table, pk: entry.pk, row: this.replica.read(entry.table, entry.pk, key) ?? null };
      });
      const result = await pushChanges(this.#pool, changes, this.origin, this.#channel);
      this.replica.acknowledge(lastSeq);
      if (result.rejected.length > 0) {
        this.#rejected += result.rejected.length;
        for (const { change, error } of result.rejected) {
          this.#logger.error({ table: change.table, key: change.pk, error: error.message }, 'configuration sharing: Postgres refused a change made on this instance (another instance wrote a conflicting one); the row is put back as Postgres has it');
        }
        const shared = result.rejected.filter(({ change }) => !APPENDED_TABLES.includes(change.table));
        this.replica.restore(await currentRows(this.#pool, shared.map(({ change }) => change)));
        this.#emit('restored');
      }
      if (entries.length < BATCH && lastSeq > 0 && !this.replica.hasPending()) return;
    }
  }

  /** Applies the changes after this process's position; `quiet`: at start (nothing to reload yet). */
  async #pull(quiet = false): Promise<void> {
    let changed = false;
    for (;;) {
      const changes = await changesAfter(this.#pool, this.#seen, BATCH);
      if (changes.length === 0) {
        // Everything after this position was pruned: a snapshot.
        if ((await currentVersion(this.#pool)) > this.#seen) {
          await this.#snapshot();
          changed = true;
        }
        break;
      }
      if (changes[0].version !== this.#seen + 1) {
        await this.#snapshot();
        changed = true;
        break;
      }
      const foreign = changes.filter((change) => change.origin !== this.origin);
      const last = changes[changes.length - 1].version;
      try {
        this.replica.applyChanges(foreign, foreign.map((change) => change.version), last);
      } catch (error) {
        this.#logger.error({ error: (error as Error).message }, 'configuration sharing: changes from Postgres did not apply to the replica; loading it whole');
        await this.#snapshot();
        changed = true;
        break;
      }
      this.#seen = last;
      if (foreign.length > 0) changed = true;
      if (changes.length < BATCH) break;
    }
    if (changed && !quiet) this.#emit('pulled');
  }

  get #pushes(): boolean {
    return this.#options.push !== false;
  }

  #emit(cause: ReplicaChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(cause);
      } catch (error) {
        this.#logger.error({ error: (error as Error).message }, 'configuration sharing: reload after a change failed');
      }
    }
  }

  #startTimers(): void {
    const poll = setInterval(() => {
      if (this.#pushes && this.replica.hasPending()) this.#wake();
    }, this.#options.pollIntervalMs ?? 50);
    const check = setInterval(() => {
      this.#pullWanted = true;
      this.#wake();
    }, this.#options.checkIntervalMs ?? 2_000);
    poll.unref();
    check.unref();
    this.#timers.push(poll, check);
  }

  #wake(): void {
    if (this.#closed) return;
    if (this.#pumping !== undefined) {
      this.#again = true;
      return;
    }
    if (Date.now() < this.#retryAt) return;
    this.#pumping = this.#pump().finally(() => {
      this.#pumping = undefined;
    });
  }

  async #pump(): Promise<void> {
    do {
      this.#again = false;
      try {
        if (!this.#connected) await this.#reconnect();
        if (this.#pushes) await this.#pushAll();
        if (this.#pullWanted) {
          this.#pullWanted = false;
          await this.#pull();
        }
        if (Date.now() - this.#lastPrune > PRUNE_EVERY_MS) {
          this.#lastPrune = Date.now();
          await pruneChanges(this.#pool, Date.now() - (this.#options.changeRetentionMs ?? 7 * 24 * 3_600_000));
        }
      } catch (error) {
        if (isUnreachable(error)) this.#offline(error as Error);
        else {
          this.#retryAt = Date.now() + (this.#options.retryMs ?? 1_000);
          this.#logger.error({ error: (error as Error).message }, 'configuration sharing: a sync step failed; retrying');
        }
        return;
      }
    } while (this.#again && !this.#closed);
  }

  async #reconnect(): Promise<void> {
    if (this.#channel === '') {
      await migratePostgres(this.#pool);
      this.#channel = await this.#channelName();
    }
    await this.#pool.query('SELECT 1');
    this.#connected = true;
    this.#pullWanted = true;
    this.#logger.warn({ database: databaseTarget(this.#options.url), pending: this.replica.pendingCount() }, 'configuration sharing: Postgres is reachable again; pushing the changes made meanwhile');
    await this.#listen();
  }

  #offline(error: Error): void {
    this.#retryAt = Date.now() + (this.#options.retryMs ?? 1_000);
    if (!this.#connected && this.#timers.length > 0) return; // said already
    this.#connected = false;
    this.#logger.error(
      { database: databaseTarget(this.#options.url), error: error.message, pending: this.replica.pendingCount() },
      'configuration sharing: Postgres is unreachable; serving from the local replica, configuration changes are kept and pushed when it is back',
    );
  }

  async #listen(): Promise<void> {
    const previous = this.#listener;
    this.#listener = undefined;
    await previous?.end().catch(() => undefined);
    const client = new pg.Client(clientConfig(this.#options));
    client.on('error', () => undefined);
    client.on('end', () => {
      if (this.#listener !== client || this.#closed) return;
      this.#listener = undefined;
      this.#offline(new Error('the LISTEN connection ended'));
    });
    client.on('notification', (message) => {
      if (message.channel !== this.#channel) return;
      if (Number(message.payload) > this.#seen) {
        this.#pullWanted = true;
        this.#wake();
      }
    });
    await client.connect();
    await client.query(`LISTEN ${quote(this.#channel)}`);
    this.#listener = client;
  }
}
