/**
 * The management API of governance over real sockets: virtual keys, teams,
 * customers (validation naming the field, 404s, rotate, revoke, delete), and
 * a pass-through stream that looks exactly as if usage had not been asked for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { call, chat, startGov, type GovGateway } from './helpers.js';

let mock: MockUpstream;
let gw: GovGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startGov({ config: { providers: { openai: { api_key: 'sk-upstream-0000', base_url: mock.openaiBaseUrl, max_retries: 0 } } } });
});
afterAll(async () => {
  await gw.close();
  await mock.close();
});

describe('/api/virtual-keys', () => {
  it('creates a key whose secret is shown once, lists, reads, updates, rotates and deletes it', async () => {
    const team = await call('POST', `${gw.url}/api/teams`, { name: 'platform', description: 'Platform team', metadata: { cost_center: 42 } });
    expect(team.status).toBe(201);
    const created = await call('POST', `${gw.url}/api/virtual-keys`, {
      name: 'billing', team_id: team.json.id, allowed_models: ['openai/*'],
      budget: { max_usd: 12.5, period: '7d' },
      rate_limits: [{ requests: 100, tokens: 50_000, window: '1m' }, { model: 'openai/gpt-4o', requests: 5, window: '1h', algorithm: 'token_bucket', per_model: true }],
      metadata: { owner: 'ana' },
    });
    expect(created.status).toBe(201);
    const secret: string = created.json.key;
    expect(secret).toMatch(/^hk-/);
    expect(created.json).toMatchObject({ name: 'billing', status: 'active', source: 'store', key_prefix: `${secret.slice(0, 7)}…${secret.slice(-4)}` });
    expect(created.json).not.toHaveProperty('key_hash');

    const list = await call('GET', `${gw.url}/api/virtual-keys?team_id=${team.json.id}`);
    expect(list.json.data).toHaveLength(1);
    expect(list.json.data[0]).not.toHaveProperty('key');
    expect(JSON.stringify(list.json)).not.toContain(secret);

    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b'), { authorization: `Bearer ${secret}` })).status).toBe(200);
    const detail = await call('GET', `${gw.url}/api/virtual-keys/${created.json.id}`);
    expect(detail.json).toMatchObject({
      requests: 1,
      budget: { max_usd: 12.5, period: '7d', refuse_unpriced: false, reserved_usd: 0 },
      limits: [
        { scope: 'virtual_key', model: '*', requests_state: { limit: 100, remaining: 99 }, tokens_state: { limit: 50_000, remaining: 50_000 - 5 } },
        { scope: 'virtual_key', model: 'openai/gpt-4o', per_model: true, requests_state: null },
      ],
    });
    expect(detail.json.budget.resets_at - detail.json.budget.period_start).toBe(7 * 86_400_000);

    const patched = await call('PATCH', `${gw.url}/api/virtual-keys/${created.json.id}`, { description: 'billing service', budget: null });
    expect(patched.json).toMatchObject({ description: 'billing service', budget: null, allowed_models: ['openai/*'] });

    const rotated = await call('POST', `${gw.url}/api/virtual-keys/${created.json.id}/rotate`);
    expect(rotated.json.key).not.toBe(secret);
    expect(rotated.json.rotated_at).toBeTypeOf('number');
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), { authorization: `Bearer ${secret}` })).status).toBe(401);
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), { authorization: `Bearer ${rotated.json.key}` })).status).toBe(200);
    expect((await call('GET', `${gw.url}/api/virtual-keys/${created.json.id}`)).json.requests).toBe(2); // same key, same spend

    expect((await call('DELETE', `${gw.url}/api/virtual-keys/${created.json.id}`)).json).toEqual({ deleted: true, id: created.json.id });
    expect((await call('GET', `${gw.url}/api/virtual-keys/${created.json.id}`)).status).toBe(404);
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), { authorization: `Bearer ${rotated.json.key}` })).status).toBe(401);
  });

  it('validates bodies, naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'name'],
      [{ name: 'x', budget: { max_usd: -1 } }, 'budget.max_usd'],
      [{ name: 'x', budget: { max_usd: 1, period: 'fortnightly' } }, 'budget.period'],
      [{ name: 'x', rate_limits: [{ window: '1m' }] }, 'rate_limits[0]'],
      [{ name: 'x', rate_limits: [{ requests: 1, window: 'soon' }] }, 'rate_limits[0].window'],
      [{ name: 'x', team_id: 'team_missing' }, 'team_id'],
      [{ name: 'x', colour: 'red' }, 'colour'],
      [{ name: 'x', expires_at: 'tomorrow' }, 'expires_at'],
    ];
    for (const [body, param] of cases) {
      const reply = await call('POST', `${gw.url}/api/virtual-keys`, body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.json.error.param, JSON.stringify(body)).toBe(param);
    }
    expect((await call('PATCH', `${gw.url}/api/virtual-keys/vk_nope`, { name: 'y' })).status).toBe(404);
    expect((await call('POST', `${gw.url}/api/virtual-keys/vk_nope/rotate`)).status).toBe(404);
  });
});

describe('/api/teams and /api/customers', () => {
  it('CRUD with names unique per level; deleting detaches, never deletes, the members', async () => {
    const customer = await call('POST', `${gw.url}/api/customers`, { name: 'globex', budget: { max_usd: 1000, period: 'monthly' } });
    expect(customer.status).toBe(201);
    expect(customer.json).toMatchObject({ name: 'globex', status: 'active', spend_usd: 0, budget: { remaining_usd: 1000 } });
    expect((await call('POST', `${gw.url}/api/customers`, { name: 'globex' })).status).toBe(409);
    const team = await call('POST', `${gw.url}/api/teams`, { name: 'globex-ml', customer_id: customer.json.id });
    expect((await call('POST', `${gw.url}/api/teams`, { name: 'bad', customer_id: 'cus_missing' })).json.error.param).toBe('customer_id');
    const key = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'ml', team_id: team.json.id });

    const disabled = await call('PATCH', `${gw.url}/api/teams/${team.json.id}`, { status: 'disabled' });
    expect(disabled.json.status).toBe('disabled');
    const refused = await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), { authorization: `Bearer ${key.json.key}` });
    expect(refused.status).toBe(403);
    expect(refused.headers['x-should-retry']).toBe('false');
    expect(refused.json.error).toMatchObject({ type: 'permission_error', code: 'team_disabled' });
    expect(refused.json.error.message).toMatch(/disabled team "globex-ml"/);
    await call('PATCH', `${gw.url}/api/teams/${team.json.id}`, { status: 'active' });
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), { authorization: `Bearer ${key.json.key}` })).status).toBe(200);

    expect((await call('GET', `${gw.url}/api/teams`)).json.data.some((t: { id: string }) => t.id === team.json.id)).toBe(true);
    expect((await call('DELETE', `${gw.url}/api/customers/${customer.json.id}`)).status).toBe(200);
    expect((await call('GET', `${gw.url}/api/teams/${team.json.id}`)).json.customer_id).toBeNull();
    expect((await call('DELETE', `${gw.url}/api/teams/${team.json.id}`)).status).toBe(200);
    expect((await call('GET', `${gw.url}/api/virtual-keys/${key.json.id}`)).json).toMatchObject({ team_id: null, status: 'active' });
    expect((await call('GET', `${gw.url}/api/teams/${team.json.id}`)).status).toBe(404);
  });
});

describe('a valid key held back by its disabled team or customer', () => {
  const anthropicBody = { model: 'openai/gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };
  const geminiBody = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
  const geminiPath = '/genai/v1beta/models/openai%2Fgpt-4o-mini:generateContent';

  it('is refused with 403 team_disabled / customer_disabled in every surface format; revoked and expired keys stay 401', async () => {
    const customer = await call('POST', `${gw.url}/api/customers`, { name: 'initech' });
    const team = await call('POST', `${gw.url}/api/teams`, { name: 'initech-ops', customer_id: customer.json.id });
    const viaTeam = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'ops', team_id: team.json.id });
    const direct = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'direct', customer_id: customer.json.id });
    const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
    const rejectionsBefore = gw.app.governance.rejections.disabled;

    await call('PATCH', `${gw.url}/api/teams/${team.json.id}`, { status: 'disabled' });
    const openai = await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), bearer(viaTeam.json.key));
    expect([openai.status, openai.json.error.type, openai.json.error.code]).toEqual([403, 'permission_error', 'team_disabled']);
    const anthropic = await call('POST', `${gw.url}/anthropic/v1/messages`, anthropicBody, { 'x-api-key': viaTeam.json.key });
    expect(anthropic.status).toBe(403);
    expect(anthropic.json).toEqual({ type: 'error', error: { type: 'permission_error', message: 'The virtual key "ops" belongs to the disabled team "initech-ops".' } });
    const gemini = await call('POST', `${gw.url}${geminiPath}`, geminiBody, { 'x-goog-api-key': viaTeam.json.key });
    expect(gemini.status).toBe(403);
    expect(gemini.json.error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });
    expect(gemini.json.error.message).toMatch(/disabled team "initech-ops"/);
    // The models list guard says the same.
    expect((await call('GET', `${gw.url}/v1/models`, undefined, bearer(viaTeam.json.key))).json.error.code).toBe('team_disabled');
    // The key with no team is not held back by another team.
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), bearer(direct.json.key))).status).toBe(200);
    await call('PATCH', `${gw.url}/api/teams/${team.json.id}`, { status: 'active' });

    // A disabled customer holds back its own keys and those of its teams.
    await call('PATCH', `${gw.url}/api/customers/${customer.json.id}`, { status: 'disabled' });
    for (const secret of [viaTeam.json.key, direct.json.key]) {
      const held = await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), bearer(secret));
      expect([held.status, held.json.error.code, held.headers['x-should-retry']]).toEqual([403, 'customer_disabled', 'false']);
      expect(held.json.error.message).toMatch(/disabled customer "initech"/);
    }
    const anthropicCustomer = await call('POST', `${gw.url}/anthropic/v1/messages`, anthropicBody, { 'x-api-key': direct.json.key });
    expect([anthropicCustomer.status, anthropicCustomer.json.error.type]).toEqual([403, 'permission_error']);
    // Both disabled: the team is named first.
    await call('PATCH', `${gw.url}/api/teams/${team.json.id}`, { status: 'disabled' });
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), bearer(viaTeam.json.key))).json.error.code).toBe('team_disabled');
    expect(gw.app.governance.rejections.disabled - rejectionsBefore).toBe(8);

    // Revoked (and expired) keys are no longer valid keys: 401, even when their team is disabled too.
    await call('POST', `${gw.url}/api/virtual-keys/${viaTeam.json.id}/revoke`);
    const revoked = await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), bearer(viaTeam.json.key));
    expect([revoked.status, revoked.json.error.code]).toEqual([401, 'invalid_api_key']);
    expect(revoked.json.error.message).toMatch(/was revoked/);
    await call('PATCH', `${gw.url}/api/virtual-keys/${direct.json.id}`, { expires_at: Date.now() - 1000 });
    const expired = await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), bearer(direct.json.key));
    expect([expired.status, expired.json.error.code]).toEqual([401, 'invalid_api_key']);
    expect(expired.json.error.message).toMatch(/has expired/);

    await call('PATCH', `${gw.url}/api/customers/${customer.json.id}`, { status: 'active' });
    await call('PATCH', `${gw.url}/api/teams/${team.json.id}`, { status: 'active' });
  });
});

describe('stream usage', () => {
  it('a pass-through stream without include_usage reaches the client byte for byte as the provider sends it without usage', async () => {
    const body = { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'one two three' }] };
    const direct = await call('POST', `${mock.openaiBaseUrl}/chat/completions`, body, { authorization: 'Bearer sk-direct' });
    const viaGateway = await call('POST', `${gw.url}/v1/chat/completions`, { ...body, model: 'openai/gpt-4o-mini' });
    const normalize = (text: string): string => text.replace(/chatcmpl-mock-\d+/g, 'ID');
    expect(viaGateway.headers['content-type']).toMatch(/text\/event-stream/);
    expect(normalize(viaGateway.text)).toBe(normalize(direct.text));
    const upstream = mock.requests[mock.requests.length - 1].body as Record<string, unknown>;
    expect(upstream.stream_options).toEqual({ include_usage: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    gw.app.store.logs.flush();
    const logs = (await call('GET', `${gw.url}/api/logs?limit=1`)).json.data;
    expect(logs[0]).toMatchObject({ stream: true, input_tokens: 3, output_tokens: 4, cost_known: true });
  });
});
