#!/usr/bin/env node
// Per-request cost of cluster mode's shared counters: the gateway (production profile: a virtual key with a
// budget, a request limit and a token limit checked on every request) with the embedded ledger, then with
// the ledger in Redis, alternated in one run so that both see the same machine load. See bench/README.md.
//
//   node bench/cluster-overhead.mjs --redis redis://127.0.0.1:6379 [--rate 1000] [--duration 8] [--pairs 3]
//
// Each step is one `bench/run.mjs` (its own mock and gateway process); the Redis keys are written under a
// prefix of this run's own and deleted at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterBenchOptions, dropKeys, fmt, median, runPrefix } from './lib/cluster.mjs';

const values = clusterBenchOptions('cluster-overhead.mjs', { duration: '8' });
const prefix = runPrefix();
const out = mkdtempSync(join(tmpdir(), 'heimdall-cluster-bench-'));
const runner = new URL('./run.mjs', import.meta.url).pathname;

function step(mode) {
  const dir = join(out, `${mode}-${Date.now()}`);
  const args = [runner, '--rates', values.rate, '--duration', values.duration, '--warmup', values.warmup, '--targets', 'gateway', '--retries', '0', '--out', dir];
  if (mode === 'redis') args.push('--gateway-env', `HEIMDALL_REDIS_URL=${values.redis}`, '--gateway-env', `HEIMDALL_REDIS_KEY_PREFIX=${prefix}`);
  process.stderr.write(`${mode}: node ${args.slice(1).join(' ')}\n`);
  const run = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (run.status !== 0) throw new Error(`bench/run.mjs exited ${run.status}`);
  const file = readdirSync(dir).find((name) => name.endsWith('.json'));
  const result = JSON.parse(readFileSync(join(dir, file), 'utf8')).steps[0];
  return {
    mode,
    success: result.result.successRate,
    p50Ms: result.result.latency.p50 / 1000,
    p99Ms: result.result.latency.p99 / 1000,
    selfP50Us: result.selfOverhead?.p50,
    selfP99Us: result.selfOverhead?.p99,
    cpu: result.process?.cpuPercent,
    otherCpu: result.otherCpuPercent,
  };
}

const rows = [];
try {
  for (let pair = 0; pair < Number(values.pairs); pair++) {
    // Alternate which goes first, so neither always runs on the warmer machine.
    const order = pair % 2 === 0 ? ['embedded', 'redis'] : ['redis', 'embedded'];
    for (const mode of order) rows.push(step(mode));
  }
} finally {
  await dropKeys(values.redis, prefix);
  rmSync(out, { recursive: true, force: true });
}

const lines = [
  `${values.rate} req/s, ${values.duration} s per step after ${values.warmup} s warm-up, ${values.pairs} alternated pairs`,
  '',
  '| # | ledger | success % | p50 ms | p99 ms | self-reported overhead p50 µs | p99 µs | gateway CPU % | other CPU % |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((row, i) => `| ${i + 1} | ${row.mode} | ${fmt(row.success * 100, 2)} | ${fmt(row.p50Ms, 2)} | ${fmt(row.p99Ms, 2)} | ${fmt(row.selfP50Us)} | ${fmt(row.selfP99Us)} | ${fmt(row.cpu)} | ${fmt(row.otherCpu)} |`),
  '',
];
for (const metric of ['selfP50Us', 'p50Ms']) {
  const embedded = median(rows.filter((row) => row.mode === 'embedded').map((row) => row[metric]));
  const shared = median(rows.filter((row) => row.mode === 'redis').map((row) => row[metric]));
  const unit = metric === 'p50Ms' ? 1000 : 1;
  lines.push(`Median of ${metric === 'p50Ms' ? 'client p50' : 'self-reported overhead p50'}: embedded ${fmt(embedded * unit)} µs, Redis ${fmt(shared * unit)} µs, difference ${fmt((shared - embedded) * unit)} µs.`);
}
process.stdout.write(`${lines.join('\n')}\n`);
