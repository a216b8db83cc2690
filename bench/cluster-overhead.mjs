#!/usr/bin/env node
// Per-request cost of cluster mode's shared counters: the gateway (production profile: a virtual key with a
// budget, a request limit and a token limit checked on every request) with the embedded ledger, then with
// the ledger in Redis, alternated in one run so that both see the same machine load. See bench/README.md.
//
//   node bench/cluster-overhead.mjs --redis redis://127.0.0.1:6379 [--rate 1000] [--duration 8] [--pairs 3] [--base DIR]
//
// --base DIR: also the gateway of DIR/dist (an earlier build) with the ledger in Redis, in the same rounds ("redis-base").
// Each step is one `bench/run.mjs` (its own mock and gateway process); the Redis keys are written under a
// prefix of this run's own and deleted at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { clusterBenchOptions, dropKeys, fmt, median, roundOrder, runPrefix } from './lib/cluster.mjs';

const values = clusterBenchOptions('cluster-overhead.mjs', { duration: '8' });
const prefix = runPrefix();
const out = mkdtempSync(join(tmpdir(), 'heimdall-cluster-bench-'));
const runner = new URL('./run.mjs', import.meta.url).pathname;

function step(mode) {
  const dir = join(out, `${mode}-${Date.now()}`);
  const args = [runner, '--rates', values.rate, '--duration', values.duration, '--warmup', values.warmup, '--targets', 'gateway', '--retries', '0', '--out', dir];
  if (mode !== 'embedded') args.push('--gateway-env', `HEIMDALL_REDIS_URL=${values.redis}`, '--gateway-env', `HEIMDALL_REDIS_KEY_PREFIX=${prefix}`);
  if (mode === 'redis-base') args.push('--gateway-cli', resolve(values.base, 'dist/cli.js'));
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
    // Each round in another order, so none always runs on the warmer machine.
    for (const mode of roundOrder(pair, values.base !== undefined)) rows.push(step(mode));
  }
} finally {
  await dropKeys(values.redis, prefix);
  rmSync(out, { recursive: true, force: true });
}

const lines = [
  `${values.rate} req/s, ${values.duration} s per step after ${values.warmup} s warm-up, ${values.pairs} rounds, each in another order`,
  '',
  '| # | ledger | success % | p50 ms | p99 ms | self-reported overhead p50 µs | p99 µs | gateway CPU % | other CPU % |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((row, i) => `| ${i + 1} | ${row.mode} | ${fmt(row.success * 100, 2)} | ${fmt(row.p50Ms, 2)} | ${fmt(row.p99Ms, 2)} | ${fmt(row.selfP50Us)} | ${fmt(row.selfP99Us)} | ${fmt(row.cpu)} | ${fmt(row.otherCpu)} |`),
  '',
];
const modes = values.base === undefined ? ['redis'] : ['redis', 'redis-base'];
for (const metric of ['selfP50Us', 'p50Ms']) {
  const unit = metric === 'p50Ms' ? 1000 : 1;
  const of = (mode) => median(rows.filter((row) => row.mode === mode).map((row) => row[metric])) * unit;
  const embedded = of('embedded');
  const shared = modes.map((mode) => `${mode} ${fmt(of(mode))} µs (+${fmt(of(mode) - embedded)})`).join(', ');
  lines.push(`Median of ${metric === 'p50Ms' ? 'client p50' : 'self-reported overhead p50'}: embedded ${fmt(embedded)} µs, ${shared}.`);
}
const cpu = (mode) => median(rows.filter((row) => row.mode === mode).map((row) => row.cpu));
lines.push(`Median gateway CPU: embedded ${fmt(cpu('embedded'))}%, ${modes.map((mode) => `${mode} ${fmt(cpu(mode))}%`).join(', ')}.`);
process.stdout.write(`${lines.join('\n')}\n`);
