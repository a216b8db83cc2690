/**
 * One pino line per request (method, route, model, provider, status, latency,
 * gateway overhead), and the provider API key never in a log line or a
 * response, even when the upstream echoes it back.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiErrorBody, startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post, waitFor, type RawReply } from './helpers.js';

const SECRET = 'sk-test-SECRET-123456789';
const messages = [{ role: 'user', content: 'hello world' }];
let mock: MockUpstream;
let gateway: TestGateway;
const replies: RawReply[] = [];

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startGateway({
    env: { OPENAI_API_KEY: SECRET, OPENAI_BASE_URL: mock.openaiBaseUrl },
    config: { providers: { openai: { max_retries: 0 } } },
  });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});

async function call(id: string, body: unknown): Promise<RawReply> {
  const reply = await post(`${gateway.url}/v1/chat/completions`, body, { 'x-request-id': id });
  replies.push(reply);
  return reply;
}

function requestLines(id: string): Array<Record<string, unknown>> {
  return gateway.logs().filter((line) => line.msg === 'request' && line.request_id === id);
}

/** Waits for the request's line (written when the response closes) and returns it, checking it is the only one. */
async function lineOf(id: string): Promise<Record<string, unknown>> {
  await waitFor(() => requestLines(id).length > 0, 3000, `the log line of ${id}`);
  const lines = requestLines(id);
  expect(lines).toHaveLength(1);
  return lines[0];
}

function expectTimings(line: Record<string, unknown>): void {
  expect(typeof line.latency_ms).toBe('number');
  expect(typeof line.overhead_ms).toBe('number');
  expect(line.latency_ms as number).toBeGreaterThan(0);
  expect(line.overhead_ms as number).toBeGreaterThanOrEqual(0);
  // latency_ms is rounded to 0.01 ms and overhead_ms to 0.001 ms: compare with that slack.
  expect(line.overhead_ms as number).toBeLessThanOrEqual((line.latency_ms as number) + 0.01);
}

describe('the request log line', () => {
  it('a non-stream chat: route, model, provider, status, tokens, latency, overhead', async () => {
    const reply = await call('log-ok', { model: 'openai/gpt-4o-mini', messages });
    expect(reply.status).toBe(200);
    const line = await lineOf('log-ok');
    expect(line).toMatchObject({
      level: 'info',
      service: 'heimdall',
      msg: 'request',
      method: 'POST',
      route: '/v1/chat/completions',
      surface: 'openai',
      model: 'openai/gpt-4o-mini',
      provider: 'openai',
      upstream_model: 'gpt-4o-mini',
      status: 200,
      stream: false,
      attempts: 1,
      input_tokens: 2,
      output_tokens: 3,
    });
    expect(line.error).toBeUndefined();
    expectTimings(line);
  });

  it('a stream with usage: tokens from the usage chunk and a time to first token', async () => {
    await call('log-stream', { model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } });
    const line = await lineOf('log-stream');
    expect(line).toMatchObject({ model: 'gpt-4o-mini', provider: 'openai', status: 200, stream: true, input_tokens: 2, output_tokens: 3 });
    expect(typeof line.ttft_ms).toBe('number');
    expectTimings(line);
  });

  it('a rejected request: status 400 and the error', async () => {
    await call('log-bad', { model: 'gpt-4o-mini', messages: [] });
    const line = await lineOf('log-bad');
    expect(line).toMatchObject({ route: '/v1/chat/completions', provider: 'openai', upstream_model: 'gpt-4o-mini', status: 400, error: "Invalid 'messages': empty array. Expected an array with minimum length 1." });
    expectTimings(line);
  });

  it('an error event inside a forwarded stream is logged as a failure', async () => {
    mock.enqueue({ kind: 'stream-error', afterChunks: 1, error: { message: 'The model is overloaded.' } });
    await call('log-stream-error', { model: 'gpt-4o-mini', messages, stream: true });
    const line = await lineOf('log-stream-error');
    expect(line).toMatchObject({ provider: 'openai', status: 502, stream: true, error: 'The model is overloaded.' });
  });

  it('a client that went away: status 499', async () => {
    mock.enqueue({ kind: 'delay', ms: 10_000 });
    const controller = new AbortController();
    const pending = request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'log-abort' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages }),
      signal: controller.signal,
    }).catch(() => undefined);
    await waitFor(() => mock.requests.some((r) => r.headers['x-request-id'] === 'log-abort'), 3000, 'the upstream request');
    controller.abort();
    await pending;
    const line = await lineOf('log-abort');
    expect(line).toMatchObject({ provider: 'openai', status: 499 });
  });
});

describe('the API key is never revealed', () => {
  it('is sent upstream, as it must be', async () => {
    await call('key-upstream', { model: 'gpt-4o-mini', messages });
    expect(mock.requests.find((r) => r.headers['x-request-id'] === 'key-upstream')?.headers.authorization).toBe(`Bearer ${SECRET}`);
  });

  it('an upstream 401 that echoes the key: redacted in the response and the log', async () => {
    mock.enqueue({ kind: 'error', status: 401, body: openaiErrorBody(401, `Incorrect API key provided: ${SECRET}. You can find your API key at https://platform.openai.com/account/api-keys.`) });
    const reply = await call('key-401', { model: 'gpt-4o-mini', messages });
    expect(reply.status).toBe(401);
    expect(reply.json).toEqual({
      error: {
        message: 'Incorrect API key provided: sk-...[redacted]. You can find your API key at https://platform.openai.com/account/api-keys.',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    });
    const line = await lineOf('key-401');
    expect(line.status).toBe(401);
    expect(line.error).toBe('Incorrect API key provided: sk-...[redacted]. You can find your API key at https://platform.openai.com/account/api-keys.');
  });

  it('an upstream 500 that echoes the key in a non-OpenAI body', async () => {
    mock.enqueue({ kind: 'raw', status: 500, headers: { 'content-type': 'text/plain' }, body: `proxy failed with Authorization: Bearer ${SECRET}` });
    const reply = await call('key-500', { model: 'gpt-4o-mini', messages });
    expect(reply.status).toBe(500);
    expect((reply.json as { error: { message: string } }).error.message).toBe('upstream returned HTTP 500: proxy failed with Authorization: Bearer [redacted]');
    await lineOf('key-500');
  });

  it('appears in no log line and no response', () => {
    const secretPart = SECRET.slice(3);
    expect(gateway.logText()).not.toContain(secretPart);
    expect(replies).toHaveLength(7);
    for (const reply of replies) {
      expect(reply.text).not.toContain(secretPart);
      expect(JSON.stringify(reply.headers)).not.toContain(secretPart);
    }
  });
});
