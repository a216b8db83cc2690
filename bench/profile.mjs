#!/usr/bin/env node
// A whole-process CPU profile of the gateway (or the bare proxy) under one benchmark step, kernel included:
// the step is the benchmark's own (same mock, open-loop generator, warm-up, production profile), Linux
// `perf` samples every thread of the target while it runs, node's --perf-basic-prof names the JIT frames,
// and lib/perf-attr.mjs charges each sample of the main thread to the innermost JavaScript frame's owner.
//   npm run build && node bench/profile.mjs [--target gateway|proxy] [--rate 3000] [--duration 10] [--stream]
//       [--upstream openai|anthropic] (as in run.mjs: anthropic measures the gateway's translated path)
// Needs `perf` (Debian: linux-perf) and permission to use it (root, or kernel.perf_event_paranoid <= 1).
// perf.data stays in bench/results/profile-<target>-<rate>[-stream]/ for `perf report` (--tail: ...-tail/).
//   --tail (no perf needed) looks at the latency tail instead: the target's event-loop gaps above 10 ms
// (lib/loop-gaps.cjs, preloaded) and, for the gateway, its request log's latency, upstream time and
// overhead percentiles over the measured requests: where a slow request spent its time.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { attribute, stacksOf, tables } from './lib/perf-attr.mjs';
import { sleep, stopAll } from './lib/proc.mjs';
import { measureStep } from './lib/step.mjs';
import { gatewayProfile, BENCH_DIR, REPO_DIR, UPSTREAMS, startGateway, startMock, startProxy } from './lib/targets.mjs';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'gateway' },
    profile: { type: 'string', default: 'production' },
    rate: { type: 'string', default: '3000' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    stream: { type: 'boolean', default: false },
    top: { type: 'string', default: '30' },
    tail: { type: 'boolean', default: false },
    upstream: { type: 'string', default: 'openai' },
  },
});
const rate = Number(values.rate);
const durationS = Number(values.duration);
const warmupS = Number(values.warmup);
if (values.target !== 'gateway' && values.target !== 'proxy') throw new Error('--target is gateway or proxy');
if (!(rate > 0) || !(durationS >= 4)) throw new Error('--rate must be positive and --duration at least 4 s');
if (!values.tail) {
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('perf is not installed (Debian: apt-get install linux-perf)');
  }
}

const upstream = values.upstream;
if (!(upstream in UPSTREAMS)) throw new Error(`--upstream is ${Object.keys(UPSTREAMS).join(' or ')}`);
const out = join(REPO_DIR, 'bench', 'results', `profile-${values.target}-${rate}${values.stream ? '-stream' : ''}${upstream === 'openai' ? '' : `-${upstream}`}${values.tail ? '-tail' : ''}`);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const gapsFile = join(out, 'loop-gaps.txt');
// Inherited by the target (the proxy is started with this process's environment).
if (values.tail) process.env.HEIMDALL_BENCH_LOOP_GAPS = gapsFile;
const nodeArgs = values.tail ? ['--require', join(BENCH_DIR, 'lib', 'loop-gaps.cjs')] : ['--perf-basic-prof-only-functions'];

try {
  const mock = await startMock({ latencyMs: 0, chunks: 10, chunkDelayMs: values.stream ? 1 : 0 });
  const target = values.target === 'gateway'
    ? await startGateway(mock, { ...gatewayProfile(values.profile), nodeArgs, upstream })
    : await startProxy(mock, {}, { nodeArgs, upstream });
  if (target === null) throw new Error('the gateway is not built (npm run build)');
  const pid = /** @type {import('./lib/proc.mjs').Managed} */ (target.proc).pid;
  // perf records the measured part of the step, less its first and last second.
  const recording = values.tail ? Promise.resolve() : (async () => {
    await sleep((warmupS + 1) * 1000);
    const perf = spawn('perf', ['record', '-F', '1999', '-g', '-p', String(pid), '-o', join(out, 'perf.data'), '--', 'sleep', String(durationS - 2)], { stdio: 'ignore' });
    await new Promise((resolve) => perf.on('exit', resolve));
  })();
  const step = await measureStep(target, { rate, durationS, warmupS, stream: values.stream, timeoutMs: 10_000, connections: 256, mockProc: mock.proc });
  await recording;
  const { result } = step;
  console.log(`# ${values.target} at ${rate} req/s${values.stream ? ' (stream)' : ''} for ${durationS} s: process CPU ${step.process?.cpuPercent.toFixed(0)}% of a core, ` +
    `RSS ${step.process?.rssPeakMb.toFixed(0)} MB; ${result.success}/${result.sent} ok, latency p50 / p99 ${result.latency.p50} / ${result.latency.p99} µs; ` +
    `other CPU on the machine ${step.otherCpuPercent.toFixed(0)}%`);
  if (values.tail) {
    await sleep(1_500); // the log thread writes its rows within a second
    console.log(tailReport(step.window, gapsFile, target.info?.dataDir));
  }
  else {
    const script = execFileSync('perf', ['script', '-i', join(out, 'perf.data'), '--tid', String(pid)], { maxBuffer: 4 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
    const samples = attribute(stacksOf(script.toString('utf8').split('\n')));
    console.log(`# main thread: ${samples.total} samples, ${(samples.total / 1999 / (rate * (durationS - 2)) * 1e6).toFixed(0)} µs per request\n`);
    console.log(tables(samples, Number(values.top)));
  }
} finally {
  await stopAll();
}

/**
 * The measured window's event-loop gaps, and where the gateway's requests spent their time (its request
 * log: total, upstream and own time per request).
 * @param {{ from: number, to: number }} window
 * @param {string} gapsFile
 * @param {string | undefined} dataDir
 */
function tailReport(window, gapsFile, dataDir) {
  const lines = [];
  const gaps = existsSync(gapsFile)
    ? readFileSync(gapsFile, 'utf8').trim().split('\n').filter(Boolean).map((line) => line.split(' ').map(Number))
      .filter(([at]) => at >= window.from && at <= window.to).map(([, gap]) => gap)
    : [];
  gaps.sort((a, b) => b - a);
  lines.push(`# event-loop gaps above 10 ms in the measured ${((window.to - window.from) / 1000).toFixed(0)} s: ${gaps.length}` +
    `${gaps.length > 0 ? ` (largest ${gaps.slice(0, 8).join(', ')} ms; ${gaps.reduce((sum, gap) => sum + gap, 0).toFixed(0)} ms in all)` : ''}`);
  if (dataDir === undefined) return lines.join('\n');
  const db = new Database(join(dataDir, 'heimdall.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT latency_ms, upstream_ms, overhead_us / 1000.0 AS overhead_ms FROM request_logs WHERE time >= ? AND time <= ?')
      .all(window.from, window.to);
    lines.push(`# the gateway's request log: ${rows.length} requests in the window, ms`, '',
      '| per request | p50 | p90 | p99 | p99.9 | max |', '| --- | --- | --- | --- | --- | --- |');
    for (const column of ['latency_ms', 'upstream_ms', 'overhead_ms']) {
      const sorted = rows.map((row) => row[column]).filter((value) => typeof value === 'number').sort((a, b) => a - b);
      const at = (q) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]).toFixed(3);
      lines.push(`| ${column.replace('_ms', '')} | ${at(0.5)} | ${at(0.9)} | ${at(0.99)} | ${at(0.999)} | ${at(1)} |`);
    }
  } finally {
    db.close();
  }
  return lines.join('\n');
}
