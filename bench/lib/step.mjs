// One benchmark step: warm up, then hold one rate against one target, with the target's CPU and RSS read
// from /proc and, for the gateway, its own overhead histogram read from /metrics before and after.
import { chatRequestBody, createPool, runLoad } from '../load.mjs';
import { cpuPercent, httpGet, sampleProcess, sampleSystem, sleep } from './proc.mjs';
import { histogramQuantile, parsePrometheusText, readHistogram, subtractHistogram } from './prom.mjs';

export const OVERHEAD_METRIC = 'heimdall_overhead_seconds';
const RSS_SAMPLE_MS = 1_000;
const SETTLE_MS = 300;

/**
 * The most connections the generator's pool may open: enough for the requests in flight during a 100 ms
 * stall beyond the expected latency, at least 256. Undici opens them only when all others are busy, so
 * a high cap costs nothing while the target keeps up; when it stalls, new requests go out on new
 * connections as independent clients' would, instead of queueing behind the stall in the generator
 * (a request that does queue in the pool still counts its wait: latency runs from the intended time).
 */
export function autoConnections(rate, expectedLatencyMs) {
  return Math.min(4096, Math.max(256, Math.ceil((rate * (expectedLatencyMs + 100)) / 1000)));
}

async function scrapeOverhead(target) {
  if (!target.metricsUrl) return null;
  const reply = await httpGet(target.metricsUrl, 5_000);
  if (!reply || reply.status !== 200) return null;
  return readHistogram(parsePrometheusText(reply.body), OVERHEAD_METRIC);
}

/** Self-reported overhead between two scrapes, in µs (Prometheus-style bucket interpolation). */
function overheadDelta(before, after) {
  if (!after) return null;
  const delta = subtractHistogram(after, before);
  if (!(delta.count > 0)) return { count: 0, p50: NaN, p99: NaN, mean: NaN };
  return {
    count: delta.count,
    p50: histogramQuantile(0.5, delta) * 1e6,
    p99: histogramQuantile(0.99, delta) * 1e6,
    mean: (delta.sum / delta.count) * 1e6,
  };
}

/**
 * @param {import('./targets.mjs').Target} target
 * @param {{ rate: number, durationS: number, warmupS: number, stream: boolean, timeoutMs: number,
 *   connections: number, client?: 'undici' | 'raw', preconnect?: boolean, maxRequests?: number, mockProc?: import('./proc.mjs').Managed }} options
 */
export async function measureStep(target, options) {
  const { rate, stream, timeoutMs } = options;
  const load = {
    url: target.url,
    rate,
    stream,
    timeoutMs,
    client: options.client,
    headers: target.headers,
    format: target.format,
    body: chatRequestBody({ model: target.model, stream, format: target.format }),
  };
  let pool = createPool(target.url, { connections: options.connections, timeoutMs, client: options.client });
  try {
    let preconnected = null;
    if (options.preconnect && typeof pool.preconnect === 'function') {
      preconnected = await pool.preconnect(options.connections, new URL('/health', target.url).pathname);
    }
    let warmup = null;
    if (options.warmupS > 0) {
      warmup = await runLoad({ ...load, pool, durationS: options.warmupS });
      if (warmup.abandoned > 0) {
        await pool.destroy();
        pool = createPool(target.url, { connections: options.connections, timeoutMs, client: options.client });
      }
    }
    const metricsBefore = await scrapeOverhead(target);
    const pid = target.proc && !target.proc.exited ? target.proc.pid : 0;
    const procBefore = pid ? sampleProcess(pid) : null;
    const mockBefore = options.mockProc ? sampleProcess(options.mockProc.pid) : null;
    const systemBefore = sampleSystem();
    let rssPeakMb = procBefore?.rssMb ?? 0;
    const rssTimer = pid ? setInterval(() => (rssPeakMb = Math.max(rssPeakMb, sampleProcess(pid).rssMb)), RSS_SAMPLE_MS) : null;

    const measuredFrom = Date.now();
    const result = await runLoad({ ...load, pool, durationS: options.durationS, maxRequests: options.maxRequests });
    const measuredTo = Date.now();

    if (rssTimer) clearInterval(rssTimer);
    const procAfter = pid ? sampleProcess(pid) : null;
    const mockAfter = options.mockProc ? sampleProcess(options.mockProc.pid) : null;
    const systemCpuPercent = cpuPercent(systemBefore, sampleSystem());
    const metricsAfter = await scrapeOverhead(target);
    const processCpu = procBefore && procAfter ? cpuPercent(procBefore, procAfter) : 0;
    const mockCpu = mockBefore && mockAfter ? cpuPercent(mockBefore, mockAfter) : 0;
    return {
      target: target.name,
      rate,
      stream,
      result,
      warmup: warmup ? { successRate: warmup.successRate, errorKinds: warmup.errorKinds } : null,
      preconnected,
      process:
        procBefore && procAfter
          ? { cpuPercent: processCpu, rssMb: procAfter.rssMb, rssPeakMb: Math.max(rssPeakMb, procAfter.rssMb) }
          : null,
      mockCpuPercent: mockBefore && mockAfter ? mockCpu : null,
      // The machine's busy CPU not spent by the generator, the mock or the target: other work that
      // competed with the measurement (a step with much of it is not comparable).
      systemCpuPercent,
      otherCpuPercent: Math.max(0, systemCpuPercent - result.generatorCpuPercent - mockCpu - processCpu),
      selfOverhead: target.metricsUrl ? overheadDelta(metricsBefore, metricsAfter) : null,
      /** The measured load's wall-clock span (epoch ms), to match the target's own records to it. */
      window: { from: measuredFrom, to: measuredTo },
    };
  } finally {
    await pool.destroy();
    await sleep(SETTLE_MS);
  }
}
