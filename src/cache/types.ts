/**
 * The cache's stored shapes and the store contract. The embedded store
 * (local-store.ts: memory + its own SQLite file) is the default; a shared
 * store (Postgres rows, Redis for hit counts and invalidation notices, each
 * node's index rebuilt from the rows) implements the same interface, and the
 * contract suite in test/cache/store-contract.ts runs against each.
 */
import type { SemanticFacts } from './guards.js';

export interface CacheEntry {
  /** digest(scope, exact key): one entry per question per scope. */
  id: string;
  /** Who may read it: "vk:<id>", "team:<id>", "customer:<id>", "global", or "anonymous" (no virtual key). */
  scope: string;
  /** The exact key (request-key.ts). */
  key: string;
  /** The model or group as the caller named it. */
  model: string;
  /** Who answered it first. */
  provider: string | null;
  servedModel: string | null;
  /** The canonical answer (an OpenAI chat completion), as JSON. */
  response: string;
  /** Bytes it holds: answer, vector, facts. */
  bytes: number;
  createdAt: number;
  expiresAt: number;
  usedAt: number;
  hits: number;
  inputTokens: number | null;
  outputTokens: number | null;
  /** What the answer cost when it was made (what a hit saves); null when unknown. */
  costUsd: number | null;
  semantic?: {
    /** Scope + embedding model + dimensions: vectors of one partition are comparable. */
    partition: string;
    vector: Float32Array;
    facts: SemanticFacts;
  };
}

export interface EntrySummary {
  id: string;
  scope: string;
  model: string;
  provider: string | null;
  bytes: number;
  hits: number;
  created_at: number;
  expires_at: number;
  used_at: number;
  cost_usd: number | null;
  semantic: boolean;
  /** The question (embedded text), when the entry is semantic. */
  question: string | null;
}

export interface CacheFilter {
  /** Entries of this scope ("vk:<id>", "global", ...). */
  scope?: string;
  /** Entries asked with this model or group. */
  model?: string;
  /** This one entry. */
  id?: string;
}

export interface NearMatch {
  entry: CacheEntry;
  similarity: number;
}

export interface StoreStats {
  entries: number;
  bytes: number;
  semantic_entries: number;
  evictions: number;
  expirations: number;
}

export interface CacheStore {
  /** The live entry with this id (an expired one is dropped and not returned). */
  get(id: string, now: number): CacheEntry | undefined | Promise<CacheEntry | undefined>;
  /** Stores (or replaces) an entry; evicts the least recently used past the bounds. */
  put(entry: CacheEntry, now: number): void | Promise<void>;
  /** A hit: moves the entry to the front of the LRU order. */
  touch(entry: CacheEntry, now: number): void;
  /** The `k` nearest live entries of a partition with a similarity of at least `floor`, best first. */
  nearest(partition: string, vector: Float32Array, k: number, floor: number, now: number): NearMatch[] | Promise<NearMatch[]>;
  /** Deletes what matches (everything for an empty filter); returns how many. */
  delete(filter: CacheFilter): number | Promise<number>;
  stats(): StoreStats;
  /** The largest entries, largest first. */
  largest(limit: number): EntrySummary[];
  /** New bounds (a configuration change); evicts at once when they shrink. */
  setBounds(maxEntries: number, maxBytes: number): void;
  /** Writes what is pending. */
  flush(): void | Promise<void>;
  /** Writes what is pending and lets go of the store's resources (not of a pool it was given). */
  close(): void | Promise<void>;
}

/** Whether an entry matches a deletion filter (an empty filter matches every entry). */
export function matchesFilter(entry: CacheEntry, filter: CacheFilter): boolean {
  return (filter.id === undefined || entry.id === filter.id) && (filter.scope === undefined || entry.scope === filter.scope) && (filter.model === undefined || entry.model === filter.model);
}

export function summarise(entry: CacheEntry): EntrySummary {
  return {
    id: entry.id,
    scope: entry.scope,
    model: entry.model,
    provider: entry.provider,
    bytes: entry.bytes,
    hits: entry.hits,
    created_at: entry.createdAt,
    expires_at: entry.expiresAt,
    used_at: entry.usedAt,
    cost_usd: entry.costUsd,
    semantic: entry.semantic !== undefined,
    question: entry.semantic?.facts.text ?? null,
  };
}
