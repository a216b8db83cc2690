import { describe, expect, it } from 'vitest';
import { cohereEmbeddingCodec } from '../../../src/formats/cohere/embeddings.js';
import { cohereProvider } from '../../../src/providers/cohere.js';

const context = { id: 'x', created: 1, model: 'cohere/embed-v4.0' };

describe('cohereEmbeddingCodec', () => {
  it('encodes texts with input_type and float embeddings; output_dimension for v4 only', () => {
    expect(cohereEmbeddingCodec.encodeRequest({ model: 'x', input: ['hello', 'goodbye'], dimensions: 512 }, { model: 'embed-v4.0' })).toEqual({
      body: { model: 'embed-v4.0', texts: ['hello', 'goodbye'], input_type: 'search_document', embedding_types: ['float'], output_dimension: 512 },
      warnings: [],
    });
    const v3 = cohereEmbeddingCodec.encodeRequest({ model: 'x', input: 'q', dimensions: 256, input_type: 'search_query' }, { model: 'embed-english-v3.0' });
    expect(v3.body).toEqual({ model: 'embed-english-v3.0', texts: ['q'], input_type: 'search_query', embedding_types: ['float'] });
    expect(v3.warnings.map((w) => w.param)).toEqual(['dimensions']);
  });

  it('refuses token arrays and more than 96 texts, naming input', () => {
    expect(() => cohereEmbeddingCodec.encodeRequest({ model: 'x', input: [[1, 2]] }, { model: 'embed-v4.0' })).toThrow(expect.objectContaining({ param: 'input' }));
    expect(() => cohereEmbeddingCodec.encodeRequest({ model: 'x', input: Array(97).fill('a') }, { model: 'embed-v4.0' }))
      .toThrow(expect.objectContaining({ param: 'input', status: 400 }));
  });

  it('decodes float embeddings with billed input tokens', () => {
    const response = {
      id: 'da6e531f-54c6-4a73-bf92-f60566d8d753',
      embeddings: { float: [[0.016296387, -0.008354187], [-0.04663086, 0.024658203]] },
      texts: ['hello', 'goodbye'],
      meta: { api_version: { version: '2' }, billed_units: { input_tokens: 2 } },
      response_type: 'embeddings_by_type',
    };
    expect(cohereEmbeddingCodec.decodeResponse(response, context)).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.016296387, -0.008354187] },
        { object: 'embedding', index: 1, embedding: [-0.04663086, 0.024658203] },
      ],
      model: 'cohere/embed-v4.0',
      usage: { prompt_tokens: 2, total_tokens: 2 },
    });
    expect(() => cohereEmbeddingCodec.decodeResponse({ embeddings: { int8: [[1]] } }, context)).toThrow(expect.objectContaining({ code: 'HD_ERR_UPSTREAM_BAD_RESPONSE' }));
  });
});

describe('cohere provider', () => {
  const base = { baseUrl: 'https://api.cohere.com', apiKey: 'co-key', model: 'command-a-03-2025', stream: false, options: {} };

  it('addresses /v2/chat and /v2/embed with a Bearer key', () => {
    expect(cohereProvider.endpoint('chat', base)).toEqual({
      url: 'https://api.cohere.com/v2/chat',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: 'Bearer co-key' },
      streamFraming: 'sse',
    });
    expect(cohereProvider.endpoint('chat', { ...base, stream: true }).headers.accept).toBe('text/event-stream');
    expect(cohereProvider.endpoint('embeddings', base).url).toBe('https://api.cohere.com/v2/embed');
    expect(() => cohereProvider.endpoint('responses', base)).toThrow(expect.objectContaining({ code: 'HD_ERR_PROVIDER_UNSUPPORTED_OPERATION' }));
  });

  it('declares the SDK variables and models', () => {
    expect(cohereProvider).toMatchObject({
      id: 'cohere', format: 'cohere', defaultBaseUrl: 'https://api.cohere.com', apiKeyEnv: ['CO_API_KEY', 'COHERE_API_KEY'], baseUrlEnv: 'CO_API_URL',
    });
    expect(cohereProvider.models).toEqual(expect.arrayContaining(['command-a-03-2025', 'command-r-plus-08-2024', 'command-r-08-2024', 'command-r7b-12-2024']));
    expect(cohereProvider.embeddingModels).toEqual(['embed-v4.0', 'embed-english-v3.0', 'embed-multilingual-v3.0']);
  });
});
