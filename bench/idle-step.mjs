#!/usr/bin/env node
// One benchmark step against a gateway that was left idle after its start: the mock upstream and the gateway
// (production profile, as run.mjs starts them), then `--idle-s` seconds with no traffic, then the step
// (warm-up included). Prints one JSON line: CPU per request (µs) of the whole process and split into its main
// thread and its other threads (V8's garbage-collection helpers, libuv's pool, the log writer's thread), the
// peak RSS, and the machine's other work during the step. This is how a gateway measured after the proxy's
// step in run.mjs (idle for 12–25 s) is reproduced on its own, in either order.
//   npm run build && node bench/idle-step.mjs [--idle-s 20] [--rate 1000] [--duration 10] [--no-stream]
//       [--gateway-cli dist/cli.js] [--gateway-node-arg=--trace-gc]... [--keep-log FILE] [--proxy]
// --keep-log copies the gateway's stdout (its JSON log lines, and V8's --trace-gc lines when asked) to FILE.
// --proxy runs the same step against the bare proxy (bench/bare-proxy.mjs, as run.mjs starts it) instead of the
// gateway; --gateway-node-arg and --keep-log then apply to the proxy.
import { copyFileSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, removeAtExit, sleep, startProcess, stopAll, waitForPort } from './lib/proc.mjs';
import { autoConnections, measureStep } from './lib/step.mjs';
import { BENCH_DIR, GATEWAY_CLI, gatewayProfile, startGateway, startMock } from './lib/targets.mjs';

const { values } = parseArgs({
  options: {
    'idle-s': { type: 'string', default: '20' },
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '10' },
    'no-stream': { type: 'boolean', default: false },
    'gateway-cli': { type: 'string', default: GATEWAY_CLI },
    'gateway-node-arg': { type: 'string', multiple: true, default: [] },
    'keep-log': { type: 'string' },
    proxy: { type: 'boolean', default: false },
  },
});
const rate = Number(values.rate);
const durationS = Number(values.duration);
const idleS = Number(values['idle-s']);
const stream = !values['no-stream'];
if (!(rate > 0) || !(durationS > 0) || !(idleS >= 0)) throw new Error('--rate and --duration must be positive, --idle-s at least 0');

/** CPU ticks per thread of a process (Linux /proc), by thread id. */
function threadTicks(pid) {
  /** @type {Map<string, number>} */
  const ticks = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(tid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended
    }
  }
  return ticks;
}

/** The bare proxy on a known port, its stdout (V8's traces when asked) kept in a file as the gateway's is. */
async function startLoggedProxy(mock, nodeArgs) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'heimdall-bench-'));
  removeAtExit(dir);
  const logFile = join(dir, 'proxy.log');
  const proc = startProcess(
    'bare-proxy',
    [process.execPath, ...nodeArgs, join(BENCH_DIR, 'bare-proxy.mjs'), '--upstream', mock.origin, '--port', String(port), '--connections', '1024'],
    { env: { BENCH_EXIT_WITH_PARENT: '1' }, stdoutFile: logFile },
  );
  await waitForPort('127.0.0.1', port, proc);
  return { name: 'proxy', url: `http://127.0.0.1:${port}/v1/chat/completions`, model: 'gpt-4o-mini', headers: {}, format: 'openai', proc, info: { logFile } };
}

try {
  const mock = await startMock({ latencyMs: 0, chunks: 10, chunkDelayMs: stream ? 1 : 0 });
  const profile = gatewayProfile('production');
  const gateway = values.proxy
    ? await startLoggedProxy(mock, values['gateway-node-arg'])
    : await startGateway(mock, {
      cli: values['gateway-cli'],
      headers: { authorization: 'Bearer bench-key', ...profile.headers },
      extraArgs: profile.extraArgs,
      extraEnv: profile.extraEnv,
      nodeArgs: values['gateway-node-arg'],
    });
  if (!gateway?.proc) throw new Error(`no gateway build at ${values['gateway-cli']} (npm run build)`);
  const pid = gateway.proc.pid;
  await sleep(idleS * 1000);
  const warmupS = 2;
  // The threads' CPU over the measured part of the step: sampled when the warm-up ends and when the step ends.
  let threadsFrom = null;
  const fromTimer = setTimeout(() => (threadsFrom = { ticks: threadTicks(pid), at: performance.now() }), warmupS * 1000);
  const step = await measureStep(gateway, {
    rate,
    durationS,
    warmupS,
    stream,
    timeoutMs: 10_000,
    connections: autoConnections(rate, stream ? 10 : 0),
    mockProc: mock.proc,
  });
  clearTimeout(fromTimer);
  const threadsTo = { ticks: threadTicks(pid), at: performance.now() };
  let main = 0;
  let other = 0;
  if (threadsFrom) {
    for (const [tid, ticks] of threadsTo.ticks) {
      const used = ticks - (threadsFrom.ticks.get(tid) ?? 0);
      if (tid === String(pid)) main += used;
      else other += used;
    }
  }
  const seconds = threadsFrom ? (threadsTo.at - threadsFrom.at) / 1000 : NaN;
  // Clock ticks are 10 ms: µs per request = ticks / s × 10,000 / rate.
  const perRequest = (ticks) => Math.round(((ticks / seconds) * 10_000) / rate);
  const cpu = step.process?.cpuPercent ?? NaN;
  process.stdout.write(
    `${JSON.stringify({
      idleS,
      rate,
      stream,
      nodeArgs: values['gateway-node-arg'],
      cpuPercent: Math.round(cpu * 10) / 10,
      usPerRequest: Math.round(((cpu / 100) * 1e6) / rate),
      mainThreadUs: perRequest(main),
      otherThreadsUs: perRequest(other),
      rssPeakMb: Math.round(step.process?.rssPeakMb ?? NaN),
      successRate: step.result.successRate,
      p50Ms: Math.round(step.result.latency.p50 / 10) / 100,
      p99Ms: Math.round(step.result.latency.p99 / 10) / 100,
      otherCpuPercent: Math.round(step.otherCpuPercent),
      loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    })}\n`,
  );
  if (values['keep-log'] && gateway.info?.logFile) copyFileSync(String(gateway.info.logFile), values['keep-log']);
} finally {
  await stopAll();
}
