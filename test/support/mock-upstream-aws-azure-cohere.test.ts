/**
 * The mock upstream's Bedrock (SigV4, binary event stream), Azure OpenAI and
 * Cohere v2 wire formats, and the `chop` behaviour that cuts streams at
 * awkward byte boundaries.
 */
import { AzureOpenAI } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsEventStreamParser } from '../../src/formats/bedrock/event-stream.js';
import { SseParser, type SseEvent } from '../../src/gateway/sse.js';
import { signBedrockRequest } from '../../src/providers/bedrock.js';
import { mockEmbedding, type MockUpstream } from './mock-upstream/index.js';
import { MOCK_AWS_CREDENTIALS, startMockProviders } from './mock-upstream/provider-env.js';

let mock: MockUpstream;

beforeAll(async () => {
  mock = (await startMockProviders()).mock;
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => mock.reset());

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
  /** How many pieces the body arrived in. */
  pieces: number;
  json: unknown;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await request(`${mock.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, bytes, pieces: chunks.length, json };
}

/** A Converse call signed with SigV4 the way the gateway signs it. */
async function signedPost(path: string, body: unknown, credentials = MOCK_AWS_CREDENTIALS): Promise<Reply> {
  const text = JSON.stringify(body);
  const headers = await signBedrockRequest({ method: 'POST', url: `${mock.url}${path}`, headers: { 'content-type': 'application/json' }, body: text }, credentials, 'eu-west-1');
  return post(path, text, headers);
}

const converseBody = {
  system: [{ text: 'be brief' }],
  messages: [{ role: 'user', content: [{ text: 'go parallel' }] }],
  toolConfig: { tools: ['lookup', 'search'].map((name) => ({ toolSpec: { name, inputSchema: { json: { type: 'object' } } } })) },
};

function bedrockEvents(bytes: Buffer): SseEvent[] {
  const parser = new AwsEventStreamParser();
  return [...parser.push(bytes), ...parser.end()];
}

describe('mock upstream: Bedrock Converse', () => {
  const model = encodeURIComponent('anthropic.claude-sonnet-4-5-20250929-v1:0');

  it('checks SigV4 signatures: a signed call passes, a wrong secret or a changed body does not', async () => {
    const reply = await signedPost(`/model/${model}/converse`, converseBody);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      output: { message: { role: 'assistant', content: [
        { toolUse: { toolUseId: 'tooluse_mock_0', name: 'lookup', input: { text: 'go parallel' } } },
        { toolUse: { toolUseId: 'tooluse_mock_1', name: 'search', input: { text: 'go parallel' } } },
      ] } },
      stopReason: 'tool_use',
      usage: { inputTokens: 4, outputTokens: 10, totalTokens: 14 },
    });
    const wrong = await signedPost(`/model/${model}/converse`, converseBody, { ...MOCK_AWS_CREDENTIALS, secretAccessKey: 'not-the-secret' });
    expect(wrong.status).toBe(403);
    expect(wrong.headers['x-amzn-errortype']).toMatch(/^InvalidSignatureException:/);
    const headers = await signBedrockRequest({ method: 'POST', url: `${mock.url}/model/${model}/converse`, headers: { 'content-type': 'application/json' }, body: '{}' }, MOCK_AWS_CREDENTIALS, 'eu-west-1');
    expect((await post(`/model/${model}/converse`, converseBody, headers)).status).toBe(403);
    expect((await post(`/model/${model}/converse`, converseBody)).headers['x-amzn-errortype']).toMatch(/^MissingAuthenticationTokenException:/);
    expect((await post(`/model/${model}/converse`, converseBody, { authorization: 'Bearer ABSK-bedrock-key' })).status).toBe(200);
  });

  it('refuses what Converse refuses: extra keys, a first assistant turn, tool blocks without toolConfig', async () => {
    const extra = await signedPost(`/model/${model}/converse`, { ...converseBody, model: 'x' });
    expect(extra).toMatchObject({ status: 400, json: { message: '1 validation error detected: extraneous key [model] is not permitted' } });
    expect(extra.headers['x-amzn-errortype']).toMatch(/^ValidationException:/);
    expect((await signedPost(`/model/${model}/converse`, { messages: [{ role: 'assistant', content: [{ text: 'x' }] }] })).status).toBe(400);
    const toolBlocks = { messages: [
      { role: 'user', content: [{ text: 'q' }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'lookup', input: {} } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ text: 'r' }] } }] },
    ] };
    expect((await signedPost(`/model/${model}/converse`, toolBlocks)).json).toEqual({ message: 'The toolConfig field must be defined when using toolUse and toolResult content blocks.' });
  });

  it('streams binary event-stream frames: start, tool blocks with their ids, stop, metadata with usage', async () => {
    const reply = await signedPost(`/model/${model}/converse-stream`, converseBody);
    expect(reply.headers['content-type']).toBe('application/vnd.amazon.eventstream');
    const events = bedrockEvents(reply.bytes);
    expect(events.map((event) => event.event)).toEqual([
      'messageStart',
      'contentBlockStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop',
      'contentBlockStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop',
      'messageStop', 'metadata',
    ]);
    const payloads = events.map((event) => JSON.parse(event.data) as Record<string, unknown>);
    expect(payloads[1]).toMatchObject({ contentBlockIndex: 0, start: { toolUse: { toolUseId: 'tooluse_mock_0', name: 'lookup' } } });
    const args = payloads.slice(2, 5).map((p) => (p.delta as { toolUse: { input: string } }).toolUse.input).join('');
    expect(args).toBe('{"text":"go parallel"}');
    expect(payloads[11]).toMatchObject({ stopReason: 'tool_use' });
    expect(payloads[12]).toMatchObject({ usage: { inputTokens: 4, outputTokens: 10, totalTokens: 14 } });
    expect(payloads.every((p) => typeof p.p === 'string')).toBe(true);
  });

  it('ends a stream-error with a modelStreamErrorException frame', async () => {
    mock.enqueue({ kind: 'stream-error', afterChunks: 2 });
    const events = bedrockEvents((await signedPost(`/model/${model}/converse-stream`, { messages: converseBody.messages })).bytes);
    expect(events.map((event) => event.event)).toEqual(['messageStart', 'contentBlockDelta', 'exception:modelStreamErrorException']);
  });

  it('embeds with Titan and Cohere models through InvokeModel', async () => {
    const titan = await signedPost(`/model/amazon.titan-embed-text-v2%3A0/invoke`, { inputText: 'a b', dimensions: 4 });
    expect(titan.json).toMatchObject({ embedding: mockEmbedding('a b', 4), inputTextTokenCount: 2 });
    const cohere = await signedPost('/model/cohere.embed-english-v3/invoke', { texts: ['x', 'y'], input_type: 'search_document' });
    expect(cohere.json).toMatchObject({ embeddings: [mockEmbedding('x'), mockEmbedding('y')], response_type: 'embeddings_floats' });
    expect((await signedPost('/model/amazon.titan-embed-text-v1/invoke', { inputText: 'a', dimensions: 4 })).status).toBe(400);
  });
});

describe('mock upstream: Azure OpenAI', () => {
  const client = (apiKey = 'azure-key'): AzureOpenAI => new AzureOpenAI({ endpoint: mock.url, apiKey, apiVersion: '2024-10-21', deployment: 'chat-prod', maxRetries: 0 });

  it('serves the AzureOpenAI client on its deployment URL with content-filter annotations', async () => {
    const completion = await client().chat.completions.create({ model: 'ignored', messages: [{ role: 'user', content: 'hello azure' }] });
    expect(completion.choices[0].message.content).toBe('echo: hello azure');
    expect(completion.model).toBe('gpt-4o-mini');
    expect(completion).toHaveProperty('prompt_filter_results');
    expect(mock.requests[0].path).toBe('/openai/deployments/chat-prod/chat/completions');
    expect(mock.requests[0].query.get('api-version')).toBe('2024-10-21');
    expect(mock.requests[0].headers['api-key']).toBe('azure-key');
    let text = '';
    const chunks = await client().chat.completions.create({ model: 'x', stream: true, messages: [{ role: 'user', content: 'one two' }] });
    let first: unknown;
    for await (const chunk of chunks) {
      first ??= chunk;
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('echo: one two');
    expect(first).toMatchObject({ choices: [], prompt_filter_results: expect.any(Array) });
  });

  it('refuses a missing api-version, a bad key and an unknown deployment in Azure error form', async () => {
    const body = { messages: [{ role: 'user', content: 'x' }] };
    expect(await post('/openai/deployments/chat-prod/chat/completions', body, { 'api-key': 'k' })).toMatchObject({ status: 400, json: { error: { code: 'MissingApiVersionParameter' } } });
    expect((await post('/openai/deployments/chat-prod/chat/completions?api-version=1', body, { 'api-key': 'bad-key' })).status).toBe(401);
    expect(await post('/openai/deployments/nope/chat/completions?api-version=1', body, { 'api-key': 'k' })).toMatchObject({ status: 404, json: { error: { code: 'DeploymentNotFound' } } });
    const embedded = await post('/openai/deployments/embed-prod/embeddings?api-version=1', { input: 'a' }, { authorization: 'Bearer entra-token' });
    expect(embedded.json).toMatchObject({ model: 'text-embedding-3-small', data: [{ embedding: mockEmbedding('a') }] });
  });
});

describe('mock upstream: Cohere v2', () => {
  const auth = { authorization: 'Bearer co-key' };

  it('chats with text and tool calls, billed units apart from template tokens', async () => {
    const text = await post('/v2/chat', { model: 'command-a', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi cohere' }] }, auth);
    expect(text.json).toEqual({
      id: 'cohere-mock-1', finish_reason: 'COMPLETE',
      message: { role: 'assistant', content: [{ type: 'text', text: 'echo: hi cohere' }] },
      usage: { billed_units: { input_tokens: 4, output_tokens: 3 }, tokens: { input_tokens: 204, output_tokens: 3 } },
    });
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: {} } }, { type: 'function', function: { name: 'search', parameters: {} } }];
    const calls = await post('/v2/chat', { model: 'command-a', tools, messages: [{ role: 'user', content: 'parallel' }] }, auth);
    expect(calls.json).toMatchObject({
      finish_reason: 'TOOL_CALL',
      message: { tool_plan: 'I will call lookup and search.', tool_calls: [
        { id: 'lookup_mock_0', type: 'function', function: { name: 'lookup', arguments: '{"text":"parallel"}' } },
        { id: 'search_mock_1', type: 'function', function: { name: 'search', arguments: '{"text":"parallel"}' } },
      ] },
    });
  });

  it('streams typed SSE events ending in message-end with the usage', async () => {
    const reply = await post('/v2/chat', { model: 'command-a', stream: true, messages: [{ role: 'user', content: 'a b' }] }, auth);
    const events = new SseParser().push(reply.bytes);
    expect(events.map((event) => event.event)).toEqual(['message-start', 'content-start', 'content-delta', 'content-delta', 'content-delta', 'content-end', 'message-end']);
    expect(JSON.parse(events[6].data)).toMatchObject({ type: 'message-end', delta: { finish_reason: 'COMPLETE', usage: { billed_units: { input_tokens: 2, output_tokens: 3 } } } });
  });

  it('embeds, and refuses a missing key or input_type', async () => {
    const embedded = await post('/v2/embed', { model: 'embed-v4.0', texts: ['q'], input_type: 'search_query', embedding_types: ['float'] }, auth);
    expect(embedded.json).toMatchObject({ embeddings: { float: [mockEmbedding('q')] }, meta: { billed_units: { input_tokens: 1 } } });
    expect((await post('/v2/embed', { model: 'embed-v4.0', texts: ['q'] }, auth)).status).toBe(400);
    expect(await post('/v2/chat', { model: 'm', messages: [{ role: 'user', content: 'x' }] })).toMatchObject({ status: 401, json: { message: 'no api key supplied' } });
  });
});

describe('mock upstream: chop', () => {
  it('writes a stream in 1-13 byte pieces that a reader receives apart and reassembles exactly', async () => {
    const body = { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'héllo 🌍 wörld' }] };
    const whole = await post('/v1/chat/completions', body);
    mock.enqueue({ kind: 'chop' });
    const chopped = await post('/v1/chat/completions', body);
    expect(chopped.bytes.toString('utf8').replace(/chatcmpl-mock-2/g, 'chatcmpl-mock-1')).toBe(whole.bytes.toString('utf8'));
    expect(chopped.pieces).toBeGreaterThan(whole.bytes.length / 20);
  });

  it('cuts binary frames too, with custom sizes', async () => {
    const path = `/model/${encodeURIComponent('amazon.nova-pro-v1:0')}/converse-stream`;
    const body = { messages: [{ role: 'user', content: [{ text: 'a b' }] }] };
    mock.enqueue({ kind: 'chop', sizes: [3] });
    const reply = await post(path, body, { authorization: 'Bearer k' });
    expect(reply.pieces).toBeGreaterThan(reply.bytes.length / 10);
    expect(bedrockEvents(reply.bytes).map((event) => event.event)).toEqual(['messageStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata']);
  });
});
