/**
 * The shared cache store of a cluster: entries are rows of one Postgres table
 * (plain Postgres 15: no pgvector), and every gateway keeps all live entries
 * and their vectors in process (entry-memory.ts), so a lookup never waits on
 * the database. The instances keep each other current through LISTEN/NOTIFY
 * on one channel:
 *
 *   put      the row is upserted and `{p: [id]}` announced in the same statement;
 *            the others read the row and index it
 *   delete   rows deleted by filter (invalidation, eviction, expiry) are announced
 *            by id (`{d: [...]}`), or `{c: 1}` when everything went
 *   start    LISTEN first, then every live row is read (nothing announced in
 *            between is missed); a lost listening connection reconnects and reads
 *            everything again
 *
 * Bounds hold in the shared table: when an instance's view exceeds `maxEntries`
 * or `maxBytes` after a put (or a smaller bound), one statement deletes the
 * least recently used rows past both bounds (hits are written behind, every
 * second, before it runs) and announces them; each sweep (every minute) runs it
 * too, with the expired rows' deletion, so the table is bounded even when puts
 * of two instances cross.
 *
 *   const store = await openPostgresCacheStore(pool, { maxEntries, maxBytes });
 *   buildApp(config, { cacheStore: store })
 *
 * With `database.url` set, the gateway opens it itself (openSharedCacheStore).
 */
import crypto from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { ResolvedConfig } from '../config/load.js';
import { createPool, databaseTarget } from '../store/pg/pool.js';
import { MemoryBackedStore } from './entry-memory.js';
import { fromRow, toRow, type EntryRow } from './local-store.js';
import type { CacheEntry, CacheFilter, CacheStore } from './types.js';

export const POSTGRES_CACHE_TABLE = 'heimdall_cache_entries';

/** The table, in the schema first on the pool's search_path (created at open when missing). */
export const POSTGRES_CACHE_DDL = `
CREATE TABLE IF NOT EXISTS ${POSTGRES_CACHE_TABLE} (
  id            text PRIMARY KEY,
  scope         text NOT NULL,
  cache_key     text NOT NULL,
  model         text NOT NULL,
  provider      text,
  served_model  text,
  response      text NOT NULL,
  bytes         integer NOT NULL,
  created_at    bigint NOT NULL,
  expires_at    bigint NOT NULL,
  used_at       bigint NOT NULL,
  hits          integer NOT NULL DEFAULT 0,
  input_tokens  integer,
  output_tokens integer,
  cost_usd      double precision,
  partition     text,
  vector        bytea,
  facts         text
);
CREATE INDEX IF NOT EXISTS ${POSTGRES_CACHE_TABLE}_used ON ${POSTGRES_CACHE_TABLE} (used_at);
CREATE INDEX IF NOT EXISTS ${POSTGRES_CACHE_TABLE}_expires ON ${POSTGRES_CACHE_TABLE} (expires_at);
`;

const COLUMNS = ['id', 'scope', 'cache_key', 'model', 'provider', 'served_model', 'response', 'bytes', 'created_at', 'expires_at', 'used_at',
  'hits', 'input_tokens', 'output_tokens', 'cost_usd', 'partition', 'vector', 'facts'] as const;

const UPSERT = `WITH stored AS (
  INSERT INTO ${POSTGRES_CACHE_TABLE} (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
  ON CONFLICT (id) DO UPDATE SET ${COLUMNS.slice(1).map((column) => `${column} = excluded.${column}`).join(', ')}
  RETURNING id)
SELECT pg_notify($${COLUMNS.length + 1}, $${COLUMNS.length + 2}) FROM stored`;

/** Deletes the least recently used rows past either bound; returns their ids. */
const ENFORCE_BOUNDS = `WITH ranked AS (
  SELECT id, row_number() OVER w AS n, sum(bytes) OVER w AS running FROM ${POSTGRES_CACHE_TABLE}
  WINDOW w AS (ORDER BY used_at DESC, id DESC))
DELETE FROM ${POSTGRES_CACHE_TABLE} t USING ranked r WHERE t.id = r.id AND (r.n > $1 OR r.running > $2) RETURNING t.id`;

const TOUCH = `UPDATE ${POSTGRES_CACHE_TABLE} t SET used_at = GREATEST(t.used_at, v.used_at), hits = t.hits + v.delta
  FROM unnest($1::text[], $2::bigint[], $3::int[]) AS v(id, used_at, delta) WHERE t.id = v.id`;

/** Ids per notice: a NOTIFY payload must stay under 8,000 bytes. */
const IDS_PER_NOTICE = 150;
const SWEEP_MS = 60_000;
const RECONNECT_MS = 1_000;

export interface PostgresCacheStoreOptions {
  maxEntries: number;
  maxBytes: number;
  /** Write-behind interval of hits (used_at, hit counts). */
  flushIntervalMs?: number;
  /** Expired rows deleted and bounds enforced this often. */
  sweepIntervalMs?: number;
  /** The LISTEN/NOTIFY channel; default: `heimdall_cache_<schema>` (instances on one table share it). */
  channel?: string;
  now?: () => number;
  onError?(error: unknown): void;
}

interface Notice {
  /** The instance that sent it (its own are ignored). */
  n: string;
  p?: string[];
  d?: string[];
  c?: 1;
}

interface PendingTouch {
  usedAt: number;
  delta: number;
}

/** A partition's parts are joined by NUL, which Postgres text cannot hold: stored with U+001F instead. */
const NUL = /\u0000/g;
const UNIT_SEPARATOR = /\u001f/g;

/** pg returns bigint columns as strings. */
function rowOf(row: Record<string, unknown>): EntryRow {
  const partition = typeof row.partition === 'string' ? row.partition.replace(UNIT_SEPARATOR, '\u0000') : null;
  return { ...row, partition, created_at: Number(row.created_at), expires_at: Number(row.expires_at), used_at: Number(row.used_at) } as unknown as EntryRow;
}

/** The query parameters of an entry, in COLUMNS order. */
function valuesOf(entry: CacheEntry): unknown[] {
  const row = toRow(entry);
  if (row.partition !== null) row.partition = row.partition.replace(NUL, '\u001f');
  return COLUMNS.map((column) => row[column]);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Opens the shared store: the table created when missing, every live row read, notices listened to. */
export async function openPostgresCacheStore(pool: Pool, options: PostgresCacheStoreOptions): Promise<PostgresCacheStore> {
  const client = await pool.connect();
  let schema: string;
  try {
    await client.query('BEGIN');
    // Two instances starting at once would race on CREATE TABLE IF NOT EXISTS: one at a time.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('heimdall_cache_entries_ddl'))");
    await client.query(POSTGRES_CACHE_DDL);
    schema = ((await client.query('SELECT current_schema() AS schema')).rows[0] as { schema: string }).schema;
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  const store = new PostgresCacheStore(pool, options, options.channel ?? `heimdall_cache_${schema}`.slice(0, 63));
  await store.start();
  return store;
}

export class PostgresCacheStore extends MemoryBackedStore implements CacheStore {
  /** This instance, in its notices. */
  readonly instance = crypto.randomUUID();
  private maxEntries: number;
  private maxBytes: number;
  private listener: PoolClient | undefined;
  private readonly pendingTouches = new Map<string, PendingTouch>();
  private readonly pendingFetches = new Set<string>();
  private fetching: Promise<void> | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly pool: Pool,
    private readonly options: PostgresCacheStoreOptions,
    readonly channel: string,
  ) {
    super();
    this.now = options.now ?? Date.now;
    this.maxEntries = options.maxEntries;
    this.maxBytes = options.maxBytes;
  }

  /** LISTEN, then every live row; the write-behind and sweep timers. */
  async start(): Promise<void> {
    await this.listen();
    await this.load();
    const flush = setInterval(() => void this.flush(), this.options.flushIntervalMs ?? 1000);
    const sweep = setInterval(() => void this.sweep(), this.options.sweepIntervalMs ?? SWEEP_MS);
    for (const timer of [flush, sweep]) {
      timer.unref();
      this.timers.push(timer);
    }
  }

  private async listen(): Promise<void> {
    const client = await this.pool.connect();
    client.on('notification', (message) => {
      if (message.channel === this.channel && message.payload !== undefined) this.onNotice(message.payload);
    });
    client.on('error', (error) => this.lostListener(client, error));
    await client.query(`LISTEN "${this.channel.replace(/"/g, '""')}"`);
    this.listener = client;
  }

  /** The listening connection broke: notices may have been missed, so listen again and read everything. */
  private lostListener(client: PoolClient, error: unknown): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    this.options.onError?.(error);
    client.release(true);
    const retry = (): void => {
      if (this.closed) return;
      this.listen().then(() => this.load(), (failure) => {
        this.options.onError?.(failure);
        setTimeout(retry, RECONNECT_MS).unref();
      });
    };
    retry();
  }

  private async load(): Promise<void> {
    const { rows } = await this.pool.query(`SELECT * FROM ${POSTGRES_CACHE_TABLE} WHERE expires_at > $1 ORDER BY used_at ASC`, [this.now()]);
    this.memory.clear();
    for (const row of rows) this.memory.insert(fromRow(rowOf(row)));
  }

  private onNotice(payload: string): void {
    let notice: Notice;
    try {
      notice = JSON.parse(payload) as Notice;
    } catch {
      return;
    }
    if (notice.n === this.instance) return;
    if (notice.c === 1) {
      this.memory.clear();
      this.pendingFetches.clear();
    }
    for (const id of notice.d ?? []) this.forget(id);
    for (const id of notice.p ?? []) this.pendingFetches.add(id);
    if (this.pendingFetches.size > 0) this.fetching ??= this.fetchAnnounced();
  }

  /** Reads the rows other instances announced, in one query per batch. */
  private async fetchAnnounced(): Promise<void> {
    try {
      while (this.pendingFetches.size > 0 && !this.closed) {
        const ids = [...this.pendingFetches];
        this.pendingFetches.clear();
        const { rows } = await this.pool.query(`SELECT * FROM ${POSTGRES_CACHE_TABLE} WHERE id = ANY($1::text[]) AND expires_at > $2`, [ids, this.now()]);
        for (const row of rows) this.memory.insert(fromRow(rowOf(row)));
      }
    } catch (error) {
      this.options.onError?.(error);
    } finally {
      this.fetching = undefined;
    }
  }

  /** Resolves once the rows announced so far are read (tests, and a caller that wants its view current). */
  async settled(): Promise<void> {
    while (this.fetching !== undefined) await this.fetching;
  }

  private forget(id: string): void {
    const entry = this.memory.peek(id);
    if (entry !== undefined) this.memory.unlink(entry);
    this.pendingTouches.delete(id);
  }

  private async notify(notice: Omit<Notice, 'n'>): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [this.channel, JSON.stringify({ n: this.instance, ...notice })]);
  }

  private async announceDeleted(ids: string[]): Promise<void> {
    for (const part of chunks(ids, IDS_PER_NOTICE)) await this.notify({ d: part });
  }

  get(id: string, now: number): CacheEntry | undefined {
    const entry = this.memory.peek(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      // The row goes with the next sweep (every instance's sweep deletes expired rows).
      this.memory.expirations++;
      this.forget(id);
      return undefined;
    }
    return entry;
  }

  async put(entry: CacheEntry, _now: number): Promise<void> {
    this.memory.insert(entry);
    await this.pool.query(UPSERT, [...valuesOf(entry), this.channel, JSON.stringify({ n: this.instance, p: [entry.id] } satisfies Notice)]);
    if (this.memory.over(this.maxEntries, this.maxBytes)) await this.enforceBounds();
  }

  touch(entry: CacheEntry, now: number): void {
    if (!this.memory.touch(entry, now)) return;
    const pending = this.pendingTouches.get(entry.id);
    if (pending === undefined) this.pendingTouches.set(entry.id, { usedAt: now, delta: 1 });
    else {
      pending.usedAt = now;
      pending.delta++;
    }
  }

  async delete(filter: CacheFilter): Promise<number> {
    const everything = filter.id === undefined && filter.scope === undefined && filter.model === undefined;
    const { rows } = await this.pool.query(
      `DELETE FROM ${POSTGRES_CACHE_TABLE} WHERE ($1::text IS NULL OR id = $1) AND ($2::text IS NULL OR scope = $2) AND ($3::text IS NULL OR model = $3) RETURNING id`,
      [filter.id ?? null, filter.scope ?? null, filter.model ?? null],
    );
    const ids = (rows as Array<{ id: string }>).map((row) => row.id);
    if (everything) {
      this.memory.clear();
      this.pendingTouches.clear();
      await this.notify({ c: 1 });
    } else {
      for (const id of ids) this.forget(id);
      await this.announceDeleted(ids);
    }
    return ids.length;
  }

  /** New bounds: this instance's view shrinks at once (least recently used first); the table follows. */
  setBounds(maxEntries: number, maxBytes: number): void {
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
    const gone: string[] = [];
    while (this.memory.over(maxEntries, maxBytes)) {
      const oldest = this.memory.oldest()!;
      this.memory.unlink(oldest);
      this.memory.evictions++;
      gone.push(oldest.id);
    }
    if (gone.length === 0) return;
    // What this instance let go goes from the table too; then the table's own bounds.
    void this.removeRows(gone).then(() => this.enforceBounds()).catch((error: unknown) => this.options.onError?.(error));
  }

  private async removeRows(ids: string[]): Promise<void> {
    await this.pool.query(`DELETE FROM ${POSTGRES_CACHE_TABLE} WHERE id = ANY($1::text[])`, [ids]);
    await this.announceDeleted(ids);
  }

  /** Deletes the least recently used rows past the bounds, in the shared table, and announces them. */
  async enforceBounds(): Promise<void> {
    await this.flushTouches();
    const { rows } = await this.pool.query(ENFORCE_BOUNDS, [this.maxEntries, this.maxBytes]);
    const ids = (rows as Array<{ id: string }>).map((row) => row.id);
    for (const id of ids) {
      if (this.memory.peek(id) !== undefined) this.memory.evictions++;
      this.forget(id);
    }
    await this.announceDeleted(ids);
  }

  /** Writes the hits made since the last flush (used_at, hit counts) in one statement. */
  private async flushTouches(): Promise<void> {
    if (this.pendingTouches.size === 0) return;
    const touches = [...this.pendingTouches];
    this.pendingTouches.clear();
    await this.pool.query(TOUCH, [touches.map(([id]) => id), touches.map(([, touch]) => touch.usedAt), touches.map(([, touch]) => touch.delta)]);
  }

  async flush(): Promise<void> {
    try {
      await this.flushTouches();
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  /** Expired rows and entries go; the bounds are enforced on the table. */
  async sweep(): Promise<void> {
    const now = this.now();
    try {
      for (const entry of this.memory.values()) {
        if (entry.expiresAt > now) continue;
        this.memory.expirations++;
        this.forget(entry.id);
      }
      const { rows } = await this.pool.query(`DELETE FROM ${POSTGRES_CACHE_TABLE} WHERE expires_at <= $1 RETURNING id`, [now]);
      await this.announceDeleted((rows as Array<{ id: string }>).map((row) => row.id));
      await this.enforceBounds();
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.flush();
    await this.fetching;
    const listener = this.listener;
    this.listener = undefined;
    if (listener !== undefined) {
      try {
        await listener.query(`UNLISTEN "${this.channel.replace(/"/g, '""')}"`);
        listener.release();
      } catch {
        listener.release(true);
      }
    }
  }
}

/**
 * Cluster mode (database.url): the cache store every instance shares, on a pool of its own (closed
 * with the store). Undefined without a database URL, or (logged) when Postgres cannot be reached at
 * start: the instance then caches in its own data dir.
 */
export async function openSharedCacheStore(
  config: ResolvedConfig,
  logger: { error(object: unknown, message: string): void; warn(object: unknown, message: string): void },
): Promise<CacheStore | undefined> {
  if (config.database === undefined) return undefined;
  const pool = createPool({ url: config.database.url, max: 4 });
  try {
    const store = await openPostgresCacheStore(pool, {
      maxEntries: config.cache.maxEntries,
      maxBytes: config.cache.maxBytes,
      onError: (error) => logger.error({ err: error }, 'cache: the shared Postgres store failed'),
    });
    const close = store.close.bind(store);
    store.close = () => close().finally(() => pool.end().catch(() => undefined));
    return store;
  } catch (error) {
    await pool.end().catch(() => undefined);
    logger.warn({ err: error, database: databaseTarget(config.database.url) }, 'cache: the shared Postgres store could not be opened; caching in this instance only');
    return undefined;
  }
}
