/**
 * The semantic index of one partition (scope + embedding model): unit vectors
 * in one Float32Array arena, searched by an exact scan (dot product = cosine
 * similarity on normalised vectors). Removal swaps the last row into the hole,
 * so the arena stays dense and a scan touches only live rows.
 *
 * Why an exact scan and not an ANN library: bench/cache/semantic-index.bench.mjs
 * measures both (usearch HNSW as the reference) at 10k, 100k and 1M entries;
 * docs/caching.md has the figures. At the sizes one embedded gateway holds per
 * scope (bounded by cache.max_entries, 10k by default), a scan answers in well
 * under a millisecond, is exact (no missed match near the threshold, which is
 * what the guards and shadow mode reason about), costs nothing to insert or
 * delete, and has no native dependency.
 */

/** Scales `vector` to unit length in place; returns false for a zero (or non-finite) vector. */
export function normalise(vector: Float32Array): boolean {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i] * vector[i];
  if (!(sum > 0) || !Number.isFinite(sum)) return false;
  const scale = 1 / Math.sqrt(sum);
  for (let i = 0; i < vector.length; i++) vector[i] *= scale;
  return true;
}

export interface Neighbour {
  id: string;
  similarity: number;
}

export class VectorIndex {
  private arena: Float32Array;
  private ids: string[] = [];
  private readonly rows = new Map<string, number>();

  constructor(
    readonly dimensions: number,
    initialCapacity = 64,
  ) {
    this.arena = new Float32Array(dimensions * initialCapacity);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Bytes held by the arena (memory per entry: arena / size). */
  get arenaBytes(): number {
    return this.arena.byteLength;
  }

  has(id: string): boolean {
    return this.rows.has(id);
  }

  /** Adds (or replaces) a unit vector of `dimensions` numbers. */
  add(id: string, vector: Float32Array): void {
    if (vector.length !== this.dimensions) throw new Error(`vector of ${vector.length} dimensions in an index of ${this.dimensions}`);
    let row = this.rows.get(id);
    if (row === undefined) {
      row = this.ids.length;
      if ((row + 1) * this.dimensions > this.arena.length) this.grow();
      this.ids.push(id);
      this.rows.set(id, row);
    }
    this.arena.set(vector, row * this.dimensions);
  }

  remove(id: string): boolean {
    const row = this.rows.get(id);
    if (row === undefined) return false;
    const last = this.ids.length - 1;
    if (row !== last) {
      const dims = this.dimensions;
      this.arena.copyWithin(row * dims, last * dims, (last + 1) * dims);
      const moved = this.ids[last];
      this.ids[row] = moved;
      this.rows.set(moved, row);
    }
    this.ids.pop();
    this.rows.delete(id);
    return true;
  }

  /** The `k` nearest rows with a similarity of at least `floor`, best first. */
  search(query: Float32Array, k: number, floor = -1): Neighbour[] {
    const dims = this.dimensions;
    if (query.length !== dims || k <= 0) return [];
    const arena = this.arena;
    const count = this.ids.length;
    const bestRows: number[] = [];
    const bestScores: number[] = [];
    let worst = floor;
    for (let row = 0, offset = 0; row < count; row++, offset += dims) {
      let dot = 0;
      let i = 0;
      // Four lanes: fewer loop-carried dependencies on one accumulator.
      let a = 0;
      let b = 0;
      let c = 0;
      for (; i + 3 < dims; i += 4) {
        dot += arena[offset + i] * query[i];
        a += arena[offset + i + 1] * query[i + 1];
        b += arena[offset + i + 2] * query[i + 2];
        c += arena[offset + i + 3] * query[i + 3];
      }
      for (; i < dims; i++) dot += arena[offset + i] * query[i];
      dot += a + b + c;
      if (dot < worst || (dot === worst && bestRows.length >= k)) continue;
      let at = bestScores.length;
      while (at > 0 && bestScores[at - 1] < dot) at--;
      bestScores.splice(at, 0, dot);
      bestRows.splice(at, 0, row);
      if (bestRows.length > k) {
        bestRows.pop();
        bestScores.pop();
      }
      if (bestRows.length === k) worst = bestScores[k - 1];
    }
    return bestRows.map((row, index) => ({ id: this.ids[row], similarity: Math.min(1, bestScores[index]) }));
  }

  private grow(): void {
    const next = new Float32Array(Math.max(this.arena.length * 2, this.dimensions * 64));
    next.set(this.arena);
    this.arena = next;
  }
}
