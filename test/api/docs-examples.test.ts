/**
 * docs/api.md is true: every documented request body is sent as written, and
 * every documented answer has the shape (fields and types) of the real one;
 * documented error examples name the same field with the same message; every
 * change made here is in GET /api/audit, with no secret in it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { docBlocks, jsonExamples, shapeDiff } from './doc-examples.js';
import { call, chat, startAdminGateway, type AdminGateway } from './helpers.js';

const blocks = docBlocks('api.md');
const example = (heading: string, index = 0): Record<string, any> => jsonExamples(blocks, heading)[index] as Record<string, any>;

/** Secrets the test sends: none may come back, in answers or the audit log. */
const SECRETS = ['sk-env-openai-key-a1b2', 'gsk-file-groq-key-0000', 'sk-vllm-...9f3c', 'sk-proj-...c4d5'];

let mock: MockUpstream;
let gw: AdminGateway;
const get = (path: string) => call(gw.url, 'GET', path);
const send = (method: string, path: string, body?: unknown) => call(gw.url, method, path, body);

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startAdminGateway({
    env: { OPENAI_API_KEY: SECRETS[0], OPENAI_BASE_URL: mock.openaiBaseUrl },
    config: {
      providers: { groq: { api_key: SECRETS[1], base_url: mock.openaiBaseUrl } },
      routing: { aliases: { fast: 'openai/gpt-4o' } },
    },
    serverDefaults: true,
  });
});
afterAll(async () => {
  await gw.close();
  await mock.close();
});

function noSecrets(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

describe('docs/api.md examples, in the order of the document', () => {
  it('the error shape', async () => {
    const reply = await send('POST', '/api/providers', { name: 'x', type: 'openai-compatible', base_url: 'not a url' });
    expect(reply.status).toBe(400);
    const documented = example('Management API');
    expect(shapeDiff(documented, reply.json)).toEqual([]);
    expect(reply.json).toEqual(documented);
  });

  it('GET /api/auth/status', async () => {
    expect(shapeDiff(example('GET /api/auth/status'), (await get('/api/auth/status')).json)).toEqual([]);
  });

  it('providers: POST (and its 400s), GET, PATCH, keys, test, DELETE', async () => {
    // POST /api/providers with the documented body.
    const created = await send('POST', '/api/providers', example('POST /api/providers', 0));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'local-vllm', type: 'openai-compatible', base_url: 'http://10.0.0.5:8000/v1', source: 'store' });
    expect(created.json.keys).toMatchObject([{ name: 'main', last4: '9f3c', weight: 2 }]);
    expect((await send('POST', '/api/providers', example('POST /api/providers', 0))).status).toBe(409);
    const [badName, noBaseUrl, badType] = jsonExamples(blocks, 'POST /api/providers').slice(1) as Array<Record<string, any>>;
    const nameReply = await send('POST', '/api/providers', { name: 'Local VLLM' });
    expect(nameReply.json).toEqual(badName);
    const baseReply = await send('POST', '/api/providers', { name: 'vllm2', type: 'openai-compatible' });
    expect(baseReply.json).toEqual(noBaseUrl);
    const typeReply = await send('POST', '/api/providers', { name: 'nosuch-1', type: 'nosuch' });
    expect(typeReply.status).toBe(400);
    expect(typeReply.json.error).toMatchObject({ ...badType.error, message: expect.stringMatching(/^type: unknown provider type "nosuch" \(known: openai, /) });

    // POST /api/providers/{name}/keys with the documented body, on the env provider.
    const key = await send('POST', '/api/providers/openai/keys', example('POST /api/providers/{name}/keys', 0));
    expect(key.status).toBe(201);
    const documentedKey = example('POST /api/providers/{name}/keys', 1);
    expect(shapeDiff(documentedKey, key.json)).toEqual([]);
    expect(key.json).toEqual({ ...documentedKey, id: key.json.id });

    // GET /api/providers: the env provider with its env key and the store key.
    const list = await get('/api/providers');
    const openai = list.json.data.find((provider: { name: string }) => provider.name === 'openai');
    const documentedList = example('GET /api/providers');
    expect(Object.keys(list.json)).toEqual(Object.keys(documentedList).filter((k) => k !== 'next_cursor'));
    expect(shapeDiff(documentedList.data[0], openai, { records: ['headers', 'options'] })).toEqual([]);
    expect(openai).toMatchObject({ source: 'env', store_override: true, disabled_reason: null });
    expect(openai.keys.map((k: { id: string; source: string; last4: string }) => [k.source, k.last4])).toEqual([['env', 'a1b2'], ['store', 'c4d5']]);
    expect(openai.keys[0].id).toBe('openai#0');
    expect(shapeDiff(documentedList.data[0], (await get('/api/providers/openai')).json, { records: ['headers', 'options'] })).toEqual([]);
    expect((await get('/api/providers/nope')).json.error.param).toBe('name');

    // PATCH /api/providers/{name} with the documented body.
    const patched = await send('PATCH', '/api/providers/local-vllm', example('PATCH /api/providers/{name}'));
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ base_url: 'http://10.0.0.6:8000/v1', enabled: false, max_retries: 2 });

    // PATCH and DELETE a key.
    const weight = await send('PATCH', `/api/providers/openai/keys/${key.json.id}`, example('PATCH /api/providers/{name}/keys/{key_id}'));
    expect(weight.json).toMatchObject({ id: key.json.id, weight: 0.5 });
    expect((await send('PATCH', '/api/providers/openai/keys/openai%230', { weight: 2 })).status).toBe(409);
    expect((await send('PATCH', '/api/providers/openai/keys/nope', { weight: 2 })).json.error.param).toBe('key_id');

    // POST /api/providers/{name}/test: a real call to the (mock) provider's /models.
    const tested = await send('POST', '/api/providers/openai/test');
    expect(shapeDiff(example('POST /api/providers/{name}/test', 0), tested.json)).toEqual([]);
    expect(tested.json).toMatchObject({ ok: true, status: 200, error: null, method: 'models', model: null, key_id: 'openai#0' });
    mock.enqueue({ kind: 'error', status: 401, body: { error: { message: `Incorrect API key provided: ${SECRETS[0]}`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } });
    const failed = await send('POST', '/api/providers/openai/test');
    expect(shapeDiff(example('POST /api/providers/{name}/test', 1), failed.json)).toEqual([]);
    expect(failed.json).toMatchObject({ ok: false, status: 401, method: 'models', error: expect.stringMatching(/^Incorrect API key provided: /) });
    noSecrets(failed.text);

    const removedKey = await send('DELETE', `/api/providers/openai/keys/${key.json.id}`);
    expect(removedKey.json).toEqual({ deleted: true, id: key.json.id });

    // DELETE of an override reverts to the file (the documented answer, exactly).
    expect((await send('PATCH', '/api/providers/groq', { max_retries: 5 })).json.store_override).toBe(true);
    expect((await send('DELETE', '/api/providers/groq')).json).toEqual(example('DELETE /api/providers/{name}'));
    expect((await send('DELETE', '/api/providers/groq')).status).toBe(409);

    // GET /api/provider-types.
    const types = await get('/api/provider-types');
    const documentedTypes = example('GET /api/provider-types');
    expect(shapeDiff(documentedTypes.data[0], types.json.data.find((t: { type: string }) => t.type === 'openai'))).toEqual([]);
  });

  it('routing: GET, PATCH, aliases, fallbacks, model groups', async () => {
    const groupBody = example('Model groups', 0);
    const group = await send('POST', '/api/routing/model-groups', groupBody);
    expect(group.status).toBe(201);
    expect(group.json).toEqual({ ...example('Model groups', 1), id: group.json.id });
    expect((await get('/api/routing/model-groups')).json.data.map((g: { name: string }) => g.name)).toEqual(['chat-default']);
    expect((await get('/api/routing/model-groups/chat-default')).json).toEqual(group.json);

    const patched = await send('PATCH', '/api/routing', example('PATCH /api/routing'));
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({
      default_model: 'openai/gpt-4o-mini', strict_params: true, circuit_breaker: { failure_threshold: 8 },
      aliases: { cheap: 'groq/llama-3.1-8b-instant', fast: 'openai/gpt-4o' },
    });
    const bad = await send('PATCH', '/api/routing', { circuit_breaker: { failure_threshold: -1 } });
    expect(bad.json.error.param).toBe('circuit_breaker.failure_threshold');
    expect((await send('PATCH', '/api/routing', { aliases: { fast: null } })).status).toBe(409);

    // PUT and DELETE an alias: the file's target comes back.
    const alias = await send('PUT', '/api/routing/aliases/fast', example('PUT /api/routing/aliases/{alias} and DELETE'));
    expect(alias.json).toEqual({ alias: 'fast', target: 'openai/gpt-4o-mini', source: 'store' });
    expect((await send('DELETE', '/api/routing/aliases/fast')).json).toEqual({ deleted: true, alias: 'fast', reverted_to: 'openai/gpt-4o' });

    const fallbacks = await send('PUT', '/api/routing/fallbacks/openai%2Fgpt-4o', example('PUT /api/routing/fallbacks/{model} and DELETE'));
    expect(fallbacks.json).toEqual({ model: 'openai/gpt-4o', ...example('PUT /api/routing/fallbacks/{model} and DELETE'), source: 'store' });

    const routing = await get('/api/routing');
    const documented = example('GET /api/routing');
    const records = ['aliases', 'fallbacks', 'sources', 'context_window_fallbacks', 'content_policy_fallbacks'];
    expect(shapeDiff(documented, routing.json, { records })).toEqual([]);
    expect(routing.json.sources).toMatchObject({ default_model: 'store', 'aliases.fast': 'file', 'fallbacks.openai/gpt-4o': 'store', 'model_groups.chat-default': 'store' });

    expect((await send('DELETE', '/api/routing/fallbacks/openai%2Fgpt-4o')).json).toEqual({ deleted: true, model: 'openai/gpt-4o', reverted_to: null });
    expect((await send('POST', '/api/routing/model-groups', { name: 'empty', deployments: [] })).json.error.param).toBe('deployments');
    expect((await send('POST', '/api/routing/model-groups', { name: 'bad', deployments: [{ provider: 'openai' }] })).json.error.param).toBe('deployments[0].model');
    expect((await send('DELETE', '/api/routing/model-groups/chat-default')).json).toEqual({ deleted: true, name: 'chat-default', reverted_to: null });
  });

  it('settings: GET, PATCH, the documented errors; GET /api/config', async () => {
    const settings = await get('/api/settings');
    expect(shapeDiff(example('GET /api/settings'), settings.json, { records: ['governance.pricing'] })).toEqual([]);
    expect(settings.json).toEqual(example('GET /api/settings'));
    const patched = await send('PATCH', '/api/settings', example('PATCH /api/settings', 0));
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ logging: { bodies: true, retention_days: 7 }, timeouts: { first_byte_ms: 60000 } });
    const [tooBig, notLive] = jsonExamples(blocks, 'PATCH /api/settings').slice(1);
    expect((await send('PATCH', '/api/settings', { logging: { max_body_bytes: 99_999_999_999 } })).json).toEqual(tooBig);
    expect((await send('PATCH', '/api/settings', { server: { port: 1 } })).json).toEqual(notLive);

    const config = await get('/api/config');
    const documented = example('GET /api/config');
    // The documented gateway exports traces (telemetry.otlp); this one does not.
    delete documented.config.telemetry;
    const records = ['config.providers', 'config.routing.aliases', 'sources'];
    expect(shapeDiff(documented, config.json, { records, partial: true })).toEqual([]);
    expect(config.json.sources).toMatchObject({ 'providers.openai': 'env', 'routing.aliases.fast': 'file', logging: 'store', 'logging.bodies': 'store' });
    noSecrets(config.text);
  });

  it('request logs: list, one, stats (with the documented parameters)', async () => {
    const reply = await call(gw.url, 'POST', '/v1/chat/completions', {
      model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], metadata: { api_key: 'sk-in-a-body-0000' },
    });
    expect(reply.status).toBe(200);
    const list = await get('/api/logs?provider=openai&status_class=2xx&sort=time&order=desc&limit=1');
    expect(shapeDiff(example('GET /api/logs'), list.json)).toEqual([]);
    const id = list.json.data[0].id;
    const one = await get(`/api/logs/${encodeURIComponent(id)}`);
    expect(shapeDiff(example('GET /api/logs/{id}'), one.json, { partial: true })).toEqual([]);
    expect(one.json.request_body).toContain('"api_key":"[REDACTED]"');
    expect(one.json.request_body).not.toContain('sk-in-a-body-0000');
    const stats = await get(`/api/logs/stats?from=${Date.now() - 3_600_000}&to=${Date.now() + 1000}&bucket_ms=1800000&top=5`);
    expect(shapeDiff(example('GET /api/logs/stats'), stats.json)).toEqual([]);
    expect((await get('/api/logs?status_class=6xx')).json.error.param).toBe('status_class');
    expect((await get('/api/logs?colour=red')).json.error.param).toBe('colour');
    expect((await get('/api/logs/stats?from=2000&to=1000')).json.error.param).toBe('from');
    expect((await get('/api/logs/nope')).status).toBe(404);
  });

  it('GET /api/audit: every change above, newest first, paginated, no secret', async () => {
    const first = await get('/api/audit?limit=5');
    expect(shapeDiff(example('GET /api/audit'), first.json, { records: ['data.before', 'data.after'] })).toEqual([]);
    expect(first.json.data).toHaveLength(5);
    const entries = [...first.json.data];
    let cursor: string | null = first.json.next_cursor;
    while (cursor !== null) {
      const page = await get(`/api/audit?limit=5&cursor=${cursor}`);
      entries.push(...page.json.data);
      cursor = page.json.next_cursor;
    }
    expect(entries.map((entry) => entry.action).reverse()).toEqual([
      'provider.create',
      'provider_key.create',
      'provider.update', // local-vllm
      'provider_key.update',
      'provider_key.delete',
      'provider.update', // groq override
      'provider.delete',
      'model_group.create',
      'routing.update',
      'alias.set',
      'alias.delete',
      'fallbacks.set',
      'fallbacks.delete',
      'model_group.delete',
      'settings.update',
    ]);
    expect(entries.every((entry) => entry.actor === 'loopback')).toBe(true);
    noSecrets(JSON.stringify(entries));
    expect(JSON.stringify(entries)).toContain('"last4":"9f3c"');
    expect((await get('/api/audit?cursor=%%%')).json.error.param).toBe('cursor');
  });
});

describe('docs/api.md: login and logout', () => {
  it('the documented body logs in; the cookie and both answers are as documented', async () => {
    const secured = await startAdminGateway({ env: { HEIMDALL_ADMIN_TOKEN: example('POST /api/auth/login', 0).token } });
    try {
      const login = await call(secured.url, 'POST', '/api/auth/login', example('POST /api/auth/login', 0));
      expect(login.status).toBe(200);
      expect(shapeDiff(example('POST /api/auth/login', 1), login.json)).toEqual([]);
      const cookie = String(login.headers['set-cookie']);
      expect(cookie).toMatch(/^heimdall_session=[^;]+; Path=\/api; HttpOnly; SameSite=Lax; Max-Age=86400$/);
      const session = cookie.split(';')[0];
      expect((await call(secured.url, 'GET', '/api/auth/status', undefined, { cookie: session })).json).toMatchObject({ auth_required: true, authenticated: true, loopback_only: false });
      const logout = await call(secured.url, 'POST', '/api/auth/logout', undefined, { cookie: session });
      expect(logout.json).toEqual({ auth_required: true, authenticated: false });
      expect((await call(secured.url, 'GET', '/api/providers', undefined, { cookie: session })).status).toBe(401);
      const wrong = await call(secured.url, 'POST', '/api/auth/login', { token: 'wrong' });
      expect(wrong.json.error).toMatchObject({ code: 'admin_auth_required', param: 'token' });
      const audit = (await call(secured.url, 'GET', '/api/audit', undefined, { authorization: `Bearer ${example('POST /api/auth/login', 0).token}` })).json.data;
      expect(audit.map((entry: { action: string }) => entry.action)).toEqual(['auth.logout', 'auth.login']);
    } finally {
      await secured.close();
    }
  });
});

// `chat` is the helper other suites use; keep the import honest.
void chat;
