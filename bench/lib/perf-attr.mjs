// Reads `perf script` output (samples with call stacks, JIT frames named by node --perf-basic-prof) and
// charges each sample to the innermost JavaScript frame's owner: a system call, a builtin or the GC work
// a function caused counts for that function. Bundled frames are mapped through the bundle's source map,
// so Heimdall's own code is split by source directory and bundled packages (undici) are told apart.
//   used by bench/profile.mjs; by hand: perf script -i perf.data --tid <main thread> | node bench/lib/perf-attr.mjs [--top 30]
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** @type {Map<string, SourceMap | null>} */
const maps = new Map();

/** The source map of a bundled file (`<file>.map`), or null. */
function sourceMapOf(/** @type {string} */ file) {
  let map = maps.get(file);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = null;
    }
    maps.set(file, map);
  }
  return map;
}

/**
 * Who owns a JS frame such as `JS:*runAttempt file:///x/dist/cli.js:777:41469`: `heimdall <dir>` for
 * src/<dir>, the package for node_modules (bundled or not), `node:<module>` for Node's own JavaScript.
 * Null for a frame that is not JavaScript (native, kernel, builtins).
 * @param {string} frame
 * @param {(file: string) => SourceMap | null} [mapOf]
 * @returns {string | null}
 */
export function ownerOf(frame, mapOf = sourceMapOf) {
  const at = frame.indexOf('JS:');
  if (at === -1) return null;
  const name = frame.slice(at);
  const node = /\snode:(?:internal\/)?([a-z_]+)/.exec(name);
  if (node) return `node:${node[1]}`;
  if (/wasm/.test(name)) return 'wasm (undici llhttp)';
  // ES modules are named by URL, CommonJS ones (undici outside a bundle) by path
  const loc = /\s(file:\/\/\S+?|\/\S+?):(\d+):(\d+)/.exec(name);
  if (!loc) return 'js (other)';
  let source = loc[1].startsWith('file:') ? fileURLToPath(loc[1]) : loc[1];
  const map = mapOf(source);
  if (map) {
    const entry = map.findEntry(Number(loc[2]) - 1, Number(loc[3]) - 1);
    if (entry && 'originalSource' in entry && entry.originalSource) source = entry.originalSource;
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (pkg) return pkg[1];
  const own = /(?:^|\/)src\/([^/]+)\//.exec(source);
  if (own) return `heimdall ${own[1]}`;
  if (/(?:^|\/)src\/[^/]+$/.test(source)) return 'heimdall';
  return source.split('/').slice(-2).join('/');
}

/** The readable name of a frame: the symbol without its address and binary. */
export function frameName(/** @type {string} */ frame) {
  return frame.trim().replace(/^[0-9a-f]+ /, '').replace(/\+0x[0-9a-f]+ \(.*\)$/, '').replace(/ \(.*\)$/, '').replace(/(?:file:\/\/)?\/\S*\/((?:dist|node_modules|bench)\/)/, '$1');
}

/**
 * Charges samples (each a stack, innermost frame first) to owners and to the innermost JS function.
 * A sample with no JS frame is `GC` when it is in the collector, `event loop / I/O (no JS)` otherwise.
 * @param {Iterable<string[]>} samples
 * @param {(frame: string) => string | null} [owner]
 */
export function attribute(samples, owner = ownerOf) {
  let total = 0;
  /** @type {Map<string, number>} */
  const byOwner = new Map();
  /** @type {Map<string, number>} */
  const byFunction = new Map();
  for (const frames of samples) {
    if (frames.length === 0) continue;
    total++;
    let who = null;
    let name = frameName(frames[0]);
    for (const frame of frames) {
      who = owner(frame);
      if (who !== null) {
        name = frameName(frame);
        break;
      }
    }
    if (who === null) who = frames.some((f) => /Scaveng|MarkCompact|Sweeper|Heap::|GCTracer|Minor/.test(f)) ? 'GC (no JS frame)' : 'event loop / I/O (no JS frame)';
    byOwner.set(who, (byOwner.get(who) ?? 0) + 1);
    const key = `${who} | ${name}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + 1);
  }
  return { total, byOwner, byFunction };
}

/** Splits `perf script` text into stacks (innermost frame first). */
export function* stacksOf(/** @type {Iterable<string>} */ lines) {
  /** @type {string[]} */
  let frames = [];
  for (const line of lines) {
    if (line.startsWith('\t') || line.startsWith(' ')) {
      if (line.trim()) frames.push(line.trim());
    } else if (frames.length > 0) {
      yield frames;
      frames = [];
    }
  }
  if (frames.length > 0) yield frames;
}

function table(/** @type {Map<string, number>} */ counts, /** @type {number} */ total, /** @type {number} */ top) {
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, n]) => `| ${(100 * n / total).toFixed(1)} | ${k.replaceAll('|', '·')} |`).join('\n');
}

/** The attribution as two Markdown tables: by owner, and the `top` functions. */
export function tables(/** @type {ReturnType<typeof attribute>} */ { total, byOwner, byFunction }, top = 30) {
  return `| % of samples | owner of the innermost JS frame |\n| --- | --- |\n${table(byOwner, total, 25)}\n\n` +
    `| % of samples | innermost JS function |\n| --- | --- |\n${table(byFunction, total, top)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const topAt = process.argv.indexOf('--top');
  const lines = [];
  for await (const line of createInterface({ input: process.stdin })) lines.push(line);
  const samples = attribute(stacksOf(lines));
  console.log(`${samples.total} samples of the thread\n\n${tables(samples, topAt === -1 ? 30 : Number(process.argv[topAt + 1]))}`);
}
