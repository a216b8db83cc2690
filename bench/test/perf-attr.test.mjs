// node --test bench/test/ — checks for the profile attribution (lib/perf-attr.mjs) on a made-up `perf script` text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attribute, frameName, ownerOf, stacksOf } from '../lib/perf-attr.mjs';

const PERF_SCRIPT = `node 100 1.000: 1 cpu-clock:
\t    ffffffff writev_kernel+0x10 ([kernel.kallsyms])
\t    7f00 JS:*clearBuffer node:internal/streams/writable:744:21+0x7c6 (/tmp/perf-100.map)
\t    7f01 JS:*runAttempt file:///repo/dist/cli.js:777:41469+0x10 (/tmp/perf-100.map)

node 100 1.001: 1 cpu-clock:
\t    1514 Builtins_KeyedLoadIC_Megamorphic+0x6b (/usr/bin/node)
\t    7f02 JS:*parseHeaders file:///repo/dist/cli.js:39:30531+0x5e4 (/tmp/perf-100.map)
\t    7f01 JS:*runAttempt file:///repo/dist/cli.js:777:41469+0x10 (/tmp/perf-100.map)

node 100 1.002: 1 cpu-clock:
\t    1300 v8::internal::Scavenger::ScavengeObject+0x1 (/usr/bin/node)
\t    1301 start_thread+0x1 (/usr/lib/libc.so.6)

node 100 1.003: 1 cpu-clock:
\t    ffffffff epoll_wait+0x1 ([kernel.kallsyms])
\t    1302 uv__io_poll+0x1 (/usr/bin/node)
`;

/** A stand-in for the bundle's source map: line 777 is Heimdall's gateway/, line 39 is bundled undici. */
const mapOf = () => ({
  findEntry: (/** @type {number} */ line) => ({
    originalSource: line === 776 ? 'file:///repo/src/gateway/attempt.ts' : 'file:///repo/node_modules/undici/lib/core/util.js',
  }),
});

test('a frame belongs to node, a source directory of Heimdall, or a package', () => {
  const owner = (/** @type {string} */ f) => ownerOf(f, /** @type {any} */ (mapOf));
  assert.equal(owner('7f00 JS:*clearBuffer node:internal/streams/writable:744:21+0x7c6 (/tmp/perf-100.map)'), 'node:streams');
  assert.equal(owner('7f00 JS:*end node:_http_outgoing:1034:45+0x1 (/tmp/perf-100.map)'), 'node:_http_outgoing');
  assert.equal(owner('7f01 JS:*runAttempt file:///repo/dist/cli.js:777:41469+0x10 (/tmp/perf-100.map)'), 'heimdall gateway');
  assert.equal(owner('7f02 JS:*parseHeaders file:///repo/dist/cli.js:39:30531+0x5e4 (/tmp/perf-100.map)'), 'undici');
  assert.equal(owner('1514 Builtins_KeyedLoadIC_Megamorphic+0x6b (/usr/bin/node)'), null);
  // without a source map the bundle file itself is named
  assert.equal(ownerOf('7f01 JS:*f file:///nowhere/dist/cli.js:1:1+0x1 (/tmp/perf-1.map)'), 'dist/cli.js');
});

test('each sample is charged to its innermost JS frame; samples without one to GC or the event loop', () => {
  const { total, byOwner, byFunction } = attribute(stacksOf(PERF_SCRIPT.split('\n')), (f) => ownerOf(f, /** @type {any} */ (mapOf)));
  assert.equal(total, 4);
  assert.deepEqual(Object.fromEntries(byOwner), {
    'node:streams': 1,
    undici: 1,
    'GC (no JS frame)': 1,
    'event loop / I/O (no JS frame)': 1,
  });
  assert.equal(byFunction.get('node:streams | JS:*clearBuffer node:internal/streams/writable:744:21'), 1);
  assert.equal(frameName('\t    1514 Builtins_LoadIC+0x6b (/usr/bin/node)'), 'Builtins_LoadIC');
});

test('CommonJS frames are named by path and belong to their package', () => {
  assert.equal(ownerOf('7f JS:*onHeaders /repo/node_modules/undici/lib/dispatcher/client-h1.js:100:3+0x1 (/tmp/perf-1.map)', () => null), 'undici');
  assert.equal(frameName('7f JS:*onHeaders /repo/node_modules/undici/lib/a.js:100:3+0x1 (/tmp/perf-1.map)'), 'JS:*onHeaders node_modules/undici/lib/a.js:100:3');
});
