/**
 * docs/governance.md is true: its curl commands are replayed as written (the
 * placeholder ids and secrets replaced by real ones), its JSON answers have the
 * shape of the real ones, the enforcement table holds cell by cell, its
 * budget, rate-limit and config-file examples load, and every change is in
 * the audit log without a secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { curlExamples, docBlocks, jsonExamples, shapeDiff, type CurlRequest } from '../api/doc-examples.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { call, startGov, type GovGateway, type Reply } from './helpers.js';

const blocks = docBlocks('governance.md');
const json = (heading: string, index = 0): Record<string, any> => jsonExamples(blocks, heading)[index] as Record<string, any>;

let mock: MockUpstream;
let gw: GovGateway;
/** Placeholder in the docs -> the real value, filled as the examples run. */
const ids = new Map<string, string>();
let secret = '';

function real(text: string): string {
  let out = text;
  for (const [placeholder, value] of ids) out = out.split(placeholder).join(value);
  return out;
}

async function replay(request: CurlRequest, headers: Record<string, string> = {}): Promise<Reply> {
  const body = request.body === undefined ? undefined : JSON.parse(real(JSON.stringify(request.body)));
  return call(request.method, `${gw.url}${real(request.path)}`, body, headers);
}

function curl(heading: string, index: number): CurlRequest {
  const found = curlExamples(blocks, heading)[index];
  if (found === undefined) throw new Error(`no curl example ${index} under "${heading}"`);
  return found;
}

const chatBody = { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] };
const chatWith = (headers: Record<string, string>) => call('POST', `${gw.url}/v1/chat/completions`, chatBody, headers);

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startGov({
    config: {
      providers: { openai: { api_key: 'sk-upstream-0000', base_url: mock.openaiBaseUrl, max_retries: 0 } },
      routing: { aliases: { smart: 'openai/gpt-4o' } },
    },
  });
});
afterAll(async () => {
  await gw.close();
  await mock.close();
});

describe('docs/governance.md, in the order of the document', () => {
  it('Virtual keys: the create example and its answer, the chat call, the management commands', async () => {
    const created = await replay(curl('Virtual keys', 0));
    expect(created.status).toBe(201);
    expect(shapeDiff(json('Virtual keys'), created.json, { records: ['metadata'] })).toEqual([]);
    expect(created.json).toMatchObject({
      name: 'billing-service', status: 'active', spend_usd: 0,
      budget: { max_usd: 50, period: 'monthly', refuse_unpriced: false, spend_usd: 0, reserved_usd: 0, remaining_usd: 50 },
      rate_limits: [{ model: '*', requests: 60, tokens: 200000, window: '1m', algorithm: 'sliding', per_model: false }],
    });
    secret = created.json.key;
    expect(created.json.key_prefix).toBe(`${secret.slice(0, 7)}…${secret.slice(-4)}`);
    ids.set('vk_3fK0...', created.json.id);

    // The chat call with the key as a Bearer token.
    const chat = await replay(curl('Virtual keys', 1), { authorization: `Bearer ${secret}` });
    expect(chat.status).toBe(200);
    expect(chat.json.choices[0].message.content).toBe('echo: Hello');

    // list, detail, PATCH the budget, rotate, revoke, delete: each as documented.
    const list = await replay(curl('Virtual keys', 2));
    expect(list.json.data.map((key: { id: string }) => key.id)).toEqual([created.json.id]);
    expect(JSON.stringify(list.json)).not.toContain(secret);
    for (const query of ['?status=active', `?team_id=none`, '?customer_id=none', '?status=revoked']) {
      const filtered = await call('GET', `${gw.url}/api/virtual-keys${query}`);
      expect(filtered.json.data.length, query).toBe(query === '?status=active' ? 1 : 0);
    }
    expect((await call('GET', `${gw.url}/api/virtual-keys?status=lost`)).json.error.param).toBe('status');
    const detail = await replay(curl('Virtual keys', 3));
    expect(detail.json).toMatchObject({ id: created.json.id, requests: 1, team_budget: null, customer_budget: null });
    expect(detail.json.limits[0]).toMatchObject({ scope: 'virtual_key', requests_state: { limit: 60, remaining: 59 } });
    const patched = await replay(curl('Virtual keys', 4));
    expect(patched.json.budget).toMatchObject({ max_usd: 80, period: 'monthly' });
    const rotated = await replay(curl('Virtual keys', 5));
    expect(rotated.json.key).toMatch(/^hk-/);
    expect(rotated.json.key).not.toBe(secret);
    expect((await chatWith({ authorization: `Bearer ${secret}` })).status).toBe(401);
    secret = rotated.json.key;
    expect((await chatWith({ authorization: `Bearer ${secret}` })).status).toBe(200);
    const revoked = await replay(curl('Virtual keys', 6));
    expect(revoked.json.status).toBe('revoked');
    const refused = await chatWith({ authorization: `Bearer ${secret}` });
    expect(refused.status).toBe(401);
    expect(refused.json.error.message).toMatch(/was revoked/);
    expect((await replay(curl('Virtual keys', 7))).json).toEqual({ deleted: true, id: created.json.id });

    // expires_at: an ISO time or milliseconds; null clears a field.
    const expiring = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'expiring', expires_at: '2027-01-01T00:00:00Z' });
    expect(expiring.json.expires_at).toBe(Date.parse('2027-01-01T00:00:00Z'));
    const cleared = await call('PATCH', `${gw.url}/api/virtual-keys/${expiring.json.id}`, { expires_at: null, budget: null });
    expect(cleared.json).toMatchObject({ expires_at: null, budget: null });
    ids.set('vk_3fK0...', expiring.json.id);
    secret = expiring.json.key;
  });

  it('Enforcement: the table, cell by cell', async () => {
    const valid = { authorization: `Bearer ${secret}` };
    const invalidHk = { authorization: 'Bearer hk-not-issued-here-0000000000' };
    const other = { authorization: 'Bearer sk-a-provider-key' };
    const before = (await call('GET', `${gw.url}/api/virtual-keys/${ids.get('vk_3fK0...')}`)).json.requests;
    expect((await chatWith({})).status).toBe(200);
    expect((await chatWith(valid)).status).toBe(200);
    expect((await chatWith(invalidHk)).json.error.code).toBe('invalid_api_key');
    expect((await chatWith(other)).status).toBe(200);
    expect((await call('GET', `${gw.url}/api/virtual-keys/${ids.get('vk_3fK0...')}`)).json.requests).toBe(before + 1);

    expect((await call('PATCH', `${gw.url}/api/settings`, { governance: { enforce: true } })).status).toBe(200);
    try {
      const missing = await chatWith({});
      expect([missing.status, missing.json.error.code]).toEqual([401, 'missing_api_key']);
      expect((await chatWith(valid)).status).toBe(200);
      const bad = await chatWith(invalidHk);
      expect([bad.status, bad.json.error.code]).toEqual([401, 'invalid_api_key']);
      const foreign = await chatWith(other);
      expect([foreign.status, foreign.json.error.code]).toEqual([401, 'invalid_api_key']);
      expect((await call('GET', `${gw.url}/v1/models`)).status).toBe(401);
      expect((await call('GET', `${gw.url}/health`)).status).toBe(200);
      expect((await call('GET', `${gw.url}/metrics`)).status).toBe(200);
    } finally {
      await call('PATCH', `${gw.url}/api/settings`, { governance: { enforce: null } });
    }
  });

  it('Access control: the documented PATCH', async () => {
    const patched = await replay(curl('Access control', 0));
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ allowed_providers: ['openai'], allowed_models: ['openai/gpt-4o*', 'smart'] });
    const headers = { authorization: `Bearer ${secret}` };
    expect((await chatWith(headers)).status).toBe(200); // openai/gpt-4o-mini matches openai/gpt-4o*
    expect((await call('POST', `${gw.url}/v1/chat/completions`, { ...chatBody, model: 'smart' }, headers)).status).toBe(200);
    const forbidden = await call('POST', `${gw.url}/v1/chat/completions`, { ...chatBody, model: 'openai/gpt-3.5-turbo-instruct' }, headers);
    expect([forbidden.status, forbidden.json.error.code]).toEqual([403, 'model_not_allowed']);
  });

  it('Teams and customers: the documented commands', async () => {
    const customer = await replay(curl('Teams and customers', 0));
    expect(customer.status).toBe(201);
    ids.set('cus_...', customer.json.id);
    const team = await replay(curl('Teams and customers', 1));
    expect(team.status).toBe(201);
    expect(team.json).toMatchObject({ name: 'acme-research', customer_id: customer.json.id, budget: { max_usd: 200, period: 'weekly' } });
    ids.set('team_...', team.json.id);
    const key = await replay(curl('Teams and customers', 2));
    expect(key.json.team_id).toBe(team.json.id);
    expect((await chatWith({ authorization: `Bearer ${key.json.key}` })).status).toBe(200);
    expect((await replay(curl('Teams and customers', 3))).json.status).toBe('disabled');
    const held = await chatWith({ authorization: `Bearer ${key.json.key}` });
    expect([held.status, held.json.error.code, held.headers['x-should-retry']]).toEqual([403, 'team_disabled', 'false']);
    await call('PATCH', `${gw.url}/api/teams/${team.json.id}`, { status: 'active' });
    expect((await chatWith({ authorization: `Bearer ${key.json.key}` })).status).toBe(200);
    expect((await call('POST', `${gw.url}/api/teams`, { name: 'acme-research' })).status).toBe(409);
    expect((await call('GET', `${gw.url}/api/customers/${customer.json.id}`)).json).toMatchObject({ team_count: 1, key_count: 1, requests: 2 });
  });

  it('Budgets and Rate limits: the documented fragments are accepted as they are', async () => {
    const id = ids.get('vk_3fK0...')!;
    const budget = await call('PATCH', `${gw.url}/api/virtual-keys/${id}`, json('Budgets'));
    expect(budget.status).toBe(200);
    expect(budget.json.budget).toMatchObject(json('Budgets').budget);
    const limits = await call('PATCH', `${gw.url}/api/virtual-keys/${id}`, json('Rate limits'));
    expect(limits.status).toBe(200);
    expect(limits.json.rate_limits).toEqual([
      { model: '*', requests: 60, tokens: 200000, window: '1m', algorithm: 'sliding', per_model: false },
      { model: 'openai/gpt-4o', requests: 10, tokens: null, window: '1m', algorithm: 'sliding', per_model: true },
      { model: '*', requests: null, tokens: 5000000, window: '1d', algorithm: 'token_bucket', per_model: false },
    ]);
  });

  it('Rate limits: the x-ratelimit-* headers of the example (a key with 60 requests and 200000 tokens a minute)', async () => {
    const created = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'headers', rate_limits: [{ requests: 60, tokens: 200000, window: '1m' }] });
    const headers = { authorization: `Bearer ${created.json.key}` };
    await chatWith(headers);
    const second = await chatWith(headers);
    const documented = new Map(blocks.find((block) => block.heading === 'Rate limits' && block.lang === '')!.text
      .split('\n').filter((line) => line.includes(':')).map((line) => line.split(': ') as [string, string]));
    expect([...documented.keys()].sort()).toEqual(Object.keys(second.headers).filter((name) => name.startsWith('x-ratelimit-')).sort());
    for (const name of ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-limit-tokens', 'x-ratelimit-reset-requests']) {
      expect(second.headers[name], name).toBe(documented.get(name));
    }
    // Tokens: the window holds the first call (real usage) and this call's reservation: prompt bytes / 3 plus the
    // model's typical output learnt from the first call (a few tokens here), not the 1024-token prior.
    const remaining = Number(second.headers['x-ratelimit-remaining-tokens']);
    expect(remaining).toBeLessThan(200000);
    expect(remaining).toBeGreaterThan(200000 - 1024);
    expect(second.headers['x-ratelimit-reset-tokens']).toMatch(/^(\d+s|1m0s)$/);
  });

  it('Cost and prices: the pricing table and the live override', async () => {
    const table = await replay(curl('Cost and prices', 0));
    expect(table.json.data.length).toBeGreaterThan(3);
    expect(table.json.data.every((row: { provider: string }) => row.provider === 'anthropic')).toBe(true);
    const override = await replay(curl('Cost and prices', 1));
    expect(override.status).toBe(200);
    const openai = (await call('GET', `${gw.url}/api/pricing?provider=openai`)).json.data;
    expect(openai.find((row: { model: string }) => row.model === 'openai/gpt-4o')).toMatchObject({ input: 2, cached_input: 1, output: 8, source: 'config' });
    const local = (await call('GET', `${gw.url}/api/pricing?provider=local-vllm`)).json.data;
    expect(local).toEqual([{ model: 'local-vllm/*', provider: 'local-vllm', name: '*', input: 0, output: 0, source: 'config' }]);
  });

  it('Usage: the documented query and the shape of its answer', async () => {
    gw.app.store.logs.flush();
    const usage = await replay(curl('Usage', 0));
    expect(usage.status).toBe(200);
    expect(shapeDiff(json('Usage'), usage.json)).toEqual([]);
    expect(usage.json).toMatchObject({ period: 'month', group_by: 'model', data: [{ group: 'openai/gpt-4o-mini', requests: 2 }] });
    const byKey = await call('GET', `${gw.url}/api/usage?group_by=key&limit=1`);
    expect(byKey.json.data).toHaveLength(1);
    expect(byKey.json.truncated).toBe(true);
    expect(byKey.json.totals.requests).toBeGreaterThan(byKey.json.data[0].requests);
    expect((await call('GET', `${gw.url}/api/usage?limit=0`)).json.error.param).toBe('limit');

    // group_by=team: rows named by id and name, the requests without a team in one null row.
    const byTeam = await replay(curl('Usage', 1));
    expect(byTeam.status).toBe(200);
    expect(shapeDiff(json('Usage', 1), byTeam.json)).toEqual([]);
    const teamRow = byTeam.json.data.find((row: { group: string | null }) => row.group === ids.get('team_...'));
    expect(teamRow).toMatchObject({ name: 'acme-research', requests: 2 });
    const noTeam = byTeam.json.data.filter((row: { group: string | null }) => row.group === null);
    expect(noTeam).toHaveLength(1);
    expect(noTeam[0].name).toBeNull();
    expect(byTeam.json.data.reduce((sum: number, row: { requests: number }) => sum + row.requests, 0)).toBe(byTeam.json.totals.requests);
    const byCustomer = (await call('GET', `${gw.url}/api/usage?period=month&group_by=customer`)).json;
    expect(byCustomer.data.find((row: { group: string | null }) => row.group === ids.get('cus_...'))).toMatchObject({ name: 'acme', requests: 2 });
  });

  it('Config file: the example loads as documented', () => {
    const config = loadConfig({ config: json('Config file'), env: { HEIMDALL_VK_BACKEND: 'hk-a-backend-secret-of-32-chars-00' } });
    expect(config.governance).toMatchObject({ enforce: true, defaultMaxOutputTokens: 1024, flushIntervalMs: 1000 });
    expect(config.governance.virtualKeys[0]).toMatchObject({ name: 'backend', team: 'research', allowed_models: ['openai/*', 'smart'] });
  });

  it('API reference: the answers of a key, a team, a customer and the price table have the documented shape', async () => {
    const team = await call('GET', `${gw.url}/api/teams/${ids.get('team_...')}`);
    expect(shapeDiff(json('GET /api/teams/{id} and GET /api/customers/{id}'), team.json, { records: ['metadata'] })).toEqual([]);
    const documentedCustomer = json('GET /api/teams/{id} and GET /api/customers/{id}');
    delete documentedCustomer.customer_id;
    delete documentedCustomer.allowed_mcp_servers;
    delete documentedCustomer.allowed_mcp_tools;
    documentedCustomer.team_count = 1;
    const customer = await call('GET', `${gw.url}/api/customers/${ids.get('cus_...')}`);
    expect(shapeDiff(documentedCustomer, customer.json, { records: ['metadata'] })).toEqual([]);

    const member = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'member', team_id: ids.get('team_...'), budget: { max_usd: 50, period: 'monthly' }, rate_limits: [{ requests: 60, tokens: 200000, window: '1m' }] });
    await chatWith({ authorization: `Bearer ${member.json.key}` });
    const detail = await call('GET', `${gw.url}/api/virtual-keys/${member.json.id}`);
    expect(shapeDiff(json('GET /api/virtual-keys/{id}'), detail.json, { records: ['metadata'] })).toEqual([]);
    expect(detail.json.limits.map((limit: { scope: string }) => limit.scope)).toEqual(['virtual_key']);
    expect(detail.json.team_budget).toMatchObject({ max_usd: 200, period: 'weekly' });
    expect(detail.json.customer_budget).toMatchObject({ max_usd: 1000, period: 'monthly' });

    const pricing = await call('GET', `${gw.url}/api/pricing?provider=anthropic`);
    const documented = json('GET /api/pricing');
    // The documented row is one model's; rows differ by the prices a model has: compared whole below.
    expect(shapeDiff({ ...documented, data: [] }, pricing.json, { records: ['sources', 'provider_aliases'] })).toEqual([]);
    expect(pricing.json.data.find((row: { model: string }) => row.model === 'anthropic/claude-sonnet-4-5')).toEqual(documented.data[0]);
    expect(pricing.json.provider_aliases).toEqual(documented.provider_aliases);
  });

  it('API reference: lists are paginated; every change above is audited without a secret', async () => {
    for (let i = 0; i < 3; i++) await call('POST', `${gw.url}/api/customers`, { name: `page-${i}` });
    const first = await call('GET', `${gw.url}/api/customers?limit=2`);
    expect(first.json.data).toHaveLength(2);
    const second = await call('GET', `${gw.url}/api/customers?limit=2&cursor=${first.json.next_cursor}`);
    expect(second.json.next_cursor).toBeNull();
    expect([...first.json.data, ...second.json.data].map((c: { name: string }) => c.name)).toEqual(['acme', 'page-0', 'page-1', 'page-2']);
    expect((await call('GET', `${gw.url}/api/teams?cursor=nope`)).json.error.param).toBe('cursor');
    expect((await call('GET', `${gw.url}/api/virtual-keys?limit=1001`)).json.error.param).toBe('limit');

    const audit = (await call('GET', `${gw.url}/api/audit?limit=500`)).json.data.map((entry: { action: string; target: string }) => entry.action).reverse();
    expect(audit).toEqual([
      'virtual_key.create', 'virtual_key.update', 'virtual_key.rotate', 'virtual_key.revoke', 'virtual_key.delete',
      'virtual_key.create', 'virtual_key.update',
      'settings.update', 'settings.update',
      'virtual_key.update',
      'customer.create', 'team.create', 'virtual_key.create', 'team.update', 'team.update',
      'virtual_key.update', 'virtual_key.update',
      'virtual_key.create',
      'settings.update',
      'virtual_key.create',
      'customer.create', 'customer.create', 'customer.create',
    ]);
    const text = JSON.stringify((await call('GET', `${gw.url}/api/audit?limit=500`)).json);
    expect(text).not.toContain(secret);
    expect(text).not.toContain('key_hash');
  });
});
