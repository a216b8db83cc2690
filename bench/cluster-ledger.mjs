#!/usr/bin/env node
// The shared counters alone: admission latency of the Redis ledger (one script round trip: a budget, a
// request limit and a token limit checked and reserved; then the settlement) against the embedded
// LocalLedger, at a fixed rate, alternated in one run; with the CPU this process spent per admission (the Redis
// client's work: the figure that the load of other processes disturbs least). Needs dist/ (npx tsc -p tsconfig.build.json).
//
//   node bench/cluster-ledger.mjs --redis redis://127.0.0.1:6379 [--rate 1000] [--duration 5] [--pairs 3] [--base DIR]
//
// --base DIR: also the Redis ledger of DIR/dist (an earlier build), in the same rounds ("redis-base").
// Keys are written under a prefix of this run's own and deleted at the end.
import { resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { LocalLedger } from '../dist/governance/ledger.js';
import { RedisLedger } from '../dist/cluster/redis-ledger.js';
import { clusterBenchOptions, dropKeys, fmt, median, roundOrder, runPrefix } from './lib/cluster.mjs';

const values = clusterBenchOptions('cluster-ledger.mjs', { duration: '5' });
const prefix = runPrefix();
const rate = Number(values.rate);
const durationMs = Number(values.duration) * 1000;
const quiet = { info() {}, warn() {}, error() {} };
const accounts = [{ type: 'key', id: 'vk_bench', period: 'daily', anchor: 0, limitUsd: 1_000_000 }];
const limits = [
  { id: 'key:vk_bench:0:requests', scope: 'key', kind: 'requests', limit: 1_000_000, windowMs: 60_000, algorithm: 'sliding' },
  { id: 'key:vk_bench:1:tokens', scope: 'key', kind: 'tokens', limit: 1_000_000_000, windowMs: 60_000, algorithm: 'token_bucket' },
];

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/**
 * Time Redis spent running scripts so far (INFO commandstats, µs), to tell its own work from waiting for it,
 * and the commands those scripts and calls ran (every command but INFO itself; this run's alone on a quiet
 * Redis: a count that the machine's load does not change).
 */
async function redisWork(redis) {
  const info = await redis.info('commandstats');
  const micros = [...info.matchAll(/cmdstat_(?:evalsha|eval):calls=\d+,usec=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
  const commands = [...info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)].filter((match) => match[1] !== 'info').reduce((sum, match) => sum + Number(match[2]), 0);
  return { micros, commands };
}

async function step(name, ledger, stats) {
  const before = await redisWork(stats);
  const latencies = [];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  let sent = 0;
  let failed = 0;
  const pending = new Set();
  while (performance.now() - start < durationMs) {
    const due = Math.floor(((performance.now() - start) * rate) / 1000);
    for (; sent < due; sent++) {
      const began = performance.now();
      const done = Promise.resolve(ledger.admit({ now: Date.now(), accounts, estimateUsd: 0.0001, limits, estimateTokens: 100 })).then((decision) => {
        latencies.push((performance.now() - began) * 1000);
        if (decision.ok) ledger.settle(decision.ticket, { now: Date.now(), costUsd: 0.00005, tokens: 60 });
        else failed++;
      }, () => failed++);
      pending.add(done);
      void done.finally(() => pending.delete(done));
    }
    // A timer, not setImmediate: spinning would take the CPU that Redis needs on a small machine.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  const cpu = process.cpuUsage(cpuBefore);
  loop.disable();
  latencies.sort((a, b) => a - b);
  const after = name !== 'embedded' ? await redisWork(stats) : undefined;
  const inRedis = after === undefined ? Number.NaN : (after.micros - before.micros) / sent;
  const commands = after === undefined ? Number.NaN : (after.commands - before.commands) / sent;
  const cpuPerAdmission = (cpu.user + cpu.system) / sent;
  return { name, sent, failed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), loopP99Ms: loop.percentile(99) / 1e6, inRedis, commands, cpuPerAdmission };
}

const config = {
  url: values.redis, keyPrefix: prefix, timeoutMs: 1_000, connectTimeoutMs: 2_000, reservationTtlMs: 900_000,
  failMode: { budgets: 'open', rateLimits: 'open' }, maxPendingSettlements: 100_000, settleBatchMs: 5,
};
const shared = new RedisLedger(config, quiet);
await shared.start();
const ledgers = { redis: shared };
if (values.base !== undefined) {
  const { RedisLedger: BaseLedger } = await import(pathToFileURL(resolve(values.base, 'dist/cluster/redis-ledger.js')).href);
  ledgers['redis-base'] = new BaseLedger({ ...config, keyPrefix: `${prefix}base:` }, quiet);
  await ledgers['redis-base'].start();
}
const stats = new Redis(values.redis);
const rows = [];
try {
  for (let pair = 0; pair < Number(values.pairs); pair++) {
    for (const name of roundOrder(pair, values.base !== undefined)) rows.push(await step(name, ledgers[name] ?? new LocalLedger(), stats));
  }
} finally {
  for (const ledger of Object.values(ledgers)) await ledger.close();
  stats.disconnect();
  await dropKeys(values.redis, prefix);
}
process.stdout.write([
  `${rate} admissions/s (each settled), ${values.duration} s per step, ${values.pairs} rounds, each in another order; a budget, a sliding request limit and a token bucket per admission`,
  '',
  '| # | ledger | admissions | refused or failed | admit p50 µs | admit p99 µs | event-loop delay p99 ms | this process\'s CPU per admission + settlement µs | Redis script time per admission + settlement µs | Redis commands per admission + settlement |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((row, i) => `| ${i + 1} | ${row.name} | ${row.sent} | ${row.failed} | ${fmt(row.p50)} | ${fmt(row.p99)} | ${row.loopP99Ms.toFixed(1)} | ${fmt(row.cpuPerAdmission)} | ${fmt(row.inRedis)} | ${fmt(row.commands, 1)} |`),
  '',
  `Median admit p50: ${Object.keys({ embedded: 0, ...ledgers }).map((name) => `${name} ${fmt(median(rows.filter((r) => r.name === name).map((r) => r.p50)))} µs`).join(', ')}.`,
  `Median CPU of this process per admission + settlement: ${Object.keys({ embedded: 0, ...ledgers }).map((name) => `${name} ${fmt(median(rows.filter((r) => r.name === name).map((r) => r.cpuPerAdmission)))} µs`).join(', ')}.`,
  `Median Redis commands per admission + settlement (all clients of this Redis): ${Object.keys(ledgers).map((name) => `${name} ${fmt(median(rows.filter((r) => r.name === name).map((r) => r.commands)), 1)}`).join(', ')}.`,
  `Median Redis script time per admission + settlement: ${Object.keys(ledgers).map((name) => `${name} ${fmt(median(rows.filter((r) => r.name === name).map((r) => r.inRedis)))} µs`).join(', ')}.`,
  '',
].join('\n'));
