/**
 * The contract every cache store meets (src/cache/types.ts CacheStore), as one suite run against
 * each implementation: live entries read back, expired ones not, LRU eviction by entries and by
 * bytes, a touch moving an entry to the front, deletion by filter, nearest entries within one
 * partition only, best first, at or above the floor.
 */
import { describe, expect, it } from 'vitest';
import type { CacheEntry, CacheStore } from '../../src/cache/types.js';
import { normalise } from '../../src/cache/vector-index.js';

export interface StoreFactory {
  (bounds: { maxEntries: number; maxBytes: number }): CacheStore | Promise<CacheStore>;
}

const NOW = 1_800_000_000_000;

export function entry(id: string, extra: Partial<CacheEntry> = {}): CacheEntry {
  return {
    id,
    scope: 'vk:a',
    key: `key-${id}`,
    model: 'openai/gpt-4o-mini',
    provider: 'openai',
    servedModel: 'gpt-4o-mini',
    response: JSON.stringify({ id: `chatcmpl-${id}`, object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [] }),
    bytes: 100,
    createdAt: NOW,
    expiresAt: NOW + 60_000,
    usedAt: NOW,
    hits: 0,
    inputTokens: 1,
    outputTokens: 2,
    costUsd: 0.5,
    ...extra,
  };
}

export function unit(values: number[]): Float32Array {
  const vector = Float32Array.from(values);
  normalise(vector);
  return vector;
}

export function semantic(id: string, partition: string, vector: number[], extra: Partial<CacheEntry> = {}): CacheEntry {
  return entry(id, {
    semantic: {
      partition,
      vector: unit(vector),
      facts: { model: 'openai/gpt-4o-mini', shapeDigest: 's', paramsDigest: 'p', systemDigest: 'y', historyDigest: 'h', negated: false, text: `question ${id}` },
    },
    ...extra,
  });
}

export function storeContract(name: string, make: StoreFactory): void {
  describe(`cache store contract: ${name}`, () => {
    const open = async (maxEntries = 100, maxBytes = 1_000_000): Promise<CacheStore> => make({ maxEntries, maxBytes });

    it('reads back a live entry, and not an expired one', async () => {
      const store = await open();
      await store.put(entry('a'), NOW);
      await store.put(entry('old', { expiresAt: NOW + 10 }), NOW);
      expect((await store.get('a', NOW + 1))?.key).toBe('key-a');
      expect(await store.get('old', NOW + 10)).toBeUndefined();
      expect(await store.get('missing', NOW)).toBeUndefined();
      expect(store.stats().entries).toBe(1);
      expect(store.stats().expirations).toBe(1);
      store.close();
    });

    it('evicts the least recently used past max_entries; a touch makes an entry recent', async () => {
      const store = await open(2);
      await store.put(entry('a'), NOW);
      await store.put(entry('b'), NOW);
      store.touch((await store.get('a', NOW))!, NOW + 1);
      await store.put(entry('c'), NOW + 2);
      expect(await store.get('b', NOW + 3)).toBeUndefined();
      expect((await store.get('a', NOW + 3))?.hits).toBe(1);
      expect(await store.get('c', NOW + 3)).toBeDefined();
      expect(store.stats()).toMatchObject({ entries: 2, evictions: 1 });
      store.close();
    });

    it('keeps the bytes held within max_bytes', async () => {
      const store = await open(100, 250);
      for (const id of ['a', 'b', 'c']) await store.put(entry(id), NOW);
      expect(store.stats()).toMatchObject({ entries: 2, bytes: 200 });
      expect(await store.get('a', NOW)).toBeUndefined();
      store.setBounds(100, 150);
      expect(store.stats()).toMatchObject({ entries: 1, bytes: 100 });
      store.close();
    });

    it('deletes by scope, model, id, or everything', async () => {
      const store = await open();
      await store.put(entry('a'), NOW);
      await store.put(entry('b', { scope: 'vk:b' }), NOW);
      await store.put(entry('c', { model: 'anthropic/claude-sonnet-4-5' }), NOW);
      await store.put(entry('d'), NOW);
      expect(await store.delete({ scope: 'vk:b' })).toBe(1);
      expect(await store.delete({ model: 'anthropic/claude-sonnet-4-5' })).toBe(1);
      expect(await store.delete({ id: 'a' })).toBe(1);
      expect(await store.get('d', NOW)).toBeDefined();
      expect(await store.delete({})).toBe(1);
      expect(store.stats().entries).toBe(0);
      store.close();
    });

    it('finds the nearest entries of one partition, best first, at or above the floor', async () => {
      const store = await open();
      await store.put(semantic('x', 'p1', [1, 0, 0]), NOW);
      await store.put(semantic('near', 'p1', [0.9, 0.1, 0]), NOW);
      await store.put(semantic('far', 'p1', [0, 1, 0]), NOW);
      await store.put(semantic('other', 'p2', [1, 0, 0]), NOW);
      const found = await store.nearest('p1', unit([1, 0, 0]), 3, 0.5, NOW);
      expect(found.map((match) => match.entry.id)).toEqual(['x', 'near']);
      expect(found[0].similarity).toBeCloseTo(1, 5);
      expect(found[1].similarity).toBeGreaterThan(0.9);
      expect(await store.nearest('p3', unit([1, 0, 0]), 3, 0, NOW)).toEqual([]);
      await store.delete({ id: 'x' });
      expect((await store.nearest('p1', unit([1, 0, 0]), 1, 0.5, NOW)).map((match) => match.entry.id)).toEqual(['near']);
      expect(store.stats().semantic_entries).toBe(3);
      store.close();
    });
  });
}
