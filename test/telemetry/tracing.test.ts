/**
 * OpenTelemetry tracing end to end: the gateway exports over OTLP/HTTP to a
 * loopback receiver; the test reads the spans back and checks their names,
 * attributes, parent-child links, the caller's trace continued from its
 * traceparent, and the traceparent the upstream received.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { post, waitFor, type RawReply } from '../integration/helpers.js';

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
const messages = [{ role: 'user', content: 'hello trace world' }];

let mock: MockUpstream;
let otlp: OtlpReceiver;
let gateway: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  otlp = await startOtlpReceiver();
  gateway = await startGateway({
    env: {
      OPENAI_API_KEY: 'sk-trace-test-0123456789',
      OPENAI_BASE_URL: mock.openaiBaseUrl,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_SERVICE_NAME: 'heimdall-under-test',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,team=ai%20platform',
    },
    config: { providers: { openai: { max_retries: 1 }, anthropic: { api_key: 'sk-ant-trace-test-0123456789', base_url: mock.url, max_retries: 0 } } },
  });
});
afterAll(async () => {
  await gateway.close();
  await otlp.close();
  await mock.close();
});

function hex(length: number, seed: number): string {
  let out = '';
  while (out.length < length) out += ((seed * 2654435761 + out.length) >>> 0).toString(16).padStart(8, '0');
  return out.slice(0, length);
}

/** Sends a request, waits for its log line, flushes the exporter, returns the reply and the spans of its trace. */
async function traced(id: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ reply: RawReply; spans: ReceivedSpan[]; line: Record<string, unknown> }> {
  const reply = await post(`${gateway.url}${path}`, body, { 'x-request-id': id, ...headers });
  await waitFor(() => gateway.logs().some((l) => l.msg === 'request' && l.request_id === id), 10_000, `the log line of ${id}`);
  const line = gateway.logs().find((l) => l.msg === 'request' && l.request_id === id)!;
  await gateway.app.telemetry.flush();
  const traceId = line.trace_id as string;
  const spans = await otlp.waitForSpans((all) => all.some((s) => s.traceId === traceId && s.kind === SERVER));
  return { reply, spans: spans.filter((s) => s.traceId === traceId), line };
}

function upstreamRequests(id: string) {
  return mock.requests.filter((r) => r.headers['x-request-id'] === id);
}

describe('tracing', () => {
  it('continues the caller\'s trace: server span, attempt span, traceparent upstream', async () => {
    const traceId = hex(32, 1);
    const parentId = hex(16, 2);
    const { reply, spans, line } = await traced('trace-basic', '/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages }, {
      traceparent: `00-${traceId}-${parentId}-01`,
    });
    expect(reply.status).toBe(200);
    expect(line.trace_id).toBe(traceId);
    expect(spans).toHaveLength(2);
    const server = spans.find((s) => s.kind === SERVER)!;
    const attempt = spans.find((s) => s.kind === CLIENT)!;

    expect(server.name).toBe('POST /v1/chat/completions');
    expect(server.traceId).toBe(traceId);
    expect(server.parentSpanId).toBe(parentId);
    expect(server.status.code).not.toBe(ERROR);
    const usage = (reply.json as { usage: { prompt_tokens: number; completion_tokens: number } }).usage;
    expect(server.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/chat/completions',
      'http.response.status_code': 200,
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'openai/gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.provider.name': 'openai',
      'gen_ai.system': 'openai',
      'gen_ai.usage.input_tokens': usage.prompt_tokens,
      'gen_ai.usage.output_tokens': usage.completion_tokens,
      'gen_ai.response.finish_reasons': ['stop'],
      'heimdall.request_id': 'trace-basic',
      'heimdall.surface': 'openai',
      'heimdall.provider': 'openai',
      'heimdall.attempts': 1,
      'heimdall.cache': 'none',
      'heimdall.stream': false,
    });
    expect(typeof server.attributes['heimdall.overhead_ms']).toBe('number');

    expect(attempt.name).toBe('chat gpt-4o-mini');
    expect(attempt.parentSpanId).toBe(server.spanId);
    expect(attempt.traceId).toBe(traceId);
    const port = Number(new URL(mock.url).port);
    expect(attempt.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': usage.prompt_tokens,
      'gen_ai.usage.output_tokens': usage.completion_tokens,
      'gen_ai.response.finish_reasons': ['stop'],
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'server.port': port,
      'heimdall.attempt': 1,
    });
    // The attempt lies within the request.
    expect(attempt.startTimeUnixNano >= server.startTimeUnixNano).toBe(true);
    expect(attempt.endTimeUnixNano <= server.endTimeUnixNano).toBe(true);

    // The upstream got the attempt span's context, in the caller's trace.
    const upstream = upstreamRequests('trace-basic');
    expect(upstream).toHaveLength(1);
    expect(upstream[0].headers.traceparent).toBe(`00-${traceId}-${attempt.spanId}-01`);

    // Resource: OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, version, SDK.
    expect(server.resource).toMatchObject({
      'service.name': 'heimdall-under-test',
      'deployment.environment.name': 'test',
      team: 'ai platform',
      'telemetry.sdk.language': 'nodejs',
    });
    expect(typeof server.resource['service.version']).toBe('string');
    expect(server.scope.name).toBe('heimdall');
  });

  it('starts a new trace without a traceparent; the log line carries its id', async () => {
    const { spans, line } = await traced('trace-new', '/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages });
    expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
    const server = spans.find((s) => s.kind === SERVER)!;
    expect(server.parentSpanId).toBe('');
    expect(upstreamRequests('trace-new')[0].headers.traceparent).toMatch(new RegExp(`^00-${line.trace_id as string}-[0-9a-f]{16}-01$`));
  });

  it('a retry: two attempt spans under one server span, the failed one marked as an error', async () => {
    mock.enqueue({ kind: 'error', status: 500, headers: { 'retry-after-ms': '0' } }, { path: '/v1/chat/completions' });
    const { reply, spans } = await traced('trace-retry', '/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages });
    expect(reply.status).toBe(200);
    const server = spans.find((s) => s.kind === SERVER)!;
    const attempts = spans.filter((s) => s.kind === CLIENT).sort((a, b) => Number(a.attributes['heimdall.attempt']) - Number(b.attributes['heimdall.attempt']));
    expect(attempts).toHaveLength(2);
    for (const attempt of attempts) expect(attempt.parentSpanId).toBe(server.spanId);
    expect(attempts[0].status.code).toBe(ERROR);
    expect(attempts[0].attributes).toMatchObject({ 'error.type': '500', 'http.response.status_code': 500, 'heimdall.attempt': 1 });
    expect(attempts[0].attributes['gen_ai.response.model']).toBeUndefined();
    expect(attempts[1].status.code).not.toBe(ERROR);
    expect(attempts[1].attributes).toMatchObject({ 'http.response.status_code': 200, 'heimdall.attempt': 2, 'gen_ai.response.finish_reasons': ['stop'] });
    expect(server.attributes['heimdall.attempts']).toBe(2);
    // Each upstream call carried its own attempt's span id.
    const parents = upstreamRequests('trace-retry').map((r) => String(r.headers.traceparent).split('-')[2]);
    expect(parents).toEqual(attempts.map((a) => a.spanId));
  });

  it('a final upstream failure: the server span is an error with a masked message', async () => {
    mock.enqueue({ kind: 'error', status: 503, headers: { 'retry-after-ms': '0' } }, { path: '/v1/chat/completions', times: 2 });
    const { reply, spans } = await traced('trace-fail', '/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages });
    expect(reply.status).toBe(503);
    const server = spans.find((s) => s.kind === SERVER)!;
    expect(server.status.code).toBe(ERROR);
    expect(server.attributes).toMatchObject({ 'error.type': '503', 'http.response.status_code': 503, 'heimdall.attempts': 2 });
    expect(spans.filter((s) => s.kind === CLIENT && s.status.code === ERROR)).toHaveLength(2);
  });

  it('a stream: finish reasons and usage from the stream, time to first token', async () => {
    const { reply, spans } = await traced('trace-stream', '/v1/chat/completions', {
      model: 'openai/gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true },
    });
    expect(reply.status).toBe(200);
    const server = spans.find((s) => s.kind === SERVER)!;
    const attempt = spans.find((s) => s.kind === CLIENT)!;
    expect(server.attributes).toMatchObject({ 'heimdall.stream': true, 'gen_ai.response.model': 'gpt-4o-mini', 'gen_ai.response.finish_reasons': ['stop'] });
    expect(typeof server.attributes['heimdall.ttft_ms']).toBe('number');
    expect(typeof server.attributes['gen_ai.usage.output_tokens']).toBe('number');
    expect(attempt.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
    expect(attempt.parentSpanId).toBe(server.spanId);
  });

  it('a fallback to another provider format, streamed: each attempt a child of the server span, each upstream in the caller\'s trace', async () => {
    const traceId = hex(32, 11);
    const parentId = hex(16, 12);
    mock.enqueue({ kind: 'error', status: 503, headers: { 'retry-after-ms': '0' } }, { path: '/v1/chat/completions', times: 2 });
    const { reply, spans } = await traced('trace-fallback', '/v1/chat/completions', {
      model: 'openai/gpt-4o-mini', messages, stream: true, fallbacks: ['anthropic/claude-haiku-4-5'],
    }, { traceparent: `00-${traceId}-${parentId}-01` });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-heimdall-provider']).toBe('anthropic');
    const server = spans.find((s) => s.kind === SERVER)!;
    expect(server.parentSpanId).toBe(parentId);
    expect(server.attributes).toMatchObject({ 'heimdall.attempts': 3, 'gen_ai.provider.name': 'anthropic', 'heimdall.stream': true });
    const attempts = spans.filter((s) => s.kind === CLIENT).sort((a, b) => Number(a.attributes['heimdall.attempt']) - Number(b.attributes['heimdall.attempt']));
    expect(attempts.map((a) => [a.name, a.attributes['gen_ai.provider.name'], a.attributes['http.response.status_code'], a.status.code === ERROR]))
      .toEqual([['chat gpt-4o-mini', 'openai', 503, true], ['chat gpt-4o-mini', 'openai', 503, true], ['chat claude-haiku-4-5', 'anthropic', 200, false]]);
    for (const attempt of attempts) {
      expect(attempt.traceId).toBe(traceId);
      expect(attempt.parentSpanId).toBe(server.spanId);
    }
    // Both providers received the trace, each call with its own attempt span as the parent.
    const upstream = upstreamRequests('trace-fallback');
    expect(upstream.map((r) => r.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions', '/v1/messages']);
    expect(upstream.map((r) => r.headers.traceparent)).toEqual(attempts.map((a) => `00-${traceId}-${a.spanId}-01`));
  });

  it('another surface through a codec: the Anthropic route, the OpenAI provider', async () => {
    const { reply, spans } = await traced('trace-anthropic', '/anthropic/v1/messages', { model: 'openai/gpt-4o-mini', max_tokens: 64, messages });
    expect(reply.status).toBe(200);
    const server = spans.find((s) => s.kind === SERVER)!;
    expect(server.name).toBe('POST /anthropic/v1/messages');
    expect(server.attributes).toMatchObject({ 'heimdall.surface': 'anthropic', 'gen_ai.provider.name': 'openai', 'gen_ai.response.finish_reasons': ['stop'] });
  });

  it('follows the caller\'s "not sampled" decision, and passes it on', async () => {
    const traceId = hex(32, 7);
    const id = 'trace-unsampled';
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'openai/gpt-4o-mini', messages }, {
      'x-request-id': id,
      traceparent: `00-${traceId}-${hex(16, 8)}-00`,
    });
    expect(reply.status).toBe(200);
    await waitFor(() => gateway.logs().some((l) => l.msg === 'request' && l.request_id === id), 10_000, 'the log line');
    await gateway.app.telemetry.flush();
    expect(otlp.spans.filter((s) => s.traceId === traceId)).toHaveLength(0);
    expect(upstreamRequests(id)[0].headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
  });

  it('exports OTLP/HTTP JSON to /v1/traces', () => {
    const traces = otlp.exports.filter((e) => e.path === '/v1/traces');
    expect(traces.length).toBeGreaterThan(0);
    expect(traces.every((e) => e.contentType === 'application/json')).toBe(true);
  });
});
