/**
 * /v1/completions, /v1/embeddings, /v1/models and /v1/responses through the
 * gateway, with the official SDK where a client would use it.
 */
import type OpenAI from 'openai';
import { NotFoundError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { providerDefinitions } from '../../src/providers/registry.js';
import { float32Base64, MOCK_CREATED, mockEmbedding, splitWords, startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { get, post, sdk, sseEvents, UUID } from './helpers.js';

const KEY = 'sk-test-endpoints-123456';
let mock: MockUpstream;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startGateway({
    env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: mock.openaiBaseUrl },
    config: { routing: { aliases: { fast: 'openai/gpt-4o-mini' } } },
  });
  client = sdk(gateway.url);
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

describe('POST /v1/completions', () => {
  it('non-stream: the upstream text completion', async () => {
    const { data, response } = await client.completions.create({ model: 'openai/gpt-3.5-turbo-instruct', prompt: 'say this is a test', max_tokens: 7 }).withResponse();
    expect({ ...data }).toEqual({
      id: 'cmpl-mock-1',
      object: 'text_completion',
      created: MOCK_CREATED,
      model: 'gpt-3.5-turbo-instruct',
      choices: [{ text: 'echo: say this is a test', index: 0, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
    });
    expect(response.headers.get('x-heimdall-provider')).toBe('openai');
    expect(response.headers.get('x-heimdall-model')).toBe('gpt-3.5-turbo-instruct');
    expect(mock.requests[0].path).toBe('/v1/completions');
    expect(mock.requests[0].body).toEqual({ model: 'gpt-3.5-turbo-instruct', prompt: 'say this is a test', max_tokens: 7 });
  });

  it('stream: every piece, then the usage chunk when asked', async () => {
    const stream = await client.completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt: 'one two',
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces: string[] = [];
    const usages: unknown[] = [];
    for await (const chunk of stream) {
      for (const choice of chunk.choices) if (choice.text !== '') pieces.push(choice.text);
      if (chunk.usage) usages.push(chunk.usage);
    }
    expect(pieces).toEqual(splitWords('echo: one two'));
    expect(usages).toEqual([{ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 }]);
  });

  it('rejects a body without prompt, naming the field', async () => {
    const reply = await post(`${gateway.url}/v1/completions`, { model: 'gpt-3.5-turbo-instruct' });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({ error: { message: "Missing required parameter: 'prompt'.", type: 'invalid_request_error', param: 'prompt', code: 'invalid_value' } });
    expect(mock.requests).toHaveLength(0);
  });
});

describe('POST /v1/embeddings', () => {
  it('SDK default (base64 on the wire) decodes to the upstream vector', async () => {
    const { data, response } = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello world' }).withResponse();
    expect(mock.requests[0].body).toEqual({ model: 'text-embedding-3-small', input: 'hello world', encoding_format: 'base64' });
    expect(data.data).toEqual([{ object: 'embedding', index: 0, embedding: mockEmbedding('hello world') }]);
    expect(data.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
    expect(data.model).toBe('text-embedding-3-small');
    expect(response.headers.get('x-heimdall-provider')).toBe('openai');
  });

  it('base64 bytes are forwarded exactly', async () => {
    const reply = await post(`${gateway.url}/v1/embeddings`, { model: 'openai/text-embedding-3-small', input: ['a b', 'c'], encoding_format: 'base64' });
    expect(reply.status).toBe(200);
    const body = reply.json as { data: Array<{ embedding: string }> };
    expect(body.data.map((d) => d.embedding)).toEqual([float32Base64(mockEmbedding('a b')), float32Base64(mockEmbedding('c'))]);
  });

  it('a server that ignores encoding_format (Ollama) and sends floats: the SDK default still gets the right vectors', async () => {
    const vectors = [[0.5, -1.25, 3], [1, 2, 0.25]];
    const answer = { object: 'list', data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })), model: 'nomic-embed-text', usage: { prompt_tokens: 3, total_tokens: 3 } };
    mock.enqueue({ kind: 'respond', body: answer });
    const data = await client.embeddings.create({ model: 'openai/nomic-embed-text', input: ['a', 'b c'] });
    expect(data.data.map((item) => item.embedding)).toEqual(vectors);
    expect(data.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    // Asked for floats: the floats as they came.
    mock.enqueue({ kind: 'respond', body: answer });
    const floats = await post(`${gateway.url}/v1/embeddings`, { model: 'openai/nomic-embed-text', input: ['a', 'b c'], encoding_format: 'float' });
    expect(floats.json).toEqual(answer);
  });

  it('float format, several inputs and dimensions', async () => {
    const data = await client.embeddings.create({ model: 'openai/text-embedding-3-small', input: ['alpha', 'beta gamma'], encoding_format: 'float', dimensions: 4 });
    expect(mock.requests[0].body).toEqual({ model: 'text-embedding-3-small', input: ['alpha', 'beta gamma'], encoding_format: 'float', dimensions: 4 });
    expect(data.data).toEqual([
      { object: 'embedding', index: 0, embedding: mockEmbedding('alpha', 4) },
      { object: 'embedding', index: 1, embedding: mockEmbedding('beta gamma', 4) },
    ]);
    expect(data.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
  });

  it('rejects a missing input, naming the field', async () => {
    const reply = await post(`${gateway.url}/v1/embeddings`, { model: 'text-embedding-3-small' });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({ error: { message: "Missing required parameter: 'input'.", type: 'invalid_request_error', param: 'input', code: 'invalid_value' } });
  });
});

describe('GET /v1/models', () => {
  it('lists the enabled providers\' models as provider/model, plus aliases', async () => {
    const openai = providerDefinitions().find((d) => d.id === 'openai')!;
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      ids.push(model.id);
      expect(model.object).toBe('model');
      expect(model.owned_by).toBe(model.id === 'fast' ? 'heimdall' : 'openai');
    }
    expect(ids).toEqual([...openai.models, ...(openai.embeddingModels ?? [])].map((m) => `openai/${m}`).concat('fast'));
    expect(mock.requests).toHaveLength(0); // served from configuration, no upstream call
    const raw = await get(`${gateway.url}/v1/models`, { 'x-request-id': 'list-1' });
    expect(raw.status).toBe(200);
    expect(raw.headers['x-request-id']).toBe('list-1');
    expect((raw.json as { object: string; data: unknown[] }).object).toBe('list');
    expect((raw.json as { data: unknown[] }).data).toHaveLength(ids.length);
  });

  it('GET /v1/models/{id} with a slash in the id, encoded (SDK) or not', async () => {
    const model = await client.models.retrieve('openai/gpt-4o-mini');
    // The OpenAI shape, with the model catalog's facts added (docs/catalog.md).
    expect({ ...model }).toMatchObject({ id: 'openai/gpt-4o-mini', object: 'model', created: 0, owned_by: 'openai', context_window: 128_000, max_output_tokens: 16_384 });
    const raw = await get(`${gateway.url}/v1/models/openai/text-embedding-3-small`);
    expect(raw.status).toBe(200);
    expect(raw.json).toEqual({
      id: 'openai/text-embedding-3-small', object: 'model', created: 0, owned_by: 'openai', context_window: 8192, reasoning: false,
      pricing: { input: 0.02, currency: 'USD', unit: 'per 1M tokens' }, capabilities: ['embeddings', 'batches'],
    });
    expect(raw.headers['x-request-id']).toMatch(UUID);
    const alias = await client.models.retrieve('fast');
    expect(alias.owned_by).toBe('heimdall');
    const bare = await client.models.retrieve('gpt-4o');
    expect(bare.id).toBe('gpt-4o');
  });

  it('404 model_not_found for an unknown id', async () => {
    const error = await client.models.retrieve('openai/no-such-model').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    const notFound = error as NotFoundError;
    expect(notFound.status).toBe(404);
    expect(notFound.error).toEqual({
      message: 'The model "openai/no-such-model" does not exist or is not served by an enabled provider.',
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_found',
    });
    const raw = await get(`${gateway.url}/v1/models/nope/x`);
    expect(raw.status).toBe(404);
    expect((raw.json as { error: { code: string } }).error.code).toBe('model_not_found');
  });
});

describe('POST /v1/responses (pass-through)', () => {
  it('non-stream through client.responses.create', async () => {
    const { data, response } = await client.responses
      .create({ model: 'openai/gpt-4o-mini', input: 'tell me a joke', instructions: 'be funny', temperature: 0.3 })
      .withResponse();
    expect(data.id).toBe('resp_mock_1');
    expect(data.status).toBe('completed');
    expect(data.model).toBe('gpt-4o-mini');
    expect(data.output_text).toBe('echo: tell me a joke');
    expect(data.usage).toMatchObject({ input_tokens: 6, output_tokens: 5, total_tokens: 11 });
    expect(response.headers.get('x-heimdall-provider')).toBe('openai');
    expect(mock.requests[0].path).toBe('/v1/responses');
    expect(mock.requests[0].body).toEqual({ model: 'gpt-4o-mini', input: 'tell me a joke', instructions: 'be funny', temperature: 0.3 });
  });

  it('stream: the named events arrive as the upstream sent them', async () => {
    const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'a b c', stream: true });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    expect(text).toBe('echo: a b c');
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(4);

    const raw = await post(`${gateway.url}/v1/responses`, { model: 'gpt-4o-mini', input: 'x', stream: true });
    expect(raw.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(sseEvents(raw.text).map((e) => e.event)).toContain('response.output_text.done');
  });
});
