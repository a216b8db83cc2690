/**
 * Pass-through is liberal on /genai: parts Heimdall does not know reach
 * Gemini as sent, and a translation drops them with a warning. Every path
 * form Gemini clients produce reaches the Gemini surface: API
 * versions v1beta, v1 and v1alpha (and v1beta1 with Vertex AI's
 * `publishers/{provider}/models/` form); with and without `models/` (the AI SDK's
 * Google provider sends a `provider/model` id bare:
 * `/v1beta/openai/gpt-4o-mini:generateContent`); a model id holding `/`
 * raw or as `%2F`, or `:`. generateContent, streamGenerateContent and
 * countTokens alike. The Gen AI SDK where it can make the form, raw HTTP
 * (undici) where it cannot.
 */
import { GoogleGenAI } from '@google/genai';
import { beforeAll, describe, expect, it } from 'vitest';
import { useMockedGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { NATIVE_MODELS } from '../support/mock-upstream/provider-env.js';
import { post, sseEvents } from './helpers.js';

const suite = useMockedGateway();
let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(() => {
  ({ mock, gateway } = suite);
});

const contents = [{ role: 'user', parts: [{ text: 'hello there' }] }];
const echoed = { candidates: [{ content: { role: 'model', parts: [{ text: 'echo: hello there' }] } }] };

describe('the Gen AI SDK, every API version', () => {
  for (const apiVersion of ['v1beta', 'v1', 'v1alpha']) {
    it(`${apiVersion}: generateContent, stream and countTokens with a provider/model id`, async () => {
      const ai = new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl: `${gateway.url}/genai`, apiVersion } });
      const response = await ai.models.generateContent({ model: NATIVE_MODELS.openai, contents: 'hello there' });
      expect(response.text).toBe('echo: hello there');
      let streamed = '';
      for await (const chunk of await ai.models.generateContentStream({ model: NATIVE_MODELS.anthropic, contents: 'one two' })) streamed += chunk.text ?? '';
      expect(streamed).toBe('echo: one two');
      const counted = await ai.models.countTokens({ model: NATIVE_MODELS.gemini, contents: 'count these words' });
      expect(counted.totalTokens).toBe(3);
      expect(mock.requests.map((r) => r.path)).toEqual([
        '/v1/chat/completions',
        '/v1/messages',
        '/v1beta/models/gemini-2.5-flash:countTokens',
      ]);
    });
  }
});

describe('the Gen AI SDK in Vertex AI mode (API key): /v1beta1/publishers/{provider}/models/{model}', () => {
  it('the publisher is the provider; stream and count too', async () => {
    const ai = new GoogleGenAI({ vertexai: true, apiKey: 'client-key', httpOptions: { baseUrl: `${gateway.url}/genai` } });
    const response = await ai.models.generateContent({ model: NATIVE_MODELS.openai, contents: 'hello there' });
    expect(response.text).toBe('echo: hello there');
    let streamed = '';
    for await (const chunk of await ai.models.generateContentStream({ model: NATIVE_MODELS.gemini, contents: 'one two' })) streamed += chunk.text ?? '';
    expect(streamed).toBe('echo: one two');
    expect(mock.requests.map((r) => r.path)).toEqual(['/v1/chat/completions', '/v1beta/models/gemini-2.5-flash:streamGenerateContent']);
  });

  it('publisher google with a project path: the bare model goes to a provider that serves it', async () => {
    const reply = await post(`${gateway.url}/genai/v1beta1/projects/p1/locations/us-central1/publishers/google/models/gpt-4o-mini:generateContent`, { contents });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject(echoed);
    expect(reply.headers['x-heimdall-model']).toBe('gpt-4o-mini');
  });
});

describe('raw paths the SDK does not produce', () => {
  const forms: Array<[string, string]> = [
    ['no models/ segment (AI SDK Google provider)', `/genai/v1beta/${NATIVE_MODELS.openai}:generateContent`],
    ['models/ with the / encoded', `/genai/v1beta/models/${encodeURIComponent(NATIVE_MODELS.openai)}:generateContent`],
    ['no models/ and the / encoded', `/genai/v1/${encodeURIComponent(NATIVE_MODELS.openai)}:generateContent`],
    ['v1alpha without models/', `/genai/v1alpha/${NATIVE_MODELS.openai}:generateContent`],
  ];
  for (const [name, path] of forms) {
    it(`${name}: ${path}`, async () => {
      const reply = await post(`${gateway.url}${path}`, { contents }, { 'x-goog-api-key': 'client-key' });
      expect(reply.status).toBe(200);
      expect(reply.json).toMatchObject(echoed);
      expect(reply.headers['x-heimdall-model']).toBe('gpt-4o-mini');
      expect(mock.requests[0].path).toBe('/v1/chat/completions');
    });
  }

  it('streamGenerateContent?alt=sse without models/, to Gemini (pass-through)', async () => {
    const reply = await post(`${gateway.url}/genai/v1beta/${NATIVE_MODELS.gemini}:streamGenerateContent?alt=sse`, { contents });
    expect(reply.status).toBe(200);
    const text = sseEvents(reply.text).map((event) => (JSON.parse(event.data) as typeof echoed).candidates[0].content.parts[0].text).join('');
    expect(text).toBe('echo: hello there');
    expect(mock.requests[0].path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent');
  });

  it('a model id holding ":" (Bedrock), with and without models/', async () => {
    for (const path of [`/genai/v1beta/models/${NATIVE_MODELS.bedrock}:generateContent`, `/genai/v1beta/${NATIVE_MODELS.bedrock}:generateContent`]) {
      const reply = await post(`${gateway.url}${path}`, { contents });
      expect(reply.status).toBe(200);
      expect(reply.json).toMatchObject(echoed);
    }
    expect(mock.requests.map((r) => r.path)).toEqual([
      '/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse',
      '/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse',
    ]);
  });

  it('countTokens without models/ and with the / encoded', async () => {
    for (const path of [`/genai/v1beta/${NATIVE_MODELS.gemini}:countTokens`, `/genai/v1/models/${encodeURIComponent(NATIVE_MODELS.gemini)}:countTokens`]) {
      const reply = await post(`${gateway.url}${path}`, { contents });
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual({ totalTokens: 2 });
    }
    expect(mock.requests.map((r) => r.path)).toEqual(['/v1beta/models/gemini-2.5-flash:countTokens', '/v1beta/models/gemini-2.5-flash:countTokens']);
  });

  it('generateContent naming no model: 404 in Gemini form, nothing sent', async () => {
    const reply = await post(`${gateway.url}/genai/v1beta/models/:generateContent`, { contents });
    expect(reply.status).toBe(404);
    expect(reply.json).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    expect(mock.requests).toHaveLength(0);
  });

  it('an unknown method or API version goes to Gemini as it is (native pass-through), and its answer comes back', async () => {
    const paths = [`/genai/v1beta/${NATIVE_MODELS.openai}:embedEverything`, '/genai/v1beta/models/openai', `/genai/v2/models/${NATIVE_MODELS.openai}:generateContent`];
    for (const path of paths) {
      const reply = await post(`${gateway.url}${path}`, { contents });
      expect(reply.status, path).toBe(404);
      expect(reply.headers['x-heimdall-provider'], path).toBe('gemini');
    }
    expect(mock.requests.map((r) => r.path)).toEqual(paths.map((path) => path.slice('/genai'.length)));
  });
});

describe('what Heimdall does not know is not refused', () => {
  const body = {
    contents: [
      { role: 'user', parts: [{ text: 'run it' }] },
      { role: 'model', parts: [{ executableCode: { language: 'PYTHON', code: 'print(1)' } }, { codeExecutionResult: { outcome: 'OUTCOME_OK', output: '1' } }] },
      { role: 'user', parts: [{ text: 'hello there' }, { hologram: { frames: 3 } }] },
    ],
    generationConfig: { maxOutputTokens: 50 },
  };

  it('pass-through: the body reaches Gemini as sent', async () => {
    const reply = await post(`${gateway.url}/genai/v1beta/models/${NATIVE_MODELS.gemini}:generateContent`, body);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject(echoed);
    expect(mock.requests[0].body).toEqual(body);
  });

  it('translation: unknown parts are dropped and named in x-heimdall-warnings', async () => {
    const reply = await post(`${gateway.url}/genai/v1beta/models/${NATIVE_MODELS.openai}:generateContent`, body);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject(echoed);
    expect(String(reply.headers['x-heimdall-warnings'])).toContain("'hologram'");
    expect((mock.requests[0].body as { messages: unknown[]; max_tokens?: number; max_completion_tokens?: number }).messages.at(-1)).toEqual({ role: 'user', content: 'hello there' });
  });

  it('what the gateway needs is checked: 400 naming the field, nothing sent', async () => {
    for (const [bad, field] of [
      [{ contents: 'hi' }, 'contents'],
      [{ contents: ['hi'] }, 'contents[0]'],
      [{ contents, generationConfig: { maxOutputTokens: 'many' } }, 'generationConfig.maxOutputTokens'],
    ] as const) {
      const reply = await post(`${gateway.url}/genai/v1beta/models/${NATIVE_MODELS.gemini}:generateContent`, bad);
      expect(reply.status).toBe(400);
      expect(reply.json).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining(field) } });
    }
    expect(mock.requests).toHaveLength(0);
  });
});
