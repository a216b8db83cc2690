/**
 * An exact cache hit through the gateway against the bare proxy's round trip to the mock upstream,
 * in the same run: one request at a time (closed loop, keep-alive), the two targets alternated
 * request by request, so machine noise falls on both.
 *
 *   npm run build && node bench/cache/hit-latency.bench.mjs [--requests 2000] [--latency-ms 0,20]
 *
 * The gateway runs `dist/cli.js` with the cache on (bench/cache/cache.json); the first request
 * fills the entry, every later one is a hit (checked: x-heimdall-cache). Prints a markdown table.
 */
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startGateway, startMock, startProxy, BENCH_DIR } from '../lib/targets.mjs';
import { stopAll } from '../lib/proc.mjs';

function arg(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
}

const requests = Number(arg('requests', '2000'));
const latencies = arg('latency-ms', '0,20').split(',').map(Number);
const dispatcher = new Agent({ connections: 1, keepAliveTimeout: 30_000 });
const body = JSON.stringify({ model: 'MODEL', messages: [{ role: 'user', content: 'How long is a cache hit?' }] });

async function once(target) {
  const started = performance.now();
  const response = await request(target.url, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json', ...target.headers }, body: body.replace('MODEL', target.model) });
  await response.body.text();
  const ms = performance.now() - started;
  return { ms, cache: response.headers['x-heimdall-cache'], status: response.statusCode };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

const rows = [];
try {
  for (const latencyMs of latencies) {
    const mock = await startMock({ latencyMs, chunks: 10, chunkDelayMs: 0 });
    const proxy = await startProxy(mock, {});
    const gateway = await startGateway(mock, { headers: {}, extraArgs: ['--config', join(BENCH_DIR, 'cache', 'cache.json')] });
    if (gateway === null) throw new Error('dist/cli.js is missing: run npm run build first');
    const first = await once(gateway);
    if (first.cache !== 'miss' && first.cache !== 'hit') throw new Error(`the gateway's cache is not on (x-heimdall-cache: ${first.cache})`);
    for (let i = 0; i < 200; i++) {
      await once(proxy);
      await once(gateway);
    }
    const times = { proxy: [], hit: [] };
    for (let i = 0; i < requests; i++) {
      const order = i % 2 === 0 ? [proxy, gateway] : [gateway, proxy];
      for (const target of order) {
        const result = await once(target);
        if (result.status !== 200) throw new Error(`${target.name}: ${result.status}`);
        if (target === gateway && result.cache !== 'hit') throw new Error(`expected a hit, got ${result.cache}`);
        (target === gateway ? times.hit : times.proxy).push(result.ms);
      }
    }
    for (const [name, values] of Object.entries(times)) {
      values.sort((a, b) => a - b);
      rows.push({ mock_latency_ms: latencyMs, target: name === 'hit' ? 'gateway, cache hit' : 'bare proxy to the mock', p50_ms: percentile(values, 0.5).toFixed(3), p90_ms: percentile(values, 0.9).toFixed(3), p99_ms: percentile(values, 0.99).toFixed(3) });
    }
    await stopAll();
  }
} finally {
  await stopAll();
  await dispatcher.close();
}

console.log('| mock latency | target | p50 ms | p90 ms | p99 ms |');
console.log('| --- | --- | --- | --- | --- |');
for (const row of rows) console.log(`| ${row.mock_latency_ms} ms | ${row.target} | ${row.p50_ms} | ${row.p90_ms} | ${row.p99_ms} |`);
