/**
 * Tracing off costs nothing and tracing on changes no response:
 * - off: neither the tracing module nor the OpenTelemetry SDK is ever
 *   imported, and nothing extra goes upstream;
 * - on: the same requests get byte-identical bodies and the same headers
 *   (date aside); only the upstream sees a traceparent;
 * - closing the app flushes the spans still buffered.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { post, waitFor, type RawReply } from '../integration/helpers.js';

const loaded = vi.hoisted(() => ({ tracing: 0, otlpMetrics: 0, sdk: 0 }));
vi.mock('../../src/telemetry/tracing.js', async (importOriginal) => {
  loaded.tracing++;
  return importOriginal();
});
vi.mock('../../src/telemetry/otlp-metrics.js', async (importOriginal) => {
  loaded.otlpMetrics++;
  return importOriginal();
});
vi.mock('@opentelemetry/sdk-trace-base', async (importOriginal) => {
  loaded.sdk++;
  return importOriginal();
});

const messages = [{ role: 'user', content: 'same answer either way' }];
let mock: MockUpstream;
let otlp: OtlpReceiver;

beforeAll(async () => {
  mock = await startMockUpstream();
  otlp = await startOtlpReceiver();
});
afterAll(async () => {
  await otlp.close();
  await mock.close();
});

function env(tracing: boolean): Record<string, string> {
  const base: Record<string, string> = { OPENAI_API_KEY: 'sk-toggle-test-0123456789', OPENAI_BASE_URL: mock.openaiBaseUrl };
  return tracing ? { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url } : base;
}

interface Exchange {
  status: number;
  headers: Record<string, unknown>;
  text: string;
}

const contents = [{ role: 'user', parts: [{ text: 'same answer either way' }] }];
const GEMINI = '/genai/v1beta/models/openai%2Fgpt-4o-mini';

/**
 * A fixed script of requests: every surface (OpenAI chat and Responses, Anthropic, Gemini), each
 * JSON and stream; an upstream error, a mid-stream upstream error, a gateway error, an unknown route.
 */
const CALLS: Array<[string, unknown, (() => void)?]> = [
  ['/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages }],
  ['/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } }],
  ['/v1/responses', { model: 'openai/gpt-4o-mini', input: 'same answer either way' }],
  ['/v1/responses', { model: 'openai/gpt-4o-mini', input: 'same answer either way', stream: true }],
  ['/anthropic/v1/messages', { model: 'openai/gpt-4o-mini', max_tokens: 64, messages }],
  ['/anthropic/v1/messages', { model: 'openai/gpt-4o-mini', max_tokens: 64, messages, stream: true }],
  [`${GEMINI}:generateContent`, { contents }],
  [`${GEMINI}:streamGenerateContent?alt=sse`, { contents }],
  ['/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages }, () => mock.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '7' } })],
  ['/anthropic/v1/messages', { model: 'openai/gpt-4o-mini', max_tokens: 64, messages, stream: true }, () => mock.enqueue({ kind: 'stream-error', afterChunks: 2 })],
  ['/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages: 'not a list' }],
  ['/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'hello' }],
  ['/v1/chat/completion', { model: 'openai/gpt-4o-mini', messages }],
];
/** Calls that reach a surface handler (a server span each) and those that also go upstream (an attempt span each). */
const HANDLED = CALLS.length - 1;
const UPSTREAM = HANDLED - 1;

async function script(gateway: TestGateway): Promise<Exchange[]> {
  mock.reset();
  const calls = CALLS;
  const out: Exchange[] = [];
  let i = 0;
  for (const [path, body, before] of calls) {
    before?.();
    const id = `toggle-${++i}`;
    const reply: RawReply = await post(`${gateway.url}${path}`, body, { 'x-request-id': id });
    await waitFor(() => gateway.logs().some((l) => l.msg === 'request' && l.request_id === id), 5000, `the log line of ${id}`);
    const { date: _date, ...headers } = reply.headers;
    out.push({ status: reply.status, headers, text: reply.text });
  }
  return out;
}

describe('turning tracing on', () => {
  let off: Exchange[];

  it('off: no tracing module, no SDK, no traceparent upstream, no trace id in logs', async () => {
    const gateway = await startGateway({ env: env(false), config: { providers: { openai: { max_retries: 0 } } } });
    try {
      expect(gateway.app.telemetry.tracing).toBe(false);
      off = await script(gateway);
      expect(loaded).toEqual({ tracing: 0, otlpMetrics: 0, sdk: 0 });
      expect(mock.requests.length).toBeGreaterThan(0);
      for (const request of mock.requests) {
        expect(request.headers.traceparent).toBeUndefined();
        expect(request.headers.tracestate).toBeUndefined();
      }
      for (const line of gateway.logs().filter((l) => l.msg === 'request')) expect(line.trace_id).toBeUndefined();
    } finally {
      await gateway.close();
    }
    expect(otlp.spans).toHaveLength(0);
  });

  it('on: the same bodies and headers, and spans exported on close without an explicit flush', async () => {
    const gateway = await startGateway({ env: env(true), config: { providers: { openai: { max_retries: 0 } } } });
    let on: Exchange[];
    try {
      expect(gateway.app.telemetry.tracing).toBe(true);
      expect(loaded.tracing).toBe(1);
      expect(loaded.sdk).toBeGreaterThan(0);
      on = await script(gateway);
      for (const request of mock.requests) expect(request.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      // Nothing exported yet: the batch processor holds spans for 5 s.
      expect(otlp.spans).toHaveLength(0);
    } finally {
      await gateway.close();
    }
    expect(on).toHaveLength(off.length);
    for (let i = 0; i < off.length; i++) {
      expect({ call: i, ...on[i] }).toEqual({ call: i, ...off[i] });
    }
    expect(new Set(on.map((e) => e.status))).toEqual(new Set([200, 429, 400, 404]));
    // close() flushed them: a server span per request that reached the gateway's handler.
    const servers = otlp.spans.filter((s) => s.kind === 2);
    expect(servers).toHaveLength(HANDLED); // the unknown route has no handler, hence no span
    expect(otlp.spans.filter((s) => s.kind === 3)).toHaveLength(UPSTREAM); // the invalid request never went upstream
  });
});
