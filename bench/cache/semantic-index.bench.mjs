/**
 * Semantic lookup cost and memory per entry: the cache's exact scan
 * (src/cache/vector-index.ts) against usearch's HNSW index (a maintained ANN
 * library with a prebuilt binary), at 10k, 100k and 1M entries.
 *
 *   node bench/cache/semantic-index.bench.mjs [--sizes 10000,100000,1000000] [--dims 256,1536] [--queries 200]
 *
 * Vectors are random unit vectors (the worst case for an ANN graph is not the
 * point here: lookup latency and memory are). Recall is the share of queries
 * whose best HNSW match is the exact best. Timings on a shared machine are
 * noisy: the two methods run alternated, query by query, in the same process.
 */
import { build } from 'esbuild';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function arg(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
}

const sizes = arg('sizes', '10000,100000,1000000').split(',').map(Number);
const dimsList = arg('dims', '256,1536').split(',').map(Number);
const queries = Number(arg('queries', '200'));
const maxFloats = Number(arg('max-floats', String(400e6))); // 1.6 GB of float32 per run at most
/** HNSW builds take about a millisecond per insert: larger sizes are measured for the scan only. */
const hnswMax = Number(arg('hnsw-max', '100000'));

const bundled = await build({ entryPoints: [new URL('../../src/cache/vector-index.ts', import.meta.url).pathname], bundle: true, write: false, format: 'esm', platform: 'node' });
const { VectorIndex, normalise } = await import(`data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString('base64')}`);

let usearch;
try {
  usearch = require('usearch');
} catch {
  console.error('usearch is not installed: the HNSW column is skipped');
}

/** xorshift32: the same vectors every run. */
function rng(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 4294967296) * 2 - 1;
  };
}

function randomUnit(random, dims) {
  const vector = new Float32Array(dims);
  for (let i = 0; i < dims; i++) vector[i] = random();
  normalise(vector);
  return vector;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function ms(value) {
  return value < 1 ? `${(value * 1000).toFixed(0)} µs` : `${value.toFixed(2)} ms`;
}

const rows = [];
for (const dims of dimsList) {
  for (const size of sizes) {
    if (size * dims > maxFloats) {
      console.error(`skip ${size} × ${dims}: over --max-floats`);
      continue;
    }
    const random = rng(size ^ dims);
    global.gc?.();
    const heapBefore = process.memoryUsage().arrayBuffers;
    const scan = new VectorIndex(dims, size);
    const loadStart = performance.now();
    const vectors = [];
    for (let i = 0; i < size; i++) {
      const vector = randomUnit(random, dims);
      scan.add(`e${i}`, vector);
      if (usearch !== undefined && size <= hnswMax) vectors.push(vector);
    }
    const scanLoadMs = performance.now() - loadStart;
    const scanBytes = scan.arenaBytes;
    let hnsw;
    let hnswBuildMs;
    let hnswBytes;
    if (usearch !== undefined && size <= hnswMax) {
      hnsw = new usearch.Index({ metric: 'ip', dimensions: dims, connectivity: 16, quantization: 'f32' });
      hnsw.reserve?.(size);
      const started = performance.now();
      const keys = new BigUint64Array(size);
      const flat = new Float32Array(size * dims);
      for (let i = 0; i < size; i++) {
        keys[i] = BigInt(i);
        flat.set(vectors[i], i * dims);
      }
      vectors.length = 0;
      hnsw.add(keys, flat);
      hnswBuildMs = performance.now() - started;
      hnswBytes = hnsw.memoryUsage?.() ?? undefined;
    }
    const queryRandom = rng(7 + size);
    // Warm the JIT before timing the scan.
    for (let q = 0; q < 20; q++) scan.search(randomUnit(queryRandom, dims), 1);
    const scanTimes = [];
    const hnswTimes = [];
    let agree = 0;
    for (let q = 0; q < queries; q++) {
      const query = randomUnit(queryRandom, dims);
      let t = performance.now();
      const exact = scan.search(query, 1);
      scanTimes.push(performance.now() - t);
      if (hnsw !== undefined) {
        t = performance.now();
        const found = hnsw.search(query, 1);
        hnswTimes.push(performance.now() - t);
        if (found.keys.length > 0 && `e${found.keys[0]}` === exact[0]?.id) agree++;
      }
    }
    scanTimes.sort((a, b) => a - b);
    hnswTimes.sort((a, b) => a - b);
    const row = {
      entries: size,
      dims,
      scan_p50: ms(percentile(scanTimes, 0.5)),
      scan_p99: ms(percentile(scanTimes, 0.99)),
      scan_bytes_per_entry: Math.round(scanBytes / size),
      scan_insert_all: ms(scanLoadMs),
      hnsw_p50: hnsw ? ms(percentile(hnswTimes, 0.5)) : '-',
      hnsw_p99: hnsw ? ms(percentile(hnswTimes, 0.99)) : '-',
      hnsw_recall_at_1: hnsw ? (agree / queries).toFixed(3) : '-',
      hnsw_bytes_per_entry: hnswBytes ? Math.round(hnswBytes / size) : '-',
      hnsw_build: hnsw ? ms(hnswBuildMs) : '-',
    };
    rows.push(row);
    console.error(JSON.stringify(row), `(array buffers before: ${heapBefore})`);
    hnsw = undefined;
  }
}

const columns = Object.keys(rows[0] ?? {});
console.log(`| ${columns.join(' | ')} |`);
console.log(`| ${columns.map(() => '---').join(' | ')} |`);
for (const row of rows) console.log(`| ${columns.map((c) => row[c]).join(' | ')} |`);
