import { describe, expect, it } from 'vitest';
import { bedrockEmbeddingCodec, TITAN_MAX_INPUTS } from '../../../src/formats/bedrock/embeddings.js';
import { mergeEmbeddingResponses } from '../../../src/formats/merge-embeddings.js';
import { GatewayError } from '../../../src/errors/gateway-error.js';

const context = { id: 'x', created: 1, model: 'bedrock/amazon.titan-embed-text-v2:0' };

function param(fn: () => unknown): string | null {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatewayError) return error.param;
    throw error;
  }
  return 'no error';
}

describe('bedrockEmbeddingCodec', () => {
  it('encodes Titan v2 with one input, dimensions and normalize', () => {
    expect(bedrockEmbeddingCodec.encodeRequest({ model: 'x', input: 'hello', dimensions: 512 }, { model: 'amazon.titan-embed-text-v2:0' }))
      .toEqual({ body: { inputText: 'hello', normalize: true, dimensions: 512 }, warnings: [] });
    expect(bedrockEmbeddingCodec.encodeRequest({ model: 'x', input: ['only one'] }, { model: 'amazon.titan-embed-text-v2:0' }).body)
      .toEqual({ inputText: 'only one', normalize: true });
  });

  it('encodes several Titan inputs as one body per text, in order (the gateway sends one call each)', () => {
    expect(bedrockEmbeddingCodec.encodeRequest({ model: 'x', input: ['a', 'b', 'c'], dimensions: 256 }, { model: 'amazon.titan-embed-text-v2:0' })).toEqual({
      body: { inputText: 'a', normalize: true, dimensions: 256 },
      bodies: [
        { inputText: 'a', normalize: true, dimensions: 256 },
        { inputText: 'b', normalize: true, dimensions: 256 },
        { inputText: 'c', normalize: true, dimensions: 256 },
      ],
      warnings: [],
    });
    const v1 = bedrockEmbeddingCodec.encodeRequest({ model: 'x', input: ['a', 'b'], dimensions: 8 }, { model: 'amazon.titan-embed-text-v1' });
    expect(v1.bodies).toEqual([{ inputText: 'a' }, { inputText: 'b' }]);
    expect(v1.warnings.map((w) => w.param)).toEqual(['dimensions']);
  });

  it('refuses token arrays, an empty input and more than TITAN_MAX_INPUTS texts for Titan, naming input', () => {
    expect(param(() => bedrockEmbeddingCodec.encodeRequest({ model: 'x', input: [1, 2, 3] }, { model: 'amazon.titan-embed-text-v2:0' }))).toBe('input');
    expect(param(() => bedrockEmbeddingCodec.encodeRequest({ model: 'x', input: [] as string[] }, { model: 'amazon.titan-embed-text-v2:0' }))).toBe('input');
    const tooMany = Array.from({ length: TITAN_MAX_INPUTS + 1 }, (_, i) => `t${i}`);
    expect(param(() => bedrockEmbeddingCodec.encodeRequest({ model: 'x', input: tooMany }, { model: 'amazon.titan-embed-text-v2:0' }))).toBe('input');
    expect(bedrockEmbeddingCodec.encodeRequest({ model: 'x', input: tooMany.slice(1) }, { model: 'amazon.titan-embed-text-v2:0' }).bodies).toHaveLength(TITAN_MAX_INPUTS);
  });

  it('mergeEmbeddingResponses: vectors in call order, renumbered, usage summed', () => {
    const one = bedrockEmbeddingCodec.decodeResponse({ embedding: [1, 2], inputTextTokenCount: 3 }, context);
    const two = bedrockEmbeddingCodec.decodeResponse({ embedding: [3, 4], inputTextTokenCount: 5 }, context);
    expect(mergeEmbeddingResponses([one, two])).toEqual({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [1, 2] }, { object: 'embedding', index: 1, embedding: [3, 4] }],
      model: context.model,
      usage: { prompt_tokens: 8, total_tokens: 8 },
    });
    expect(mergeEmbeddingResponses([one])).toBe(one);
  });

  it('warns that Titan v1 has a fixed size', () => {
    const encoded = bedrockEmbeddingCodec.encodeRequest({ model: 'x', input: 'a', dimensions: 256 }, { model: 'amazon.titan-embed-text-v1' });
    expect(encoded.body).toEqual({ inputText: 'a' });
    expect(encoded.warnings.map((w) => w.param)).toEqual(['dimensions']);
  });

  it('encodes Cohere on Bedrock with all texts and input_type', () => {
    expect(bedrockEmbeddingCodec.encodeRequest({ model: 'x', input: ['a', 'b'] }, { model: 'cohere.embed-english-v3' }).body)
      .toEqual({ texts: ['a', 'b'], input_type: 'search_document' });
    expect(bedrockEmbeddingCodec.encodeRequest({ model: 'x', input: 'q', input_type: 'search_query' }, { model: 'us.cohere.embed-multilingual-v3' }).body)
      .toEqual({ texts: ['q'], input_type: 'search_query' });
  });

  it('refuses a model whose body it does not know, naming model', () => {
    expect(param(() => bedrockEmbeddingCodec.encodeRequest({ model: 'x', input: 'a' }, { model: 'amazon.nova-pro-v1:0' }))).toBe('model');
  });

  it('decodes Titan and Cohere responses into an OpenAI list', () => {
    expect(bedrockEmbeddingCodec.decodeResponse({ embedding: [0.1, -0.2], inputTextTokenCount: 3 }, context)).toEqual({
      object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, -0.2] }], model: context.model,
      usage: { prompt_tokens: 3, total_tokens: 3 },
    });
    const cohere = bedrockEmbeddingCodec.decodeResponse(
      { id: 'e1', embeddings: [[1, 2], [3, 4]], response_type: 'embeddings_floats', texts: ['a', 'b'] }, context,
    );
    expect(cohere.data.map((d) => [d.index, d.embedding])).toEqual([[0, [1, 2]], [1, [3, 4]]]);
    expect(cohere.usage).toEqual({ prompt_tokens: 0, total_tokens: 0 });
    expect(bedrockEmbeddingCodec.decodeResponse({ embeddings: { float: [[5]] } }, context).data[0].embedding).toEqual([5]);
  });
});
