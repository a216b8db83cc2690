/**
 * The embedded cache store: every live entry in memory (a Map in LRU order,
 * one vector index per partition), persisted to its own SQLite file in the
 * data dir (`cache.db`), written behind in batches (one transaction each, off
 * the request path) and read back at start, so the cache survives a restart.
 *
 * Why a file of its own and not tables in heimdall.db: the cache is
 * disposable (deleting cache.db empties it, nothing else is lost), its writes
 * are bulky (whole answers, vectors) and frequent (every hit moves an entry in
 * the LRU order), so they stay out of the lock and the WAL the request-log
 * writer and retention work on, and its schema evolves without the main
 * database's migration sequence.
 *
 * Bounds: `maxEntries` and `maxBytes` (answer + vector + facts); past either,
 * the least recently used entries go. Expired entries are dropped when read
 * and swept every minute.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate, type SqliteDatabase } from '../store/database.js';
import type { Migration } from '../store/migrations.js';
import type { SemanticFacts } from './guards.js';
import { MemoryBackedStore } from './entry-memory.js';
import { matchesFilter, type CacheEntry, type CacheFilter, type CacheStore } from './types.js';

export const CACHE_DATABASE_FILE = 'cache.db';

const SCHEMA = `
CREATE TABLE cache_entries (
  id             TEXT PRIMARY KEY,
  scope          TEXT NOT NULL,                       -- vk:<id> | team:<id> | customer:<id> | global | anonymous
  cache_key      TEXT NOT NULL,                       -- the exact key (hash of the canonical request)
  model          TEXT NOT NULL,                       -- the model or group as asked
  provider       TEXT,
  served_model   TEXT,
  response       TEXT NOT NULL CHECK (json_valid(response)),  -- canonical chat completion
  bytes          INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL,
  used_at        INTEGER NOT NULL,
  hits           INTEGER NOT NULL DEFAULT 0,
  input_tokens   INTEGER,
  output_tokens  INTEGER,
  cost_usd       REAL,                                -- what the answer cost; null: unknown
  partition      TEXT,                                -- semantic entries: scope + embedding model + dimensions
  vector         BLOB,                                -- float32 little-endian, unit length
  facts          TEXT CHECK (facts IS NULL OR json_valid(facts))
);
CREATE INDEX cache_entries_used ON cache_entries (used_at);
CREATE INDEX cache_entries_expires ON cache_entries (expires_at);

CREATE TABLE cache_shadow (
  id               INTEGER PRIMARY KEY,
  time             INTEGER NOT NULL,
  request_id       TEXT NOT NULL,
  scope            TEXT NOT NULL,
  model            TEXT NOT NULL,
  entry_id         TEXT NOT NULL,
  similarity       REAL NOT NULL,
  threshold        REAL NOT NULL,
  guard            TEXT,                              -- the guard that would have refused it; null: it would have been served
  question         TEXT NOT NULL,
  cached_question  TEXT NOT NULL,
  cached_answer    TEXT NOT NULL,
  real_answer      TEXT
);
CREATE INDEX cache_shadow_time ON cache_shadow (time);

CREATE TABLE cache_savings (
  hour          INTEGER PRIMARY KEY,                  -- start of the hour, ms since the epoch
  hits          INTEGER NOT NULL DEFAULT 0,
  semantic_hits INTEGER NOT NULL DEFAULT 0,
  misses        INTEGER NOT NULL DEFAULT 0,
  saved_usd     REAL NOT NULL DEFAULT 0,
  saved_tokens  INTEGER NOT NULL DEFAULT 0
);
`;

export const CACHE_MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'cache: entries, shadow matches, savings per hour', up: SCHEMA }];

/** Opens `<dataDir>/cache.db` (or an in-memory one) with the store's pragmas, schema up to date. */
export function openCacheDatabase(dataDir: string | undefined): SqliteDatabase {
  let file = ':memory:';
  if (dataDir !== undefined) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    file = path.join(dataDir, CACHE_DATABASE_FILE);
  }
  const created = file !== ':memory:' && !fs.existsSync(file);
  const db = new Database(file);
  try {
    if (created) fs.chmodSync(file, 0o600); // answers may hold anything a prompt held
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    migrate(db, CACHE_MIGRATIONS, file);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

export interface EntryRow {
  id: string;
  scope: string;
  cache_key: string;
  model: string;
  provider: string | null;
  served_model: string | null;
  response: string;
  bytes: number;
  created_at: number;
  expires_at: number;
  used_at: number;
  hits: number;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  partition: string | null;
  vector: Buffer | null;
  facts: string | null;
}

export function toRow(entry: CacheEntry): EntryRow {
  const semantic = entry.semantic;
  return {
    id: entry.id,
    scope: entry.scope,
    cache_key: entry.key,
    model: entry.model,
    provider: entry.provider,
    served_model: entry.servedModel,
    response: entry.response,
    bytes: entry.bytes,
    created_at: entry.createdAt,
    expires_at: entry.expiresAt,
    used_at: entry.usedAt,
    hits: entry.hits,
    input_tokens: entry.inputTokens,
    output_tokens: entry.outputTokens,
    cost_usd: entry.costUsd,
    partition: semantic?.partition ?? null,
    vector: semantic === undefined ? null : Buffer.from(semantic.vector.buffer, semantic.vector.byteOffset, semantic.vector.byteLength),
    facts: semantic === undefined ? null : JSON.stringify(semantic.facts),
  };
}

export function fromRow(row: EntryRow): CacheEntry {
  const entry: CacheEntry = {
    id: row.id,
    scope: row.scope,
    key: row.cache_key,
    model: row.model,
    provider: row.provider,
    servedModel: row.served_model,
    response: row.response,
    bytes: row.bytes,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    hits: row.hits,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    costUsd: row.cost_usd,
  };
  if (row.partition !== null && row.vector !== null && row.facts !== null) {
    // A copy: the Buffer may not be aligned for a Float32Array view.
    const vector = new Float32Array(row.vector.length / 4);
    for (let i = 0; i < vector.length; i++) vector[i] = row.vector.readFloatLE(i * 4);
    entry.semantic = { partition: row.partition, vector, facts: JSON.parse(row.facts) as SemanticFacts };
  }
  return entry;
}

/** Bytes an entry holds in memory and on disk, roughly: answer, vector, facts. */
export function entryBytes(response: string, semantic: CacheEntry['semantic']): number {
  let bytes = Buffer.byteLength(response) + 256;
  if (semantic !== undefined) bytes += semantic.vector.byteLength + Buffer.byteLength(semantic.facts.text) + 256;
  return bytes;
}

export interface LocalStoreOptions {
  /** The data dir; undefined: memory only (nothing survives a restart). */
  dataDir: string | undefined;
  maxEntries: number;
  maxBytes: number;
  /** Write-behind interval. */
  flushIntervalMs?: number;
  now?: () => number;
  onError?(error: unknown): void;
}

const SWEEP_MS = 60_000;

export class LocalCacheStore extends MemoryBackedStore implements CacheStore {
  readonly db: SqliteDatabase;
  private maxEntries: number;
  private maxBytes: number;
  private readonly pendingPuts = new Map<string, CacheEntry>();
  private readonly pendingTouches = new Map<string, CacheEntry>();
  private readonly pendingDeletes = new Set<string>();
  private pendingDeleteAll = false;
  private readonly timer: NodeJS.Timeout;
  private lastSweep = 0;
  private closed = false;
  private readonly now: () => number;
  private readonly statements: {
    upsert: Database.Statement;
    touch: Database.Statement;
    remove: Database.Statement;
    removeAll: Database.Statement;
  };

  constructor(private readonly options: LocalStoreOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.maxEntries = options.maxEntries;
    this.maxBytes = options.maxBytes;
    this.db = openCacheDatabase(options.dataDir);
    this.statements = {
      upsert: this.db.prepare(`INSERT OR REPLACE INTO cache_entries (id, scope, cache_key, model, provider, served_model, response, bytes,
        created_at, expires_at, used_at, hits, input_tokens, output_tokens, cost_usd, partition, vector, facts)
        VALUES (@id, @scope, @cache_key, @model, @provider, @served_model, @response, @bytes, @created_at, @expires_at, @used_at, @hits,
        @input_tokens, @output_tokens, @cost_usd, @partition, @vector, @facts)`),
      touch: this.db.prepare('UPDATE cache_entries SET used_at = ?, hits = ? WHERE id = ?'),
      remove: this.db.prepare('DELETE FROM cache_entries WHERE id = ?'),
      removeAll: this.db.prepare('DELETE FROM cache_entries'),
    };
    this.load();
    this.timer = setInterval(() => this.flushSafely(), options.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** Reads the live entries back, least recently used first, within the bounds. */
  private load(): void {
    const now = this.now();
    this.db.prepare('DELETE FROM cache_entries WHERE expires_at <= ?').run(now);
    const rows = this.db.prepare('SELECT * FROM cache_entries ORDER BY used_at ASC').all() as EntryRow[];
    for (const row of rows) this.memory.insert(fromRow(row));
    this.evict();
    this.flush();
  }

  get(id: string, now: number): CacheEntry | undefined {
    const entry = this.memory.peek(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.memory.expirations++;
      this.drop(entry);
      return undefined;
    }
    return entry;
  }

  put(entry: CacheEntry, _now: number): void {
    this.memory.insert(entry);
    this.pendingDeletes.delete(entry.id);
    this.pendingPuts.set(entry.id, entry);
    this.evict();
  }

  touch(entry: CacheEntry, now: number): void {
    if (this.memory.touch(entry, now) && !this.pendingPuts.has(entry.id)) this.pendingTouches.set(entry.id, entry);
  }

  delete(filter: CacheFilter): number {
    if (filter.id === undefined && filter.scope === undefined && filter.model === undefined) {
      const count = this.memory.size;
      this.memory.clear();
      this.pendingPuts.clear();
      this.pendingTouches.clear();
      this.pendingDeletes.clear();
      this.pendingDeleteAll = true;
      return count;
    }
    let count = 0;
    for (const entry of this.memory.values()) {
      if (!matchesFilter(entry, filter)) continue;
      this.drop(entry);
      count++;
    }
    return count;
  }

  setBounds(maxEntries: number, maxBytes: number): void {
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
    this.evict();
  }

  flush(): void {
    if (this.closed) return;
    this.sweep();
    if (!this.pendingDeleteAll && this.pendingPuts.size === 0 && this.pendingTouches.size === 0 && this.pendingDeletes.size === 0) return;
    const { upsert, touch, remove, removeAll } = this.statements;
    const puts = [...this.pendingPuts.values()];
    const touches = [...this.pendingTouches.values()];
    const deletes = [...this.pendingDeletes];
    const deleteAll = this.pendingDeleteAll;
    this.pendingPuts.clear();
    this.pendingTouches.clear();
    this.pendingDeletes.clear();
    this.pendingDeleteAll = false;
    this.db.transaction(() => {
      if (deleteAll) removeAll.run();
      for (const id of deletes) remove.run(id);
      for (const entry of puts) upsert.run(toRow(entry));
      for (const entry of touches) touch.run(entry.usedAt, entry.hits, entry.id);
    })();
  }

  close(): void {
    if (this.closed) return;
    clearInterval(this.timer);
    try {
      this.flush();
    } finally {
      this.closed = true;
      this.db.close();
    }
  }

  private flushSafely(): void {
    try {
      this.flush();
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  /** Drops expired entries, at most once a minute. */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < SWEEP_MS) return;
    this.lastSweep = now;
    for (const entry of this.memory.values()) {
      if (entry.expiresAt <= now) {
        this.memory.expirations++;
        this.drop(entry);
      }
    }
  }

  private drop(entry: CacheEntry): void {
    this.memory.unlink(entry);
    this.pendingPuts.delete(entry.id);
    this.pendingTouches.delete(entry.id);
    this.pendingDeletes.add(entry.id);
  }

  /** Least recently used first, until both bounds hold. */
  private evict(): void {
    while (this.memory.over(this.maxEntries, this.maxBytes)) {
      this.memory.evictions++;
      this.drop(this.memory.oldest()!);
    }
  }
}
