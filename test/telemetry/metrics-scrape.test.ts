/**
 * GET /metrics on a running gateway: scrape, send known requests through the
 * real app to the mock upstream, scrape again, and check that each counter
 * and histogram count moved by exactly what those requests should move it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { post, sseEvents, waitFor, type RawReply } from '../integration/helpers.js';
import { delta, scrape, value, type Scrape } from './helpers.js';

const messages = [{ role: 'user', content: 'hello metrics world' }];
let mock: MockUpstream;
let gateway: TestGateway;
let counter = 0;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startGateway({
    env: { OPENAI_API_KEY: 'sk-metrics-test-0123456789', OPENAI_BASE_URL: mock.openaiBaseUrl },
    config: {
      providers: {
        openai: { max_retries: 1 },
        backup: { type: 'openai', base_url: mock.openaiBaseUrl, api_key: 'sk-metrics-backup-0123456789', max_retries: 0 },
      },
    },
  });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});

/** Sends one request and waits until the gateway has recorded it (its log line is written after metrics). */
async function send(path: string, body: unknown): Promise<RawReply> {
  const id = `metrics-${++counter}`;
  const reply = await post(`${gateway.url}${path}`, body, { 'x-request-id': id });
  await waitFor(() => gateway.logs().some((line) => line.msg === 'request' && line.request_id === id), 10_000, `the log line of ${id}`);
  return reply;
}

const OK = { surface: 'openai', provider: 'openai', model: 'gpt-4o-mini', status_class: '2xx', cache: 'none' };

describe('GET /metrics', () => {
  it('is Prometheus text with the heimdall_ metrics', async () => {
    const first = await scrape(gateway.url);
    expect(first.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of ['heimdall_requests_total', 'heimdall_overhead_seconds', 'heimdall_in_flight_requests', 'heimdall_provider_in_flight_requests']) {
      expect(first.types.has(name)).toBe(true);
    }
  });

  it('a non-stream chat: one request, one duration each, its tokens', async () => {
    const before = await scrape(gateway.url);
    const reply = await send('/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages });
    expect(reply.status).toBe(200);
    const usage = (reply.json as { usage: { prompt_tokens: number; completion_tokens: number } }).usage;
    const after = await scrape(gateway.url);
    expect(delta(before, after, 'heimdall_requests_total', OK)).toBe(1);
    expect(delta(before, after, 'heimdall_requests_total')).toBe(1);
    expect(delta(before, after, 'heimdall_request_duration_seconds_count', { surface: 'openai', provider: 'openai' })).toBe(1);
    expect(delta(before, after, 'heimdall_upstream_duration_seconds_count', { provider: 'openai' })).toBe(1);
    expect(delta(before, after, 'heimdall_overhead_seconds_count', { surface: 'openai' })).toBe(1);
    expect(delta(before, after, 'heimdall_overhead_seconds_bucket', { surface: 'openai', le: '+Inf' })).toBe(1);
    expect(delta(before, after, 'heimdall_time_to_first_token_seconds_count')).toBe(0);
    expect(delta(before, after, 'heimdall_tokens_total', { provider: 'openai', model: 'gpt-4o-mini', type: 'input' })).toBe(usage.prompt_tokens);
    expect(delta(before, after, 'heimdall_tokens_total', { provider: 'openai', model: 'gpt-4o-mini', type: 'output' })).toBe(usage.completion_tokens);
    expect(delta(before, after, 'heimdall_upstream_errors_total')).toBe(0);
    expect(delta(before, after, 'heimdall_retries_total')).toBe(0);
    // the gateway's own time is a small part of the whole
    expect(delta(before, after, 'heimdall_overhead_seconds_sum')).toBeLessThan(delta(before, after, 'heimdall_request_duration_seconds_sum'));
    expect(value(after, 'heimdall_in_flight_requests')).toBe(0);
  });

  it('a stream: time to first token once, usage from the last chunk', async () => {
    const before = await scrape(gateway.url);
    const reply = await send('/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } });
    expect(reply.status).toBe(200);
    const last = sseEvents(reply.text).filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as { usage?: { completion_tokens: number } }).at(-1);
    const after = await scrape(gateway.url);
    expect(delta(before, after, 'heimdall_requests_total', OK)).toBe(1);
    expect(delta(before, after, 'heimdall_time_to_first_token_seconds_count', { provider: 'openai' })).toBe(1);
    expect(delta(before, after, 'heimdall_tokens_total', { type: 'output' })).toBe(last?.usage?.completion_tokens);
    expect(delta(before, after, 'heimdall_request_duration_seconds_count')).toBe(1);
  });

  it('a request refused before any upstream call: provider "none", no upstream time', async () => {
    const before = await scrape(gateway.url);
    const reply = await send('/v1/chat/completions', { model: 'nosuchprovider/some-model', messages });
    expect(reply.status).toBe(404);
    const after = await scrape(gateway.url);
    expect(delta(before, after, 'heimdall_requests_total', { provider: 'none', model: 'none', status_class: '4xx' })).toBe(1);
    expect(delta(before, after, 'heimdall_requests_total')).toBe(1);
    expect(delta(before, after, 'heimdall_upstream_duration_seconds_count')).toBe(0);
    expect(delta(before, after, 'heimdall_overhead_seconds_count')).toBe(1);
  });

  it('a 500 then a retry that succeeds: one upstream error, one retry, one 2xx', async () => {
    mock.enqueue({ kind: 'error', status: 500, headers: { 'retry-after-ms': '0' } }, { path: '/v1/chat/completions' });
    const before = await scrape(gateway.url);
    const reply = await send('/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-heimdall-attempts']).toBe('2');
    const after = await scrape(gateway.url);
    expect(delta(before, after, 'heimdall_upstream_errors_total', { provider: 'openai', status: '500' })).toBe(1);
    expect(delta(before, after, 'heimdall_upstream_errors_total')).toBe(1);
    expect(delta(before, after, 'heimdall_retries_total', { provider: 'openai' })).toBe(1);
    expect(delta(before, after, 'heimdall_fallbacks_total')).toBe(0);
    expect(delta(before, after, 'heimdall_requests_total', OK)).toBe(1);
    expect(delta(before, after, 'heimdall_upstream_duration_seconds_count', { provider: 'openai' })).toBe(1);
  });

  it('a failed provider and a fallback to another: one fallback, served by the second', async () => {
    mock.enqueue({ kind: 'error', status: 400, body: { error: { message: 'bad', type: 'invalid_request_error', code: null, param: null } } }, { path: '/v1/chat/completions' });
    mock.enqueue({ kind: 'error', status: 503 }, { path: '/v1/chat/completions', times: 2 });
    const before = await scrape(gateway.url);
    // 400 is final: no retry, no fallback.
    const refused = await send('/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages, fallbacks: ['backup/gpt-4o-mini'] });
    expect(refused.status).toBe(400);
    // 503, retried once (max_retries 1) with 503 again, then the fallback serves it.
    const reply = await send('/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages, fallbacks: ['backup/gpt-4o-mini'] });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-heimdall-provider']).toBe('backup');
    const after = await scrape(gateway.url);
    expect(delta(before, after, 'heimdall_upstream_errors_total', { provider: 'openai', status: '400' })).toBe(1);
    expect(delta(before, after, 'heimdall_upstream_errors_total', { provider: 'openai', status: '503' })).toBe(2);
    expect(delta(before, after, 'heimdall_fallbacks_total', { from_provider: 'openai', to_provider: 'backup' })).toBe(1);
    expect(delta(before, after, 'heimdall_fallbacks_total')).toBe(1);
    expect(delta(before, after, 'heimdall_requests_total', { provider: 'openai', status_class: '4xx' })).toBe(1);
    expect(delta(before, after, 'heimdall_requests_total', { provider: 'backup', status_class: '2xx' })).toBe(1);
  }, 15_000);

  it('other surfaces are counted under their own label', async () => {
    const before: Scrape = await scrape(gateway.url);
    const reply = await send('/anthropic/v1/messages', { model: 'openai/gpt-4o-mini', max_tokens: 50, messages });
    expect(reply.status).toBe(200);
    const after = await scrape(gateway.url);
    expect(delta(before, after, 'heimdall_requests_total', { ...OK, surface: 'anthropic' })).toBe(1);
    expect(delta(before, after, 'heimdall_overhead_seconds_count', { surface: 'anthropic' })).toBe(1);
  });

  it('per-provider in-flight and queue depth, breaker state per key: read from the router', async () => {
    const now = await scrape(gateway.url);
    const providers = now.samples.filter((s) => s.name === 'heimdall_provider_in_flight_requests').map((s) => s.labels.provider);
    expect(providers).toEqual(expect.arrayContaining(['backup', 'openai']));
    expect(value(now, 'heimdall_provider_in_flight_requests')).toBe(0);
    expect(value(now, 'heimdall_provider_queue_depth')).toBe(0);
    const breakers = now.samples.filter((s) => s.name === 'heimdall_circuit_breaker_state');
    expect(breakers.map((s) => s.labels.provider).sort()).toEqual(['backup', 'openai']);
    for (const breaker of breakers) {
      expect(breaker.labels.key).toBeTruthy();
      expect([0, 1, 2]).toContain(breaker.value);
    }
  });
});
