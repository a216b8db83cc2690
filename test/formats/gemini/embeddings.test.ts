import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors/gateway-error.js';
import { geminiEmbeddingCodec } from '../../../src/formats/gemini/index.js';
import type { EmbeddingRequest } from '../../../src/formats/openai/types.js';
import { context } from './fixtures.js';

describe('geminiEmbeddingCodec', () => {
  it('encodes each input as one batchEmbedContents request with the model and dimensions', () => {
    const request: EmbeddingRequest = { model: 'gemini/gemini-embedding-001', input: ['What is the meaning of life?', 'How much wood?'], dimensions: 768 };
    expect(geminiEmbeddingCodec.encodeRequest(request, { model: 'gemini-embedding-001' })).toEqual({
      body: {
        requests: [
          { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'What is the meaning of life?' }] }, outputDimensionality: 768 },
          { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'How much wood?' }] }, outputDimensionality: 768 },
        ],
      },
      warnings: [],
    });
  });

  it('takes a single string and a full model name', () => {
    const { body } = geminiEmbeddingCodec.encodeRequest({ model: 'x', input: 'hello' }, { model: 'models/text-embedding-004' });
    expect(body).toEqual({ requests: [{ model: 'models/text-embedding-004', content: { parts: [{ text: 'hello' }] } }] });
  });

  it.each([[[1, 2, 3]], [[[1, 2], [3]]], [[]]])('rejects token arrays and empty input as invalid input (%j)', (input) => {
    try {
      geminiEmbeddingCodec.encodeRequest({ model: 'x', input } as EmbeddingRequest, { model: 'gemini-embedding-001' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).param).toBe('input');
    }
  });

  it('decodes embeddings in order with zero usage (Gemini reports no token counts)', () => {
    const body = { embeddings: [{ values: [0.1, -0.2, 0.3] }, { values: [0.4, 0.5, -0.6] }] };
    expect(geminiEmbeddingCodec.decodeResponse(body, { ...context, model: 'gemini-embedding-001' })).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.1, -0.2, 0.3] },
        { object: 'embedding', index: 1, embedding: [0.4, 0.5, -0.6] },
      ],
      model: 'gemini-embedding-001',
      usage: { prompt_tokens: 0, total_tokens: 0 },
    });
  });

  it('rejects a response without embeddings as a bad upstream response', () => {
    expect(() => geminiEmbeddingCodec.decodeResponse({ nope: true }, context)).toThrow(/embeddings/);
  });
});
