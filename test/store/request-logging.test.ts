/**
 * The request log's taps without HTTP: a finished context becomes one record
 * with every field mapped; body capture keeps only a head of large bodies and
 * the writer reports their full size; with bodies off nothing is captured.
 */
import { PassThrough } from 'node:stream';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import type { FinishedRequest, Gateway } from '../../src/gateway/gateway.js';
import type { BuiltinPlugin } from '../../src/plugins/lifecycle.js';
import { viewOf } from '../../src/plugins/request-view.js';
import { CompletedImpl, timingsOf } from '../../src/plugins/stages.js';
import { RequestContext } from '../../src/gateway/request-context.js';
import { prepareBody } from '../../src/store/redact.js';
import { attachRequestLogging, toLogRecord } from '../../src/store/request-logging.js';
import { Store } from '../../src/store/store.js';

function fakeGateway(): { gateway: Gateway; hooks: BuiltinPlugin[]; finish: Array<(finished: FinishedRequest) => void> } {
  const hooks: BuiltinPlugin[] = [];
  const finish: Array<(finished: FinishedRequest) => void> = [];
  const use = (plugin: BuiltinPlugin): void => {
    hooks.push(plugin);
    if (plugin.afterResponse !== undefined) {
      finish.push(({ ctx, totalMs }) => plugin.afterResponse!(viewOf(ctx), new CompletedImpl(ctx, timingsOf(ctx, totalMs))));
    }
  };
  const gateway = { lifecycle: { use } } as unknown as Gateway;
  return { gateway, hooks, finish };
}

/** A stand-in for the raw response: records what was written. */
function fakeResponse(): ServerResponse & { written: string[] } {
  const written: string[] = [];
  const response = new PassThrough() as unknown as ServerResponse & { written: string[] };
  response.written = written;
  response.write = ((chunk: string | Buffer) => {
    written.push(String(chunk));
    return true;
  }) as ServerResponse['write'];
  (response as ServerResponse).end = ((chunk?: string | Buffer) => {
    if (chunk !== undefined) written.push(String(chunk));
    return response;
  }) as ServerResponse['end'];
  return response;
}

describe('toLogRecord', () => {
  it('maps a finished context: tokens, cost, attempts, error, warnings, cache', () => {
    const ctx = new RequestContext('req-1', 'anthropic', '/anthropic/v1/messages', 'POST');
    ctx.requestedModel = 'anthropic/claude-sonnet-4-5';
    ctx.status = 429;
    ctx.stream = true;
    ctx.ttftMs = 12.3456;
    ctx.upstreamMs = 40.5;
    ctx.virtualKeyId = 'vk-1';
    ctx.costUsd = 0;
    ctx.cache = 'miss';
    ctx.usage = { prompt_tokens: 7, completion_tokens: 9, total_tokens: 16, prompt_tokens_details: { cached_tokens: 3 }, completion_tokens_details: { reasoning_tokens: 2 } };
    ctx.attempts.push({ provider: 'anthropic', model: 'claude-sonnet-4-5', key: 'main', status: 429, error: 'rate limited', latency_ms: 40 });
    ctx.error = new GatewayError('HD_ERR_UPSTREAM_ERROR', 'rate limited', { status: 429 });
    ctx.addWarnings([{ param: 'seed', message: 'dropped' }]);
    const record = toLogRecord({ ctx, totalMs: 50.12345, overheadMs: 9.6234 });
    expect(record).toMatchObject({
      id: 'req-1', surface: 'anthropic', route: '/anthropic/v1/messages', method: 'POST', virtual_key_id: 'vk-1',
      provider: 'anthropic', model: 'claude-sonnet-4-5', requested_model: 'anthropic/claude-sonnet-4-5',
      status: 429, latency_ms: 50.123, upstream_ms: 40.5, ttft_ms: 12.346, overhead_us: 9623,
      input_tokens: 7, output_tokens: 9, cached_tokens: 3, reasoning_tokens: 2,
      cost_usd: 0, cost_known: true, stream: true, cache: 'miss',
      attempts: [{ provider: 'anthropic', model: 'claude-sonnet-4-5', key_name: 'main', status: 429, error: 'rate limited', latency_ms: 40 }],
      error_code: 'HD_ERR_UPSTREAM_ERROR', error_message: 'rate limited',
      metadata: { warnings: [{ param: 'seed', message: 'dropped' }] },
    });
    expect(record.request_body).toBeUndefined();
  });

  it('an unpriced request has a null cost, never 0', () => {
    const ctx = new RequestContext('req-2', 'openai', '/v1/embeddings');
    ctx.costUsd = null;
    expect(toLogRecord({ ctx, totalMs: 1, overheadMs: 1 })).toMatchObject({ cost_usd: null, cost_known: false, cache: null, upstream_ms: null, metadata: null });
  });
});

describe('attachRequestLogging', () => {
  it('bodies off: nothing captured; each finished request is queued once', () => {
    const store = Store.open({ memory: true, env: {}, retention: false, logs: { autoFlush: false } });
    try {
      const { gateway, hooks, finish } = fakeGateway();
      attachRequestLogging(gateway, store.logs);
      const ctx = new RequestContext('req-3', 'openai', '/v1/chat/completions');
      const response = fakeResponse();
      const write = response.write;
      hooks[0].begin!(ctx, {} as never, Buffer.from('{"model":"m"}'), response);
      expect(response.write).toBe(write);
      expect(ctx.hookState.size).toBe(0);
      finish[0]({ ctx, totalMs: 2, overheadMs: 1 });
      expect(store.logs.stats.queued).toBe(1);
      store.logs.flush();
      expect(store.logQueries.getLog('req-3')).toMatchObject({ request_body: null, response_body: null });
    } finally {
      store.close();
    }
  });

  it('bodies on: the request body and what the client got; a large body keeps a head and its size', () => {
    const store = Store.open({ memory: true, env: {}, retention: false, logs: { autoFlush: false, bodies: { enabled: true, maxBytes: 100 } } });
    try {
      const { gateway, hooks, finish } = fakeGateway();
      attachRequestLogging(gateway, store.logs);
      const ctx = new RequestContext('req-4', 'openai', '/v1/chat/completions');
      const response = fakeResponse();
      const big = JSON.stringify({ model: 'm', api_key: 'sk-inline-secret-0123456789', pad: 'p'.repeat(5000) });
      hooks[0].begin!(ctx, {} as never, Buffer.from(big), response);
      response.write('data: {"a":1}\n\n');
      response.end(Buffer.from('data: [DONE]\n\n'));
      expect(response.written).toEqual(['data: {"a":1}\n\n', 'data: [DONE]\n\n']);
      const record = toLogRecord({ ctx, totalMs: 2, overheadMs: 1 });
      expect(record.request_body!.length).toBeLessThanOrEqual(100 + 1024);
      expect(record.request_body_bytes).toBe(Buffer.byteLength(big));
      expect(record.response_body).toBe('data: {"a":1}\n\ndata: [DONE]\n\n');
      expect(record.response_body_bytes).toBeUndefined();
      finish[0]({ ctx, totalMs: 2, overheadMs: 1 });
      store.logs.flush();
      const stored = store.logQueries.getLog('req-4')!;
      expect(stored.request_body).toMatch(new RegExp(`…\\[truncated, ${Buffer.byteLength(big)} bytes total\\]$`));
      expect(stored.request_body).not.toContain('sk-inline-secret');
      expect(stored.response_body).toBe('data: {"a":1}\n\ndata: [DONE]\n\n');
    } finally {
      store.close();
    }
  });
});

describe('prepareBody with a head', () => {
  it('redacts as text and reports the whole size', () => {
    const head = '{"key":"sk-abcdefghijklmnopqrstuvwx","text":"' + 'a'.repeat(50);
    expect(prepareBody(head, 40, 10_000)).toBe(`{"key":"[REDACTED]","text":"${'a'.repeat(12)}…[truncated, 10000 bytes total]`);
  });
});
