/**
 * The official `openai` SDK against every native provider through
 * /v1/chat/completions and /v1/embeddings: one gateway, one mock upstream
 * that checks each provider's own rules (SigV4, Google OAuth, Azure
 * deployments and api-version, Anthropic headers), real sockets.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { anthropicErrorBody, googleErrorBody, mockEmbedding, type MockUpstream } from '../support/mock-upstream/index.js';
import { MOCK_AZURE_API_VERSION, NATIVE_MODELS, startMockProviders, type NativeProvider } from '../support/mock-upstream/provider-env.js';
import { sdk } from './helpers.js';

let mock: MockUpstream;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  const config = providers.config as { providers: Record<string, unknown> };
  // A second Bedrock entry that authenticates with a Bedrock API key (Bearer) instead of SigV4.
  config.providers['bedrock-key'] = { type: 'bedrock', api_key: 'ABSKbedrockapikey', base_url: mock.url };
  // A second Azure entry that authenticates with a Microsoft Entra ID token.
  config.providers['azure-entra'] = { type: 'azure', api_key: 'entra-token', base_url: `${mock.url}/openai`, models: ['gpt-4o-mini'], options: { auth: 'entra', deployments: { 'gpt-4o-mini': 'chat-prod' } } };
  gateway = await startGateway({ env: providers.env, config });
  client = sdk(gateway.url);
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

const PROVIDERS = Object.keys(NATIVE_MODELS).filter((p) => p !== 'openai') as NativeProvider[];

const tools: OpenAI.ChatCompletionTool[] = ['lookup', 'search'].map((name) => ({
  type: 'function',
  function: { name, description: `${name} a word`, parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
}));

/** The upstream calls, without the OAuth token exchange. */
function upstreamCalls(): typeof mock.requests {
  return mock.requests.filter((r) => r.path !== '/token');
}

describe.each(PROVIDERS)('openai SDK -> %s', (provider) => {
  const model = NATIVE_MODELS[provider];

  it('chat, non-stream: text, finish reason, usage', async () => {
    const completion = await client.chat.completions.create({ model, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there' }] });
    expect(completion.choices[0].message.content).toBe('echo: hello there');
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
  });

  it('chat, stream: the SDK assembles the text and gets the usage chunk', async () => {
    const stream = client.chat.completions.stream({ model, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'one two three' }] });
    const completion = await stream.finalChatCompletion();
    expect(completion.choices[0].message.content).toBe('echo: one two three');
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4 });
  });

  it('tools, non-stream and stream: two parallel calls with their ids, names and exact arguments', async () => {
    const params = { model, tools, messages: [{ role: 'user' as const, content: 'parallel please' }] };
    const plain = await client.chat.completions.create(params);
    const streamed = await client.chat.completions.stream(params).finalChatCompletion();
    for (const completion of [plain, streamed]) {
      const calls = completion.choices[0].message.tool_calls ?? [];
      expect(calls.map((call) => (call.type === 'function' ? [call.function.name, call.function.arguments] : []))).toEqual([
        ['lookup', '{"text":"parallel please"}'],
        ['search', '{"text":"parallel please"}'],
      ]);
      expect(new Set(calls.map((call) => call.id)).size).toBe(2);
      expect(completion.choices[0].finish_reason).toBe('tool_calls');
    }
  });

  it('a named tool_choice calls that tool only', async () => {
    const completion = await client.chat.completions.create({
      model, tools, tool_choice: { type: 'function', function: { name: 'search' } }, messages: [{ role: 'user', content: 'parallel please' }],
    });
    expect(completion.choices[0].message.tool_calls?.map((call) => (call.type === 'function' ? call.function.name : ''))).toEqual(['search']);
  });
});

describe('what reaches each provider', () => {
  it('Anthropic: x-api-key, anthropic-version, max_tokens default, system apart', async () => {
    await client.chat.completions.create({ model: NATIVE_MODELS.anthropic, messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'hi' }] });
    const [call] = upstreamCalls();
    expect(call.headers['x-api-key']).toBe('sk-ant-mock');
    expect(call.headers['anthropic-version']).toBe('2023-06-01');
    expect(call.body).toEqual({ model: 'claude-sonnet-4-5', max_tokens: 4096, system: 'sys', messages: [{ role: 'user', content: 'hi' }] });
  });

  it('Bedrock: SigV4-signed Converse for IAM keys, Bearer for a Bedrock API key', async () => {
    await client.chat.completions.create({ model: NATIVE_MODELS.bedrock, messages: [{ role: 'user', content: 'hi' }] });
    await client.chat.completions.create({ model: 'bedrock-key/amazon.nova-pro-v1:0', messages: [{ role: 'user', content: 'hi' }] });
    const [signed, bearer] = upstreamCalls();
    expect(signed.path).toBe(`/model/${encodeURIComponent('anthropic.claude-sonnet-4-5-20250929-v1:0')}/converse`);
    expect(signed.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/bedrock\/aws4_request/);
    expect(signed.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(bearer.headers.authorization).toBe('Bearer ABSKbedrockapikey');
    expect(bearer.path).toBe(`/model/${encodeURIComponent('amazon.nova-pro-v1:0')}/converse`);
    expect(bearer.body).toEqual({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] });
  });

  it('Vertex: one OAuth token for the service account, reused by both publishers', async () => {
    await client.chat.completions.create({ model: NATIVE_MODELS.vertex, messages: [{ role: 'user', content: 'warm up' }] });
    expect(mock.requests.filter((r) => r.path === '/token').length).toBeLessThanOrEqual(1);
    mock.reset();
    await client.chat.completions.create({ model: NATIVE_MODELS.vertex, messages: [{ role: 'user', content: 'hi' }] });
    await client.chat.completions.create({ model: NATIVE_MODELS['vertex-anthropic'], messages: [{ role: 'user', content: 'hi' }] });
    const [gemini, claude] = upstreamCalls();
    expect(gemini.path).toBe('/v1/projects/mock-project/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent');
    expect(claude.path).toBe('/v1/projects/mock-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict');
    expect(claude.body).toMatchObject({ anthropic_version: 'vertex-2023-10-16', max_tokens: 4096 });
    expect(claude.body).not.toHaveProperty('model');
    expect(gemini.headers.authorization).toMatch(/^Bearer ya29\.mock-\d+$/);
    expect(claude.headers.authorization).toBe(gemini.headers.authorization);
    // The token is cached, not fetched per call.
    expect(mock.requests.filter((r) => r.path === '/token')).toHaveLength(0);
  });

  it('Azure: the deployment of the model, the api-version and the api-key header', async () => {
    await client.chat.completions.create({ model: NATIVE_MODELS.azure, messages: [{ role: 'user', content: 'hi' }] });
    const [call] = upstreamCalls();
    expect(call.path).toBe('/openai/deployments/chat-prod/chat/completions');
    expect(call.query.get('api-version')).toBe(MOCK_AZURE_API_VERSION);
    expect(call.headers['api-key']).toBe('azure-mock-key');
    expect(call.headers.authorization).toBeUndefined();
    await client.chat.completions.create({ model: 'azure-entra/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const entra = upstreamCalls()[1];
    expect(entra.path).toBe('/openai/deployments/chat-prod/chat/completions');
    expect(entra.query.get('api-version')).toBe('2024-10-21');
    expect(entra.headers.authorization).toBe('Bearer entra-token');
    expect(entra.headers['api-key']).toBeUndefined();
  });

  it('Cohere: Bearer key, v2 chat body', async () => {
    await client.chat.completions.create({ model: NATIVE_MODELS.cohere, temperature: 0.2, top_p: 0.9, messages: [{ role: 'user', content: 'hi' }] });
    const [call] = upstreamCalls();
    expect(call.headers.authorization).toBe('Bearer cohere-mock-key');
    expect(call.body).toEqual({ model: 'command-a-03-2025', messages: [{ role: 'user', content: 'hi' }], temperature: 0.2, p: 0.9 });
  });
});

describe('images (vision) reach each provider in its own form', () => {
  const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
  it.each([
    ['anthropic', '"type":"image","source":{"type":"base64","media_type":"image/png"'],
    ['vertex-anthropic', '"type":"image","source":{"type":"base64","media_type":"image/png"'],
    ['gemini', '"inlineData":{"mimeType":"image/png"'],
    ['vertex', '"inlineData":{"mimeType":"image/png"'],
    ['bedrock', '"image":{"format":"png","source":{"bytes":'],
    ['cohere', '"type":"image_url","image_url":{"url":"data:image/png;base64,'],
    ['azure', '"type":"image_url","image_url":{"url":"data:image/png;base64,'],
  ] as const)('%s', async (provider, marker) => {
    const completion = await client.chat.completions.create({
      model: NATIVE_MODELS[provider],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }] }],
    });
    expect(completion.choices[0].message.content).toBe('echo: what is this');
    const sent = JSON.stringify(upstreamCalls()[0].body);
    expect(sent).toContain(marker);
    expect(sent).toContain(png);
  });
});

describe('embeddings through /v1/embeddings', () => {
  const cases: Array<[string, string]> = [
    ['gemini', 'gemini/gemini-embedding-001'],
    ['vertex (gemini-embedding-001, one text per call)', 'vertex/gemini-embedding-001'],
    ['vertex (text-embedding-005, batched)', 'vertex/text-embedding-005'],
    ['bedrock (Cohere)', 'bedrock/cohere.embed-english-v3'],
    ['cohere', 'cohere/embed-v4.0'],
    ['azure', 'azure/text-embedding-3-small'],
  ];
  it.each(cases)('%s: the SDK decodes the vectors (base64 by default) and floats on request', async (_name, model) => {
    const base64 = await client.embeddings.create({ model, input: ['alpha beta', 'gamma'] });
    expect(base64.data.map((item) => item.embedding)).toEqual([mockEmbedding('alpha beta'), mockEmbedding('gamma')]);
    expect(base64.data.map((item) => item.index)).toEqual([0, 1]);
    const floats = await client.embeddings.create({ model, input: 'alpha beta', encoding_format: 'float' });
    expect(floats.data[0].embedding).toEqual(mockEmbedding('alpha beta'));
  });

  it('vertex: an OAuth token on every call, task_type passed through, usage from the token counts', async () => {
    const reply = await client.embeddings.create({ model: 'vertex/gemini-embedding-001', input: ['alpha beta', 'gamma'], dimensions: 4, task_type: 'RETRIEVAL_DOCUMENT' } as OpenAI.EmbeddingCreateParams);
    expect(reply.data.map((item) => item.embedding)).toEqual([mockEmbedding('alpha beta', 4), mockEmbedding('gamma', 4)]);
    expect(reply.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    const calls = upstreamCalls();
    expect(calls).toHaveLength(2);
    for (const call of calls) {
      expect(call.path).toBe('/v1/projects/mock-project/locations/us-east5/publishers/google/models/gemini-embedding-001:predict');
      expect(call.headers.authorization).toMatch(/^Bearer ya29\./);
      expect(call.body).toMatchObject({ instances: [{ task_type: 'RETRIEVAL_DOCUMENT' }], parameters: { outputDimensionality: 4 } });
    }
    mock.reset();
    await client.embeddings.create({ model: 'vertex/text-embedding-005', input: ['a', 'b', 'c'] });
    expect(upstreamCalls().map((call) => (call.body as { instances: unknown[] }).instances.length)).toEqual([3]);
  });

  it('bedrock (Titan): one text per call, with its dimensions; a batch is one signed call per text, merged in order', async () => {
    const single = await client.embeddings.create({ model: 'bedrock/amazon.titan-embed-text-v2:0', input: 'alpha beta', dimensions: 4 });
    expect(single.data[0].embedding).toEqual(mockEmbedding('alpha beta', 4));
    expect(single.usage).toMatchObject({ prompt_tokens: 2 });
    mock.reset();
    const texts = ['one', 'two words', 'three more words', 'four', 'five six', 'seven'];
    const batch = await client.embeddings.create({ model: 'bedrock/amazon.titan-embed-text-v2:0', input: texts, dimensions: 4 });
    expect(batch.data.map((item) => item.embedding)).toEqual(texts.map((text) => mockEmbedding(text, 4)));
    expect(batch.data.map((item) => item.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(batch.usage).toEqual({ prompt_tokens: 10, total_tokens: 10 }); // 1 + 2 + 3 + 1 + 2 + 1 words
    // Every call carried its own SigV4 signature, which the mock checked against its body.
    const calls = upstreamCalls();
    expect(calls.map((call) => (call.body as { inputText: string }).inputText).sort()).toEqual([...texts].sort());
    expect(new Set(calls.map((call) => call.headers.authorization)).size).toBe(texts.length);
  });
});

describe('provider errors reach the openai SDK with their status and message', () => {
  it.each([
    ['anthropic', { kind: 'error', status: 400, body: anthropicErrorBody(400, 'messages.0.content: Field required') }, 'messages.0.content: Field required'],
    ['gemini', { kind: 'error', status: 400, body: googleErrorBody(400, '* GenerateContentRequest.contents: contents is not specified') }, 'contents is not specified'],
    ['vertex', { kind: 'error', status: 400, body: googleErrorBody(400, 'Vertex refused the request') }, 'Vertex refused the request'],
    ['bedrock', { kind: 'error', status: 400, body: { message: 'Malformed input request' }, headers: { 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' } }, 'Malformed input request'],
    ['cohere', { kind: 'error', status: 400, body: { message: 'invalid request: too many tokens' } }, 'invalid request: too many tokens'],
    ['azure', { kind: 'error', status: 400, body: { error: { code: 'content_filter', message: 'The response was filtered' } } }, 'The response was filtered'],
  ] as const)('%s', async (provider, behavior, message) => {
    mock.enqueue(behavior as never, { path: /^(?!\/token$)/ });
    const error = await client.chat.completions.create({ model: NATIVE_MODELS[provider], messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain(message);
  });

  it.each(PROVIDERS)('%s: an error event mid-stream ends the SDK stream with an error', async (provider) => {
    mock.enqueue({ kind: 'stream-error', afterChunks: 2 }, { path: /^(?!\/token$)/ });
    const stream = client.chat.completions.stream({ model: NATIVE_MODELS[provider], messages: [{ role: 'user', content: 'one two three four' }] });
    await expect(stream.finalChatCompletion()).rejects.toThrow();
  });
});
