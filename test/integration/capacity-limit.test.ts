/**
 * The capacity limit over real sockets (limits.capacity_target_delay_ms, on
 * at 10 ms by default in `heimdall start`).
 *
 * CPU overload: the real CLI in its own process, each request made expensive
 * for it (an Anthropic request to an OpenAI-format upstream whose answer
 * carries thousands of logprobs entries the gateway parses to translate), and
 * an open-loop burst from this process far beyond what it serves on 256
 * connections, its configuration as shipped (the limit on at 10 ms). The
 * provider answers at once: the gateway, one connection accepted per loop
 * turn, leaves most of the 256 in its listen queue, their requests unread (few
 * in flight, as many arriving as completing; the sign is the queue that never
 * empties). With each answer held by the provider (100 or 300 ms: the
 * requests read stay in flight, the in-flight sign), the limit was not set in
 * one run in three or four on a quiet two-core machine, where this test's
 * client and provider share the cores with the gateway; that sign is covered
 * by the controller's unit tests (test/unit/capacity-limit.test.ts).
 * Every request gets an answer: some 200, the rest 503 with
 * Retry-After and its own request id in the caller's format (Anthropic
 * through Fastify, OpenAI through the fast lane), refused before reaching the
 * upstream; the shed count and the limit show in /metrics, and once the burst
 * is over the limit is lifted.
 *
 * Slow upstream: hundreds of requests held by the provider are in flight at
 * once, which costs no CPU: none is refused and no limit is set.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dirs, ensureBuilt, killChildren, removeDirs, startCli } from '../support/cli.js';
import { startGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { scrape, samplesOf, value } from '../telemetry/helpers.js';
import { gate } from '../routing/helpers.js';
import { post, waitFor } from './helpers.js';

const KEY = 'sk-capacity-0123456789abcdef';
const LOGPROBS = 2500;
const BURST_RATE = 2000; // requests a second
const BURST_MS = 1500;

let mock: MockUpstream;
let heavyCalls = 0;
let slowCalls = 0;
let release: ReturnType<typeof gate> | undefined;

/** An OpenAI chat completion with `LOGPROBS` logprobs entries: ~200 KB of small objects to parse. */
function heavyCompletion(): Buffer {
  const content = Array.from({ length: LOGPROBS }, (_, i) => ({ token: `t${i % 97}`, logprob: -0.01 * (i % 13), bytes: [116, 111, 107], top_logprobs: [] }));
  return Buffer.from(JSON.stringify({
    id: 'chatcmpl-heavy',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, logprobs: { content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
  }));
}

beforeAll(async () => {
  ensureBuilt();
  mock = await startMockUpstream();
  const heavy = heavyCompletion();
  mock.route('POST', /^\/heavy\/v1\/chat\/completions$/, (context) => {
    heavyCalls++;
    context.response.writeHead(200, { 'content-type': 'application/json', 'content-length': heavy.length });
    context.response.end(heavy);
  });
  mock.route('POST', /^\/slow\/v1\/chat\/completions$/, async (context) => {
    slowCalls++;
    await release?.promise;
    context.response.writeHead(200, { 'content-type': 'application/json' });
    context.response.end(JSON.stringify({ id: 'chatcmpl-slow', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
  });
}, 180_000);
afterEach(killChildren);
afterAll(async () => {
  await mock.close();
  removeDirs();
});

interface Answer {
  path: string;
  status: number;
  requestId: string | undefined;
  ms: number;
  retryAfter: string | undefined;
  body: string;
}

/** Open loop: `rate` requests a second for `durationMs`, sent on a clock whatever the answers, in turn to each of `calls`; resolves with every answer. */
async function burst(calls: Array<{ url: string; body: string }>, rate: number, durationMs: number): Promise<Answer[]> {
  const target = new URL(calls[0].url);
  // Under server.max_connections_per_client (512) with the other clients of the test.
  const pool = new Pool(target.origin, { connections: 256, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const total = Math.round((rate * durationMs) / 1000);
  const answers: Array<Promise<Answer>> = [];
  const start = performance.now();
  try {
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
        while (answers.length < due) {
          const intended = start + (answers.length * 1000) / rate;
          const call = calls[answers.length % calls.length];
          const path = new URL(call.url).pathname;
          answers.push(pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body: call.body }).then(async (response) => {
            const text = await response.body.text();
            const retryAfter = response.headers['retry-after'];
            const requestId = response.headers['x-request-id'];
            return { path, status: response.statusCode, ms: performance.now() - intended, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined, requestId: typeof requestId === 'string' ? requestId : undefined, body: text };
          }, (error: Error) => ({ path, status: 0, ms: performance.now() - intended, retryAfter: undefined, requestId: undefined, body: error.message })));
        }
        if (answers.length >= total) {
          clearInterval(timer);
          resolve();
        }
      }, 2);
    });
    return await Promise.all(answers);
  } finally {
    await pool.close();
  }
}

/** Polls /metrics until the capacity limit's gauge is 0 (no limit: the loop keeps up); fails after 20 s. */
async function waitForNoLimit(url: string): Promise<void> {
  let limited = true;
  for (const deadline = Date.now() + 20_000; limited && Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const limit = samplesOf(await scrape(url), 'heimdall_capacity_limit_requests_per_second');
    expect(limit).toHaveLength(1);
    limited = limit[0].value > 0;
  }
  expect(limited, 'no capacity limit (the loop keeps up)').toBe(false);
}

describe('CPU overload: the real CLI, a burst far beyond what it serves', () => {
  it('256 connections, the backlog unread in the listen queue: admitted requests are answered, the rest get a 503 with Retry-After, refused before any upstream work; then the limit lifts', async () => {
    await overload();
  }, 120_000);
});

/**
 * The burst against the CLI as shipped: every request answered (200, or 503 with Retry-After in its
 * caller's format), the refused never reaching the upstream, the limit set while overloaded and lifted after.
 */
async function overload(): Promise<void> {
  const configDir = mkdtempSync(join(tmpdir(), 'heimdall-capacity-'));
  dirs.push(configDir);
  const configPath = join(configDir, 'capacity.json');
  // The capacity limit as shipped: on at 10 ms in `heimdall start`.
  writeFileSync(configPath, JSON.stringify({
    providers: { heavy: { type: 'openai-compatible', base_url: `${mock.url}/heavy/v1`, models: ['m'], api_key: KEY, max_retries: 0 } },
  }));
  const gateway = await startCli({}, { logLevel: 'warn', args: ['--config', configPath] });
  const url = `${gateway.url}/anthropic/v1/messages`;
  const body = JSON.stringify({ model: 'heavy/m', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });

  // Warm-up, one at a time (the code paths compiled), until no limit is set.
  for (let i = 0; i < 30; i++) await post(url, body);
  await waitForNoLimit(gateway.url);
  const before = await scrape(gateway.url);
  const upstreamBefore = heavyCalls;

  let limitSeen = false;
  const watcher = setInterval(() => {
    void scrape(gateway.url).then((now) => {
      if (value(now, 'heimdall_capacity_limit_requests_per_second') > 0) limitSeen = true;
    }, () => undefined);
  }, 100);
  // Anthropic calls (routed by Fastify) and OpenAI ones (the fast lane), in turn: each refused in its caller's format.
  const openaiUrl = `${gateway.url}/v1/chat/completions`;
  const openaiBody = JSON.stringify({ model: 'heavy/m', messages: [{ role: 'user', content: 'hi' }] });
  const answers = await burst([{ url, body }, { url: openaiUrl, body: openaiBody }], BURST_RATE, BURST_MS).finally(() => clearInterval(watcher));

  const ok = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status === 503);
  // Every request was answered: served or refused, none lost or timed out. The mock upstream in this
  // busy process may close a kept-alive connection as the gateway reuses it (a 502 that names it): a few.
  const others = answers.filter((a) => a.status !== 200 && a.status !== 503);
  expect(others.filter((a) => !(a.status === 502 && a.body.includes('closed the connection'))).map((a) => `${a.status} ${a.body.slice(0, 200)}`)).toEqual([]);
  expect(others.length).toBeLessThan(answers.length / 100);
  expect(ok.length, 'some requests admitted and answered').toBeGreaterThan(0);
  expect(refused.length, 'some requests refused').toBeGreaterThan(0);
  const refusedAnthropic = refused.filter((a) => a.path === '/anthropic/v1/messages');
  const refusedOpenAI = refused.filter((a) => a.path === '/v1/chat/completions');
  expect(refusedAnthropic.length, 'Anthropic calls refused').toBeGreaterThan(0);
  expect(refusedOpenAI.length, 'OpenAI calls refused').toBeGreaterThan(0);
  for (const answer of refusedAnthropic.slice(0, 20)) {
    expect(answer.retryAfter).toBe('1');
    expect(answer.requestId).toMatch(/^[\w-]{8,}$/);
    const json = JSON.parse(answer.body) as { type: string; error: { type: string; message: string } };
    expect(json).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(json.error.message).toContain('limits.capacity_target_delay_ms');
  }
  for (const answer of refusedOpenAI.slice(0, 20)) {
    expect(answer.retryAfter).toBe('1');
    expect(answer.requestId).toMatch(/^[\w-]{8,}$/);
    const json = JSON.parse(answer.body) as { error: { type: string; code: string; message: string } };
    expect(json.error).toMatchObject({ type: 'api_error', code: 'overloaded' });
    expect(json.error.message).toContain('limits.capacity_target_delay_ms');
  }
  // Distinct ids: the rendered refusal is shared, its x-request-id is each request's own.
  expect(new Set(refused.slice(0, 50).map((a) => a.requestId)).size).toBe(Math.min(50, refused.length));
  // Refused before any work: only the admitted reached the upstream.
  expect(heavyCalls - upstreamBefore).toBeGreaterThanOrEqual(ok.length);
  expect(heavyCalls - upstreamBefore).toBeLessThanOrEqual(ok.length + others.length);
  // How fast a refusal comes back is not asserted here: on a shared machine the requests of a burst wait
  // in the kernel before the process reads them, whichever answer they get (bench/run.mjs --mode
  // overload measures it). What makes it fast is asserted: refused before any upstream work.

  const after = await scrape(gateway.url);
  // Every 503 the client saw is counted; a request refused as its client's connection failed may be
  // counted without the client seeing the answer, so the count is bounded by what was not served.
  const shedOf = (scrapeText: Awaited<ReturnType<typeof scrape>>): number => value(scrapeText, 'heimdall_requests_shed_total', { surface: 'anthropic', reason: 'capacity' })
    + value(scrapeText, 'heimdall_requests_shed_total', { surface: 'openai', reason: 'capacity' });
  const shed = shedOf(after) - shedOf(before);
  expect(shed).toBeGreaterThanOrEqual(refused.length);
  expect(shed).toBeLessThanOrEqual(answers.length - ok.length);
  expect(limitSeen, 'heimdall_capacity_limit_requests_per_second while overloaded').toBe(true);
  // One warn line when it was set, naming the sign of the backlog.
  const setLines = `${gateway.stdout()}\n${gateway.stderr()}`.split('\n').filter((line) => line.includes('capacity limit set'));
  expect(setLines.length).toBeGreaterThan(0);
  for (const line of setLines) expect(['growing', 'held', 'listen_queue']).toContain((JSON.parse(line) as { sign: string }).sign);

  // Once the burst is over the loop keeps up: the limit is lifted and requests pass again.
  await waitForNoLimit(gateway.url);
  expect((await post(url, body)).status).toBe(200);
}

describe('slow upstream: many requests in flight, little CPU', () => {
  it('none is refused and no limit is set (waiting for a provider is not CPU load)', async () => {
    const gateway = await startGateway({
      // The shipped default, set here: the test helper turns the limit off unless a test sets it.
      config: { limits: { capacity_target_delay_ms: 10 }, providers: { slow: { type: 'openai-compatible', base_url: `${mock.url}/slow/v1`, models: ['m'], api_key: KEY, max_retries: 0 } } },
    });
    try {
      // Warm-up (the code paths compiled), until no limit is set.
      release = undefined;
      for (let i = 0; i < 20; i++) await post(`${gateway.url}/v1/chat/completions`, { model: 'slow/m', messages: [{ role: 'user', content: 'hi' }] });
      await waitForNoLimit(gateway.url);
      slowCalls = 0;
      release = gate();
      const before = await scrape(gateway.url);
      const count = 250; // under the gateway's 256 connections to one upstream origin: all reach it
      const replies: Array<ReturnType<typeof post>> = [];
      // 50 a second for 5 s (what a few % of a core serves), all held by the upstream until the last has arrived.
      for (let i = 0; i < count; i++) {
        replies.push(post(`${gateway.url}/v1/chat/completions`, { model: 'slow/m', messages: [{ role: 'user', content: 'hi' }] }));
        if (i % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await waitFor(() => slowCalls >= count, 20_000, 'every request at the upstream');
      expect(gateway.app.gateway.admission.inFlight).toBe(count);
      expect(value(await scrape(gateway.url), 'heimdall_in_flight_requests')).toBe(count);
      // Still held: a second more, and new requests pass.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      release.open();
      const statuses = (await Promise.all(replies)).map((reply) => reply.status);
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
      const after = await scrape(gateway.url);
      expect(value(after, 'heimdall_requests_shed_total') - value(before, 'heimdall_requests_shed_total')).toBe(0);
    } finally {
      release?.open();
      await gateway.close();
    }
  }, 120_000);
});
