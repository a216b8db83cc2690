/**
 * The official `@google/genai` SDK as a client of /genai, its base URL
 * swapped, against every provider format: Gemini models (AI Studio and
 * Vertex) pass through, the others answer in Gemini form. One gateway, one
 * mock upstream.
 */
import { ApiError, FunctionCallingConfigMode, GoogleGenAI, type FunctionDeclaration } from '@google/genai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { googleErrorBody, type MockUpstream } from '../support/mock-upstream/index.js';
import { NATIVE_MODELS, startMockProviders, type NativeProvider } from '../support/mock-upstream/provider-env.js';
import { post } from './helpers.js';

let mock: MockUpstream;
let gateway: TestGateway;
let ai: GoogleGenAI;

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({ env: providers.env, config: providers.config });
  ai = new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl: `${gateway.url}/genai` } });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

const PROVIDERS = Object.keys(NATIVE_MODELS) as NativeProvider[];

const declarations: FunctionDeclaration[] = ['lookup', 'search'].map((name) => ({
  name,
  description: `${name} a word`,
  parametersJsonSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
}));

describe.each(PROVIDERS)('Google Gen AI SDK -> %s', (provider) => {
  const model = NATIVE_MODELS[provider];

  it('generateContent: text, finish reason, usage', async () => {
    const response = await ai.models.generateContent({ model, contents: 'hello there', config: { systemInstruction: 'be brief' } });
    expect(response.text).toBe('echo: hello there');
    expect(response.candidates?.[0].finishReason).toBe('STOP');
    expect(response.usageMetadata).toMatchObject({ promptTokenCount: 4, candidatesTokenCount: 3, totalTokenCount: 7 });
  });

  it('generateContentStream: the text in pieces, the usage and the finish at the end', async () => {
    let text = '';
    let last: Awaited<ReturnType<typeof ai.models.generateContent>> | undefined;
    for await (const chunk of await ai.models.generateContentStream({ model, contents: 'one two three' })) {
      text += chunk.text ?? '';
      last = chunk;
    }
    expect(text).toBe('echo: one two three');
    expect(last?.candidates?.[0].finishReason).toBe('STOP');
    expect(last?.usageMetadata).toMatchObject({ promptTokenCount: 3, candidatesTokenCount: 4 });
  });

  it('function calls, non-stream and stream: both calls, whole, with their args', async () => {
    const params = { model, contents: 'parallel please', config: { tools: [{ functionDeclarations: declarations }] } };
    const plain = await ai.models.generateContent(params);
    const streamedCalls: unknown[] = [];
    for await (const chunk of await ai.models.generateContentStream(params)) streamedCalls.push(...(chunk.functionCalls ?? []));
    for (const calls of [plain.functionCalls ?? [], streamedCalls as typeof plain.functionCalls & object]) {
      expect(calls.map((call) => [call.name, call.args])).toEqual([
        ['lookup', { text: 'parallel please' }],
        ['search', { text: 'parallel please' }],
      ]);
    }
  });

  it('a functionResponse turn goes back to the provider and gets the answer', async () => {
    const first = await ai.models.generateContent({
      model, contents: 'weather in Oslo',
      config: { tools: [{ functionDeclarations: declarations }], toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: ['lookup'] } } },
    });
    const call = first.functionCalls?.[0];
    expect(call?.name).toBe('lookup');
    const second = await ai.models.generateContent({
      model,
      config: { tools: [{ functionDeclarations: declarations }] },
      contents: [
        { role: 'user', parts: [{ text: 'weather in Oslo' }] },
        { role: 'model', parts: [{ functionCall: call }] },
        { role: 'user', parts: [{ functionResponse: { id: call?.id, name: 'lookup', response: { result: 'rainy' } } }] },
      ],
    });
    expect(second.text).toBe('echo: weather in Oslo');
  });
});

describe('countTokens', () => {
  it('Gemini: forwarded to models/{model}:countTokens', async () => {
    const counted = await ai.models.countTokens({ model: NATIVE_MODELS.gemini, contents: 'count these words' });
    expect(counted.totalTokens).toBe(3);
    expect(mock.requests[0].path).toBe('/v1beta/models/gemini-2.5-flash:countTokens');
    expect(mock.requests[0].headers['x-goog-api-key']).toBe('gemini-mock-key');
  });

  it('Gemini on Vertex: forwarded to the publisher model with an OAuth token', async () => {
    const counted = await ai.models.countTokens({ model: NATIVE_MODELS.vertex, contents: 'count these words please' });
    expect(counted.totalTokens).toBe(4);
    const call = mock.requests.find((r) => r.path !== '/token');
    expect(call?.path).toBe('/v1/projects/mock-project/locations/us-east5/publishers/google/models/gemini-2.5-flash:countTokens');
    expect(call?.headers.authorization).toMatch(/^Bearer ya29\./);
  });

  it('a provider without a Gemini token count: 400 in Gemini form, nothing sent upstream', async () => {
    const error = await ai.models.countTokens({ model: NATIVE_MODELS.bedrock, contents: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).message).toContain('does not support countTokens');
    expect(mock.requests).toHaveLength(0);
  });
});

describe('errors in Gemini form', () => {
  it('an upstream error keeps its status and message, pass-through or translated', async () => {
    mock.enqueue({ kind: 'error', status: 400, body: googleErrorBody(400, 'Request contains an invalid argument.') });
    const passthrough = await ai.models.generateContent({ model: NATIVE_MODELS.gemini, contents: 'x' }).catch((e: unknown) => e);
    expect((passthrough as ApiError).status).toBe(400);
    expect((passthrough as ApiError).message).toContain('Request contains an invalid argument.');
    mock.enqueue({ kind: 'error', status: 400, body: { message: 'invalid request: bad' } });
    const translated = await ai.models.generateContent({ model: NATIVE_MODELS.cohere, contents: 'x' }).catch((e: unknown) => e);
    expect(translated).toBeInstanceOf(ApiError);
    expect((translated as ApiError).status).toBe(400);
    expect((translated as ApiError).message).toContain('invalid request: bad');
  });

  it('a body the surface cannot read: 400 naming the field, in google.rpc.Status form', async () => {
    const reply = await post(`${gateway.url}/genai/v1beta/models/${NATIVE_MODELS.openai}:generateContent`, { contents: [{ role: 'user', parts: [{ functionCall: { name: 'f', args: {} } }] }] });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining('contents[0].parts[0].functionCall') } });
    expect(mock.requests).toHaveLength(0);
  });

  it('a stream that fails midway ends with an error the SDK throws', async () => {
    mock.enqueue({ kind: 'stream-error', afterChunks: 3 });
    const read = async (): Promise<void> => {
      for await (const _chunk of await ai.models.generateContentStream({ model: NATIVE_MODELS.anthropic, contents: 'one two three four' })) {
        // reading until the error
      }
    };
    await expect(read()).rejects.toThrow(/Mock upstream stream error/);
  });
});
