/**
 * Logs: one structured line per request (request id, trace id when traced),
 * JSON for machines and pretty for a terminal, and no credential anywhere:
 * not in a logged header or field, not in an error, not in a provider's
 * error message that echoes the key (even a key of no known shape), not in
 * an exported span.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, redactText, registerSecrets, resolveLogFormat, safeLine, scrubLogObject } from '../../src/telemetry/logger.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { openaiErrorBody, startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { request } from 'undici';
import { get, post, waitFor, type RawReply } from '../integration/helpers.js';

/** A provider key with no vendor prefix (Mistral's look like this): only the exact-secret net can catch it. */
const SHAPELESS_KEY = 'Qx7pLm2Vn9Rt4Kw8Zy3Bc6Df';
const messages = [{ role: 'user', content: 'hello' }];

function capture(): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { stream, text: () => text };
}

describe('the logger', () => {
  it('writes JSON lines unless a person watches a terminal', () => {
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');

    const json = capture();
    createLogger({ level: 'info', destination: json.stream }).info({ request_id: 'r1' }, 'request');
    expect(JSON.parse(json.text())).toMatchObject({ level: 'info', msg: 'request', request_id: 'r1', service: 'heimdall' });

    const tty = capture();
    tty.stream.isTTY = true;
    createLogger({ level: 'info', destination: tty.stream }).info({ request_id: 'r2', status: 200 }, 'request');
    const pretty = tty.text();
    expect(pretty.startsWith('{')).toBe(false);
    expect(pretty).toContain('request');
    expect(pretty).toContain('r2');
    expect(pretty.trim().split('\n')).toHaveLength(1);
  });

  it('redacts headers and fields that carry credentials', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', destination: out.stream });
    logger.info({
      headers: { authorization: 'Bearer abc.def.ghi', 'x-api-key': 'k-1', 'x-goog-api-key': 'k-2', 'x-heimdall-key': 'k-3', cookie: 'sid=1', 'content-type': 'application/json' },
      request: { headers: { 'proxy-authorization': 'Basic xyz' } },
      api_key: 'k-4',
      config: { api_key: 'k-5', admin_token: 'k-6' },
      provider: { client_secret: 'k-7', secret_access_key: 'k-8', session_token: 'k-9' },
      'x-api-key': 'k-10',
    }, 'with secrets');
    const line = JSON.parse(out.text()) as Record<string, Record<string, unknown>>;
    expect(line.headers).toEqual({
      authorization: '[redacted]', 'x-api-key': '[redacted]', 'x-goog-api-key': '[redacted]', 'x-heimdall-key': '[redacted]', cookie: '[redacted]', 'content-type': 'application/json',
    });
    expect(line.request.headers).toEqual({ 'proxy-authorization': '[redacted]' });
    expect(line.api_key).toBe('[redacted]');
    expect(line.config).toEqual({ api_key: '[redacted]', admin_token: '[redacted]' });
    expect(line.provider).toEqual({ client_secret: '[redacted]', secret_access_key: '[redacted]', session_token: '[redacted]' });
    expect(line['x-api-key']).toBe('[redacted]');
    expect(out.text()).not.toMatch(/k-\d+|abc\.def|xyz|sid=1/);
  });

  it('redacts headers two levels down and in arrays, and never changes the object it was given', () => {
    const logged = {
      call: { upstream: { headers: { Authorization: 'Bearer abc.def.ghi', accept: 'application/json' } } },
      attempts: [{ headers: { 'x-api-key': 'k-11' }, status: 401 }, { token: 'k-12' }],
      child: { nested: { deeper: { api_key: 'kept: three levels down is not a credential field' } } },
    };
    const before = JSON.stringify(logged);
    const out = capture();
    createLogger({ level: 'info', destination: out.stream }).info(logged, 'nested');
    expect(JSON.stringify(logged)).toBe(before);
    const line = JSON.parse(out.text()) as typeof logged;
    expect(line.call.upstream.headers).toEqual({ Authorization: '[redacted]', accept: 'application/json' });
    expect(line.attempts).toEqual([{ headers: { 'x-api-key': '[redacted]' }, status: 401 }, { token: '[redacted]' }]);
    expect(out.text()).not.toMatch(/abc\.def|k-1[12]/);
    // Nothing to mask: the object itself comes back (no copy).
    const clean = { status: 200, route: '/v1/chat/completions', nested: { a: 1 } };
    expect(scrubLogObject(clean)).toBe(clean);
  });

  it('a per-request line built from safe fields is written as given, and cannot hold an object', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', destination: out.stream });
    logger.info(safeLine({ msg: 'request', request_id: 'r3', status: 200, route: '/v1/chat/completions', cost_usd: null, ttft_ms: undefined }));
    expect(JSON.parse(out.text())).toMatchObject({ msg: 'request', request_id: 'r3', status: 200, route: '/v1/chat/completions', cost_usd: null });
    // @ts-expect-error a headers object is never part of a per-request line
    safeLine({ headers: { authorization: 'x' } });
  });

  it('masks credentials inside logged errors, messages and stacks', () => {
    registerSecrets(['Zz9Yy8Xx7Ww6Vv5Uu4']);
    const out = capture();
    const error = new Error('upstream said: invalid key Zz9Yy8Xx7Ww6Vv5Uu4 (sk-proj-abcdefghijklmnop)');
    createLogger({ level: 'info', destination: out.stream }).error({ err: error }, 'failed');
    expect(out.text()).not.toContain('Zz9Yy8Xx7Ww6Vv5Uu4');
    expect(out.text()).not.toContain('abcdefghijklmnop');
    expect((JSON.parse(out.text()) as { err: { message: string } }).err.message).toBe('upstream said: invalid key [redacted] (sk-...[redacted])');
  });

  it('masks keys in quoted URLs and keeps ordinary text', () => {
    expect(redactText('GET https://generativelanguage.googleapis.com/v1beta/models?key=AbC123xyz&alt=sse failed'))
      .toBe('GET https://generativelanguage.googleapis.com/v1beta/models?key=[redacted]&alt=sse failed');
    expect(redactText('https://x.blob.core.windows.net/c?sv=2020&sig=s3cr3t%2Bvalue')).toBe('https://x.blob.core.windows.net/c?sv=2020&sig=[redacted]');
    expect(redactText('the model skipped a step; keys=3 monkey=ok')).toBe('the model skipped a step; keys=3 monkey=ok');
  });
});

describe('request log lines of a running, traced gateway', () => {
  let mock: MockUpstream;
  let otlp: OtlpReceiver;
  let gateway: TestGateway;
  const replies: RawReply[] = [];

  beforeAll(async () => {
    mock = await startMockUpstream();
    otlp = await startOtlpReceiver();
    gateway = await startGateway({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url },
      config: { providers: { openai: { api_key: SHAPELESS_KEY, base_url: mock.openaiBaseUrl, max_retries: 0 } } },
    });
  });
  afterAll(async () => {
    await gateway.close();
    await otlp.close();
    await mock.close();
  });

  async function call(id: string, body: unknown): Promise<Record<string, unknown>> {
    replies.push(await post(`${gateway.url}/v1/chat/completions`, body, { 'x-request-id': id }));
    await waitFor(() => gateway.logs().some((l) => l.msg === 'request' && l.request_id === id), 10_000, `the log line of ${id}`);
    const lines = gateway.logs().filter((l) => l.msg === 'request' && l.request_id === id);
    expect(lines).toHaveLength(1);
    return lines[0];
  }

  it('one JSON line per request, with the request id and the trace id', async () => {
    const line = await call('log-1', { model: 'openai/gpt-4o-mini', messages });
    expect(line).toMatchObject({ level: 'info', msg: 'request', request_id: 'log-1', status: 200, provider: 'openai', attempts: 1 });
    expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(typeof line.overhead_ms).toBe('number');
    expect(mock.requests.at(-1)?.headers.authorization).toBe(`Bearer ${SHAPELESS_KEY}`);
  });

  it('an upstream 401 echoing a key of no known shape', async () => {
    mock.enqueue({ kind: 'error', status: 401, body: openaiErrorBody(401, `Incorrect API key provided: ${SHAPELESS_KEY}.`) });
    const line = await call('log-401', { model: 'openai/gpt-4o-mini', messages });
    expect(line.status).toBe(401);
    expect(line.error).toBe('Incorrect API key provided: [redacted].');
  });

  it('an upstream 500 echoing the Authorization header in plain text', async () => {
    mock.enqueue({ kind: 'raw', status: 500, headers: { 'content-type': 'text/plain' }, body: `bad gateway; sent Authorization: Bearer ${SHAPELESS_KEY}` });
    const line = await call('log-500', { model: 'openai/gpt-4o-mini', messages });
    expect(line.status).toBe(500);
    expect(line.error).toBe('upstream returned HTTP 500: bad gateway; sent Authorization: Bearer [redacted]');
  });

  it('an error event in the middle of a stream echoing the key', async () => {
    mock.enqueue({ kind: 'stream-error', afterChunks: 2, error: { message: `quota exceeded for key ${SHAPELESS_KEY}`, type: 'server_error' } });
    const line = await call('log-stream', { model: 'openai/gpt-4o-mini', messages, stream: true });
    expect(line.status).toBe(502);
    expect(line.error).toBe('quota exceeded for key [redacted]');
  });

  it('the key is in no log line, no response and no exported span', async () => {
    await gateway.app.telemetry.flush();
    await otlp.waitForSpans((spans) => spans.filter((s) => s.kind === 2).length >= 4);
    expect(gateway.logText()).not.toContain(SHAPELESS_KEY);
    expect(replies).toHaveLength(4);
    // Responses: the streamed one is left out. A pass-through stream forwards the provider's bytes as they
    // come, its error event included, before the gateway reads them (stream-pump.ts): masking there is the
    // request path's job, reported to its owner. Logs and spans (this issue) are checked for all four.
    for (const reply of replies.filter((r) => !String(r.headers['content-type']).startsWith('text/event-stream'))) {
      expect(reply.text).not.toContain(SHAPELESS_KEY);
      expect(JSON.stringify(reply.headers)).not.toContain(SHAPELESS_KEY);
    }
    const exported = JSON.stringify(otlp.spans, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    expect(exported).not.toContain(SHAPELESS_KEY);
    // the failures are in the spans, masked
    expect(exported).toContain('Incorrect API key provided: [redacted].');
  });
});

describe('no secret in any log line: the admin token, virtual keys and a provider key', () => {
  // None has a vendor shape except the API-made virtual key (hk-...): only the exact-secret net catches the others.
  const ADMIN_TOKEN = 'AdmTok7Qx9Lm2Vn4Rt8Kw1Zy';
  const PROVIDER_KEY = 'Pv7Wq2Zr9Lx4Mn8Vb3Tc6Hd';
  const FILE_VK = 'Vk5Jh8Gf2Ds6Aq9Wz3Xe7Rc';
  let apiVk = '';
  let mock: MockUpstream;
  let gateway: TestGateway;
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const gemini = '/genai/v1beta/models/openai%2Fgpt-4o-mini:generateContent';
  const contents = [{ role: 'user', parts: [{ text: 'hello' }] }];

  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGateway({
      config: {
        admin: { token: ADMIN_TOKEN },
        providers: { openai: { api_key: PROVIDER_KEY, base_url: mock.openaiBaseUrl, max_retries: 0 } },
        governance: { enforce: true, virtual_keys: { 'file-key': { key: FILE_VK } } },
      },
    });
    const created = await post(`${gateway.url}/api/virtual-keys`, { name: 'api-key' }, admin);
    expect(created.status).toBe(201);
    apiVk = (created.json as { key: string }).key;
    expect(apiVk).toMatch(/^hk-/);
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });

  it('holds when each is sent in a request header (also as x-request-id) or echoed by the upstream', async () => {
    const secrets = [ADMIN_TOKEN, PROVIDER_KEY, FILE_VK, apiVk];
    const ids: string[] = [];
    const send = async (path: string, body: unknown, headers: Record<string, string>, status: number): Promise<RawReply> => {
      const reply = await post(`${gateway.url}${path}`, body, headers);
      expect(reply.status, `${path}: ${reply.text}`).toBe(status);
      ids.push(String(reply.headers['x-request-id']));
      return reply;
    };
    const chat = { model: 'openai/gpt-4o-mini', messages };

    // In request headers: the wrong one where a virtual key goes, the right one, and each as the request id.
    await send('/v1/chat/completions', chat, { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-request-id': ADMIN_TOKEN }, 401);
    await send('/anthropic/v1/messages', { ...chat, max_tokens: 20 }, { 'x-api-key': PROVIDER_KEY, 'x-request-id': PROVIDER_KEY }, 401);
    await send(gemini, { contents }, { 'x-goog-api-key': FILE_VK, 'x-request-id': FILE_VK }, 200);
    await send('/v1/chat/completions', chat, { 'x-heimdall-key': apiVk, 'x-request-id': apiVk }, 200);
    await send(`${gemini}?key=${encodeURIComponent(apiVk)}`, { contents }, {}, 200); // the Gemini REST way: in the query
    await send(`/genai/v1beta/nothing?key=${ADMIN_TOKEN}`, {}, {}, 401); // the key is checked before the path is read
    // The management API: a provider key and a virtual key where the admin token goes, a failed login.
    const refused = await get(`${gateway.url}/api/providers`, { authorization: `Bearer ${PROVIDER_KEY}`, 'x-request-id': FILE_VK });
    expect(refused.status).toBe(401);
    expect(refused.headers['x-request-id']).not.toBe(FILE_VK);
    expect((await post(`${gateway.url}/api/auth/login`, { token: FILE_VK })).status).toBe(401);
    expect((await post(`${gateway.url}/api/routing/aliases/x`, { target: 'openai/gpt-4o' }, admin)).status).toBe(404); // POST: no such route
    const patched = await request(`${gateway.url}/api/routing`, { method: 'PATCH', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ default_model: 'openai/gpt-4o-mini' }) });
    expect(patched.statusCode).toBe(200);
    await patched.body.text();

    // Echoed by the upstream: in a JSON error, a plain-text error, a stream's error event.
    const key = { 'x-heimdall-key': apiVk };
    mock.enqueue({ kind: 'error', status: 401, body: openaiErrorBody(401, `Incorrect API key provided: ${PROVIDER_KEY}.`) });
    await send('/v1/chat/completions', chat, key, 401);
    mock.enqueue({ kind: 'error', status: 400, body: openaiErrorBody(400, `Invalid 'user': ${ADMIN_TOKEN} / ${FILE_VK} / ${apiVk}.`) });
    await send('/v1/chat/completions', chat, key, 400);
    mock.enqueue({ kind: 'raw', status: 502, headers: { 'content-type': 'text/plain' }, body: `proxy saw x-api-key: ${FILE_VK}, Authorization: Bearer ${apiVk}` });
    await send('/anthropic/v1/messages', { ...chat, max_tokens: 20 }, key, 502);
    mock.enqueue({ kind: 'stream-error', afterChunks: 1, error: { message: `key ${PROVIDER_KEY} and admin ${ADMIN_TOKEN} are over quota`, type: 'server_error' } });
    await send('/anthropic/v1/messages', { ...chat, max_tokens: 20, stream: true }, key, 200);

    for (const id of ids) {
      expect(secrets).not.toContain(id); // a secret sent as x-request-id was replaced by a new id
      await waitFor(() => gateway.logs().some((l) => l.msg === 'request' && l.request_id === id), 5000, `the log line of ${id}`);
      expect(gateway.logs().filter((l) => l.msg === 'request' && l.request_id === id)).toHaveLength(1);
    }
    await waitFor(() => gateway.logs().some((l) => l.msg === 'admin authentication failed'), 5000, 'the failed login line');
    const text = gateway.logText();
    for (const secret of secrets) expect(text).not.toContain(secret);
    // The failures are logged, masked.
    const errors = gateway.logs().filter((l) => l.msg === 'request' && typeof l.error === 'string').map((l) => l.error as string);
    expect(errors).toContain('Incorrect API key provided: [redacted].');
    expect(errors).toContain("Invalid 'user': [redacted] / [redacted] / hk-...[redacted].");
    expect(errors.some((e) => e.includes('x-api-key: [redacted], Authorization: Bearer [redacted]'))).toBe(true);
    expect(errors.some((e) => e.includes('key [redacted] and admin [redacted] are over quota'))).toBe(true);
  });
});
