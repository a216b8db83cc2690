import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { geminiProvider } from '../../src/providers/gemini.js';
import type { EndpointContext } from '../../src/providers/types.js';

const ctx = (over: Partial<EndpointContext> = {}): EndpointContext => ({
  baseUrl: 'https://generativelanguage.googleapis.com',
  apiKey: 'AIza-test',
  model: 'gemini-2.5-flash',
  stream: false,
  options: {},
  ...over,
});

describe('geminiProvider', () => {
  it('is enabled by the Gemini SDK variables and speaks the gemini format', () => {
    expect(geminiProvider).toMatchObject({
      id: 'gemini',
      format: 'gemini',
      defaultBaseUrl: 'https://generativelanguage.googleapis.com',
      apiKeyEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
      baseUrlEnv: 'GEMINI_BASE_URL',
      operations: { chat: true, embeddings: true, models: true },
    });
    expect(geminiProvider.models).toContain('gemini-2.5-pro');
    expect(geminiProvider.embeddingModels).toEqual(['gemini-embedding-001', 'text-embedding-004']);
  });

  it('addresses generateContent, and streamGenerateContent with alt=sse when streaming', () => {
    expect(geminiProvider.endpoint('chat', ctx())).toEqual({
      url: 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent',
      headers: { 'x-goog-api-key': 'AIza-test', 'content-type': 'application/json' },
    });
    expect(geminiProvider.endpoint('chat', ctx({ stream: true }))).toEqual({
      url: 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
      headers: { 'x-goog-api-key': 'AIza-test', 'content-type': 'application/json' },
      streamFraming: 'sse',
    });
  });

  it('addresses batchEmbedContents and the model list', () => {
    expect(geminiProvider.endpoint('embeddings', ctx({ model: 'gemini-embedding-001' })).url)
      .toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents');
    expect(geminiProvider.endpoint('models', ctx())).toEqual({
      url: 'https://generativelanguage.googleapis.com/v1beta/models',
      headers: { 'x-goog-api-key': 'AIza-test' },
    });
  });

  it('honours a versioned base URL, the api_version option, tuned model names, and escapes odd ids', () => {
    expect(geminiProvider.endpoint('chat', ctx({ baseUrl: 'http://127.0.0.1:9999/v1beta/' })).url)
      .toBe('http://127.0.0.1:9999/v1beta/models/gemini-2.5-flash:generateContent');
    expect(geminiProvider.endpoint('chat', ctx({ options: { api_version: 'v1' } })).url)
      .toBe('https://generativelanguage.googleapis.com/v1/models/gemini-2.5-flash:generateContent');
    expect(geminiProvider.endpoint('chat', ctx({ model: 'tunedModels/my-model' })).url)
      .toBe('https://generativelanguage.googleapis.com/v1beta/tunedModels/my-model:generateContent');
    expect(geminiProvider.endpoint('chat', ctx({ model: 'x?y#z' })).url)
      .toBe('https://generativelanguage.googleapis.com/v1beta/models/x%3Fy%23z:generateContent');
  });

  it('refuses operations Gemini does not offer', () => {
    expect(() => geminiProvider.endpoint('completions', ctx())).toThrow(GatewayError);
  });
});
