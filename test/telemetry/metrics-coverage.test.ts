/**
 * Every metric the issue names moves on a running gateway, by exactly what
 * the requests should move it (metrics-scrape.test.ts covers the request,
 * latency, token, error, retry and fallback basics): cost and cached tokens
 * with opt-in virtual-key labels, unpriced requests, rate-limit and budget
 * rejections, dropped parameters, in-flight requests, queue depth and breaker
 * state while they happen, the log queue, requests refused before the
 * gateway took them up (404, 413), and the Node process metrics.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { post, waitFor, type RawReply } from '../integration/helpers.js';
import { gate, keyedChat, type KeyFault } from '../routing/helpers.js';
import { delta, parseProm, samplesOf, scrape, value } from './helpers.js';

const messages = [{ role: 'user', content: 'count me' }];
let mock: MockUpstream;
let faults: Map<string, KeyFault>;
let gateway: TestGateway;
let counter = 0;

beforeAll(async () => {
  mock = await startMockUpstream();
  faults = keyedChat(mock);
  const compatible = (key: string, models: string[], extra: Record<string, unknown> = {}) => ({
    type: 'openai-compatible', base_url: mock.openaiBaseUrl, models, api_key: key, max_retries: 0, ...extra,
  });
  gateway = await startGateway({
    config: {
      limits: { max_body_bytes: 4096 },
      providers: {
        openai: { api_key: 'sk-coverage-openai-0123456789', base_url: mock.openaiBaseUrl, max_retries: 0 },
        anthropic: { api_key: 'sk-ant-coverage-0123456789', base_url: mock.url, max_retries: 0 },
        local: compatible('sk-local-0123456789', ['free-model']),
        slowp: compatible('sk-slowp-0123456789', ['m'], { concurrency: { max_in_flight: 1, max_queue: 5 } }),
        flaky: compatible('sk-flaky-0123456789', ['m']),
      },
      routing: { circuit_breaker: { failure_threshold: 1, cooldown_ms: 60_000, probe_interval_ms: 0 } },
      governance: { pricing: { 'openai/gpt-4o-mini': { input: 1, cached_input: 0.5, output: 2 } } },
      telemetry: { metrics: { virtual_key_labels: true } },
    },
  });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});

/** Sends one request and waits until it is recorded (its log line comes after the metrics). */
async function send(path: string, body: unknown, headers: Record<string, string> = {}): Promise<RawReply> {
  const id = `coverage-${++counter}`;
  const reply = await post(`${gateway.url}${path}`, body, { 'x-request-id': id, ...headers });
  await waitFor(() => gateway.logs().some((line) => line.msg === 'request' && line.request_id === id), 5000, `the log line of ${id}`);
  return reply;
}

async function virtualKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const reply = await post(`${gateway.url}/api/virtual-keys`, body);
  expect(reply.status, reply.text).toBe(201);
  const json = reply.json as { id: string; key: string };
  return { id: json.id, key: json.key };
}

describe('cost, tokens and virtual-key labels', () => {
  it('a priced request with cached tokens: its cost, its three token types, all under its virtual key', async () => {
    const { id, key } = await virtualKey({ name: 'coverage-team' });
    const usage = { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120, prompt_tokens_details: { cached_tokens: 40 } };
    mock.enqueue({
      kind: 'respond',
      body: {
        id: 'chatcmpl-cached', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: 'from cache' }, finish_reason: 'stop' }], usage,
      },
    }, { path: '/v1/chat/completions' });
    const before = await scrape(gateway.url);
    const reply = await send('/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages }, { authorization: `Bearer ${key}` });
    expect(reply.status).toBe(200);
    const after = await scrape(gateway.url);
    const labels = { provider: 'openai', model: 'gpt-4o-mini', virtual_key: id };
    expect(delta(before, after, 'heimdall_requests_total', { ...labels, surface: 'openai', status_class: '2xx', cache: 'none' })).toBe(1);
    expect(delta(before, after, 'heimdall_tokens_total', { ...labels, type: 'input' })).toBe(100);
    expect(delta(before, after, 'heimdall_tokens_total', { ...labels, type: 'output' })).toBe(20);
    expect(delta(before, after, 'heimdall_tokens_total', { ...labels, type: 'cached' })).toBe(40);
    // 60 fresh prompt tokens at $1/M, 40 cached at $0.50/M, 20 output at $2/M.
    expect(delta(before, after, 'heimdall_cost_usd_total', labels)).toBeCloseTo((60 * 1 + 40 * 0.5 + 20 * 2) / 1e6, 12);
    expect(delta(before, after, 'heimdall_cost_unknown_requests_total')).toBe(0);
  });

  it('a request without a virtual key reads virtual_key="none"; a model without a price counts as unpriced', async () => {
    const before = await scrape(gateway.url);
    expect((await send('/v1/chat/completions', { model: 'local/free-model', messages })).status).toBe(200);
    const after = await scrape(gateway.url);
    expect(delta(before, after, 'heimdall_requests_total', { provider: 'local', model: 'free-model', virtual_key: 'none' })).toBe(1);
    expect(delta(before, after, 'heimdall_cost_unknown_requests_total', { provider: 'local', model: 'free-model' })).toBe(1);
    expect(delta(before, after, 'heimdall_cost_usd_total')).toBe(0);
  });
});

describe('rejections and dropped parameters', () => {
  it('a rate limit and a spent budget: one rejection each, by scope and limit, under the key', async () => {
    const limited = await virtualKey({ name: 'coverage-rpm', rate_limits: [{ requests: 1, window: '1h' }] });
    const broke = await virtualKey({ name: 'coverage-broke', budget: { max_usd: 0 } });
    const before = await scrape(gateway.url);
    const body = { model: 'openai/gpt-4o-mini', messages };
    expect((await send('/v1/chat/completions', body, { authorization: `Bearer ${limited.key}` })).status).toBe(200);
    expect((await send('/v1/chat/completions', body, { authorization: `Bearer ${limited.key}` })).status).toBe(429);
    expect((await send('/v1/chat/completions', body, { authorization: `Bearer ${broke.key}` })).status).toBe(402);
    const after = await scrape(gateway.url);
    expect(delta(before, after, 'heimdall_rate_limit_rejections_total', { scope: 'virtual_key', limit: 'requests', virtual_key: limited.id })).toBe(1);
    expect(delta(before, after, 'heimdall_rate_limit_rejections_total')).toBe(1);
    expect(delta(before, after, 'heimdall_budget_rejections_total', { scope: 'virtual_key', virtual_key: broke.id })).toBe(1);
    expect(delta(before, after, 'heimdall_budget_rejections_total')).toBe(1);
    // The refused requests are requests too: 4xx, under the provider and model they asked for.
    expect(delta(before, after, 'heimdall_requests_total', { provider: 'openai', model: 'gpt-4o-mini', status_class: '4xx' })).toBe(2);
    expect(delta(before, after, 'heimdall_requests_total', { provider: 'none', status_class: '4xx' })).toBe(0);
  });

  it('a parameter the target cannot take is dropped and counted', async () => {
    const before = await scrape(gateway.url);
    const reply = await send('/v1/chat/completions', { model: 'anthropic/claude-sonnet-4-5', messages, service_tier: 'flex' });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-heimdall-warnings']).toMatch(/^service_tier: /);
    const after = await scrape(gateway.url);
    expect(delta(before, after, 'heimdall_dropped_params_total', { provider: 'anthropic', param: 'service_tier' })).toBe(1);
    expect(delta(before, after, 'heimdall_dropped_params_total')).toBe(1);
  });
});

describe('live state at scrape time', () => {
  it('in-flight requests and queue depth while a provider is saturated; all back to 0 after', async () => {
    const held = gate();
    faults.set('sk-slowp-0123456789', { until: held.promise });
    const pending = [send('/v1/chat/completions', { model: 'slowp/m', messages })];
    await mock.waitForRequests(1, 10_000);
    pending.push(send('/v1/chat/completions', { model: 'slowp/m', messages }));
    await waitFor(() => gateway.app.gateway.concurrency.get('slowp')?.queued === 1, 10_000, 'the second request to queue');
    const busy = await scrape(gateway.url);
    expect(value(busy, 'heimdall_in_flight_requests')).toBe(2);
    expect(value(busy, 'heimdall_provider_in_flight_requests', { provider: 'slowp' })).toBe(1);
    expect(value(busy, 'heimdall_provider_queue_depth', { provider: 'slowp' })).toBe(1);
    held.open();
    expect((await Promise.all(pending)).map((r) => r.status)).toEqual([200, 200]);
    faults.clear();
    const idle = await scrape(gateway.url);
    expect(value(idle, 'heimdall_in_flight_requests')).toBe(0);
    expect(value(idle, 'heimdall_provider_in_flight_requests', { provider: 'slowp' })).toBe(0);
    expect(value(idle, 'heimdall_provider_queue_depth', { provider: 'slowp' })).toBe(0);
  });

  it('a key whose circuit opens: its breaker gauge goes from 0 (closed) to 2 (open)', async () => {
    const before = await scrape(gateway.url);
    expect(value(before, 'heimdall_circuit_breaker_state', { provider: 'flaky', key: 'default' })).toBe(0);
    faults.set('sk-flaky-0123456789', { status: 500, times: 1 });
    expect((await send('/v1/chat/completions', { model: 'flaky/m', messages })).status).toBe(500);
    const after = await scrape(gateway.url);
    expect(value(after, 'heimdall_circuit_breaker_state', { provider: 'flaky', key: 'default' })).toBe(2);
    expect(delta(before, after, 'heimdall_upstream_errors_total', { provider: 'flaky', status: '500' })).toBe(1);
  });

  it('the request-log queue: depth and drops, read from the store', async () => {
    const now = await scrape(gateway.url);
    expect(now.types.get('heimdall_log_queue_depth')).toBe('gauge');
    expect(samplesOf(now, 'heimdall_log_dropped_total').map((s) => s.labels.what).sort()).toEqual(['bodies', 'records']);
    expect(value(now, 'heimdall_log_dropped_total')).toBe(0);
  });
});

describe('requests refused before the gateway took them up', () => {
  it('404 for an unknown route and 413 for a body over the limit count on their surface; other paths do not', async () => {
    const before = await scrape(gateway.url);
    expect((await send('/v1/chat/completion', { model: 'openai/gpt-4o-mini', messages })).status).toBe(404);
    const big = { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(5000) }] };
    // Any other /anthropic/* path is Anthropic's own (native pass-through): a refusal there is a body over the limit.
    expect((await send('/anthropic/v1/messages', big)).status).toBe(413);
    expect((await send('/v1/chat/completions', big)).status).toBe(413);
    // The same body sent in chunks (no Content-Length) is cut at the limit too.
    const chunked = await request(`${gateway.url}/genai/v1beta/models/x:generateContent`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: Readable.from([Buffer.from(JSON.stringify(big))]),
    });
    await chunked.body.text();
    expect(chunked.statusCode).toBe(413);
    expect((await post(`${gateway.url}/api/no-such-route`, {})).status).toBe(404);
    expect((await request(`${gateway.url}/metrics/nope`)).statusCode).toBe(404);
    await waitFor(() => gateway.logs().filter((l) => l.msg === 'request' && l.status === 413).length >= 3, 5000, 'the 413 log lines');
    const after = await scrape(gateway.url);
    const refused = { provider: 'none', model: 'none', cache: 'none', virtual_key: 'none' };
    expect(delta(before, after, 'heimdall_requests_total', { ...refused, surface: 'openai', status_class: '4xx' })).toBe(2);
    expect(delta(before, after, 'heimdall_requests_total', { ...refused, surface: 'anthropic', status_class: '4xx' })).toBe(1);
    expect(delta(before, after, 'heimdall_requests_total', { ...refused, surface: 'gemini', status_class: '4xx' })).toBe(1);
    expect(delta(before, after, 'heimdall_requests_total')).toBe(4);
    // Each still has its one log line, with its request id.
    const lines = gateway.logs().filter((l) => l.msg === 'request' && (l.status === 404 || l.status === 413));
    expect(lines.filter((l) => l.route === '/v1/chat/completion')).toHaveLength(1);
    expect(lines.every((l) => typeof l.request_id === 'string' && (l.request_id as string).length > 0)).toBe(true);
  });
});

describe('Node process metrics', () => {
  it('memory, CPU, event loop lag and GC, prefixed heimdall_', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'heimdall-process-metrics-'));
    const config = loadConfig({ env: {}, config: {}, overrides: { port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent' } });
    const app = await buildApp(config, { logger: createLogger({ level: 'silent' }), processMetrics: true });
    try {
      const reply = await app.inject({ method: 'GET', url: '/metrics' });
      const metrics = parseProm(reply.body);
      expect(value(metrics, 'heimdall_process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(value(metrics, 'heimdall_nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
      expect(metrics.types.get('heimdall_process_cpu_seconds_total')).toBe('counter');
      expect(metrics.types.get('heimdall_nodejs_eventloop_lag_seconds')).toBe('gauge');
      expect(metrics.types.get('heimdall_nodejs_gc_duration_seconds')).toBe('histogram');
    } finally {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
