/**
 * The live entries of a cache store in process: a Map in least-recently-used
 * order (a touch re-inserts), one vector index per semantic partition, and
 * the counts the bounds are checked against. Both stores hold one: the
 * embedded store (local-store.ts) over its SQLite file, the shared one
 * (postgres-store.ts) over a Postgres table, kept in step by notices.
 */
import { VectorIndex } from './vector-index.js';
import { summarise, type CacheEntry, type EntrySummary, type NearMatch, type StoreStats } from './types.js';

export class EntryMemory {
  /** Live entries, least recently used first. */
  private readonly entries = new Map<string, CacheEntry>();
  private readonly indexes = new Map<string, VectorIndex>();
  bytes = 0;
  semanticCount = 0;
  /** Entries let go for the bounds, and found expired, since start. */
  evictions = 0;
  expirations = 0;

  get size(): number {
    return this.entries.size;
  }

  /** The entry with this id, expired or not. */
  peek(id: string): CacheEntry | undefined {
    return this.entries.get(id);
  }

  /** Adds an entry, replacing the one with its id; it becomes the most recently used. */
  insert(entry: CacheEntry): void {
    const previous = this.entries.get(entry.id);
    if (previous !== undefined) this.unlink(previous);
    this.entries.set(entry.id, entry);
    this.bytes += entry.bytes;
    const semantic = entry.semantic;
    if (semantic !== undefined) {
      let index = this.indexes.get(semantic.partition);
      if (index === undefined || index.dimensions !== semantic.vector.length) {
        index = new VectorIndex(semantic.vector.length);
        this.indexes.set(semantic.partition, index);
      }
      index.add(entry.id, semantic.vector);
      this.semanticCount++;
    }
  }

  /** Takes an entry out; false when it was not there (or another entry has its id now). */
  unlink(entry: CacheEntry): boolean {
    if (this.entries.get(entry.id) !== entry) return false;
    this.entries.delete(entry.id);
    this.bytes -= entry.bytes;
    const semantic = entry.semantic;
    if (semantic !== undefined) {
      const index = this.indexes.get(semantic.partition);
      if (index?.remove(entry.id)) this.semanticCount--;
      if (index !== undefined && index.size === 0) this.indexes.delete(semantic.partition);
    }
    return true;
  }

  /** A hit: the entry becomes the most recently used. False when it is no longer held. */
  touch(entry: CacheEntry, now: number): boolean {
    if (this.entries.get(entry.id) !== entry) return false;
    entry.usedAt = now;
    entry.hits++;
    this.entries.delete(entry.id);
    this.entries.set(entry.id, entry);
    return true;
  }

  /** The least recently used entry. */
  oldest(): CacheEntry | undefined {
    return this.entries.values().next().value;
  }

  /** Whether the bounds are exceeded. */
  over(maxEntries: number, maxBytes: number): boolean {
    return this.entries.size > maxEntries || (this.bytes > maxBytes && this.entries.size > 0);
  }

  /** Ids of the nearest entries of a partition, best first (some may have expired: `k` is a few more than needed). */
  search(partition: string, vector: Float32Array, k: number, floor: number): Array<{ id: string; similarity: number }> {
    const index = this.indexes.get(partition);
    if (index === undefined || index.dimensions !== vector.length) return [];
    return index.search(vector, k, floor);
  }

  /** The `k` nearest live entries, via `live` (which drops an expired entry and returns undefined). */
  nearest(partition: string, vector: Float32Array, k: number, floor: number, live: (id: string) => CacheEntry | undefined): NearMatch[] {
    const matches: NearMatch[] = [];
    // A few extra rows: some of the nearest may have expired.
    for (const neighbour of this.search(partition, vector, k + 2, floor)) {
      const entry = live(neighbour.id);
      if (entry !== undefined) matches.push({ entry, similarity: neighbour.similarity });
      if (matches.length === k) break;
    }
    return matches;
  }

  /** Every entry, least recently used first (a copy: safe to change the memory while iterating). */
  values(): CacheEntry[] {
    return [...this.entries.values()];
  }

  clear(): void {
    this.entries.clear();
    this.indexes.clear();
    this.bytes = 0;
    this.semanticCount = 0;
  }

  stats(): StoreStats {
    return { entries: this.entries.size, bytes: this.bytes, semantic_entries: this.semanticCount, evictions: this.evictions, expirations: this.expirations };
  }

  largest(limit: number): EntrySummary[] {
    return [...this.entries.values()].sort((a, b) => b.bytes - a.bytes).slice(0, limit).map(summarise);
  }
}

/** What both stores answer from memory alone: near matches, counts, the largest entries. */
export abstract class MemoryBackedStore {
  protected readonly memory = new EntryMemory();

  /** The live entry with this id (an expired one is let go). */
  abstract get(id: string, now: number): CacheEntry | undefined;

  nearest(partition: string, vector: Float32Array, k: number, floor: number, now: number): NearMatch[] {
    return this.memory.nearest(partition, vector, k, floor, (id) => this.get(id, now));
  }

  stats(): StoreStats {
    return this.memory.stats();
  }

  largest(limit: number): EntrySummary[] {
    return this.memory.largest(limit);
  }
}
