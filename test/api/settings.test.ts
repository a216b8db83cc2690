/**
 * /api/settings (live settings, validated by the config schema, merge-patch
 * semantics), /api/config (the effective configuration with every secret
 * masked and the source of each part), and log retention set through the API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiError, call, startAdminGateway, type AdminGateway } from './helpers.js';

const OPENAI_KEY = 'sk-settings-openai-key-ABCDEFGH1234';
const MISTRAL_KEY = 'mistralkeywithoutanyprefix778899';
const OTLP_SECRET = 'otlp-vendor-secret-value-4455';
let gw: AdminGateway;

beforeAll(async () => {
  gw = await startAdminGateway({
    env: { OPENAI_API_KEY: OPENAI_KEY, OTLP_KEY: OTLP_SECRET },
    config: {
      limits: { max_body_bytes: 1_000_000 },
      providers: {
        mistral: { api_key: MISTRAL_KEY, headers: { 'x-team': 'blue', 'x-api-secret': 'hdr-secret-0000111122223333' } },
        bedrock: { options: { region: 'us-east-1', access_key_id: 'AKIAABCDEFGHIJKLMNOP', secret_access_key: 'aws-secret-key-value-000000' } },
      },
      telemetry: { otlp: { endpoint: 'http://127.0.0.1:4318', headers: { 'x-vendor': 'env.OTLP_KEY' } }, tracing: { enabled: false } },
      admin: { session_ttl_hours: 12 },
    },
  });
});
afterAll(async () => gw.close());

describe('GET and PATCH /api/settings', () => {
  it('GET shows every live section with effective values', async () => {
    const reply = await call(gw.url, 'GET', '/api/settings');
    expect(reply.status).toBe(200);
    expect(reply.json.logging).toEqual({ bodies: false, max_body_bytes: 65536, retention_days: 30, max_db_bytes: 1024 ** 3 });
    // capacity_target_delay_ms: 0 is the test helper's (the limit watches this process's loop, shared by the test's clients).
    expect(reply.json.limits).toEqual({ max_body_bytes: 1_000_000, max_in_flight: 4096, max_queue: 0, queue_timeout_ms: 1000, max_event_loop_delay_ms: 0, capacity_target_delay_ms: 0, capacity_min_rate: 10 });
    expect(reply.json.timeouts).toEqual({ connect_ms: 10_000, first_byte_ms: 300_000, idle_ms: 120_000, total_ms: 600_000 });
    expect(reply.json).not.toHaveProperty('server');
    expect(reply.json).not.toHaveProperty('providers');
  });

  it('PATCH merges one field at a time, applies it at once, and audits before/after', async () => {
    const reply = await call(gw.url, 'PATCH', '/api/settings', { logging: { retention_days: 2, max_db_bytes: 5_000_000 } });
    expect(reply.status).toBe(200);
    expect(reply.json.logging).toEqual({ bodies: false, max_body_bytes: 65536, retention_days: 2, max_db_bytes: 5_000_000 });
    expect(gw.app.store.retention.limits).toEqual({ maxAgeMs: 2 * 86_400_000, maxBytes: 5_000_000 });
    const second = await call(gw.url, 'PATCH', '/api/settings', { logging: { bodies: true } });
    expect(second.json.logging).toMatchObject({ bodies: true, retention_days: 2 });
    expect(gw.app.store.logs.bodyOptions).toEqual({ enabled: true, maxBytes: 65536 });

    const audit = await call(gw.url, 'GET', '/api/audit?action=settings.update&limit=1');
    expect(audit.json.data[0]).toMatchObject({
      actor: 'loopback', target: 'logging',
      before: { logging: { bodies: false, retention_days: 2 } },
      after: { logging: { bodies: true, retention_days: 2 } },
    });
    expect(typeof audit.json.next_cursor).toBe('string');

    // null reverts a field to the file or the default; a section's null drops every stored change.
    const reverted = await call(gw.url, 'PATCH', '/api/settings', { logging: { retention_days: null } });
    expect(reverted.json.logging).toMatchObject({ bodies: true, retention_days: 30 });
    await call(gw.url, 'PATCH', '/api/settings', { logging: null });
    expect((await call(gw.url, 'GET', '/api/settings')).json.logging.bodies).toBe(false);
    expect(gw.app.store.config.getSetting('logging')).toBeUndefined();
  });

  it('bad input names the field', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ logging: { max_body_bytes: 99_000_000 } }, 'logging.max_body_bytes', /^logging\.max_body_bytes: /],
      [{ logging: { bodies: 'yes' } }, 'logging.bodies', /^logging\.bodies: /],
      [{ logging: { colour: 1 } }, 'logging.colour', /unknown key/],
      [{ limits: { max_body_bytes: 0 } }, 'limits.max_body_bytes', /limits\.max_body_bytes/],
      [{ timeouts: { total_ms: -1 } }, 'timeouts.total_ms', /timeouts\.total_ms/],
      [{ server: { port: 1 } }, 'server', /apply at start/],
      [{ admin: { token: 'x' } }, 'admin', /HEIMDALL_ADMIN_TOKEN/],
      [{ nonsense: {} }, 'nonsense', /not a live setting/],
      [{ logging: 5 }, 'logging', /expected an object/],
      [{ governance: { virtual_keys: {} } }, 'governance.virtual_keys', /\/api\/virtual-keys/],
      ['[1, 2]', 'body', /expected record/],
    ];
    for (const [body, param, message] of cases) {
      const reply = await call(gw.url, 'PATCH', '/api/settings', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(apiError(reply).param, JSON.stringify(body)).toBe(param);
      expect(apiError(reply).message, JSON.stringify(body)).toMatch(message);
    }
    // Nothing of it was written.
    expect(gw.app.store.config.listSettings()).toEqual({});
  });
});

describe('GET /api/config', () => {
  it('the effective configuration, every secret masked, with sources', async () => {
    await call(gw.url, 'PATCH', '/api/settings', { logging: { bodies: true } });
    const reply = await call(gw.url, 'GET', '/api/config');
    expect(reply.status).toBe(200);
    for (const secret of [OPENAI_KEY, MISTRAL_KEY, OTLP_SECRET, 'hdr-secret-0000111122223333', 'aws-secret-key-value']) {
      expect(reply.text, secret).not.toContain(secret);
    }
    const { config, sources } = reply.json;
    expect(config.providers.openai).toMatchObject({ source: 'env', keys: [{ last4: '1234', source: 'env' }] });
    expect(config.providers.mistral).toMatchObject({ source: 'file', headers: { 'x-team': 'blue', 'x-api-secret': '[REDACTED]' }, keys: [{ last4: '8899' }] });
    expect(config.providers.bedrock.options).toMatchObject({ region: 'us-east-1', secret_access_key: '[REDACTED]' });
    expect(config.telemetry.otlp.headers).toEqual({ 'x-vendor': '[REDACTED]' });
    expect(config.admin).toEqual({ token: null, session_ttl_hours: 12 });
    expect(config.logging.bodies).toBe(true);
    expect(config.limits.max_body_bytes).toBe(1_000_000);
    expect(sources).toMatchObject({
      'providers.openai': 'env', 'providers.mistral': 'file', 'logging': 'store', 'logging.bodies': 'store',
      'limits': 'file', 'limits.max_body_bytes': 'file', 'timeouts': 'default',
    });
    expect(reply.json.config_path).toBeNull();
    await call(gw.url, 'PATCH', '/api/settings', { logging: null });
  });
});

describe('retention set through the API', () => {
  it('retention_days applies to the next run: older logs go, recent ones stay', async () => {
    const store = gw.app.store;
    const now = Date.now();
    const base = { surface: 'openai' as const, route: '/v1/chat/completions', method: 'POST', status: 200, latency_ms: 5, cost_known: false, stream: false, attempts: [] };
    store.logs.enqueue({ ...base, id: 'old-1', time: now - 5 * 86_400_000 });
    store.logs.enqueue({ ...base, id: 'old-2', time: now - 3 * 86_400_000 });
    store.logs.enqueue({ ...base, id: 'new-1', time: now - 3_600_000 });
    store.logs.flush();
    expect((await call(gw.url, 'PATCH', '/api/settings', { logging: { retention_days: 2 } })).status).toBe(200);
    const result = await store.retention.run();
    expect(result.deletedByAge).toBe(2);
    expect((await call(gw.url, 'GET', '/api/logs/old-1')).status).toBe(404);
    expect((await call(gw.url, 'GET', '/api/logs/new-1')).status).toBe(200);
    // 0 keeps logs forever.
    await call(gw.url, 'PATCH', '/api/settings', { logging: { retention_days: 0 } });
    expect(store.retention.limits.maxAgeMs).toBeNull();
    await call(gw.url, 'PATCH', '/api/settings', { logging: null });
  });
});
