#!/usr/bin/env node
// A whole-process CPU profile of the gateway (or the bare proxy) under one benchmark step, kernel included:
// the step is the benchmark's own (same mock, open-loop generator, warm-up, production profile), Linux
// `perf` samples every thread of the target while it runs, node's --perf-basic-prof names the JIT frames,
// and lib/perf-attr.mjs charges each sample of the main thread to the innermost JavaScript frame's owner.
//   npm run build && node bench/profile.mjs [--target gateway|proxy] [--rate 3000] [--duration 10] [--stream]
// Needs `perf` (Debian: linux-perf) and permission to use it (root, or kernel.perf_event_paranoid <= 1).
// perf.data stays in bench/results/profile-<target>-<rate>[-stream]/ for `perf report`.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { attribute, stacksOf, tables } from './lib/perf-attr.mjs';
import { sleep, stopAll } from './lib/proc.mjs';
import { measureStep } from './lib/step.mjs';
import { productionProfile, REPO_DIR, startGateway, startMock, startProxy } from './lib/targets.mjs';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'gateway' },
    rate: { type: 'string', default: '3000' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    stream: { type: 'boolean', default: false },
    top: { type: 'string', default: '30' },
  },
});
const rate = Number(values.rate);
const durationS = Number(values.duration);
const warmupS = Number(values.warmup);
if (values.target !== 'gateway' && values.target !== 'proxy') throw new Error('--target is gateway or proxy');
if (!(rate > 0) || !(durationS >= 4)) throw new Error('--rate must be positive and --duration at least 4 s');
try {
  execFileSync('perf', ['--version'], { stdio: 'ignore' });
} catch {
  throw new Error('perf is not installed (Debian: apt-get install linux-perf)');
}

const out = join(REPO_DIR, 'bench', 'results', `profile-${values.target}-${rate}${values.stream ? '-stream' : ''}`);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const nodeArgs = ['--perf-basic-prof-only-functions'];

try {
  const mock = await startMock({ latencyMs: 0, chunks: 10, chunkDelayMs: values.stream ? 1 : 0 });
  const target = values.target === 'gateway'
    ? await startGateway(mock, { ...productionProfile(), nodeArgs })
    : await startProxy(mock, {}, { nodeArgs });
  if (target === null) throw new Error('the gateway is not built (npm run build)');
  const pid = /** @type {import('./lib/proc.mjs').Managed} */ (target.proc).pid;
  // perf records the measured part of the step, less its first and last second.
  const recording = (async () => {
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
  const script = execFileSync('perf', ['script', '-i', join(out, 'perf.data'), '--tid', String(pid)], { maxBuffer: 4 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  const samples = attribute(stacksOf(script.toString('utf8').split('\n')));
  console.log(`# main thread: ${samples.total} samples, ${(samples.total / 1999 / (rate * (durationS - 2)) * 1e6).toFixed(0)} µs per request\n`);
  console.log(tables(samples, Number(values.top)));
} finally {
  await stopAll();
}
