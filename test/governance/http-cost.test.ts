/**
 * Over real sockets: the cost of requests (to the cent of the catalog price),
 * unknown prices (null, never $0), streams, the usage and pricing APIs, the
 * audit log, and spend that survives a restart.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG_DATE, ModelCatalog } from '../../src/catalog/catalog.js';

/** The catalog's price of an OpenAI model (src/catalog/, from @pydantic/genai-prices). */
const priceOf = (model: string) => new ModelCatalog().facts({ provider: 'openai', type: 'openai', model }).price!;
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { startAdminGateway } from '../api/helpers.js';
import { call, chat, removeDir, startGov, tempDir, type GovGateway } from './helpers.js';

let mock: MockUpstream;

const BIG_USAGE = {
  prompt_tokens: 1_234_567,
  completion_tokens: 345_678,
  total_tokens: 1_580_245,
  prompt_tokens_details: { cached_tokens: 234_567 },
  completion_tokens_details: { reasoning_tokens: 45_678 },
};

function config(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    providers: {
      openai: { api_key: 'sk-upstream-0000', base_url: mock.openaiBaseUrl, max_retries: 0 },
      local: { type: 'openai-compatible', base_url: mock.openaiBaseUrl, models: ['mystery-model'] },
    },
    ...extra,
  };
}

async function flushLogs(gw: GovGateway): Promise<void> {
  gw.app.store.logs.flush();
}

beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => {
  await mock.close();
});

describe('cost', () => {
  let gw: GovGateway;
  beforeAll(async () => {
    gw = await startGov({ config: config() });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('the cost of a known request equals the catalog price, to the cent', async () => {
    const price = priceOf('gpt-4.1');
    const created = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'costed' });
    mock.enqueue({ kind: 'respond', body: {
      id: 'chatcmpl-big', object: 'chat.completion', created: 1, model: 'gpt-4.1',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: BIG_USAGE,
    } });
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: created.json.key, maxRetries: 0 });
    const completion = await openai.chat.completions.create({ model: 'openai/gpt-4.1', messages: [{ role: 'user', content: 'big' }] });
    expect(completion.usage?.prompt_tokens).toBe(BIG_USAGE.prompt_tokens);
    // Reasoning is part of output for OpenAI (no separate rate in the catalog).
    const expected = (1_000_000 * price.input! + 234_567 * price.cached_input! + 345_678 * price.output!) / 1e6;
    expect(expected).toBeCloseTo(4.8827075, 9);

    const key = (await call('GET', `${gw.url}/api/virtual-keys/${created.json.id}`)).json;
    expect(key.spend_usd).toBeCloseTo(expected, 8);
    expect(Math.round(key.spend_usd * 100)).toBe(Math.round(expected * 100));

    await flushLogs(gw);
    const logs = await call('GET', `${gw.url}/api/logs?virtual_key_id=${created.json.id}`);
    expect(logs.status).toBe(200);
    const row = logs.json.data[0];
    expect(row).toMatchObject({ cost_known: true, model: 'gpt-4.1', virtual_key_id: created.json.id });
    expect(Math.round(row.cost_usd * 100)).toBe(Math.round(expected * 100));
    expect(row.cost_usd).toBeCloseTo(expected, 9);
  });

  it('a model without a price costs null (unknown), not $0; a budget can refuse such models', async () => {
    const before = mock.requests.length;
    const reply = await call('POST', `${gw.url}/v1/chat/completions`, { ...chat('who am i'), model: 'local/mystery-model' });
    expect(reply.status).toBe(200);
    await flushLogs(gw);
    const logs = (await call('GET', `${gw.url}/api/logs?model=mystery-model`)).json.data;
    expect(logs[0]).toMatchObject({ cost_usd: null, cost_known: false, input_tokens: 3 });
    const metrics = await call('GET', `${gw.url}/metrics`);
    expect(metrics.text).toMatch(/heimdall_cost_unknown_requests_total\{[^}]*model="mystery-model"[^}]*\} 1/);

    const strict = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'strict', budget: { max_usd: 10, refuse_unpriced: true } });
    const refused = await call('POST', `${gw.url}/v1/chat/completions`, { ...chat('x'), model: 'local/mystery-model' }, { authorization: `Bearer ${strict.json.key}` });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('model_price_unknown');
    expect(mock.requests.length).toBe(before + 1);
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('x'), { authorization: `Bearer ${strict.json.key}` })).status).toBe(200);
  });

  it('a stream the client asked usage of keeps its usage chunk; its cost is counted', async () => {
    const created = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'stream-usage' });
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: created.json.key, maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model: 'openai/gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'a b' }] });
    let usage: unknown;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    const price = priceOf('gpt-4o-mini');
    const key = (await call('GET', `${gw.url}/api/virtual-keys/${created.json.id}`)).json;
    expect(key.spend_usd).toBeCloseTo((2 * price.input! + 3 * price.output!) / 1e6, 12);
  });

  it('embeddings are priced per input token', async () => {
    const created = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'embedder' });
    const reply = await call('POST', `${gw.url}/v1/embeddings`, { model: 'openai/text-embedding-3-small', input: 'one two three four' }, { authorization: `Bearer ${created.json.key}` });
    expect(reply.status).toBe(200);
    const key = (await call('GET', `${gw.url}/api/virtual-keys/${created.json.id}`)).json;
    expect(key.spend_usd).toBeCloseTo((4 * priceOf('text-embedding-3-small').input!) / 1e6, 14);
  });

  it('legacy completions and the Responses API (JSON and stream) are priced too', async () => {
    const price = priceOf('gpt-4o-mini');
    const created = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'other-apis' });
    const headers = { authorization: `Bearer ${created.json.key}` };
    const spend = async (): Promise<number> => (await call('GET', `${gw.url}/api/virtual-keys/${created.json.id}`)).json.spend_usd;
    // "a b" -> 2 input, "echo: a b" -> 3 output.
    const oneCall = (2 * price.input! + 3 * price.output!) / 1e6;
    expect((await call('POST', `${gw.url}/v1/completions`, { model: 'openai/gpt-4o-mini', prompt: 'a b' }, headers)).status).toBe(200);
    expect(await spend()).toBeCloseTo(oneCall, 12);
    expect((await call('POST', `${gw.url}/v1/responses`, { model: 'openai/gpt-4o-mini', input: 'a b' }, headers)).status).toBe(200);
    expect(await spend()).toBeCloseTo(2 * oneCall, 12);
    const streamed = await call('POST', `${gw.url}/v1/responses`, { model: 'openai/gpt-4o-mini', input: 'a b', stream: true }, headers);
    expect(streamed.text).toContain('response.completed');
    expect(await spend()).toBeCloseTo(3 * oneCall, 12);
    const legacyStream = await call('POST', `${gw.url}/v1/completions`, { model: 'openai/gpt-4o-mini', prompt: 'a b', stream: true }, headers);
    expect(legacyStream.text).not.toContain('"usage"');
    expect(await spend()).toBeCloseTo(4 * oneCall, 12);
  });

  it('GET /api/usage groups requests, tokens and cost by model, provider, key or day', async () => {
    await flushLogs(gw);
    const byModel = await call('GET', `${gw.url}/api/usage?period=today&group_by=model`);
    expect(byModel.status).toBe(200);
    const rows = new Map<string, Record<string, number>>(byModel.json.data.map((row: { group: string }) => [row.group, row]));
    expect(rows.get('openai/gpt-4.1')).toMatchObject({ requests: 1, input_tokens: BIG_USAGE.prompt_tokens, output_tokens: BIG_USAGE.completion_tokens });
    expect(rows.get('local/mystery-model')).toMatchObject({ unknown_cost_requests: 1 });
    expect(byModel.json.totals.requests).toBe(byModel.json.data.reduce((sum: number, row: { requests: number }) => sum + row.requests, 0));

    const costed = (await call('GET', `${gw.url}/api/virtual-keys`)).json.data.find((k: { name: string }) => k.name === 'costed');
    const byKey = await call('GET', `${gw.url}/api/usage?period=7d&group_by=key&key=${costed.id}`);
    expect(byKey.json.data).toHaveLength(1);
    expect(byKey.json.data[0]).toMatchObject({ group: costed.id, name: 'costed', requests: 1 });
    const byDay = await call('GET', `${gw.url}/api/usage?group_by=day`);
    expect(byDay.json.data[0].group).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const bad = await call('GET', `${gw.url}/api/usage?period=year`);
    expect(bad.status).toBe(400);
    expect(bad.json.error.param).toBe('period');
  });

  it('GET /api/usage groups by team and by customer: rows named by id and name, requests without one in one null row', async () => {
    const customer = await call('POST', `${gw.url}/api/customers`, { name: 'umbrella' });
    const team = await call('POST', `${gw.url}/api/teams`, { name: 'umbrella-labs', customer_id: customer.json.id });
    const inTeam = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'labs', team_id: team.json.id });
    const ownCustomer = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'umbrella-direct', customer_id: customer.json.id });
    const send = (secret?: string) => call('POST', `${gw.url}/v1/chat/completions`, chat('a b'), secret === undefined ? {} : { authorization: `Bearer ${secret}` });
    for (const secret of [inTeam.json.key, inTeam.json.key, ownCustomer.json.key, undefined]) expect((await send(secret)).status).toBe(200);
    await flushLogs(gw);

    const byTeam = (await call('GET', `${gw.url}/api/usage?period=today&group_by=team`)).json;
    expect(byTeam.group_by).toBe('team');
    expect(byTeam.data.find((row: { group: string | null }) => row.group === team.json.id)).toMatchObject({ name: 'umbrella-labs', requests: 2, input_tokens: 4 });
    const noTeam = byTeam.data.filter((row: { group: string | null }) => row.group === null);
    expect(noTeam).toHaveLength(1);
    expect(noTeam[0]).toMatchObject({ name: null });
    expect(byTeam.data.reduce((sum: number, row: { requests: number }) => sum + row.requests, 0)).toBe(byTeam.totals.requests);
    expect(noTeam[0].requests).toBe(byTeam.totals.requests - 2);

    // The customer of a request is its key's own, or its team's.
    const byCustomer = (await call('GET', `${gw.url}/api/usage?period=today&group_by=customer`)).json;
    expect(byCustomer.data.find((row: { group: string | null }) => row.group === customer.json.id)).toMatchObject({ name: 'umbrella', requests: 3 });
    expect(byCustomer.data.filter((row: { group: string | null }) => row.group === null)).toHaveLength(1);
    // Filters combine with the grouping; a team or customer may be named.
    const oneCustomer = (await call('GET', `${gw.url}/api/usage?period=today&group_by=team&customer=umbrella`)).json;
    expect(oneCustomer.data.map((row: { group: string | null; requests: number }) => [row.group, row.requests])).toEqual([[team.json.id, 2], [null, 1]]);
    // A deleted team keeps its row (its id, by the logs), without a name.
    expect((await call('DELETE', `${gw.url}/api/teams/${team.json.id}`)).status).toBe(200);
    const afterDelete = (await call('GET', `${gw.url}/api/usage?period=today&group_by=team`)).json;
    expect(afterDelete.data.find((row: { group: string | null }) => row.group === team.json.id)).toMatchObject({ name: null, requests: 2 });
    expect((await call('GET', `${gw.url}/api/usage?group_by=tenant`)).json.error.param).toBe('group_by');
  });

  it('GET /api/pricing shows the dated table with overrides', async () => {
    const reply = await call('GET', `${gw.url}/api/pricing?provider=anthropic`);
    expect(reply.json.as_of).toBe(CATALOG_DATE);
    expect(reply.json.catalog.sources.map((source: { package: string }) => source.package)).toEqual(['@pydantic/genai-prices', 'llm-zoo']);
    expect(reply.json.unit).toBe('per 1M tokens');
    const sonnet = reply.json.data.find((row: { model: string }) => row.model === 'anthropic/claude-sonnet-4-5');
    expect(sonnet).toMatchObject({ provider: 'anthropic', input: 3, output: 15, source: 'catalog' });
    expect(reply.json.data.every((row: { provider: string }) => row.provider === 'anthropic')).toBe(true);
  });
});

describe('an unknown price is visible everywhere, never $0', () => {
  it('the log line, the request log, the metrics and the dashboard data (stats and usage) mark it', async () => {
    const gw = await startAdminGateway({ config: config(), management: { store: { retention: false }, watchConfig: false } });
    try {
      expect((await call('POST', `${gw.url}/v1/chat/completions`, { ...chat('a b'), model: 'local/mystery-model' }, { 'x-request-id': 'unpriced-1' })).status).toBe(200);
      expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b'), { 'x-request-id': 'priced-1' })).status).toBe(200);
      const price = priceOf('gpt-4o-mini');
      const known = (2 * price.input! + 3 * price.output!) / 1e6;
      const lines = gw.logs().filter((line) => line.msg === 'request');
      expect(lines.find((line) => line.request_id === 'unpriced-1')).toMatchObject({ cost_usd: null, input_tokens: 2, output_tokens: 3 });
      expect((lines.find((line) => line.request_id === 'priced-1')!.cost_usd as number)).toBeCloseTo(known, 12);

      expect((await call('GET', `${gw.url}/api/logs/unpriced-1`)).json).toMatchObject({ cost_usd: null, cost_known: false });
      expect((await call('GET', `${gw.url}/api/logs/priced-1`)).json).toMatchObject({ cost_known: true });
      const metrics = (await call('GET', `${gw.url}/metrics`)).text;
      expect(metrics).toMatch(/heimdall_cost_unknown_requests_total\{provider="local",model="mystery-model"\} 1/);
      expect(metrics).not.toMatch(/heimdall_cost_usd_total\{provider="local"/);
      const stats = (await call('GET', `${gw.url}/api/logs/stats`)).json;
      expect(stats.totals).toMatchObject({ requests: 2, unknown_cost_requests: 1 });
      expect(stats.totals.cost_usd).toBeCloseTo(known, 12);
      const usage = (await call('GET', `${gw.url}/api/usage?period=today&group_by=provider`)).json;
      expect(usage.data.find((row: { group: string }) => row.group === 'local')).toMatchObject({ requests: 1, cost_usd: 0, unknown_cost_requests: 1 });
      expect(usage.totals.unknown_cost_requests).toBe(1);
    } finally {
      await gw.close();
    }
  });
});

describe('persistence and configuration', () => {
  it('spend survives a restart; config-file keys and price overrides apply; every change is audited', async () => {
    const dataDir = tempDir();
    const env = { VK_FILE: 'hk-declared-in-the-file-0001' };
    const fileConfig = config({
      governance: {
        pricing: { 'openai/gpt-4o-mini': { input: 1_000_000, output: 1_000_000 } },
        teams: { ops: { budget: { max_usd: 100, period: 'monthly' } } },
        virtual_keys: { ci: { key: 'env.VK_FILE', team: 'ops', budget: { max_usd: 50 } } },
      },
    });
    let gw = await startGov({ config: fileConfig, env, dataDir });
    try {
      const headers = { authorization: `Bearer ${env.VK_FILE}` };
      expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c'), headers)).status).toBe(200); // 3 + 4 tokens at $1
      const created = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'api-key', budget: { max_usd: 100 } });
      expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a'), { authorization: `Bearer ${created.json.key}` })).status).toBe(200); // 1 + 2
      expect((await call('GET', `${gw.url}/api/virtual-keys/vk_file_ci`)).json).toMatchObject({ source: 'file', spend_usd: 7, team_id: 'team_file_ops' });
      expect((await call('PATCH', `${gw.url}/api/virtual-keys/vk_file_ci`, { name: 'x' })).status).toBe(409);
      await gw.close(false);

      gw = await startGov({ config: fileConfig, env, dataDir });
      expect((await call('GET', `${gw.url}/api/virtual-keys/vk_file_ci`)).json).toMatchObject({ spend_usd: 7, requests: 1 });
      expect((await call('GET', `${gw.url}/api/virtual-keys/${created.json.id}`)).json).toMatchObject({ spend_usd: 3, budget: { remaining_usd: 97 } });
      expect((await call('GET', `${gw.url}/api/teams/team_file_ops`)).json).toMatchObject({ spend_usd: 7, source: 'file' });
      expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a'), { authorization: `Bearer ${created.json.key}` })).status).toBe(200);
      expect((await call('GET', `${gw.url}/api/virtual-keys/${created.json.id}`)).json.spend_usd).toBe(6);
      const audit = (await call('GET', `${gw.url}/api/audit?limit=100`)).json;
      const actions = (audit.data ?? audit.items).map((entry: { action: string; actor: string }) => `${entry.actor}:${entry.action}`);
      expect(actions).toContain('config-file:virtual_key.create');
      expect(actions).toContain('config-file:team.create');
      expect(actions.some((action: string) => action.endsWith(':virtual_key.create') && !action.startsWith('config-file'))).toBe(true);
      expect(JSON.stringify(audit)).not.toContain(created.json.key);
      expect(JSON.stringify(audit)).not.toContain(env.VK_FILE);
    } finally {
      await gw.close(false);
      removeDir(dataDir);
    }
  });
});
