// The benchmark's modes: fixed rates (also used by peer mode), ceiling search, and soak.
import { chatRequestBody, createPool, runLoad } from '../load.mjs';
import { cpuPercent, httpGet, sampleProcess, sampleSystem } from './proc.mjs';
import { parsePrometheusText } from './prom.mjs';
import { autoConnections, measureStep } from './step.mjs';

const log = (line) => process.stderr.write(`${line}\n`);
const fmt = (micros) => (Number.isFinite(micros) ? (micros / 1000).toFixed(2) : 'n/a');

function describe(step) {
  const { result } = step;
  const proc = step.process ? `, CPU ${step.process.cpuPercent.toFixed(0)}%, RSS ${step.process.rssPeakMb.toFixed(0)} MB` : '';
  return (
    `${step.target.padEnd(8)} ${String(step.rate).padStart(6)} req/s: p50 ${fmt(result.latency.p50)} p99 ${fmt(result.latency.p99)} ` +
    `max ${fmt(result.latency.max)} ms, ${(result.successRate * 100).toFixed(2)}% ok (${result.errors} errors, ${result.timeouts} timeouts)` +
    `, send lag p99 ${fmt(result.sendLag.p99)} ms, generator loop lag p99 ${fmt(result.loopDelay.p99)} ms, generator CPU ${result.generatorCpuPercent.toFixed(0)}%${proc}`
  );
}

function connectionsFor(options, rate) {
  return options.connections > 0 ? options.connections : autoConnections(rate, options.expectedLatencyMs);
}

function stepOptions(options, rate) {
  return {
    rate,
    durationS: options.durationS,
    warmupS: options.warmupS,
    stream: options.stream,
    timeoutMs: options.timeoutMs,
    connections: connectionsFor(options, rate),
    client: options.client,
    preconnect: options.preconnect,
    maxRequests: options.maxRequests,
    mockProc: options.mockProc,
  };
}

/**
 * One step, re-run up to `options.retries` times while other work on the machine took more than
 * `options.maxOtherCpu` % of a core during it; the attempt with the least such work is kept.
 */
async function measureQuietStep(target, options, rate, label = '') {
  let kept = null;
  for (let attempt = 0; attempt <= options.retries; attempt += 1) {
    const step = await measureStep(target, stepOptions(options, rate));
    step.attempts = attempt + 1;
    const noisy = step.otherCpuPercent > options.maxOtherCpu;
    log(`${label}${describe(step)}${noisy ? ` [other CPU ${step.otherCpuPercent.toFixed(0)}%${attempt < options.retries ? ', re-running' : ''}]` : ''}`);
    if (!kept || step.otherCpuPercent < kept.otherCpuPercent) kept = step;
    if (!noisy) break;
  }
  return kept;
}

/** Every rate, every target in order (direct, proxy, gateway, peer), in one run. */
export async function runFixed(targets, options) {
  const steps = [];
  for (const rate of options.rates) {
    for (const target of targets) steps.push(await measureQuietStep(target, options, rate));
  }
  return steps;
}

/**
 * The highest rate with 100% success and p99 within the bound: doubles from `startRate` until a step fails,
 * then bisects between the best pass and the lowest failure, for at most `maxSteps` steps per target.
 */
export async function runCeiling(targets, options) {
  const ceilings = [];
  const bound = options.p99BoundMs * 1000;
  const roundRate = (rate) => Math.max(10, Math.round(rate / (rate >= 1000 ? 50 : 10)) * (rate >= 1000 ? 50 : 10));
  for (const target of targets) {
    /** @type {any[]} */
    const tried = [];
    let best = null;
    let lowestFail = Infinity;
    let rate = options.startRate;
    for (let index = 0; index < options.maxSteps; index += 1) {
      const step = await measureQuietStep(target, options, rate, 'ceiling ');
      step.pass = step.result.successRate === 1 && step.result.latency.p99 <= bound;
      log(`ceiling ${target.name} ${rate} req/s → ${step.pass ? 'pass' : 'fail'}`);
      tried.push(step);
      if (step.pass && (!best || rate > best.rate)) best = step;
      if (!step.pass) lowestFail = Math.min(lowestFail, rate);
      let next;
      if (lowestFail === Infinity) {
        if (rate >= options.maxRate) break;
        next = Math.min(options.maxRate, rate * 2);
      } else if (!best) {
        next = rate / 2;
        if (next < 10) break;
      } else {
        if (lowestFail - best.rate <= Math.max(50, best.rate * options.precision)) break;
        next = (best.rate + lowestFail) / 2;
      }
      const rounded = roundRate(next);
      if (tried.some((done) => done.rate === rounded)) break;
      rate = rounded;
    }
    ceilings.push({ target: target.name, best, tried });
  }
  return ceilings;
}

/** Minutes at one rate against one target; p50/p99 and RSS per interval, and the drift first → last. */
export async function runSoak(target, options) {
  const { rate, timeoutMs } = options;
  const connections = connectionsFor(options, rate);
  const load = { url: target.url, rate, stream: options.stream, timeoutMs, headers: target.headers, format: target.format, body: chatRequestBody({ model: target.model, stream: options.stream, format: target.format }) };
  let pool = createPool(target.url, { connections, timeoutMs });
  const pid = target.proc && !target.proc.exited ? target.proc.pid : 0;
  const intervals = [];
  try {
    if (options.warmupS > 0) await runLoad({ ...load, pool, durationS: options.warmupS });
    const count = Math.max(1, Math.round((options.minutes * 60) / options.intervalS));
    for (let index = 1; index <= count; index += 1) {
      const before = pid ? sampleProcess(pid) : null;
      const mockBefore = options.mockProc ? sampleProcess(options.mockProc.pid) : null;
      const systemBefore = sampleSystem();
      const result = await runLoad({ ...load, pool, durationS: options.intervalS });
      const systemCpuPercent = cpuPercent(systemBefore, sampleSystem());
      const after = pid ? sampleProcess(pid) : null;
      const mockCpu = mockBefore ? cpuPercent(mockBefore, sampleProcess(options.mockProc.pid)) : 0;
      const usage = before && after ? { cpuPercent: cpuPercent(before, after), rssMb: after.rssMb } : null;
      const otherCpuPercent = Math.max(0, systemCpuPercent - result.generatorCpuPercent - mockCpu - (usage?.cpuPercent ?? 0));
      const interval = { index, result, process: usage, systemCpuPercent, otherCpuPercent };
      intervals.push(interval);
      log(
        `soak ${target.name} ${index}/${count}: p50 ${fmt(result.latency.p50)} p99 ${fmt(result.latency.p99)} ms, ` +
          `${(result.successRate * 100).toFixed(2)}% ok${interval.process ? `, RSS ${interval.process.rssMb.toFixed(1)} MB, CPU ${interval.process.cpuPercent.toFixed(0)}%` : ''}`,
      );
      if (result.abandoned > 0) {
        await pool.destroy();
        pool = createPool(target.url, { connections, timeoutMs });
      }
    }
  } finally {
    await pool.destroy();
  }
  const first = intervals[0];
  const last = intervals[intervals.length - 1];
  const drift =
    intervals.length >= 2
      ? {
          rssFirstMb: first.process?.rssMb ?? NaN,
          rssLastMb: last.process?.rssMb ?? NaN,
          rssPeakMb: Math.max(...intervals.map((interval) => interval.process?.rssMb ?? NaN)),
          rssPercent: first.process && last.process ? ((last.process.rssMb - first.process.rssMb) / first.process.rssMb) * 100 : NaN,
          p99FirstUs: first.result.latency.p99,
          p99LastUs: last.result.latency.p99,
          p99Ratio: last.result.latency.p99 / first.result.latency.p99,
        }
      : null;
  return { target: target.name, rate, minutes: options.minutes, intervalS: options.intervalS, intervals, drift };
}

/** The gateway's shed counters by reason (`heimdall_requests_shed_total`), summed over surfaces. */
async function scrapeShed(target) {
  if (!target.metricsUrl) return null;
  const reply = await httpGet(target.metricsUrl, 5_000);
  if (!reply || reply.status !== 200) return null;
  /** @type {Record<string, number>} */
  const byReason = {};
  for (const sample of parsePrometheusText(reply.body)) {
    if (sample.name !== 'heimdall_requests_shed_total') continue;
    byReason[sample.labels.reason] = (byReason[sample.labels.reason] ?? 0) + sample.value;
  }
  return byReason;
}

function shedDelta(before, after) {
  if (!after) return null;
  /** @type {Record<string, number>} */
  const delta = {};
  for (const [reason, count] of Object.entries(after)) {
    const added = count - (before?.[reason] ?? 0);
    if (added > 0) delta[reason] = added;
  }
  return delta;
}

/**
 * Overload: each target at `overloadFactor` × its ceiling (`--ceiling-rate`, else found by a ceiling search
 * first), open loop, bounded like every step. Warm-up at the ceiling (discarded), then the overloaded step:
 * how many were answered and their latency, how many were refused (503) and how fast, how many timed out,
 * and the gateway's own shed counts by reason. With `afterS`, RSS again that long after the overload.
 */
export async function runOverload(targets, options) {
  const results = [];
  for (const target of targets) {
    let ceiling = options.ceilingRate;
    let search = null;
    if (!(ceiling > 0)) {
      [search] = await runCeiling([target], { ...options });
      ceiling = search.best?.rate;
      if (!ceiling) {
        log(`overload ${target.name}: no passing ceiling step, skipped`);
        results.push({ target: target.name, ceiling: null, search });
        continue;
      }
    }
    const rate = Math.round(ceiling * options.overloadFactor);
    if (options.warmupS > 0) await measureStep(target, { ...stepOptions(options, ceiling), durationS: options.warmupS, warmupS: 0, maxRequests: undefined });
    const shedBefore = await scrapeShed(target);
    const step = await measureStep(target, { ...stepOptions(options, rate), warmupS: 0 });
    const shed = shedDelta(shedBefore, await scrapeShed(target));
    log(`overload ${describe(step)}; 503 p99 ${fmt(step.result.refused.p99)} ms; shed ${JSON.stringify(shed ?? {})}`);
    let rssAfterMb = null;
    const pid = target.proc && !target.proc.exited ? target.proc.pid : 0;
    if (options.afterS > 0 && pid) {
      await new Promise((resolve) => setTimeout(resolve, options.afterS * 1000));
      rssAfterMb = sampleProcess(pid).rssMb;
    }
    results.push({ target: target.name, ceiling, rate, step, shed, rssAfterMb, search });
  }
  return results;
}
