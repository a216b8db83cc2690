/**
 * The fault matrix: each upstream fault (429 storms with and without
 * Retry-After, 5xx bursts, connection resets, streams that break or stall
 * mid-way, hung and slow upstreams) against a primary provider with a fallback
 * on another mock (another wire format), with the counts asserted: requests
 * that fail although a fallback is configured (none), upstream calls per
 * request (bounded by the retry policy), the request's deadline
 * (timeouts.total_ms: elapsed <= total + slack), the breaker opening and
 * recovering. Loopback only, bounded: every fault is cut by a timeout.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type Behavior, type MockUpstream } from '../support/mock-upstream/index.js';
import { attemptsOf, client, CONTENT, drain, messages, startRoutingGateway, type RoutingGateway } from './helpers.js';

const MAX_RETRIES = 2;
/** Calls one request may make: the primary's first attempt and its retries, then the fallback once. */
const MAX_CALLS = 1 + MAX_RETRIES + 1;
const TOTAL_MS = 3_000;
const FIRST_BYTE_MS = 1_000;
const IDLE_MS = 600;
/** Timers and a loaded 2-core machine: how late a deadline may be noticed. */
const SLACK_MS = 400;
const PROBE_MS = 200;

let primary: MockUpstream;
let backup: MockUpstream;
let gateway: RoutingGateway | undefined;

beforeAll(async () => {
  [primary, backup] = await Promise.all([startMockUpstream(), startMockUpstream()]);
});
afterAll(async () => {
  await Promise.all([primary.close(), backup.close()]);
});
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  primary.reset();
  backup.reset();
});

/** A gateway whose `primary/m` falls back to Anthropic on the other mock; fresh breakers per test. */
async function start(options: { fallback?: boolean; failureThreshold?: number } = {}): Promise<{ gateway: RoutingGateway; sdk: OpenAI }> {
  gateway = await startRoutingGateway({
    config: {
      providers: {
        primary: {
          type: 'openai-compatible', base_url: primary.openaiBaseUrl, models: ['m'], max_retries: MAX_RETRIES, retry_budget_ms: 10_000,
          keys: [{ name: 'k1', api_key: 'sk-primary' }],
        },
        anthropic: { api_key: 'sk-ant-backup', base_url: backup.url, max_retries: MAX_RETRIES },
      },
      timeouts: { first_byte_ms: FIRST_BYTE_MS, idle_ms: IDLE_MS, total_ms: TOTAL_MS },
      routing: {
        adaptive: { enabled: false },
        circuit_breaker: { failure_threshold: options.failureThreshold ?? 3, cooldown_ms: 60_000, probe_interval_ms: PROBE_MS },
        fallbacks: options.fallback === false ? {} : { 'primary/m': ['anthropic/claude-haiku-4-5'] },
      },
    },
  });
  return { gateway, sdk: client(gateway.url, 20_000) };
}

/** Every primary call gets the fault. */
function storm(behavior: Behavior): void {
  primary.enqueue(behavior, { path: '/v1/chat/completions', times: Infinity });
}

interface Result {
  ok: boolean;
  status: number | undefined;
  provider: string | null;
  elapsedMs: number;
}

async function ask(sdk: OpenAI): Promise<Result> {
  const started = performance.now();
  try {
    const { data, response } = await sdk.chat.completions.create({ model: 'primary/m', messages }).withResponse();
    expect(data.choices[0].message.content).toBe(CONTENT);
    return { ok: true, status: response.status, provider: response.headers.get('x-heimdall-provider'), elapsedMs: performance.now() - started };
  } catch (error) {
    return { ok: false, status: (error as { status?: number }).status, provider: null, elapsedMs: performance.now() - started };
  }
}

/** Upstream calls each finished request made (attempt records). */
function callsPerRequest(g: RoutingGateway): number[] {
  return g.finished.map((ctx) => attemptsOf(ctx).length);
}

function breakerOf(g: RoutingGateway) {
  return g.app.gateway.health.get('primary', 'k1')!.breaker;
}

describe.each([
  ['429 storm with Retry-After', { kind: 'error', status: 429, headers: { 'retry-after-ms': '50' } }],
  ['429 storm without Retry-After', { kind: 'error', status: 429 }],
  ['5xx burst', { kind: 'error', status: 503 }],
  ['connection resets', { kind: 'reset' }],
  ['an HTML error page', { kind: 'raw', status: 502, headers: { 'content-type': 'text/html' }, body: '<html><body>Bad gateway</body></html>' }],
] as Array<[string, Behavior]>)('%s on the primary, a fallback configured', (_name, behavior) => {
  it('no request fails; calls per request within the retry policy; the breaker opens, then recovers with one probe', async () => {
    const { gateway: g, sdk } = await start();
    storm(behavior);
    const results = await Promise.all(Array.from({ length: 4 }, () => ask(sdk)));
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(new Set(results.map((r) => r.provider))).toEqual(new Set(['anthropic']));
    for (const r of results) expect(r.elapsedMs).toBeLessThanOrEqual(TOTAL_MS + SLACK_MS);
    const calls = callsPerRequest(g);
    expect(calls).toHaveLength(4);
    for (const count of calls) {
      expect(count).toBeGreaterThanOrEqual(1);
      expect(count).toBeLessThanOrEqual(MAX_CALLS);
    }
    expect(backup.requests).toHaveLength(4); // each request reached the fallback exactly once
    // Four failed requests on a threshold of 3: open. The next request goes to the fallback, after at most
    // one probe of the primary (when the short probe interval is already over), never a round of retries.
    const breaker = breakerOf(g);
    expect(breaker.state).toBe('open');
    expect(breaker.opens).toBeGreaterThanOrEqual(1);
    const before = primary.requests.length;
    const fast = await ask(sdk);
    expect(fast).toMatchObject({ ok: true, provider: 'anthropic' });
    expect(primary.requests.length - before).toBeLessThanOrEqual(1);
    expect(callsPerRequest(g).at(-1)).toBeLessThanOrEqual(2);
    expect(breaker.state).toBe('open');
    // The storm is over. Retries that probed during the storm doubled the wait (200, 400, 800 ms ...), far
    // below the 60 s cool-down: once the probe is due, a request probes the primary and closes the circuit.
    primary.reset();
    const waited = performance.now();
    while (!breaker.allows(performance.now())) await sleep(20);
    expect(performance.now() - waited).toBeLessThan(10_000);
    const probed = await ask(sdk);
    expect(probed).toMatchObject({ ok: true, provider: 'primary' });
    expect(breaker.state).toBe('closed');
  });
});

describe('hung and slow upstreams', () => {
  it('a hung primary: each attempt cut at first_byte_ms, the fallback serves within the deadline', async () => {
    const { gateway: g, sdk } = await start();
    storm({ kind: 'hang' });
    const result = await ask(sdk);
    expect(result).toMatchObject({ ok: true, provider: 'anthropic' });
    expect(result.elapsedMs).toBeLessThanOrEqual(TOTAL_MS + SLACK_MS);
    const [calls] = callsPerRequest(g);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(MAX_CALLS);
  });

  it('every upstream hangs: a 504 within total_ms, not total_ms per attempt', async () => {
    const { gateway: g } = await start();
    storm({ kind: 'hang' });
    backup.enqueue({ kind: 'hang' }, { times: Infinity });
    const started = performance.now();
    const response = await fetch(`${g.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'primary/m', messages }),
    });
    const elapsed = performance.now() - started;
    expect(response.status).toBe(504);
    expect(response.headers.get('x-request-id')).toMatch(/.+/);
    const body = (await response.json()) as { error: { type: string; code: string; message: string } };
    // Each tier waited one first_byte_ms; a retry that could not fit a whole wait was not started, so
    // the caller has the last timeout before the deadline (or the deadline's own error at it).
    expect(body.error.type).toBe('timeout_error');
    expect(['upstream_timeout', 'request_deadline_exceeded']).toContain(body.error.code);
    expect(elapsed).toBeGreaterThanOrEqual(2 * FIRST_BYTE_MS - 50);
    expect(elapsed).toBeLessThanOrEqual(TOTAL_MS + SLACK_MS);
    const calls = callsPerRequest(g)[0];
    expect(calls).toBeGreaterThanOrEqual(2); // the primary, then the fallback
    expect(calls).toBeLessThanOrEqual(MAX_CALLS + MAX_RETRIES);
  });

  it('the deadline holds on the Anthropic surface too, in its error format', async () => {
    const { gateway: g } = await start({ fallback: false });
    storm({ kind: 'hang' });
    const started = performance.now();
    const response = await fetch(`${g.url}/anthropic/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'primary/m', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const elapsed = performance.now() - started;
    expect(response.status).toBe(504);
    const body = (await response.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    // A retry that could not finish before the deadline is not started: the last timeout is the answer.
    expect(body.error.message).toMatch(/total time|first-byte timeout/);
    expect(elapsed).toBeLessThanOrEqual(TOTAL_MS + SLACK_MS);
  });

  it('a slow but live upstream (under first_byte_ms) is served by the primary in one call', async () => {
    const { gateway: g, sdk } = await start();
    primary.enqueue({ kind: 'delay', ms: 300 }, { path: '/v1/chat/completions' });
    const result = await ask(sdk);
    expect(result).toMatchObject({ ok: true, provider: 'primary' });
    expect(callsPerRequest(g)).toEqual([1]);
    expect(breakerOf(g).consecutiveFailures).toBe(0);
  });
});

describe('streams', () => {
  it('a reset before the first event is retried or falls back: the client sees one clean stream', async () => {
    const { gateway: g, sdk } = await start();
    primary.enqueue({ kind: 'stream-break', afterChunks: 0 }, { path: '/v1/chat/completions', times: Infinity });
    const stream = await sdk.chat.completions.create({ model: 'primary/m', messages, stream: true });
    const { text, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(text).toBe(CONTENT);
    const [calls] = callsPerRequest(g);
    expect(calls).toBeLessThanOrEqual(MAX_CALLS);
  });

  it('a reset mid-stream ends the stream with an error (never a hang) and counts against the key', async () => {
    const { gateway: g, sdk } = await start();
    primary.enqueue({ kind: 'stream-break', afterChunks: 2 }, { path: '/v1/chat/completions' });
    const started = performance.now();
    const stream = await sdk.chat.completions.create({ model: 'primary/m', messages, stream: true });
    const { error } = await drain(stream);
    expect(error).toBeDefined();
    expect(performance.now() - started).toBeLessThanOrEqual(TOTAL_MS + SLACK_MS);
    await g.waitFinished(1);
    expect(callsPerRequest(g)).toEqual([1]); // bytes reached the client: no retry can be spliced in
    expect(breakerOf(g).consecutiveFailures).toBe(1);
  });

  it('a stall mid-stream is cut at idle_ms: an error, then the next request is served', async () => {
    const { gateway: g, sdk } = await start();
    primary.enqueue({ kind: 'slow-stream', chunkDelayMs: IDLE_MS * 3 }, { path: '/v1/chat/completions' });
    const started = performance.now();
    const stream = await sdk.chat.completions.create({ model: 'primary/m', messages, stream: true });
    const { error } = await drain(stream);
    const elapsed = performance.now() - started;
    expect(error).toBeDefined();
    // Not cut early (the idle timer's clock is coarse: allow it half), and long before the stalled chunk.
    expect(elapsed).toBeGreaterThanOrEqual(IDLE_MS / 2);
    expect(elapsed).toBeLessThanOrEqual(IDLE_MS * 3);
    await g.waitFinished(1);
    expect(g.finished[0].attempts[0].error).toMatch(/idle|stalled/);
    expect((await ask(sdk)).ok).toBe(true);
  });
});

describe('a provider at its concurrency limit', () => {
  it("a request queued for a slot waits no longer than its deadline: 504, not the queue's 30 s", async () => {
    gateway = await startRoutingGateway({
      config: {
        providers: {
          // The first provider tried sets the deadline: 1 s.
          quick: {
            type: 'openai-compatible', base_url: primary.openaiBaseUrl, models: ['m'], max_retries: 0,
            keys: [{ name: 'k1', api_key: 'sk-quick' }], timeouts: { total_ms: 1_000 },
          },
          // One slot, held by a hung request; a long queue timeout.
          narrow: {
            type: 'openai-compatible', base_url: backup.openaiBaseUrl, models: ['m'], max_retries: 0,
            keys: [{ name: 'k1', api_key: 'sk-narrow' }], timeouts: { first_byte_ms: 20_000, total_ms: 20_000 },
            concurrency: { max_in_flight: 1, max_queue: 10, queue_timeout_ms: 30_000 },
          },
        },
        routing: { adaptive: { enabled: false }, fallbacks: { 'quick/m': ['narrow/m'] } },
      },
    });
    const g = gateway;
    backup.enqueue({ kind: 'hang' }, { path: '/v1/chat/completions' });
    const release = new AbortController();
    const holder = fetch(`${g.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'narrow/m', messages }), signal: release.signal,
    }).catch(() => undefined);
    await backup.waitForRequests(1, 5_000); // the one slot is taken
    primary.enqueue({ kind: 'error', status: 500 }, { path: '/v1/chat/completions' });
    const started = performance.now();
    const response = await fetch(`${g.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'quick/m', messages }),
    });
    const elapsed = performance.now() - started;
    release.abort(); // the client of the held request goes away: its upstream call is aborted
    await holder;
    expect(response.status).toBe(504);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('request_deadline_exceeded');
    expect(elapsed).toBeLessThanOrEqual(1_000 + SLACK_MS);
    expect(backup.requests).toHaveLength(1); // the queued request never reached the narrow provider
  });
});
