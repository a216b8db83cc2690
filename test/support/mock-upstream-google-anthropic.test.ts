/**
 * The mock upstream's Anthropic, Gemini and Vertex AI wire formats, checked
 * with the official SDKs as clients where one exists (so the mock speaks what
 * the real APIs speak) and raw HTTP for headers, errors and the OAuth flow.
 */
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SseParser } from '../../src/gateway/sse.js';
import { GoogleAccessTokenSource, parseGoogleCredentials } from '../../src/providers/google-auth.js';
import { mockEmbedding, type MockUpstream } from './mock-upstream/index.js';
import { mockServiceAccount, MOCK_SERVICE_ACCOUNT_EMAIL, startMockProviders } from './mock-upstream/provider-env.js';

let mock: MockUpstream;

beforeAll(async () => {
  mock = (await startMockProviders()).mock;
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => mock.reset());

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string; json: unknown }> {
  const response = await request(`${mock.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, text, json };
}

const lookup = { name: 'lookup', description: 'Looks up', input_schema: { type: 'object' as const, properties: { text: { type: 'string' } } } };
const search = { ...lookup, name: 'search' };

describe('mock upstream: Anthropic Messages', () => {
  const client = (): Anthropic => new Anthropic({ baseURL: mock.url, apiKey: 'sk-ant-test', maxRetries: 0 });

  it('answers text and tool calls the SDK reads, with Anthropic usage', async () => {
    const text = await client().messages.create({ model: 'claude-x', max_tokens: 50, system: 'be brief', messages: [{ role: 'user', content: 'hi there' }] });
    expect(text).toMatchObject({
      id: 'msg_mock_1', type: 'message', role: 'assistant', model: 'claude-x',
      content: [{ type: 'text', text: 'echo: hi there' }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 4, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
    const tools = await client().messages.create({ model: 'claude-x', max_tokens: 50, tools: [lookup, search], messages: [{ role: 'user', content: 'go parallel' }] });
    expect(tools.content).toEqual([
      { type: 'tool_use', id: 'toolu_mock_0', name: 'lookup', input: { text: 'go parallel' } },
      { type: 'tool_use', id: 'toolu_mock_1', name: 'search', input: { text: 'go parallel' } },
    ]);
    expect(tools.stop_reason).toBe('tool_use');
    const one = await client().messages.create({
      model: 'claude-x', max_tokens: 50, tools: [lookup, search], tool_choice: { type: 'tool', name: 'search', disable_parallel_tool_use: true },
      messages: [{ role: 'user', content: 'parallel please' }],
    });
    expect(one.content.map((block) => (block.type === 'tool_use' ? block.name : block.type))).toEqual(['search']);
  });

  it('streams every event type in order; the SDK assembles text and tool input', async () => {
    const textStream = client().messages.stream({ model: 'claude-x', max_tokens: 50, messages: [{ role: 'user', content: 'a b c' }] });
    const types: string[] = [];
    textStream.on('streamEvent', (event) => types.push(event.type));
    const final = await textStream.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'echo: a b c' }]);
    expect(final.usage).toMatchObject({ input_tokens: 3, output_tokens: 4 });
    // The SDK hides pings; they are on the wire after the first block start.
    expect(types).toEqual([
      'message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta',
      'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
    ]);
    const raw = await post('/v1/messages', { model: 'c', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] }, { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' });
    expect(new SseParser().push(raw.text).map((event) => event.event).slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    const toolStream = client().messages.stream({ model: 'claude-x', max_tokens: 50, tools: [lookup, search], messages: [{ role: 'user', content: 'parallel' }] });
    const toolFinal = await toolStream.finalMessage();
    expect(toolFinal.content).toEqual([
      { type: 'tool_use', id: 'toolu_mock_0', name: 'lookup', input: { text: 'parallel' } },
      { type: 'tool_use', id: 'toolu_mock_1', name: 'search', input: { text: 'parallel' } },
    ]);
    expect(toolFinal.stop_reason).toBe('tool_use');
  });

  it('counts tokens; refuses a missing key, version or max_tokens as Anthropic does', async () => {
    expect(await client().messages.countTokens({ model: 'claude-x', system: 'one two', messages: [{ role: 'user', content: 'three' }] })).toEqual({ input_tokens: 3 });
    const base = { model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] };
    expect(await post('/v1/messages', base, { 'anthropic-version': '2023-06-01' })).toMatchObject({
      status: 401, json: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } },
    });
    expect((await post('/v1/messages', base, { 'x-api-key': 'k' })).status).toBe(400);
    const noMax = await post('/v1/messages', { ...base, max_tokens: undefined }, { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' });
    expect(noMax).toMatchObject({ status: 400, json: { error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } } });
  });

  it('stream-error sends an Anthropic error event that the SDK throws', async () => {
    mock.enqueue({ kind: 'stream-error', afterChunks: 3 });
    const stream = client().messages.stream({ model: 'claude-x', max_tokens: 50, messages: [{ role: 'user', content: 'a b c' }] });
    await expect(stream.finalMessage()).rejects.toThrow(/Mock upstream stream error/);
  });
});

describe('mock upstream: Gemini API', () => {
  // @google/genai 3 calls the stable `/v1` by default; this mock serves GET /v1/models as OpenAI's list, so the SDK is pinned to v1beta.
  const ai = (apiKey = 'gemini-key'): GoogleGenAI => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: mock.url, apiVersion: 'v1beta' } });
  const declarations = [{ name: 'lookup', parameters: { type: 'OBJECT' as never, properties: { text: { type: 'STRING' as never } } } }, { name: 'search' }];

  it('generates text and function calls the SDK reads, with usageMetadata', async () => {
    const text = await ai().models.generateContent({ model: 'gemini-2.5-flash', contents: 'hello gemini', config: { systemInstruction: 'be brief' } });
    expect(text.text).toBe('echo: hello gemini');
    expect(text.usageMetadata).toMatchObject({ promptTokenCount: 4, candidatesTokenCount: 3, totalTokenCount: 7 });
    expect(text.responseId).toBe('resp-mock-1');
    expect(text.candidates?.[0].finishReason).toBe('STOP');
    const calls = await ai().models.generateContent({ model: 'gemini-2.5-flash', contents: 'parallel', config: { tools: [{ functionDeclarations: declarations }] } });
    expect(calls.functionCalls).toEqual([{ name: 'lookup', args: { text: 'parallel' } }, { name: 'search', args: { text: 'parallel' } }]);
    const forced = await ai().models.generateContent({
      model: 'gemini-2.5-flash', contents: 'parallel',
      config: { tools: [{ functionDeclarations: declarations }], toolConfig: { functionCallingConfig: { mode: 'ANY' as never, allowedFunctionNames: ['search'] } } },
    });
    expect(forced.functionCalls?.map((call) => call.name)).toEqual(['search']);
    expect(mock.requests[0].path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(mock.requests[0].headers['x-goog-api-key']).toBe('gemini-key');
  });

  it('streams with alt=sse one word per event, usage in each; the SDK joins them', async () => {
    let text = '';
    const finishes: unknown[] = [];
    for await (const chunk of await ai().models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'one two' })) {
      text += chunk.text ?? '';
      finishes.push(chunk.candidates?.[0].finishReason);
    }
    expect(text).toBe('echo: one two');
    expect(finishes).toEqual([undefined, undefined, 'STOP']);
    expect(mock.requests[0].query.get('alt')).toBe('sse');
  });

  it('lists its models, as the SDK pages them', async () => {
    const names: string[] = [];
    for await (const model of await ai().models.list()) names.push(String(model.name));
    expect(names).toEqual(['models/gemini-2.5-flash', 'models/gemini-2.5-pro', 'models/gemini-embedding-001']);
  });

  it('counts tokens and embeds (batchEmbedContents), as the SDK calls them', async () => {
    expect((await ai().models.countTokens({ model: 'gemini-2.5-flash', contents: 'a b c' })).totalTokens).toBe(3);
    const embedded = await ai().models.embedContent({ model: 'gemini-embedding-001', contents: ['alpha', 'beta'] });
    expect(embedded.embeddings?.map((e) => e.values)).toEqual([mockEmbedding('alpha'), mockEmbedding('beta')]);
    expect(mock.requests[1].path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
  });

  it('refuses unknown fields, a missing key and a bad key in google.rpc.Status form', async () => {
    const unknown = await post('/v1beta/models/m:generateContent', { contents: [{ role: 'user', parts: [{ text: 'x' }] }], stream: true }, { 'x-goog-api-key': 'k' });
    expect(unknown).toMatchObject({ status: 400, json: { error: { code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining('Unknown name "stream"') } } });
    expect((await post('/v1beta/models/m:generateContent', { contents: [] })).status).toBe(403);
    const error = await ai('bad-key').models.generateContent({ model: 'm', contents: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).message).toContain('API key not valid');
  });
});

describe('mock upstream: Vertex AI with a service account', () => {
  const credentials = () => parseGoogleCredentials(JSON.stringify(mockServiceAccount(mock)), 'test');
  const prefix = '/v1/projects/p1/locations/us-east5/publishers';

  it('issues a token for a signed JWT assertion and refuses a forged one', async () => {
    const token = await new GoogleAccessTokenSource(credentials()).getToken();
    expect(token).toMatch(/^ya29\.mock-\d+$/);
    const form = new URLSearchParams(mock.requests[0].rawBody.toString());
    expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const claims = JSON.parse(Buffer.from(String(form.get('assertion')).split('.')[1], 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: MOCK_SERVICE_ACCOUNT_EMAIL, aud: `${mock.url}/token`, scope: 'https://www.googleapis.com/auth/cloud-platform' });
    const [header, body] = String(form.get('assertion')).split('.');
    const forged = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: `${header}.${body}.${Buffer.from('nope').toString('base64url')}` });
    const refused = await request(`${mock.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: forged.toString() });
    expect(refused.statusCode).toBe(400);
    expect(await refused.body.json()).toEqual({ error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
  });

  it('answers Gemini models on the publisher path, only with an issued token', async () => {
    const body = { contents: [{ role: 'user', parts: [{ text: 'hi vertex' }] }] };
    expect(await post(`${prefix}/google/models/gemini-2.5-flash:generateContent`, body, { authorization: 'Bearer made-up' })).toMatchObject({
      status: 401, json: { error: { code: 401, status: 'UNAUTHENTICATED' } },
    });
    const token = await new GoogleAccessTokenSource(credentials()).getToken();
    const reply = await post(`${prefix}/google/models/gemini-2.5-flash:generateContent`, body, { authorization: `Bearer ${token}` });
    expect(reply.json).toMatchObject({ candidates: [{ content: { role: 'model', parts: [{ text: 'echo: hi vertex' }] }, finishReason: 'STOP' }], modelVersion: 'gemini-2.5-flash', responseId: 'vertex-resp-1' });
    const stream = await post(`${prefix}/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, body, { authorization: `Bearer ${token}` });
    const events = new SseParser().push(stream.text);
    expect(events.map((event) => (JSON.parse(event.data) as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> }).candidates[0].content.parts[0].text)).toEqual(['echo:', ' hi', ' vertex']);
  });

  it('answers Claude on rawPredict / streamRawPredict with the Vertex body rules, and counts tokens', async () => {
    const token = await new GoogleAccessTokenSource(credentials()).getToken();
    const auth = { authorization: `Bearer ${token}` };
    const body = { anthropic_version: 'vertex-2023-10-16', max_tokens: 20, messages: [{ role: 'user', content: 'hi claude' }] };
    const reply = await post(`${prefix}/anthropic/models/claude-sonnet-4-5@20250929:rawPredict`, body, auth);
    expect(reply.json).toMatchObject({ type: 'message', model: 'claude-sonnet-4-5@20250929', content: [{ type: 'text', text: 'echo: hi claude' }], stop_reason: 'end_turn' });
    expect(await post(`${prefix}/anthropic/models/claude-sonnet-4-5@20250929:rawPredict`, { ...body, model: 'claude' }, auth)).toMatchObject({
      status: 400, json: { error: { message: 'model: Extra inputs are not permitted' } },
    });
    expect((await post(`${prefix}/anthropic/models/c:rawPredict`, { ...body, anthropic_version: '2023-06-01' }, auth)).status).toBe(400);
    const stream = await post(`${prefix}/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict`, { ...body, stream: true }, auth);
    const names = new SseParser().push(stream.text).map((event) => event.event);
    expect(names[0]).toBe('message_start');
    expect(names[names.length - 1]).toBe('message_stop');
    const counted = await post(`${prefix}/anthropic/models/count-tokens:rawPredict`, { model: 'claude-sonnet-4-5@20250929', messages: body.messages }, auth);
    expect(counted.json).toEqual({ input_tokens: 2 });
  });
});
