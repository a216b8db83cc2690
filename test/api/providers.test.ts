/**
 * /api/providers and /api/provider-types over a real socket: the happy paths,
 * bad input naming the field, conflicts with file/env providers, key secrets
 * never returned, audit entries, and "test connection" against the mock.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { apiError, call, startAdminGateway, type AdminGateway } from './helpers.js';

const ENV_KEY = 'sk-env-key-0123456789abcdefWXYZ';
const NEW_KEY = 'sk-new-key-abcdefghijklmnop9876';
const SECOND_KEY = 'sk-second-key-zyxwvutsrq5555';

let mock: MockUpstream;
let gw: AdminGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startAdminGateway({
    env: { OPENAI_API_KEY: ENV_KEY, OPENAI_BASE_URL: mock.openaiBaseUrl },
    config: {
      providers: {
        groq: { api_key: 'gsk_file_key_000000000000000000000000', base_url: `${mock.url}/openai/v1`, max_retries: 0 },
      },
    },
  });
});
afterAll(async () => {
  await gw.close();
  await mock.close();
});
beforeEach(() => mock.reset());

describe('GET /api/providers and /api/provider-types', () => {
  it('lists env and file providers with their source and keys as last4 only', async () => {
    const reply = await call(gw.url, 'GET', '/api/providers');
    expect(reply.status).toBe(200);
    const byName = Object.fromEntries((reply.json.data as Array<{ name: string }>).map((p) => [p.name, p]));
    expect(byName.openai).toMatchObject({
      name: 'openai',
      type: 'openai',
      enabled: true,
      base_url: mock.openaiBaseUrl,
      source: 'env',
      store_override: false,
      keys: [{ id: 'openai#0', name: 'default', last4: 'WXYZ', weight: 1, models: null, enabled: true, source: 'env' }],
    });
    expect(byName.groq).toMatchObject({ source: 'file', max_retries: 0, keys: [{ id: 'groq#0', last4: '0000', source: 'file' }] });
    expect(reply.text).not.toContain(ENV_KEY);
    expect(reply.text).not.toContain('gsk_file_key');
  });

  it('lists the provider types with their defaults', async () => {
    const reply = await call(gw.url, 'GET', '/api/provider-types');
    expect(reply.status).toBe(200);
    const openai = reply.json.data.find((t: { type: string }) => t.type === 'openai');
    expect(openai).toMatchObject({
      type: 'openai', name: 'OpenAI', format: 'openai', default_base_url: 'https://api.openai.com/v1',
      api_key_env: 'OPENAI_API_KEY', base_url_env: 'OPENAI_BASE_URL', needs_key: true,
    });
    expect(reply.json.data.find((t: { type: string }) => t.type === 'ollama')?.needs_key).toBe(false);
  });

  it('GET /api/providers/:name answers 404 naming the field for an unknown provider', async () => {
    const reply = await call(gw.url, 'GET', '/api/providers/nope');
    expect(reply.status).toBe(404);
    expect(apiError(reply)).toEqual({ message: 'No provider is named "nope".', type: 'invalid_request_error', param: 'name', code: 'not_found' });
  });
});

describe('creating, changing and deleting a provider', () => {
  it('POST creates a store provider with keys; the secret is never returned; audit has no secret', async () => {
    const created = await call(gw.url, 'POST', '/api/providers', {
      name: 'local-llm',
      type: 'openai-compatible',
      base_url: mock.openaiBaseUrl,
      models: ['llama-3'],
      headers: { 'x-team': 'research', authorization: 'Bearer sk-header-secret-123456789' },
      keys: [{ name: 'main', api_key: NEW_KEY, weight: 2 }],
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: 'local-llm', type: 'openai-compatible', enabled: true, base_url: mock.openaiBaseUrl, source: 'store',
      models: ['llama-3'], headers: { 'x-team': 'research', authorization: '[REDACTED]' },
      keys: [{ name: 'main', last4: '9876', weight: 2, enabled: true, source: 'store' }],
    });
    expect(created.text).not.toContain(NEW_KEY);
    expect(created.text).not.toContain('sk-header-secret');

    const audit = await call(gw.url, 'GET', '/api/audit?action=provider.create');
    expect(audit.json.data[0]).toMatchObject({ actor: 'loopback', action: 'provider.create', target: 'local-llm', before: null });
    expect(audit.json.data[0].after.keys[0].last4).toBe('9876');
    expect(audit.text).not.toContain(NEW_KEY);
    expect(audit.text).not.toContain('sk-header-secret');
  });

  it('PATCH changes fields (null reverts one); keys are added, updated and deleted; secrets stay write-only', async () => {
    const patched = await call(gw.url, 'PATCH', '/api/providers/local-llm', { models: ['llama-3', 'qwen'], max_retries: 1 });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ models: ['llama-3', 'qwen'], max_retries: 1 });

    const added = await call(gw.url, 'POST', '/api/providers/local-llm/keys', { name: 'backup', api_key: SECOND_KEY, models: ['qwen'] });
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ name: 'backup', last4: '5555', weight: 1, models: ['qwen'], enabled: true, source: 'store' });
    expect(added.text).not.toContain(SECOND_KEY);
    const keyId = added.json.id as string;

    const updated = await call(gw.url, 'PATCH', `/api/providers/local-llm/keys/${keyId}`, { enabled: false, weight: 0.5, api_key: 'sk-rotated-key-11112222' });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ id: keyId, enabled: false, weight: 0.5, last4: '2222' });

    const reverted = await call(gw.url, 'PATCH', '/api/providers/local-llm', { max_retries: null });
    expect(reverted.json.max_retries).toBe(2);

    const removed = await call(gw.url, 'DELETE', `/api/providers/local-llm/keys/${keyId}`);
    expect(removed.status).toBe(200);
    expect(removed.json).toEqual({ deleted: true, id: keyId });
    const after = await call(gw.url, 'GET', '/api/providers/local-llm');
    expect(after.json.keys.map((k: { name: string }) => k.name)).toEqual(['main']);
  });

  it('a key added to an env provider is appended to its env key and overrides nothing else', async () => {
    const added = await call(gw.url, 'POST', '/api/providers/openai/keys', { api_key: NEW_KEY });
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ name: 'key-2', last4: '9876', source: 'store' });
    const provider = await call(gw.url, 'GET', '/api/providers/openai');
    expect(provider.json).toMatchObject({ source: 'env', store_override: true, base_url: mock.openaiBaseUrl });
    expect(provider.json.keys.map((k: { id: string; source: string }) => [k.id, k.source])).toEqual([['openai#0', 'env'], [added.json.id, 'store']]);

    // The env key cannot be changed or deleted here: it lives in the environment.
    const envKey = await call(gw.url, 'DELETE', '/api/providers/openai/keys/openai%230');
    expect(envKey.status).toBe(409);
    expect(apiError(envKey)).toMatchObject({ code: 'conflict', param: 'key_id' });
    expect(apiError(envKey).message).toContain('declared in the environment');

    // Deleting the store key drops the (now empty) override: the provider is as the env made it.
    expect((await call(gw.url, 'DELETE', `/api/providers/openai/keys/${added.json.id}`)).status).toBe(200);
    const back = await call(gw.url, 'GET', '/api/providers/openai');
    expect(back.json).toMatchObject({ source: 'env', store_override: false });
    expect(back.json.keys).toHaveLength(1);
  });

  it('DELETE removes a store provider; a file or env provider answers 409', async () => {
    const created = await call(gw.url, 'POST', '/api/providers', { name: 'temp', type: 'openai', api_key: 'sk-temp-key-000000001111' });
    expect(created.status).toBe(201);
    const deleted = await call(gw.url, 'DELETE', '/api/providers/temp');
    expect(deleted.json).toEqual({ deleted: true, name: 'temp', reverted_to: null });
    expect((await call(gw.url, 'GET', '/api/providers/temp')).status).toBe(404);

    const env = await call(gw.url, 'DELETE', '/api/providers/openai');
    expect(env.status).toBe(409);
    expect(apiError(env).message).toBe('Provider "openai" is declared in the environment; remove it there, or PATCH {"enabled": false}.');
    const file = await call(gw.url, 'DELETE', '/api/providers/groq');
    expect(apiError(file).message).toContain('declared in the config file');
  });

  it('PATCH on a file provider overrides it; DELETE of the override reverts to the file', async () => {
    const patched = await call(gw.url, 'PATCH', '/api/providers/groq', { enabled: false });
    expect(patched.json).toMatchObject({ enabled: false, source: 'file', store_override: true, disabled_reason: 'disabled in config' });
    const reverted = await call(gw.url, 'DELETE', '/api/providers/groq');
    expect(reverted.json).toEqual({ deleted: true, name: 'groq', reverted_to: 'file' });
    expect((await call(gw.url, 'GET', '/api/providers/groq')).json).toMatchObject({ enabled: true, store_override: false });
  });
});

describe('bad input names the field', () => {
  const cases: Array<[string, string, string, unknown, number, string | null, RegExp]> = [
    ['bad name', 'POST', '/api/providers', { name: 'Bad Name', type: 'openai' }, 400, 'name', /^name: use lowercase letters/],
    ['missing name', 'POST', '/api/providers', { type: 'openai' }, 400, 'name', /^name: /],
    ['bad base_url', 'POST', '/api/providers', { name: 'x1', type: 'openai', base_url: 'not a url' }, 400, 'base_url', /^base_url: /],
    ['unknown type', 'POST', '/api/providers', { name: 'x2', type: 'nosuch' }, 400, 'type', /unknown provider type "nosuch"/],
    ['openai-compatible without base_url', 'POST', '/api/providers', { name: 'x3', type: 'openai-compatible' }, 400, 'base_url', /required for an "openai-compatible" provider/],
    ['unknown provider field', 'POST', '/api/providers', { name: 'x4', type: 'openai', colour: 'red' }, 400, 'colour', /colour: unknown key/],
    ['negative key weight', 'POST', '/api/providers/openai/keys', { api_key: 'sk-aaaaaaaaaaaaaaaa', weight: -1 }, 400, 'weight', /^weight: /],
    ['key without api_key', 'POST', '/api/providers/openai/keys', { name: 'k' }, 400, 'api_key', /^api_key: /],
    ['unknown key field', 'POST', '/api/providers/openai/keys', { api_key: 'sk-aaaaaaaaaaaaaaaa', secret: 'x' }, 400, 'secret', /secret: unknown field/],
    ['duplicate provider', 'POST', '/api/providers', { name: 'openai', type: 'openai' }, 409, 'name', /already exists \(env\)/],
    ['rename', 'PATCH', '/api/providers/openai', { name: 'other' }, 409, 'name', /cannot be renamed/],
    ['keys through PATCH', 'PATCH', '/api/providers/openai', { api_key: 'sk-x' }, 409, 'api_key', /\/api\/providers\/openai\/keys/],
    ['max_retries too big', 'PATCH', '/api/providers/openai', { max_retries: 99 }, 400, 'max_retries', /^max_retries: /],
    ['not JSON', 'POST', '/api/providers', '{"name": ', 400, null, /not valid JSON/],
    ['unknown key id', 'PATCH', '/api/providers/openai/keys/nope', { enabled: false }, 404, 'key_id', /no key with id "nope"/],
  ];
  for (const [what, method, path, body, status, param, message] of cases) {
    it(what, async () => {
      const reply = await call(gw.url, method, path, body);
      expect(reply.status).toBe(status);
      expect(apiError(reply).param).toBe(param);
      expect(apiError(reply).message).toMatch(message);
    });
  }

  it('a body that is not JSON content is refused with 415', async () => {
    const reply = await call(gw.url, 'POST', '/api/providers', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(reply.status).toBe(415);
    expect(apiError(reply).param).toBe('content-type');
  });

  it('a refused change writes nothing: no row, no audit entry', async () => {
    const before = (await call(gw.url, 'GET', '/api/audit')).json.data.length;
    await call(gw.url, 'POST', '/api/providers', { name: 'x5', type: 'openai-compatible' });
    expect((await call(gw.url, 'GET', '/api/providers/x5')).status).toBe(404);
    expect(gw.app.store.config.getProviderByName('x5')).toBeUndefined();
    expect((await call(gw.url, 'GET', '/api/audit')).json.data.length).toBe(before);
  });
});

describe('POST /api/providers/:name/test', () => {
  it('lists the models with the key: ok, status, latency', async () => {
    const reply = await call(gw.url, 'POST', '/api/providers/openai/test', {});
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ ok: true, status: 200, error: null, method: 'models', key_id: 'openai#0' });
    expect(reply.json.latency_ms).toBeGreaterThanOrEqual(0);
    const upstream = mock.requests.at(-1)!;
    expect(upstream.method).toBe('GET');
    expect(upstream.path).toBe('/v1/models');
    expect(upstream.headers.authorization).toBe(`Bearer ${ENV_KEY}`);
  });

  it('with a model: a 1-token chat', async () => {
    const reply = await call(gw.url, 'POST', '/api/providers/openai/test', { model: 'gpt-4o-mini' });
    expect(reply.json).toMatchObject({ ok: true, status: 200, method: 'chat', model: 'gpt-4o-mini' });
    expect(mock.requests.at(-1)!.body).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 });
  });

  it('reports the upstream refusal without echoing the key', async () => {
    mock.enqueue({ kind: 'error', status: 401, body: { error: { message: `Incorrect API key provided: ${ENV_KEY}`, type: 'invalid_request_error', code: 'invalid_api_key' } } });
    const reply = await call(gw.url, 'POST', '/api/providers/openai/test', {});
    expect(reply.json).toMatchObject({ ok: false, status: 401 });
    expect(reply.json.error).toMatch(/^Incorrect API key provided: /);
    expect(reply.text).not.toContain(ENV_KEY);
  });

  it('reports an unreachable provider', async () => {
    const created = await call(gw.url, 'POST', '/api/providers', { name: 'dead', type: 'openai-compatible', base_url: 'http://127.0.0.1:1/v1', api_key: 'sk-dead-000000000000' });
    expect(created.status).toBe(201);
    const reply = await call(gw.url, 'POST', '/api/providers/dead/test', {});
    expect(reply.json).toMatchObject({ ok: false, status: null });
    expect(reply.json.error).toMatch(/ECONNREFUSED|refused|connect/i);
  });

  it('an unknown key_id is a 404 naming key_id', async () => {
    const reply = await call(gw.url, 'POST', '/api/providers/openai/test', { key_id: 'zzz' });
    expect(reply.status).toBe(404);
    expect(apiError(reply).param).toBe('key_id');
  });
});
