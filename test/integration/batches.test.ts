/**
 * Files and batches through the gateway (src/api/batch-jobs.ts): the official
 * SDKs upload a batch input file, create a batch, retrieve it and read its
 * results against the mock's OpenAI, Azure and Anthropic batch APIs. Each job
 * is recorded (GET /api/batches), its results are priced at the model's batch
 * price (the provider's documented 50% here) and charged to the virtual key
 * once, and the key's allow-list is checked against the models of the file's lines.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { batchPriceOf } from '../../src/catalog/batch-price.js';
import { ModelCatalog } from '../../src/catalog/catalog.js';
import type { ModelPrice } from '../../src/catalog/types.js';
import { docBlocks, jsonExamples, shapeDiff } from '../api/doc-examples.js';
import { call, startAdminGateway, type AdminGateway } from '../api/helpers.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { MOCK_AZURE_API_VERSION, startMockProviders } from '../support/mock-upstream/provider-env.js';

let mock: MockUpstream;
let gw: AdminGateway;
const keys: Record<'full' | 'mini' | 'limited', { id: string; key: string }> = {} as never;

async function createKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const reply = await call(gw.url, 'POST', '/api/virtual-keys', body);
  expect(reply.status).toBe(201);
  return { id: reply.json.id as string, key: reply.json.key as string };
}

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gw = await startAdminGateway({
    env: providers.env,
    config: { ...providers.config, governance: { enforce: true } },
    management: { store: { logs: { flushIntervalMs: 20 } } },
  });
  keys.full = await createKey({ name: 'batch-full' });
  keys.mini = await createKey({ name: 'batch-mini', allowed_models: ['openai/gpt-4o-mini', 'azure/gpt-4o-mini', 'anthropic/claude-sonnet-4-5'] });
  keys.limited = await createKey({ name: 'batch-limited', rate_limits: [{ requests: 2, window: '1m' }] });
});
afterAll(async () => {
  await gw?.close();
  await mock?.close();
});
beforeEach(() => mock.reset());

function openai(key: string): OpenAI {
  return new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0, timeout: 15_000 });
}

function jsonl(lines: Array<{ id: string; model: string; text: string; url?: string }>): Buffer {
  return Buffer.from(lines.map((line) => JSON.stringify({
    custom_id: line.id, method: 'POST', url: line.url ?? '/v1/chat/completions',
    body: { model: line.model, messages: [{ role: 'user', content: line.text }] },
  })).join('\n'));
}

function requestLines(): Array<Record<string, unknown>> {
  return gw.logs().filter((line) => line.msg === 'request');
}

async function batchRow(id: string): Promise<Record<string, unknown>> {
  const reply = await call(gw.url, 'GET', '/api/batches?limit=500');
  expect(reply.status).toBe(200);
  const row = (reply.json.data as Array<Record<string, unknown>>).find((job) => job.id === id);
  expect(row, `batch ${id} in /api/batches`).toBeDefined();
  return row!;
}

async function spend(id: string): Promise<number> {
  return (await call(gw.url, 'GET', `/api/virtual-keys/${id}`)).json.spend_usd as number;
}

/** USD of these tokens at a price (per million). */
function usd(price: ModelPrice, input: number, output: number): number {
  return (input * price.input! + output * price.output!) / 1e6;
}

const catalog = new ModelCatalog();
function standard(provider: string, model: string): ModelPrice {
  return catalog.facts({ provider, type: provider, model }).price!;
}

describe('OpenAI files and batches', () => {
  it('the SDK uploads, creates, retrieves and reads the results; the cost at batch prices is charged once', async () => {
    const client = openai(keys.mini.key);
    const input = jsonl([{ id: 'a', model: 'gpt-4o-mini', text: 'hello batch one' }, { id: 'b', model: 'gpt-4o-mini', text: 'two words' }]);
    const file = await client.files.create({ file: await toFile(input, 'input.jsonl'), purpose: 'batch' });
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', bytes: input.length });
    expect(mock.requests[0]).toMatchObject({ method: 'POST', path: '/v1/files', headers: { authorization: 'Bearer sk-mock-openai' } });
    // Bare model names: the file goes byte for byte.
    expect(mock.requests[0].rawBody.includes(input)).toBe(true);

    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect(batch).toMatchObject({ status: 'validating', request_counts: { total: 2 } });
    let row = await batchRow(batch.id);
    expect(row).toMatchObject({ provider: 'openai', api: 'openai', virtual_key_id: keys.mini.id, models: ['openai/gpt-4o-mini'], status: 'validating', endpoint: '/v1/chat/completions', cost_usd: null, charged_at: null });

    const done = await client.batches.retrieve(batch.id);
    expect(done.status).toBe('completed');
    expect(done.output_file_id).toMatch(/^file-mock-/);
    row = await batchRow(batch.id);
    expect(row).toMatchObject({ status: 'completed', output_file_id: done.output_file_id, request_counts: { total: 2, completed: 2, failed: 0 } });
    expect(row.completed_at).toBe(1_700_000_060_000);

    const results = (await (await client.files.content(done.output_file_id!)).text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(results.map((line) => line.response.body.choices[0].message.content)).toEqual(['echo: hello batch one', 'echo: two words']);
    // hello batch one -> 3 + 4 tokens, two words -> 2 + 3: 5 in, 7 out, at half OpenAI's gpt-4o-mini price.
    const price = standard('openai', 'gpt-4o-mini');
    const expected = usd(price, 5, 7) / 2;
    expect(expected).toBeGreaterThan(0);
    await expect.poll(() => requestLines().find((line) => line.route === `/v1/files/${done.output_file_id}/content`)).toBeDefined();
    const fetched = requestLines().find((line) => line.route === `/v1/files/${done.output_file_id}/content`)!;
    expect(fetched).toMatchObject({ status: 200, input_tokens: 5, output_tokens: 7 });
    expect(fetched.cost_usd).toBeCloseTo(expected, 12);
    row = await batchRow(batch.id);
    expect(row.cost_usd).toBeCloseTo(expected, 12);
    expect(row).toMatchObject({ input_tokens: 5, output_tokens: 7, charged_request_id: fetched.request_id });

    // Read again: nothing more is charged; the uploads and batch calls were free.
    await (await client.files.content(done.output_file_id!)).text();
    await expect.poll(() => requestLines().filter((line) => line.route === `/v1/files/${done.output_file_id}/content`).length).toBe(2);
    expect(requestLines().filter((line) => line.route === `/v1/files/${done.output_file_id}/content`)[1].cost_usd).toBe(0);
    // The key's spend is kept to 1e-8 USD.
    expect(await spend(keys.mini.id)).toBeCloseTo(expected, 7);
    expect((await batchRow(batch.id)).charged_request_id).toBe(fetched.request_id);
  });

  it('a file whose lines name a model the key may not use is refused before any upstream call', async () => {
    const client = openai(keys.mini.key);
    const input = jsonl([{ id: 'a', model: 'gpt-4o-mini', text: 'fine' }, { id: 'b', model: 'gpt-4o', text: 'not allowed' }]);
    const refused = client.files.create({ file: await toFile(input, 'input.jsonl'), purpose: 'batch' });
    await expect(refused).rejects.toMatchObject({ status: 403, message: expect.stringContaining('openai/gpt-4o') });
    const azure = client.files.create({ file: await toFile(jsonl([{ id: 'a', model: 'azure/gpt-4o', text: 'x' }]), 'input.jsonl'), purpose: 'batch' });
    await expect(azure).rejects.toMatchObject({ status: 403, message: expect.stringContaining('azure/gpt-4o') });
    const mixed = openai(keys.full.key).files.create({ file: await toFile(jsonl([{ id: 'a', model: 'azure/gpt-4o-mini', text: 'x' }, { id: 'b', model: 'openai/gpt-4o-mini', text: 'y' }]), 'input.jsonl'), purpose: 'batch' });
    await expect(mixed).rejects.toMatchObject({ status: 400, error: { param: 'file' } });
    expect(mock.requests).toHaveLength(0);
    // A batch made of a file the key may use is the key's to retrieve; a listing names no model: openai/* is needed.
    await expect(client.batches.list()).rejects.toMatchObject({ status: 403, message: expect.stringContaining('openai/*') });
    const anonymous = await call(gw.url, 'GET', '/v1/batches');
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.error.type).toBeDefined();
    expect(mock.requests).toHaveLength(0);
  });

  it('rate limits apply to batch routes', async () => {
    const client = openai(keys.limited.key);
    expect((await client.batches.list()).data).toBeInstanceOf(Array);
    expect((await client.files.create({ file: await toFile(jsonl([{ id: 'a', model: 'gpt-4o-mini', text: 'x' }]), 'in.jsonl'), purpose: 'batch' })).object).toBe('file');
    await expect(client.batches.list()).rejects.toMatchObject({ status: 429 });
    expect(mock.requests).toHaveLength(2);
  });
});

describe('Azure OpenAI files and batches', () => {
  it('lines naming azure/... go to the Azure deployment, with Azure\'s paths, api-version and api-key', async () => {
    const client = openai(keys.mini.key);
    const input = jsonl([{ id: 'a', model: 'azure/gpt-4o-mini', text: 'azure batch please' }]);
    const file = await client.files.create({ file: await toFile(input, 'input.jsonl'), purpose: 'batch' });
    const upload = mock.requests[0];
    expect(upload).toMatchObject({ method: 'POST', path: '/openai/files', headers: { 'api-key': 'azure-mock-key' } });
    expect(upload.query.get('api-version')).toBe(MOCK_AZURE_API_VERSION);
    expect(upload.headers.authorization).toBeUndefined();
    const sent = upload.rawBody.toString('utf8');
    // The line names the deployment and Azure's endpoint path.
    expect(sent).toContain('"url":"/chat/completions","body":{"model":"chat-prod"');
    expect(sent).not.toContain('azure/gpt-4o-mini');

    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect(mock.requests[1]).toMatchObject({ path: '/openai/batches', body: { endpoint: '/chat/completions', input_file_id: file.id } });
    expect(mock.requests[1].query.get('api-version')).toBe(MOCK_AZURE_API_VERSION);
    expect(await batchRow(batch.id)).toMatchObject({ provider: 'azure', models: ['azure/gpt-4o-mini'], status: 'validating' });

    const done = await client.batches.retrieve(batch.id);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 1, completed: 1 } });
    expect(mock.requests[2].path).toBe(`/openai/batches/${batch.id}`);
    const text = await (await client.files.content(done.output_file_id!)).text();
    expect(JSON.parse(text.trim()).response.body).toMatchObject({ model: 'gpt-4o-mini', choices: [{ message: { content: 'echo: azure batch please' } }] });
    expect(mock.requests[3].path).toBe(`/openai/files/${done.output_file_id}/content`);
    const expected = usd(standard('azure', 'gpt-4o-mini'), 3, 4) / 2;
    await expect.poll(async () => (await batchRow(batch.id)).cost_usd).toBeCloseTo(expected, 12);
  });

  it('Azure fails a batch whose lines name a deployment it does not have, and refuses a call without api-version', async () => {
    const client = openai(keys.full.key);
    const file = await client.files.create({ file: await toFile(jsonl([{ id: 'a', model: 'azure/gpt-4o', text: 'x' }]), 'input.jsonl'), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await client.batches.retrieve(batch.id);
    expect(done.status).toBe('failed');
    expect(done.errors?.data?.[0]).toMatchObject({ code: 'model_not_found', line: 1 });
    expect(await batchRow(batch.id)).toMatchObject({ provider: 'azure', status: 'failed', output_file_id: null });
    const direct = await call(mock.url, 'GET', `/openai/batches/${batch.id}`, undefined, { 'api-key': 'azure-mock-key' });
    expect(direct.status).toBe(400);
    expect(direct.json.error.code).toBe('MissingApiVersionParameter');
    const noKey = await call(mock.url, 'GET', `/openai/batches/${batch.id}?api-version=${MOCK_AZURE_API_VERSION}`);
    expect(noKey.status).toBe(401);
    // Azure's dated API names the endpoint without /v1 (the gateway sends it so).
    const v1 = await call(mock.url, 'POST', `/openai/batches?api-version=${MOCK_AZURE_API_VERSION}`, { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }, { 'api-key': 'azure-mock-key' });
    expect(v1.status).toBe(400);
    expect(v1.json.error).toMatchObject({ code: 'invalid_value', message: expect.stringContaining("'/chat/completions'") });
  });
});

describe('Anthropic message batches', () => {
  it('the results are priced at batch prices and charged once', async () => {
    const client = new Anthropic({ baseURL: `${gw.url}/anthropic`, apiKey: keys.full.key, maxRetries: 0, timeout: 15_000 });
    const params = (text: string) => ({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user' as const, content: text }] });
    const batch = await client.messages.batches.create({ requests: [{ custom_id: 'a', params: params('batch me please') }, { custom_id: 'b', params: params('and me') }] });
    expect(await batchRow(batch.id)).toMatchObject({ provider: 'anthropic', api: 'anthropic', models: ['anthropic/claude-sonnet-4-5'], status: 'in_progress', request_counts: { total: 2, completed: 0 } });
    const ended = await client.messages.batches.retrieve(batch.id);
    expect(ended.processing_status).toBe('ended');
    expect(await batchRow(batch.id)).toMatchObject({ status: 'ended', request_counts: { total: 2, completed: 2, failed: 0 } });
    const results = [];
    for await (const result of await client.messages.batches.results(batch.id)) results.push(result);
    expect(results).toHaveLength(2);
    const row = await batchRow(batch.id);
    // batch me please -> 3 in, 4 out; and me -> 2 in, 3 out.
    expect(row).toMatchObject({ input_tokens: 5, output_tokens: 7 });
    const price = standard('anthropic', 'claude-sonnet-4-5');
    const expected = usd(price, 5, 7) / 2;
    expect(row.cost_usd).toBeCloseTo(expected, 12);
    const before = await spend(keys.full.id);
    for await (const result of await client.messages.batches.results(batch.id)) expect(result.custom_id).toMatch(/^[ab]$/);
    await expect.poll(() => requestLines().filter((line) => line.route === `/anthropic/v1/messages/batches/${batch.id}/results`).length).toBe(2);
    expect(await spend(keys.full.id)).toBe(before);
    expect(before).toBeGreaterThanOrEqual(expected - 1e-8);
  });
});

describe('batch prices', () => {
  it('a model\'s own batch figure wins; else the provider\'s documented discount; else the standard price', () => {
    const price = { input: 2, output: 8, long_context: { threshold: 1000, input: 4, output: 16 } };
    expect(batchPriceOf(price, 'openai')).toEqual({ basis: 'rule', price: { input: 1, output: 4, long_context: { threshold: 1000, input: 2, output: 8 } } });
    expect(batchPriceOf({ ...price, batch: { input: 1.5, output: 5 } }, 'openai')).toEqual({ basis: 'model', price: { input: 1.5, output: 5 } });
    expect(batchPriceOf(price, 'groq')).toEqual({ basis: 'standard', price });
    const own = batchPriceOf(standard('anthropic', 'claude-sonnet-4-5'), 'anthropic').price;
    expect(own).toMatchObject({ input: 1.5, output: 7.5, cached_input: 0.15, cache_write: 1.875 });
  });
});

describe('GET /api/batches', () => {
  it('pages newest first with a cursor, filters, and refuses a bad cursor', async () => {
    // (The mock numbers its ids from 1 again after each test's reset: a reused id is one job again.)
    const page = (await call(gw.url, 'GET', '/api/batches?limit=500')).json;
    // The answer has the fields docs/native-passthrough.md shows, and no others.
    expect(shapeDiff(jsonExamples(docBlocks('native-passthrough.md'), 'Batch jobs')[0], page)).toEqual([]);
    const all = page.data as Array<Record<string, unknown>>;
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(all.map((job) => job.provider)).toEqual(expect.arrayContaining(['azure', 'anthropic']));
    const first = await call(gw.url, 'GET', '/api/batches?limit=1');
    expect(first.json.data).toHaveLength(1);
    const second = await call(gw.url, 'GET', `/api/batches?limit=1&cursor=${encodeURIComponent(first.json.next_cursor)}`);
    expect(second.json.data[0].id).toBe(all[1].id);
    const azure = (await call(gw.url, 'GET', '/api/batches?provider=azure')).json.data as Array<Record<string, unknown>>;
    expect(azure.length).toBeGreaterThan(0);
    expect(azure.every((job) => job.provider === 'azure')).toBe(true);
    const bad = await call(gw.url, 'GET', '/api/batches?cursor=nope');
    expect(bad.status).toBe(400);
    expect(bad.json.error.param).toBe('cursor');
  });
});
