/**
 * Retries against injected faults, asserting every attempt (provider, key,
 * status): 429 with Retry-After, 500s, resets before and after the first byte
 * of a stream, hanging upstreams, and the retry going to another key.
 */
import { performance } from 'node:perf_hooks';
import { InternalServerError, RateLimitError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { splitWords, startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { client, CONTENT, drain, keyedChat, keyOf, messages, startRoutingGateway, type KeyFault, type RoutingGateway } from './helpers.js';

let mock: MockUpstream;
let faults: Map<string, KeyFault>;
/** One key: retries go back to it. */
let solo: RoutingGateway;
/** Two keys: a retry goes to the other one first. */
let duo: RoutingGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  faults = keyedChat(mock);
  const provider = {
    type: 'openai-compatible',
    base_url: mock.openaiBaseUrl,
    models: ['gpt-4o-mini'],
    max_retries: 2,
    retry_budget_ms: 5000,
    // Far above the mock's answer time even on a loaded machine, so only the injected hangs time out.
    timeouts: { first_byte_ms: 1000, idle_ms: 1000 },
  };
  // Breakers stay out of the way here (breaker.test.ts covers them).
  const routing = { circuit_breaker: { failure_threshold: 100 }, adaptive: { enabled: false } };
  [solo, duo] = await Promise.all([
    startRoutingGateway({ config: { providers: { solo: { ...provider, keys: [{ name: 'k1', api_key: 'sk-1' }] } }, routing } }),
    startRoutingGateway({ config: { providers: { duo: { ...provider, keys: [{ name: 'k1', api_key: 'sk-1' }, { name: 'k2', api_key: 'sk-2' }] } }, routing } }),
  ]);
});
afterAll(async () => {
  await Promise.all([solo.close(), duo.close()]);
  await mock.close();
});
beforeEach(() => {
  mock.reset();
  faults.clear();
});

describe('429 with Retry-After', () => {
  it('waits exactly Retry-After, then the same key serves', async () => {
    mock.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '1' } });
    const started = performance.now();
    const { data, response } = await client(solo.url).chat.completions.create({ model: 'solo/gpt-4o-mini', messages }).withResponse();
    const elapsed = performance.now() - started;
    expect(data.choices[0].message.content).toBe(CONTENT);
    expect(response.headers.get('x-heimdall-attempts')).toBe('2');
    expect(solo.lastAttempts()).toEqual([['solo', 'k1', 429], ['solo', 'k1', 200]]);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(5000);
    expect(mock.requests[1].receivedAt - mock.requests[0].receivedAt).toBeGreaterThanOrEqual(950);
  });

  it('a Retry-After longer than the retry budget fails fast with the upstream 429', async () => {
    mock.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '30' }, body: { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } } });
    const started = performance.now();
    const error = await client(solo.url).chat.completions.create({ model: 'solo/gpt-4o-mini', messages }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(3000); // not the 30 s asked
    expect(error).toBeInstanceOf(RateLimitError);
    const e = error as RateLimitError;
    expect(e.headers.get('retry-after')).toBe('30');
    expect(e.error).toEqual({ message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' });
    expect(solo.lastAttempts()).toEqual([['solo', 'k1', 429]]);
    expect(mock.requests).toHaveLength(1);
  });

  it('with two keys, the retry goes to the other key at once', async () => {
    mock.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '30' } });
    const started = performance.now();
    const data = await client(duo.url).chat.completions.create({ model: 'duo/gpt-4o-mini', messages });
    expect(performance.now() - started).toBeLessThan(3000); // not the 30 s the first key asked
    expect(data.choices[0].message.content).toBe(CONTENT);
    const attempts = duo.lastAttempts();
    expect(attempts.map(([provider, , status]) => [provider, status])).toEqual([['duo', 429], ['duo', 200]]);
    expect(new Set(attempts.map(([, key]) => key))).toEqual(new Set(['k1', 'k2']));
    expect(mock.requests.map((r) => keyOf(r.headers.authorization))).toEqual(attempts.map(([, key]) => (key === 'k1' ? 'sk-1' : 'sk-2')));
  });
});

describe('500s', () => {
  it('retried with backoff on the one key, up to max_retries (2)', async () => {
    mock.enqueue({ kind: 'error', status: 500 }, { times: 2 });
    const data = await client(solo.url).chat.completions.create({ model: 'solo/gpt-4o-mini', messages });
    expect(data.choices[0].message.content).toBe(CONTENT);
    expect(solo.lastAttempts()).toEqual([['solo', 'k1', 500], ['solo', 'k1', 500], ['solo', 'k1', 200]]);
    const gaps = [mock.requests[1].receivedAt - mock.requests[0].receivedAt, mock.requests[2].receivedAt - mock.requests[1].receivedAt];
    expect(gaps[0]).toBeGreaterThanOrEqual(350); // 500 ms minus up to 25% jitter
    expect(gaps[1]).toBeGreaterThanOrEqual(700); // then 1 s
  });

  it('always 500: the upstream 500 after 1 + 2 attempts, each with its error', async () => {
    mock.enqueue({ kind: 'error', status: 500 }, { times: Infinity });
    const error = await client(solo.url).chat.completions.create({ model: 'solo/gpt-4o-mini', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect((error as InternalServerError).headers.get('x-heimdall-attempts')).toBe('3');
    expect(solo.lastAttempts()).toEqual([['solo', 'k1', 500], ['solo', 'k1', 500], ['solo', 'k1', 500]]);
    const last = solo.finished.at(-1)!;
    expect(last.attempts.every((a) => a.error === 'Mock upstream error (HTTP 500)' && a.failure === 'http')).toBe(true);
  });

  it('with two keys: both keys once (no wait between), then the same key again after its Retry-After', async () => {
    mock.enqueue({ kind: 'error', status: 500, headers: { 'retry-after-ms': '1500' } }, { times: Infinity });
    const error = await client(duo.url).chat.completions.create({ model: 'duo/gpt-4o-mini', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    const attempts = duo.lastAttempts();
    expect(attempts.map(([, , status]) => status)).toEqual([500, 500, 500]);
    expect(attempts[0][1]).not.toBe(attempts[1][1]);
    expect(mock.requests[2].receivedAt - mock.requests[1].receivedAt).toBeGreaterThanOrEqual(1450); // a tried key: its Retry-After
    // The request slept once (before the third attempt), not before the second: the other key went at once.
    // waitMs counts only retry sleeps; a second 1.5 s sleep would put it at 3 s or more.
    const waited = duo.finished.at(-1)!.waitMs;
    expect(waited).toBeGreaterThanOrEqual(1450);
    expect(waited).toBeLessThan(2950);
  });
});

describe('streams', () => {
  it('a connection reset before the first byte is retried; the client sees one clean stream', async () => {
    mock.enqueue({ kind: 'reset' });
    const { data: stream, response } = await client(solo.url).chat.completions.create({ model: 'solo/gpt-4o-mini', messages, stream: true }).withResponse();
    expect(response.headers.get('x-heimdall-attempts')).toBe('2');
    const { text, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(text).toBe(CONTENT);
    expect(solo.lastAttempts()).toEqual([['solo', 'k1', null], ['solo', 'k1', 200]]);
    expect(solo.finished.at(-1)!.attempts[0]).toMatchObject({ failure: 'network', error: expect.stringMatching(/reset|closed|socket/i) });
  });

  it('a stream that hangs after its headers is cut at idle_ms before its first byte, and retried', async () => {
    faults.set('sk-1', { hangAfterHeaders: true, times: 1 });
    const started = performance.now();
    const stream = await client(solo.url).chat.completions.create({ model: 'solo/gpt-4o-mini', messages, stream: true });
    const { text, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(text).toBe(CONTENT);
    // Cut at idle_ms (1 s), not sooner; the SDK's own 15 s timeout never came into play.
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(12_000);
    expect(solo.lastAttempts()).toEqual([['solo', 'k1', 200], ['solo', 'k1', 200]]);
    expect(solo.finished.at(-1)!.attempts[0]).toMatchObject({ failure: 'timeout', error: 'response stalled longer than the idle timeout' });
  });

  it('a connection reset mid-stream is never retried once a byte reached the client', async () => {
    mock.enqueue({ kind: 'stream-break', afterChunks: 3 });
    const stream = await client(solo.url).chat.completions.create({ model: 'solo/gpt-4o-mini', messages, stream: true });
    const { text, error } = await drain(stream);
    expect(text).toBe(splitWords(CONTENT).slice(0, 2).join(''));
    expect(error).toBeInstanceOf(Error);
    await solo.waitFinished(solo.finished.length);
    expect(mock.requests).toHaveLength(1);
    expect(solo.lastAttempts()).toEqual([['solo', 'k1', 200]]);
    expect(solo.finished.at(-1)!.attempts[0].error).toMatch(/^upstream stream failed: /);
    // It still counts against the key.
    expect(solo.app.gateway.health.get('solo', 'k1')!.lastError).toMatch(/^upstream stream failed: /);
  });
});

describe('a hanging upstream', () => {
  it('is cut off at first_byte_ms, counts as a failure of the key, and the retry serves', async () => {
    mock.enqueue({ kind: 'hang' });
    const failuresBefore = solo.app.gateway.health.get('solo', 'k1')!.failures;
    const started = performance.now();
    const data = await client(solo.url).chat.completions.create({ model: 'solo/gpt-4o-mini', messages });
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000); // first_byte_ms, then the retry
    expect(data.choices[0].message.content).toBe(CONTENT);
    expect(solo.lastAttempts()).toEqual([['solo', 'k1', null], ['solo', 'k1', 200]]);
    expect(solo.finished.at(-1)!.attempts[0]).toMatchObject({ failure: 'timeout', error: 'no response before the first-byte timeout' });
    expect(solo.app.gateway.health.get('solo', 'k1')!.failures).toBe(failuresBefore + 1);
    expect(mock.requests[0].aborted).toBe(true);
  });

  it('every attempt hangs: 504 after 1 + max_retries attempts, each cut at first_byte_ms', async () => {
    mock.enqueue({ kind: 'hang' }, { times: Infinity });
    const started = performance.now();
    const error = await client(solo.url).chat.completions.create({ model: 'solo/gpt-4o-mini', messages }).catch((e: unknown) => e);
    expect((error as InternalServerError).status).toBe(504);
    // 3 x 1 s cut-offs + backoff (0.5 s and 1 s, minus up to 25% jitter); well before the SDK's 15 s timeout.
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(3000 + 375 + 750);
    expect(elapsed).toBeLessThan(14_000);
    expect(solo.lastAttempts()).toEqual([['solo', 'k1', null], ['solo', 'k1', null], ['solo', 'k1', null]]);
    expect(solo.finished.at(-1)!.attempts.every((a) => a.failure === 'timeout' && a.error === 'no response before the first-byte timeout')).toBe(true);
    expect(mock.requests.every((r) => r.aborted)).toBe(true);
  });
});

describe('the total timeout', () => {
  let timed: RoutingGateway;
  beforeAll(async () => {
    timed = await startRoutingGateway({
      config: {
        providers: {
          // The first event comes at once, then one every 500 ms: the cut at 1.5 s lands mid-stream (it needs 2.5 s).
          tt: { type: 'openai-compatible', base_url: mock.openaiBaseUrl, models: ['m'], api_key: 'sk-tt', timeouts: { idle_ms: 5000, total_ms: 1500 }, concurrency: { max_in_flight: 4 } },
        },
      },
    });
  });
  afterAll(async () => {
    await timed.close();
  });

  it('cuts a stream that runs past total_ms: an error event, a failure of the key, the slot given back', async () => {
    mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 500 });
    const stream = await client(timed.url).chat.completions.create({ model: 'tt/m', messages, stream: true });
    const { text, error } = await drain(stream);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/total timeout/);
    expect(CONTENT.startsWith(text)).toBe(true);
    expect(text.length).toBeLessThan(CONTENT.length);
    await timed.waitFinished(1);
    expect(timed.lastAttempts()).toEqual([['tt', 'default', 200]]);
    expect(timed.finished[0].attempts[0].error).toBe('upstream timeout: no complete response before the total timeout');
    const core = timed.app.gateway;
    expect(core.health.get('tt', 'tt#0')!.failures).toBe(1);
    expect(core.concurrency.get('tt')!.inFlight).toBe(0);
    expect(mock.requests).toHaveLength(1); // a stream under way is never retried
  });
});
