/**
 * The request log end to end: one row per request (under concurrent load too),
 * the fields a row carries, bodies only when enabled (redacted and capped),
 * and /api/logs, /api/logs/stats, /api/logs/{id} with their filters and errors.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ThreadedLogWriter } from '../../src/store/threaded-log-writer.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { apiError, call, chat, startAdminGateway, type AdminGateway } from './helpers.js';

const KEY = 'sk-logs-provider-key-0123456789';
let mock: MockUpstream;
let gw: AdminGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startAdminGateway({
    env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: mock.openaiBaseUrl },
    config: { providers: { openai: { max_retries: 1 } } },
    management: { store: { logs: { flushIntervalMs: 50 } } },
  });
});
afterAll(async () => {
  await gw.close();
  await mock.close();
});
beforeEach(() => mock.reset());

async function logOf(id: string): Promise<Record<string, unknown>> {
  const reply = await call(gw.url, 'GET', `/api/logs/${encodeURIComponent(id)}`);
  expect(reply.status).toBe(200);
  return reply.json;
}

describe('one log row per request', () => {
  it('a chat: provider, model, tokens, timings, attempts; no bodies by default', async () => {
    const reply = await chat(gw.url, 'openai/gpt-4o-mini', {}, { 'x-request-id': 'log-ok-1' });
    expect(reply.status).toBe(200);
    const log = await logOf('log-ok-1');
    expect(log).toMatchObject({
      id: 'log-ok-1', surface: 'openai', route: '/v1/chat/completions', method: 'POST', virtual_key_id: null,
      provider: 'openai', model: 'gpt-4o-mini', requested_model: 'openai/gpt-4o-mini', status: 200,
      input_tokens: 2, output_tokens: 3, cost_known: true, stream: false,
      error_code: null, error_message: null, request_body: null, response_body: null,
      attempts: [{ provider: 'openai', model: 'gpt-4o-mini', key_name: 'default', status: 200 }],
    });
    expect(log.latency_ms as number).toBeGreaterThan(0);
    expect(log.upstream_ms as number).toBeGreaterThan(0);
    expect(log.upstream_ms as number).toBeLessThanOrEqual(log.latency_ms as number);
    expect(log.overhead_us as number).toBeGreaterThanOrEqual(0);
    expect(log.ttft_ms).toBeNull();
    // Priced by governance from the usage (the price table is theirs; an unknown price would be null).
    expect(log.cost_usd as number).toBeGreaterThan(0);
  });

  it('a stream: stream flag, time to first token', async () => {
    const reply = await chat(gw.url, 'openai/gpt-4o-mini', { stream: true, stream_options: { include_usage: true } }, { 'x-request-id': 'log-stream-1' });
    expect(reply.status).toBe(200);
    const log = await logOf('log-stream-1');
    expect(log).toMatchObject({ stream: true, status: 200, input_tokens: 2, output_tokens: 3 });
    expect(log.ttft_ms as number).toBeGreaterThan(0);
  });

  it('a failure after a retry: both attempts with their errors, the error code and message', async () => {
    mock.enqueue({ kind: 'error', status: 503 }, { times: 2 });
    const reply = await chat(gw.url, 'openai/gpt-4o-mini', {}, { 'x-request-id': 'log-fail-1' });
    expect(reply.status).toBe(503);
    const log = await logOf('log-fail-1');
    expect(log).toMatchObject({ status: 503, error_code: 'HD_ERR_UPSTREAM_ERROR', provider: 'openai' });
    expect(log.attempts).toHaveLength(2);
    expect((log.attempts as Array<{ status: number }>).map((a) => a.status)).toEqual([503, 503]);
    expect(typeof log.error_message).toBe('string');
  });

  it('a request refused before any upstream call is logged too (bad body)', async () => {
    const reply = await call(gw.url, 'POST', '/v1/chat/completions', { model: 'nosuch-model', messages: [] }, { 'x-request-id': 'log-400-1' });
    expect(reply.status).toBe(400);
    const log = await logOf('log-400-1');
    expect(log).toMatchObject({
      // Attributed to what was asked for: the one provider enabled would serve the bare name.
      status: 400, error_code: 'HD_ERR_REQUEST_INVALID_FIELD', provider: 'openai', model: 'nosuch-model', attempts: [], upstream_ms: null,
      error_message: "Invalid 'messages': empty array. Expected an array with minimum length 1.",
    });
  });

  it('N concurrent requests produce exactly N rows (written by the log writer thread)', async () => {
    expect(gw.app.store.logs).toBeInstanceOf(ThreadedLogWriter);
    expect((gw.app.store.logs as ThreadedLogWriter).threaded).toBe(true);
    const n = 60;
    const ids = Array.from({ length: n }, (_, i) => `load-${String(i).padStart(3, '0')}`);
    const replies = await Promise.all(ids.map((id) => chat(gw.url, 'openai/gpt-4o-mini', {}, { 'x-request-id': id })));
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    const page = await call(gw.url, 'GET', '/api/logs?q=load-&limit=500');
    // q matches ids exactly only; count the rows by id instead.
    const rows = gw.app.store.db.prepare("SELECT count(*) AS n FROM request_logs WHERE id LIKE 'load-%'").get() as { n: number };
    expect(rows.n).toBe(n);
    expect(page.status).toBe(200);
    const stats = gw.app.store.logs.stats;
    expect(stats.droppedRecords).toBe(0);
    expect(stats.failedBatches).toBe(0);
    expect(stats.batches).toBeGreaterThan(0);
  });
});

describe('request and response bodies', () => {
  it('kept only when logging.bodies is on, redacted and capped', async () => {
    const on = await call(gw.url, 'PATCH', '/api/settings', { logging: { bodies: true, max_body_bytes: 200 } });
    expect(on.status).toBe(200);
    expect(on.json.logging).toMatchObject({ bodies: true, max_body_bytes: 200 });
    try {
      await chat(gw.url, 'openai/gpt-4o-mini', { metadata: { api_key: 'sk-client-secret-0123456789abcdef' }, user: 'u'.repeat(2000) }, { 'x-request-id': 'log-body-1' });
      const log = await logOf('log-body-1');
      const requestBody = log.request_body as string;
      expect(requestBody).not.toContain('sk-client-secret');
      expect(requestBody).toContain('[REDACTED]');
      expect(requestBody).toMatch(/…\[truncated, \d+ bytes total\]$/);
      expect(Buffer.byteLength(requestBody.replace(/…\[truncated.*$/, ''))).toBeLessThanOrEqual(200);
      expect(log.response_body as string).toContain('"object":"chat.completion"');

      // A stream's body is the SSE text the client got.
      await call(gw.url, 'PATCH', '/api/settings', { logging: { max_body_bytes: 65536 } });
      await chat(gw.url, 'openai/gpt-4o-mini', { stream: true }, { 'x-request-id': 'log-body-2' });
      const streamed = await logOf('log-body-2');
      expect(streamed.response_body as string).toMatch(/^data: \{/);
      expect(streamed.response_body as string).toContain('data: [DONE]');
    } finally {
      await call(gw.url, 'PATCH', '/api/settings', { logging: null });
    }
    await chat(gw.url, 'openai/gpt-4o-mini', {}, { 'x-request-id': 'log-body-off' });
    expect(await logOf('log-body-off')).toMatchObject({ request_body: null, response_body: null });
  });
});

describe('GET /api/logs, /api/logs/stats, /api/logs/{id}', () => {
  it('filters by status class and provider, sorts, paginates with a cursor', async () => {
    const errors = await call(gw.url, 'GET', '/api/logs?status_class=4xx');
    expect(errors.status).toBe(200);
    expect(errors.json.data.length).toBeGreaterThan(0);
    expect(errors.json.data.every((row: { status: number }) => row.status >= 400 && row.status < 500)).toBe(true);

    const first = await call(gw.url, 'GET', '/api/logs?provider=openai&limit=5');
    expect(first.json.data).toHaveLength(5);
    expect(typeof first.json.next_cursor).toBe('string');
    const second = await call(gw.url, 'GET', `/api/logs?provider=openai&limit=5&cursor=${first.json.next_cursor}`);
    const ids = [...first.json.data, ...second.json.data].map((row: { id: string }) => row.id);
    expect(new Set(ids).size).toBe(10);
    const times = [...first.json.data, ...second.json.data].map((row: { time: number }) => row.time);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(first.json.data[0]).not.toHaveProperty('request_body');
  });

  it('text search over model and errors; a time range as ISO dates', async () => {
    const found = await call(gw.url, 'GET', '/api/logs?q=empty%20array');
    expect(found.json.data.map((row: { id: string }) => row.id)).toEqual(['log-400-1']);
    const byModel = await call(gw.url, 'GET', '/api/logs?q=4o-mi&limit=500');
    expect(byModel.json.data.length).toBeGreaterThan(60);
    expect(byModel.json.data.every((row: { model: string }) => row.model === 'gpt-4o-mini')).toBe(true);
    const future = await call(gw.url, 'GET', `/api/logs?from=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`);
    expect(future.json).toEqual({ data: [], next_cursor: null });
  });

  it('stats: totals, percentiles and buckets over a range', async () => {
    const to = Date.now() + 1000;
    const stats = await call(gw.url, 'GET', `/api/logs/stats?from=${to - 600_000}&to=${to}&bucket_ms=60000`);
    expect(stats.status).toBe(200);
    expect(stats.json.bucket_ms).toBe(60_000);
    expect(stats.json.buckets).toHaveLength(10);
    const total = stats.json.totals;
    const count = gw.app.store.db.prepare('SELECT count(*) AS n, sum(status >= 400) AS e FROM request_logs').get() as { n: number; e: number };
    expect(total.requests).toBe(count.n);
    expect(total.errors).toBe(count.e);
    expect(total.p50_ms).toBeGreaterThan(0);
    expect(total.p95_ms).toBeGreaterThanOrEqual(total.p50_ms);
    expect(stats.json.buckets.reduce((sum: number, b: { requests: number }) => sum + b.requests, 0)).toBe(count.n);
    expect(stats.json.top_providers[0]).toMatchObject({ provider: 'openai' });
  });

  it('bad query parameters name the field', async () => {
    const cases: Array<[string, string]> = [
      ['/api/logs?status_class=6xx', 'status_class'],
      ['/api/logs?from=yesterday-ish', 'from'],
      ['/api/logs?limit=0', 'limit'],
      ['/api/logs?sort=size', 'sort'],
      ['/api/logs?colour=red', 'colour'],
      ['/api/logs?cursor=garbage', 'cursor'],
      ['/api/logs/stats?from=2000&to=1000', 'from'],
      ['/api/audit?limit=abc', 'limit'],
    ];
    for (const [path, param] of cases) {
      const reply = await call(gw.url, 'GET', path);
      expect(reply.status, path).toBe(400);
      expect(apiError(reply).param, path).toBe(param);
    }
  });

  it('an unknown id is a 404', async () => {
    const reply = await call(gw.url, 'GET', '/api/logs/does-not-exist');
    expect(reply.status).toBe(404);
    expect(apiError(reply)).toMatchObject({ code: 'not_found', param: 'id' });
  });

  it('the provider key is in no log row and no log line', async () => {
    mock.enqueue({ kind: 'error', status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}`, type: 'invalid_request_error' } } });
    await chat(gw.url, 'openai/gpt-4o-mini', {}, { 'x-request-id': 'log-echo-key' });
    const log = await logOf('log-echo-key');
    expect(JSON.stringify(log)).not.toContain(KEY);
    const all = gw.app.store.db.prepare('SELECT * FROM request_logs').all();
    expect(JSON.stringify(all)).not.toContain(KEY);
    expect(gw.logText()).not.toContain(KEY);
  });
});
