#!/usr/bin/env node
// Open-loop load generator (module and CLI).
//
// Requests are sent on a clock, never in reply to responses: request i is due at start + i/rate, and its
// latency is measured from that intended time, not from when it was actually sent. A server that stalls
// therefore pays for every request that should have gone out during the stall (no coordinated omission).
// A worker-thread metronome ticks every `tickMs` (default 0.5 ms, or 1/rate when that is longer); at each
// tick the requests due by then go out, and their intended time is that tick (Node's own timers fire up to
// ~1 ms late, which would add the generator's jitter to every figure). Latency and time to first byte go
// into HDR histograms in microseconds. A run is bounded by its request count and by `timeoutMs` of
// draining after the last send.
//
//   node bench/load.mjs --url http://127.0.0.1:8080/v1/chat/completions --rate 1000 --duration 10 [--stream]
//       [--warmup 2] [--model gpt-4o-mini] [--header 'authorization: Bearer x'] [--connections 256] [--timeout-ms 10000] [--json]
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { build } from 'hdr-histogram-js';
import { Pool } from 'undici';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RawPool } from './lib/raw-pool.mjs';

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
/**
 * The client formats the benchmark speaks: where the chat request goes and what a complete stream ends
 * with (OpenAI's `data: [DONE]`, Anthropic's `message_stop` event).
 */
export const CLIENT_FORMATS = {
  openai: { path: '/v1/chat/completions', streamEnd: Buffer.from('data: [DONE]') },
  anthropic: { path: '/v1/messages', streamEnd: Buffer.from('event: message_stop') },
};

/** A histogram of microseconds, 1 µs to 120 s at 3 significant digits. */
export function newHistogram() {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

/** @typedef {{ count: number, p50: number, p90: number, p99: number, p999: number, max: number, mean: number }} Summary */

/** Percentiles in microseconds. */
export function summarize(histogram) {
  if (histogram.totalCount === 0) return { count: 0, p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN };
  return {
    count: histogram.totalCount,
    p50: histogram.getValueAtPercentile(50),
    p90: histogram.getValueAtPercentile(90),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    max: histogram.maxValue,
    mean: Math.round(histogram.mean),
  };
}

/**
 * A keep-alive pool for one origin; its timeouts bound every request that has a connection. `client`:
 * `undici` (the default) or `raw` (bench/lib/raw-pool.mjs: non-stream requests only, far less CPU each).
 */
export function createPool(url, { connections = 128, timeoutMs = 10_000, client = 'undici' } = {}) {
  if (client === 'raw') return new RawPool(new URL(url).origin, { connections, timeoutMs });
  if (client !== 'undici') throw new Error(`unknown client ${client} (undici, raw)`);
  return new Pool(new URL(url).origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: timeoutMs,
  });
}

/** The benchmark's chat request: small, fixed, so the upstream's and the target's work are constant. */
export function chatRequestBody({ model = 'gpt-4o-mini', stream = false, format = 'openai' } = {}) {
  if (format === 'anthropic') {
    return Buffer.from(
      JSON.stringify({
        model,
        system: 'You are a helpful assistant.',
        messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
        max_tokens: 32,
        temperature: 0,
        ...(stream ? { stream: true } : {}),
      }),
    );
  }
  const request = {
    model,
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Say hello in one short sentence.' },
    ],
    max_tokens: 32,
    temperature: 0,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
  return Buffer.from(JSON.stringify(request));
}

/**
 * Undici dispatch handler for one request (the v7 controller API). One object per request, no closures.
 */
class RequestHandler {
  constructor(run, intended) {
    this.run = run;
    this.intended = intended;
    this.status = 0;
    /** When the request was written to its connection (raw client only; 0 with undici). */
    this.writtenAt = 0;
    this.firstByteAt = 0;
    this.bytes = 0;
    /** @type {Buffer | null} */ this.previous = null;
    /** @type {Buffer | null} */ this.last = null;
  }
  onRequestStart() {}
  onResponseStart(_controller, statusCode) {
    this.status = statusCode;
  }
  onResponseData(_controller, chunk) {
    if (this.firstByteAt === 0) this.firstByteAt = performance.now();
    this.bytes += chunk.length;
    this.previous = this.last;
    this.last = chunk;
  }
  onResponseEnd() {
    this.run.complete(this, null);
  }
  onResponseError(_controller, error) {
    this.run.complete(this, error);
  }
  sawDone() {
    if (!this.last) return false;
    const tail = this.previous ? Buffer.concat([this.previous, this.last]) : this.last;
    return tail.includes(this.run.streamEnd);
  }
}

class LoadRun {
  constructor(options) {
    const url = new URL(options.url);
    this.pool = options.pool;
    this.stream = options.stream;
    this.streamEnd = CLIENT_FORMATS[options.format ?? 'openai'].streamEnd;
    this.dispatchOptions = {
      path: url.pathname + url.search,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body: options.body,
    };
    this.latency = newHistogram();
    this.ttfb = newHistogram();
    /** Latency of the 503 answers (an overloaded target's refusals): how fast a refused caller learns it. */
    this.refusedLatency = newHistogram();
    /**
     * Latency of the 2xx answers from when the request was written to its connection (raw client only): the
     * target's time, without the wait in the generator's pool for a free connection, which the latency
     * above includes when every connection is busy.
     */
    this.wireLatency = newHistogram();
    this.sendLag = newHistogram();
    this.sent = 0;
    this.completed = 0;
    this.success = 0;
    this.errors = 0;
    this.timeouts = 0;
    /** @type {Record<string, number>} */ this.errorKinds = {};
    this.inFlight = 0;
    this.maxInFlight = 0;
    this.closed = false;
    /** @type {() => void} */ this.onIdle = () => {};
  }

  send(intended) {
    const now = performance.now();
    this.sendLag.recordValue(Math.max(0, Math.round((now - intended) * 1000)));
    this.sent += 1;
    this.inFlight += 1;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
    this.pool.dispatch(this.dispatchOptions, new RequestHandler(this, intended));
  }

  complete(handler, error) {
    if (this.closed) return;
    const end = performance.now();
    this.inFlight -= 1;
    this.completed += 1;
    if (error) {
      const code = error.code ?? error.name ?? 'Error';
      if (TIMEOUT_CODES.has(code)) this.timeouts += 1;
      else this.countError(code);
    } else if (handler.status < 200 || handler.status >= 300) {
      this.countError(`http_${handler.status}`);
      if (handler.status === 503) this.refusedLatency.recordValue(Math.max(1, Math.round((end - handler.intended) * 1000)));
    } else if (handler.bytes === 0) {
      this.countError('empty_body');
    } else if (this.stream && !handler.sawDone()) {
      this.countError('stream_without_done');
    } else {
      this.success += 1;
      this.latency.recordValue(Math.max(1, Math.round((end - handler.intended) * 1000)));
      if (handler.writtenAt > 0) this.wireLatency.recordValue(Math.max(1, Math.round((end - handler.writtenAt) * 1000)));
      this.ttfb.recordValue(Math.max(1, Math.round((handler.firstByteAt - handler.intended) * 1000)));
    }
    if (this.inFlight === 0) this.onIdle();
  }

  countError(kind) {
    this.errors += 1;
    this.errorKinds[kind] = (this.errorKinds[kind] ?? 0) + 1;
  }
}

/**
 * Sends `rate` requests per second for `durationS` seconds (at most `maxRequests`), then waits up to
 * `timeoutMs` for the last replies. Requests still outstanding then are counted as timeouts
 * (`abandoned`); the caller should destroy a pool it passed in when that happens.
 * @param {{ url: string, rate: number, durationS: number, body: Buffer, pool?: import('undici').Pool,
 *   headers?: Record<string, string>, stream?: boolean, format?: 'openai' | 'anthropic', maxRequests?: number, timeoutMs?: number,
 *   tickMs?: number, connections?: number }} options
 */
export async function runLoad(options) {
  const { rate, durationS, timeoutMs = 10_000 } = options;
  if (!(rate > 0) || !(durationS > 0)) throw new Error('rate and duration must be positive');
  const ownPool = !options.pool;
  if (options.client === 'raw' && options.stream) throw new Error('the raw client sends non-stream requests only');
  const pool = options.pool ?? createPool(options.url, { connections: options.connections, timeoutMs, client: options.client });
  const run = new LoadRun({ ...options, pool, stream: options.stream ?? false, headers: options.headers ?? {} });
  const total = Math.max(1, Math.min(options.maxRequests ?? Infinity, Math.round(rate * durationS)));
  const intervalMs = 1000 / rate;
  // Below 1/tickMs req/s every request gets its own tick, so its intended time is exact.
  const tickMs = Math.max(options.tickMs ?? 0.5, intervalMs);
  const ticks = Math.ceil(((total - 1) * intervalMs) / tickMs) + 1;

  const control = new SharedArrayBuffer(4);
  const metronome = new Worker(new URL('./lib/metronome.mjs', import.meta.url));
  await new Promise((resolve, reject) => {
    metronome.once('online', resolve);
    metronome.once('error', reject);
  });
  // The generator's own event-loop delay: a response that arrives while the loop is busy is timed late.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const cpuBefore = process.cpuUsage();
  const start = performance.now() + 2;
  let next = 0;
  const allSent = new Promise((resolve) => {
    metronome.on('message', (/** @type {number} */ tick) => {
      const tickTime = start + tick * tickMs;
      // Request i is due at start + i * intervalMs; send every request due by this tick.
      const dueBy = Math.min(total, Math.floor((tickTime - start) / intervalMs + 1e-9) + 1);
      while (next < dueBy) {
        run.send(tickTime);
        next += 1;
      }
      if (next >= total) resolve(undefined);
    });
  });
  metronome.postMessage({ control, start, tickMs, ticks });
  await allSent;
  const lastSendAt = performance.now();
  Atomics.store(new Int32Array(control), 0, 1);
  Atomics.notify(new Int32Array(control), 0);
  void metronome.terminate();

  if (run.inFlight > 0) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      run.onIdle = () => {
        clearTimeout(timer);
        resolve(undefined);
      };
    });
  }
  const abandoned = run.inFlight;
  run.closed = true;
  run.timeouts += abandoned;
  const elapsedS = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  loopDelay.disable();
  if (ownPool) await pool.destroy();
  return {
    rate,
    durationS,
    scheduled: total,
    sent: run.sent,
    completed: run.completed,
    success: run.success,
    errors: run.errors,
    timeouts: run.timeouts,
    abandoned,
    errorKinds: run.errorKinds,
    successRate: run.sent > 0 ? run.success / run.sent : 0,
    sendS: (lastSendAt - start) / 1000,
    elapsedS,
    achievedRate: run.success / elapsedS,
    maxInFlight: run.maxInFlight,
    generatorCpuPercent: ((cpu.user + cpu.system) / 1000 / (elapsedS * 1000)) * 100,
    latency: summarize(run.latency),
    ttfb: summarize(run.ttfb),
    refused: summarize(run.refusedLatency),
    wire: summarize(run.wireLatency),
    sendLag: summarize(run.sendLag),
    /** The generator's event-loop delay beyond the 5 ms sampling timer, µs (p50, p99, max). */
    loopDelay: {
      p50: Math.max(0, loopDelay.percentile(50) / 1000 - 5000),
      p99: Math.max(0, loopDelay.percentile(99) / 1000 - 5000),
      max: Math.max(0, loopDelay.max / 1000 - 5000),
    },
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      rate: { type: 'string', default: '1000' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      'max-requests': { type: 'string' },
      stream: { type: 'boolean', default: false },
      model: { type: 'string', default: 'gpt-4o-mini' },
      header: { type: 'string', multiple: true, default: [] },
      connections: { type: 'string', default: '256' },
      'timeout-ms': { type: 'string', default: '10000' },
      'tick-ms': { type: 'string', default: '0.5' },
      client: { type: 'string', default: 'undici' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.url) throw new Error('--url is required');
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(values.url).hostname)) throw new Error('the benchmark only targets loopback');
  /** @type {Record<string, string>} */
  const headers = {};
  for (const header of values.header) {
    const colon = header.indexOf(':');
    headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
  }
  const timeoutMs = Number(values['timeout-ms']);
  const common = {
    url: values.url,
    rate: Number(values.rate),
    stream: values.stream,
    body: chatRequestBody({ model: values.model, stream: values.stream }),
    headers,
    timeoutMs,
    tickMs: Number(values['tick-ms']),
    client: values.client,
  };
  let pool = createPool(values.url, { connections: Number(values.connections), timeoutMs, client: values.client });
  // Warm-up: opens the connections and lets both sides' JIT settle; its figures are discarded.
  if (Number(values.warmup) > 0) {
    const warmup = await runLoad({ ...common, pool, durationS: Number(values.warmup) });
    if (warmup.abandoned > 0) {
      await pool.destroy();
      pool = createPool(values.url, { connections: Number(values.connections), timeoutMs, client: values.client });
    }
  }
  const result = await runLoad({
    ...common,
    pool,
    durationS: Number(values.duration),
    maxRequests: values['max-requests'] ? Number(values['max-requests']) : undefined,
  });
  await pool.destroy();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const ms = (micros) => (micros / 1000).toFixed(3);
  const line = (name, s) => `${name.padEnd(8)} p50 ${ms(s.p50)}  p90 ${ms(s.p90)}  p99 ${ms(s.p99)}  p99.9 ${ms(s.p999)}  max ${ms(s.max)} ms`;
  process.stdout.write(
    [
      `${result.sent} sent at ${result.rate} req/s over ${result.sendS.toFixed(2)} s: ${result.success} ok, ${result.errors} errors, ${result.timeouts} timeouts` +
        ` (${(result.successRate * 100).toFixed(2)}% success), max in flight ${result.maxInFlight}, generator CPU ${result.generatorCpuPercent.toFixed(0)}%`,
      line('latency', result.latency),
      line('ttfb', result.ttfb),
      line('send lag', result.sendLag),
      `loop lag p50 ${ms(result.loopDelay.p50)}  p99 ${ms(result.loopDelay.p99)}  max ${ms(result.loopDelay.max)} ms (the generator's own event loop)`,
      Object.keys(result.errorKinds).length > 0 ? `errors: ${JSON.stringify(result.errorKinds)}` : '',
    ]
      .filter(Boolean)
      .join('\n') + '\n',
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  });
}
