/**
 * Native pass-through (src/api/native-passthrough.ts): `/openai/*`,
 * `/anthropic/*`, `/genai/*` and `/bedrock/*` reach the provider with the
 * path, query and body unchanged, the gateway's key instead of the caller's,
 * and governance applied: virtual keys, model allow-lists read from bodies,
 * multipart fields and paths (a batch's every model), rate limits, usage and
 * cost in the request log.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { toFile } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { get, post } from './helpers.js';

const FULL = 'hk-native-full-0123456789abcdef';
const MINI = 'hk-native-mini-0123456789abcdef';
const LIMITED = 'hk-native-limited-0123456789abcd';
const BEDROCK_MODEL = 'anthropic.claude-sonnet-4-5-20250929-v1:0';

let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({
    env: providers.env,
    config: {
      ...providers.config,
      governance: {
        enforce: true,
        virtual_keys: {
          full: { key: FULL, allowed_models: ['openai/*', 'anthropic/*', 'gemini/*', 'bedrock/*'] },
          mini: { key: MINI, allowed_models: ['openai/gpt-4o-mini', 'anthropic/claude-sonnet-4-5', 'gemini/gemini-2.5-flash', `bedrock/${BEDROCK_MODEL}`] },
          limited: { key: LIMITED, rate_limits: [{ requests: 2, window: '1m' }] },
        },
      },
    },
  });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

function openai(key: string): OpenAI {
  return new OpenAI({ baseURL: `${gateway.url}/openai/v1`, apiKey: key, maxRetries: 0, timeout: 15_000 });
}

function anthropic(key: string): Anthropic {
  return new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: key, maxRetries: 0, timeout: 15_000 });
}

function requestLines(): Array<Record<string, unknown>> {
  return gateway.logs().filter((line) => line.msg === 'request');
}

describe('/openai/* pass-through', () => {
  it('forwards the official SDK\'s call unchanged with the provider key, and prices its usage', async () => {
    const completion = await openai(MINI).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there native' }], temperature: 0.5 });
    expect(completion.choices[0].message.content).toBe('echo: hello there native');
    expect(mock.requests).toHaveLength(1);
    const upstream = mock.requests[0];
    expect(upstream.path).toBe('/v1/chat/completions');
    expect(upstream.headers.authorization).toBe('Bearer sk-mock-openai');
    expect(JSON.stringify(upstream.headers)).not.toContain(MINI);
    expect(upstream.body).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there native' }], temperature: 0.5 });
    const line = requestLines().at(-1)!;
    expect(line).toMatchObject({ route: '/openai/v1/chat/completions', provider: 'openai', upstream_model: 'gpt-4o-mini', status: 200, input_tokens: 3, output_tokens: 4 });
    expect(line.cost_usd).toBeGreaterThan(0);
  });

  it('reads the usage of a streamed answer', async () => {
    const stream = await openai(FULL).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one two three' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: one two three');
    await expect.poll(() => requestLines().at(-1)?.output_tokens).toBe(4);
    expect(requestLines().at(-1)).toMatchObject({ input_tokens: 3, stream: false, status: 200 });
  });

  it('refuses a model the key may not use, from the JSON body and from a multipart field, before any upstream call', async () => {
    await expect(openai(MINI).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 403 });
    const upload = openai(MINI).audio.transcriptions.create({ model: 'whisper-1', file: await toFile(Buffer.from('RIFF0000WAVEfmt '), 'a.wav', { type: 'audio/wav' }) });
    await expect(upload).rejects.toMatchObject({ status: 403, message: expect.stringContaining('openai/whisper-1') });
    expect(mock.requests).toHaveLength(0);
  });

  it('a call that names no model needs the provider\'s every model (openai/*)', async () => {
    await expect(openai(MINI).models.list()).rejects.toMatchObject({ status: 403, message: expect.stringContaining('openai/*') });
    expect(mock.requests).toHaveLength(0);
    const page = await openai(FULL).models.list();
    expect(page.data.map((model) => model.id)).toContain('gpt-4o-mini');
    expect(mock.requests[0].headers.authorization).toBe('Bearer sk-mock-openai');
  });

  it('the provider\'s own error comes back as it wrote it; no key at all is a 401', async () => {
    const missing = await post(`${gateway.url}/openai/v1/no/such/thing`, { model: 'gpt-4o-mini' }, { authorization: `Bearer ${FULL}` });
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: { message: 'Invalid URL (POST /v1/no/such/thing)', type: 'invalid_request_error', param: null, code: null } });
    expect(missing.headers['x-heimdall-provider']).toBe('openai');
    const anonymous = await get(`${gateway.url}/openai/v1/models`);
    expect(anonymous.status).toBe(401);
    expect(mock.requests).toHaveLength(1);
  });

  it('rate limits apply to pass-through calls', async () => {
    const call = (): ReturnType<typeof get> => get(`${gateway.url}/openai/v1/models`, { authorization: `Bearer ${LIMITED}` });
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(200);
    const limited = await call();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(mock.requests).toHaveLength(2);
  });
});

describe('/v1/files and /v1/batches (OpenAI\'s, through the pass-through)', () => {
  it('the SDK uploads a batch file and creates a batch; a key limited to some models may not', async () => {
    const lines = [
      { custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] } },
      { custom_id: 'b', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'yo' }] } },
    ].map((line) => JSON.stringify(line)).join('\n');
    const sdk = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: FULL, maxRetries: 0 });
    const file = await sdk.files.create({ file: await toFile(Buffer.from(lines), 'batch.jsonl'), purpose: 'batch' });
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', filename: 'batch.jsonl', bytes: lines.length });
    expect(mock.requests[0].headers.authorization).toBe('Bearer sk-mock-openai');
    const batch = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect(batch).toMatchObject({ object: 'batch', status: 'validating', request_counts: { total: 2 } });
    expect((await sdk.batches.retrieve(batch.id)).status).toBe('completed');
    expect(requestLines().at(-1)).toMatchObject({ route: `/v1/batches/${batch.id}`, provider: 'openai', status: 200 });
    // The file names gpt-4o, which MINI may not use: a call that names no model needs openai/*.
    const mini = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: MINI, maxRetries: 0 });
    await expect(mini.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).rejects.toMatchObject({ status: 403 });
    await expect(mini.files.create({ file: await toFile(Buffer.from(lines), 'batch.jsonl'), purpose: 'batch' })).rejects.toMatchObject({ status: 403 });
    expect(mock.requests).toHaveLength(3);
  });
});

describe('/anthropic/* pass-through', () => {
  it('a message batch needs every model it names to be allowed', async () => {
    const params = (model: string) => ({ model, max_tokens: 32, messages: [{ role: 'user' as const, content: 'batch me' }] });
    const refused = anthropic(MINI).messages.batches.create({ requests: [{ custom_id: 'a', params: params('claude-sonnet-4-5') }, { custom_id: 'b', params: params('claude-opus-4-1') }] });
    await expect(refused).rejects.toMatchObject({ status: 403, message: expect.stringContaining('anthropic/claude-opus-4-1') });
    expect(mock.requests).toHaveLength(0);
    const batch = await anthropic(MINI).messages.batches.create({ requests: [{ custom_id: 'a', params: params('claude-sonnet-4-5') }] });
    expect(batch).toMatchObject({ type: 'message_batch', processing_status: 'in_progress', request_counts: { processing: 1 } });
    expect(mock.requests[0]).toMatchObject({ path: '/v1/messages/batches', headers: { 'x-api-key': 'sk-ant-mock' } });
    expect(mock.requests[0].headers['anthropic-version']).toBeDefined();
    const again = await anthropic(FULL).messages.batches.retrieve(batch.id);
    expect(again.processing_status).toBe('ended');
    // The results are fetched through the gateway: their URL is rewritten to it.
    expect(again.results_url).toBe(`${gateway.url}/anthropic/v1/messages/batches/${batch.id}/results`);
    const results = [];
    for await (const result of await anthropic(FULL).messages.batches.results(batch.id)) results.push(result);
    expect(results).toMatchObject([{ custom_id: 'a', result: { type: 'succeeded', message: { content: [{ type: 'text', text: 'echo: batch me' }] } } }]);
    expect(mock.requests.at(-1)).toMatchObject({ path: `/v1/messages/batches/${batch.id}/results`, headers: { 'x-api-key': 'sk-ant-mock' } });
  });

  it('an Anthropic refusal is forwarded in Anthropic\'s words; a body that names no model needs anthropic/*', async () => {
    const headers = { 'anthropic-version': '2023-06-01' };
    const invalid = await post(`${gateway.url}/anthropic/v1/messages/batches`, { requests: [] }, { ...headers, 'x-api-key': FULL });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'requests: List should have at least 1 item after validation, not 0' } });
    const modelless = await post(`${gateway.url}/anthropic/v1/messages/batches`, { requests: [] }, { ...headers, 'x-api-key': MINI });
    expect(modelless.status).toBe(403);
    expect(modelless.json).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    expect(mock.requests).toHaveLength(1);
  });
});

describe('/genai/* pass-through', () => {
  it('forwards other methods with the model from the path, and drops a ?key= parameter', async () => {
    const embedded = await post(`${gateway.url}/genai/v1beta/models/gemini-embedding-001:embedContent?key=${FULL}`, { content: { parts: [{ text: 'embed me' }] } });
    expect(embedded.status).toBe(200);
    expect((embedded.json as { embedding: { values: number[] } }).embedding.values).toHaveLength(8);
    expect(mock.requests[0].path).toBe('/v1beta/models/gemini-embedding-001:embedContent');
    expect(mock.requests[0].query.get('key')).toBeNull();
    expect(mock.requests[0].headers['x-goog-api-key']).toBe('gemini-mock-key');
    const refused = await post(`${gateway.url}/genai/v1beta/models/gemini-embedding-001:embedContent`, { content: { parts: [{ text: 'x' }] } }, { 'x-goog-api-key': MINI });
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
    const listed = await get(`${gateway.url}/genai/v1beta/models`, { 'x-goog-api-key': FULL });
    expect(listed.status).toBe(200);
    expect(mock.requests).toHaveLength(2);
  });
});

describe('/bedrock/* pass-through', () => {
  it('re-signs the call with the gateway\'s AWS credentials (the mock checks the signature) and reads its usage', async () => {
    const path = `/bedrock/model/${encodeURIComponent(BEDROCK_MODEL)}/converse`;
    const body = { messages: [{ role: 'user', content: [{ text: 'sign me please' }] }] };
    const response = await request(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-heimdall-key': MINI, authorization: 'AWS4-HMAC-SHA256 Credential=CLIENTKEY/20261207/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00', 'x-amz-date': '20261207T000000Z' },
      body: JSON.stringify(body),
    });
    const json = (await response.body.json()) as { output: { message: { content: Array<{ text: string }> } } };
    expect(response.statusCode).toBe(200);
    expect(json.output.message.content[0].text).toBe('echo: sign me please');
    expect(String(mock.requests[0].headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIA/);
    expect(mock.requests[0].rawBody.toString()).toBe(JSON.stringify(body));
    await expect.poll(() => requestLines().at(-1)?.input_tokens).toBe(3);
    const refused = await post(`${gateway.url}/bedrock/model/amazon.nova-pro-v1%3A0/converse`, body, { 'x-heimdall-key': MINI });
    expect(refused.status).toBe(403);
    expect(mock.requests).toHaveLength(1);
  });
});
