/**
 * Memory per cache entry: bytes per entry in the SQLite file (cache.db) and in
 * the process (heap and array buffers of the embedded store: the entry, its
 * answer string, its vector in the index), for a typical chat answer, exact
 * only and with a 1536-dimension embedding (OpenAI text-embedding-3-small's
 * size), and what each entry counts against `max_bytes`.
 *
 *   node --expose-gc bench/cache/entry-memory.bench.mjs [--entries 5000]
 *
 * Bounded: `--entries` (default 5,000, at most 50,000) entries per case, in a
 * temporary data dir removed at the end.
 */
import { build } from 'esbuild';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function arg(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
}

const entries = Math.min(50_000, Number(arg('entries', '5000')));
if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc: in-process figures need a collection before each reading');
  process.exit(1);
}

const bundled = await build({
  entryPoints: [new URL('../../src/cache/local-store.ts', import.meta.url).pathname],
  bundle: true, write: false, format: 'esm', platform: 'node', external: ['better-sqlite3'],
});
// Beside this file, so that better-sqlite3 resolves from the project's node_modules.
const moduleFile = new URL(`./.entry-memory-${process.pid}.mjs`, import.meta.url).pathname;
fs.writeFileSync(moduleFile, bundled.outputFiles[0].text);
const { LocalCacheStore, entryBytes } = await import(moduleFile);
fs.rmSync(moduleFile);

/** A typical chat answer: about 120 words of text, usage, the usual ids (what a short explanation is). */
function answer(i) {
  const words = Array.from({ length: 120 }, (_, k) => ['the', 'cache', 'answers', 'a', 'question', 'from', 'memory', 'when', 'it', 'was', 'asked', 'before'][(i + k) % 12]);
  return JSON.stringify({
    id: `chatcmpl-${i.toString(36).padStart(24, '0')}`,
    object: 'chat.completion',
    created: 1_800_000_000 + i,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content: words.join(' '), refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 24, completion_tokens: 160, total_tokens: 184 },
    system_fingerprint: 'fp_0123456789',
  });
}

function unitVector(dims, seed) {
  const vector = new Float32Array(dims);
  let x = seed * 2654435761 % 4294967296;
  let sum = 0;
  for (let i = 0; i < dims; i++) {
    x = (x * 1664525 + 1013904223) % 4294967296;
    vector[i] = x / 4294967296 - 0.5;
    sum += vector[i] * vector[i];
  }
  const scale = 1 / Math.sqrt(sum);
  for (let i = 0; i < dims; i++) vector[i] *= scale;
  return vector;
}

function entry(i, dims) {
  const response = answer(i);
  const question = `What does the cache do with question number ${i}, and why does it matter?`;
  const semantic = dims === 0 ? undefined : {
    partition: `vk:vk_0123456789abcdef\u0000openai/text-embedding-3-small\u0000${dims}`,
    vector: unitVector(dims, i + 1),
    facts: { model: 'openai/gpt-4o-mini', shapeDigest: 'a'.repeat(32), paramsDigest: 'b'.repeat(32), systemDigest: 'c'.repeat(32), historyDigest: 'd'.repeat(32), negated: false, text: question },
  };
  const now = 1_800_000_000_000;
  return {
    id: `e${i.toString(36).padStart(31, '0')}`, scope: 'vk:vk_0123456789abcdef', key: `k${i.toString(36).padStart(31, '0')}`,
    model: 'openai/gpt-4o-mini', provider: 'openai', servedModel: 'gpt-4o-mini', response, bytes: entryBytes(response, semantic),
    createdAt: now, expiresAt: now + 3_600_000, usedAt: now, hits: 0, inputTokens: 24, outputTokens: 160, costUsd: 0.0001, semantic,
  };
}

function inProcess() {
  globalThis.gc();
  globalThis.gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const rows = [];
for (const [label, dims] of [['chat answer, exact only', 0], ['chat answer + 1536-dim vector', 1536]]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdall-entry-memory-'));
  try {
    const store = new LocalCacheStore({ dataDir: dir, maxEntries: entries * 2, maxBytes: 1e12, flushIntervalMs: 3_600_000 });
    const empty = inProcess();
    let counted = 0;
    for (let i = 0; i < entries; i++) {
      const made = entry(i, dims);
      counted += made.bytes;
      store.put(made, made.createdAt);
    }
    store.flush();
    const full = inProcess();
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    store.close();
    const file = fs.statSync(path.join(dir, 'cache.db')).size;
    rows.push({
      label, entries,
      answerBytes: Buffer.byteLength(answer(0)),
      file: file / entries,
      process: (full - empty) / entries,
      counted: counted / entries,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`| entry | answer JSON | cache.db file | in process | counted against max_bytes |`);
console.log(`| --- | --- | --- | --- | --- |`);
for (const row of rows) {
  const f = (n) => `${Math.round(n).toLocaleString('en-US')} B`;
  console.log(`| ${row.label} (${row.entries.toLocaleString('en-US')} entries) | ${f(row.answerBytes)} | ${f(row.file)} | ${f(row.process)} | ${f(row.counted)} |`);
}
