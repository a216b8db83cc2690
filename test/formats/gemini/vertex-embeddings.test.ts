import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors/gateway-error.js';
import { vertexEmbeddingCodec, VERTEX_MAX_INSTANCES } from '../../../src/formats/gemini/vertex-embeddings.js';

const context = { id: 'x', created: 1, model: 'vertex/text-embedding-005' };

function param(fn: () => unknown): string | null {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatewayError) return error.param;
    throw error;
  }
  return 'no error';
}

/** Shaped like the documented request and response of `:predict`. */
describe('vertexEmbeddingCodec', () => {
  it('encodes texts as instances, dimensions as outputDimensionality, task_type as given', () => {
    expect(vertexEmbeddingCodec.encodeRequest({ model: 'x', input: ['a', 'b'], dimensions: 256, task_type: 'RETRIEVAL_DOCUMENT' }, { model: 'text-embedding-005' })).toEqual({
      body: { instances: [{ content: 'a', task_type: 'RETRIEVAL_DOCUMENT' }, { content: 'b', task_type: 'RETRIEVAL_DOCUMENT' }], parameters: { outputDimensionality: 256 } },
      warnings: [],
    });
    expect(vertexEmbeddingCodec.encodeRequest({ model: 'x', input: 'only' }, { model: 'text-multilingual-embedding-002' }).body).toEqual({ instances: [{ content: 'only' }] });
  });

  it('gemini-embedding-001 takes one instance per request: one body per text, in order', () => {
    const encoded = vertexEmbeddingCodec.encodeRequest({ model: 'x', input: ['a', 'b', 'c'] }, { model: 'gemini-embedding-001' });
    expect(encoded.bodies).toEqual([{ instances: [{ content: 'a' }] }, { instances: [{ content: 'b' }] }, { instances: [{ content: 'c' }] }]);
    expect(encoded.body).toEqual(encoded.bodies?.[0]);
  });

  it('the other models take up to 250 instances per request', () => {
    const texts = Array.from({ length: VERTEX_MAX_INSTANCES + 3 }, (_, i) => `t${i}`);
    const encoded = vertexEmbeddingCodec.encodeRequest({ model: 'x', input: texts }, { model: 'text-embedding-005' });
    expect(encoded.bodies?.map((body) => (body as { instances: unknown[] }).instances.length)).toEqual([VERTEX_MAX_INSTANCES, 3]);
  });

  it('refuses token arrays and an empty input, naming input; warns about what it drops', () => {
    expect(param(() => vertexEmbeddingCodec.encodeRequest({ model: 'x', input: [[1, 2]] }, { model: 'text-embedding-005' }))).toBe('input');
    expect(param(() => vertexEmbeddingCodec.encodeRequest({ model: 'x', input: [] as string[] }, { model: 'text-embedding-005' }))).toBe('input');
    const encoded = vertexEmbeddingCodec.encodeRequest({ model: 'x', input: 'a', user: 'u1', task_type: 3 }, { model: 'text-embedding-005' });
    expect(encoded.warnings.map((w) => w.param).sort()).toEqual(['task_type', 'user']);
  });

  it('decodes predictions to vectors, usage from statistics.token_count', () => {
    const body = {
      predictions: [
        { embeddings: { values: [0.1, 0.2], statistics: { token_count: 3, truncated: false } } },
        { embeddings: { values: [0.3, 0.4], statistics: { token_count: 5, truncated: false } } },
      ],
      metadata: { billableCharacterCount: 30 },
    };
    expect(vertexEmbeddingCodec.decodeResponse(body, context)).toEqual({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }, { object: 'embedding', index: 1, embedding: [0.3, 0.4] }],
      model: context.model,
      usage: { prompt_tokens: 8, total_tokens: 8 },
    });
    expect(() => vertexEmbeddingCodec.decodeResponse({ predictions: [{}] }, context)).toThrow(GatewayError);
    expect(() => vertexEmbeddingCodec.decodeResponse({}, context)).toThrow(GatewayError);
  });
});
