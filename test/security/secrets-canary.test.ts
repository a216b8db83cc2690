/**
 * Secrets canary: provider keys planted in the environment, the config file
 * and the management API (none with a recognisable key shape, so only the
 * literal net can catch them), and the admin token. The upstream echoes the
 * key it was sent in its error bodies and its response headers. Every client
 * answer (status line, headers, body), every /api answer, the log at trace
 * level, every file of the data dir (SQLite db and WAL), the exported traces
 * and /metrics are searched for each canary.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockContext, type MockUpstream } from '../support/mock-upstream/index.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';

const CANARIES = {
  env: 'canaryEnvKey9d41f07be2c6',
  file: 'canaryFileKey5a8e2d93c1f4',
  api: 'canaryApiKey3c7b9e15a0d8',
  admin: 'canaryAdminToken8f2a6c4e1b97',
} as const;

let leaky: MockUpstream;
let otlp: OtlpReceiver;
let gateway: TestGateway;
/** Everything any client or /api caller received, as text (status, headers, body). */
const received: string[] = [];

function sentKey(headers: IncomingHttpHeaders, query: URLSearchParams): string {
  const value = headers['x-api-key'] ?? headers['x-goog-api-key'] ?? headers.authorization ?? query.get('key') ?? '';
  return String(value).replace(/^Bearer /, '');
}

/** The upstream quotes the key in a header and in its error: 500 for chats (recorded in key health), 401 otherwise. */
function echo(status: (context: MockContext) => number, body: (key: string) => unknown) {
  return async (context: MockContext): Promise<void> => {
    const key = sentKey(context.request.headers, context.request.query);
    context.response.setHeader('x-echo-key', key);
    context.response.setHeader('www-authenticate', `Bearer realm="${key}"`);
    context.json(status(context), body(key));
  };
}

async function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const response = await request(`${gateway.url}${path}`, {
    method: method as 'GET',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  received.push(`${method} ${path} -> ${response.statusCode}\n${JSON.stringify(response.headers)}\n${text}`);
  return { status: response.statusCode, text };
}

const admin = { authorization: `Bearer ${CANARIES.admin}` };

function expectNoCanary(where: string, text: string): void {
  for (const [name, canary] of Object.entries(CANARIES)) {
    expect(text.includes(canary), `the ${name} canary in ${where}`).toBe(false);
  }
}

beforeAll(async () => {
  leaky = await startMockUpstream();
  const chatStatus = () => 500;
  leaky.route('POST', /^\/v1\/chat\/completions$/, echo(chatStatus, (key) => ({ error: { message: `Incorrect API key provided: ${key}`, type: 'server_error' } })));
  leaky.route('GET', /^\/v1\/models$/, echo(() => 401, (key) => ({ error: { message: `Incorrect API key provided: ${key}`, type: 'invalid_request_error' } })));
  leaky.route('POST', /^\/v1\/messages(\/count_tokens)?$/, echo((context) => (context.match[1] === undefined ? 500 : 401), (key) => ({ type: 'error', error: { type: 'api_error', message: `invalid x-api-key: ${key}` } })));
  leaky.route('POST', /^\/v1beta\/models\/(.+):([A-Za-z]+)$/, echo((context) => (context.match[2] === 'countTokens' ? 400 : 500), (key) => ({ error: { code: 500, message: `API key not valid: ${key}`, status: 'INTERNAL' } })));
  leaky.route('GET', /^\/v1beta\/models$/, echo(() => 400, (key) => ({ error: { code: 400, message: `API key not valid: ${key}`, status: 'INVALID_ARGUMENT' } })));
  otlp = await startOtlpReceiver();
  gateway = await startGateway({
    logLevel: 'trace',
    env: {
      OPENAI_API_KEY: CANARIES.env,
      OPENAI_BASE_URL: `${leaky.url}/v1`,
      HEIMDALL_ADMIN_TOKEN: CANARIES.admin,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    },
    config: {
      logging: { bodies: true },
      providers: {
        openai: { max_retries: 0 },
        'file-anthropic': { type: 'anthropic', base_url: leaky.url, api_key: CANARIES.file, models: ['claude-x'], max_retries: 0 },
      },
      routing: { circuit_breaker: { enabled: false } },
    },
  });
  // The third provider and its key come through the management API.
  const created = await send('POST', '/api/providers', { name: 'api-gemini', type: 'gemini', base_url: leaky.url, models: ['gemini-x'], max_retries: 0, api_key: CANARIES.api }, admin);
  expect(created.status).toBe(201);
}, 30_000);
afterAll(async () => {
  await gateway.close();
  await otlp.close();
  await leaky.close();
});

const MODELS = ['openai/gpt-4o-mini', 'file-anthropic/claude-x', 'api-gemini/gemini-x'];

describe('secrets canary', () => {
  it('every surface, stream and not, and the token counts, against every provider: no canary in any answer', async () => {
    for (const model of MODELS) {
      for (const stream of [false, true]) {
        const openai = await send('POST', '/v1/chat/completions', { model, stream, messages: [{ role: 'user', content: 'hi' }] });
        expect(openai.status).toBeGreaterThanOrEqual(400);
        await send('POST', '/anthropic/v1/messages', { model, stream, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
        await send('POST', `/genai/v1beta/models/${model}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`, { contents: [{ parts: [{ text: 'hi' }] }] });
      }
      await send('POST', '/v1/responses', { model, input: 'hi' });
      await send('POST', '/v1/embeddings', { model, input: 'hi' });
    }
    await send('POST', '/anthropic/v1/messages/count_tokens', { model: 'file-anthropic/claude-x', messages: [{ role: 'user', content: 'x' }] });
    await send('POST', '/genai/v1beta/models/api-gemini/gemini-x:countTokens', { contents: [{ parts: [{ text: 'x' }] }] });
    // The admin token sent where a virtual key goes, and as a request id.
    await send('POST', '/v1/chat/completions', { model: MODELS[0], messages: [{ role: 'user', content: 'hi' }] }, { authorization: `Bearer ${CANARIES.admin}`, 'x-request-id': CANARIES.admin });
    expect(leaky.requests.length).toBeGreaterThanOrEqual(MODELS.length * 4);
    for (const text of received) expectNoCanary(text.split('\n')[0], text);
  });

  it('every /api answer, provider tests included, holds no canary', async () => {
    for (const name of ['openai', 'file-anthropic', 'api-gemini']) {
      expect((await send('POST', `/api/providers/${name}/test`, {}, admin)).status).toBeLessThan(500);
      await send('GET', `/api/providers/${name}`, undefined, admin);
    }
    const logs = await send('GET', '/api/logs?limit=500', undefined, admin);
    const ids = (JSON.parse(logs.text) as { data: Array<{ id: string }> }).data.map((row) => row.id);
    expect(ids.length).toBeGreaterThan(10);
    for (const id of ids.slice(0, 20)) await send('GET', `/api/logs/${encodeURIComponent(id)}`, undefined, admin);
    for (const path of ['/api/providers', '/api/provider-types', '/api/routing', '/api/routing/health', '/api/routing/model-groups', '/api/settings',
      '/api/config', '/api/audit', '/api/logs/stats', '/api/usage', '/api/pricing', '/api/virtual-keys', '/api/teams', '/api/customers', '/api/auth/status']) {
      const reply = await send('GET', path, undefined, admin);
      expect(reply.status, path).toBeLessThan(500);
    }
    // The routing health recorded the echoed errors (the dashboard reads it).
    expect(received.some((text) => text.startsWith('GET /api/routing/health') && text.includes('[redacted]'))).toBe(true);
    for (const text of received) expectNoCanary(text.split('\n')[0], text);
  });

  it('/metrics holds no canary', async () => {
    const metrics = await send('GET', '/metrics');
    expect(metrics.text).toContain('heimdall_requests_total');
    expectNoCanary('/metrics', metrics.text);
  });

  it('the exported traces hold no canary', async () => {
    const spans = await otlp.waitForSpans((all) => all.length >= 10, 15_000);
    expectNoCanary('the exported spans', JSON.stringify(spans, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)));
  });

  it('the data dir (SQLite database, WAL, every other file) holds no canary, request bodies logged included', async () => {
    // Wait until the request log has every row (written by its thread in batches).
    const deadline = Date.now() + 5000;
    for (;;) {
      const count = gateway.app.store.db.prepare('SELECT COUNT(*) AS n FROM request_logs WHERE response_body IS NOT NULL').get() as { n: number };
      if (count.n >= 10 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const files = readdirSync(gateway.dataDir);
    expect(files).toContain('heimdall.db');
    for (const file of files) {
      const bytes = readFileSync(join(gateway.dataDir, file));
      expectNoCanary(`${file} (utf8)`, bytes.toString('utf8'));
      expectNoCanary(`${file} (latin1)`, bytes.toString('latin1'));
    }
  });

  it('the log at trace level holds no canary', () => {
    const text = gateway.logText();
    expect(gateway.app.log.level).toBe('trace'); // every line the gateway can write was written
    expect(text).toContain('"msg":"request"');
    expectNoCanary('the log', text);
  });
});
