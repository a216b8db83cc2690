/**
 * OpenAI embeddings <-> Gemini `models/{model}:batchEmbedContents`.
 *
 * - Each input string becomes one request `{model: 'models/<m>', content: {parts: [{text}]}}`;
 *   `dimensions` -> outputDimensionality. Token-array inputs cannot be sent (Gemini takes text).
 * - Gemini reports no token counts for embeddings, so usage is 0/0.
 * - Floats only: when the caller asked for `encoding_format: 'base64'` (the openai-node
 *   default) the pipeline must encode the vectors (little-endian float32, base64).
 *
 * @see https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
 */
import { GatewayError, invalidField } from '../../errors/gateway-error.js';
import type { EmbeddingRequest, EmbeddingResponse } from '../openai/types.js';
import type { CodecContext, EncodedRequest, ProviderEmbeddingCodec } from '../types.js';
import { EMBEDDING_FIELDS, unhandledFields } from '../warnings.js';

function inputTexts(input: EmbeddingRequest['input']): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === 'string')) return input as string[];
  if (Array.isArray(input) && input.length === 0) throw invalidField('input', 'input must not be empty.');
  throw invalidField('input', 'Gemini embeddings take text: input must be a string or an array of strings, not token arrays.');
}

function encodeEmbeddingRequest(request: EmbeddingRequest, options: { model: string }): EncodedRequest {
  const model = options.model.startsWith('models/') ? options.model : `models/${options.model}`;
  // `user` and any other field have no Gemini equivalent: dropped with a warning.
  const warnings = unhandledFields(request, EMBEDDING_FIELDS, 'Gemini embeddings');
  const requests = inputTexts(request.input).map((text) => {
    const entry: Record<string, unknown> = { model, content: { parts: [{ text }] } };
    if (typeof request.dimensions === 'number') entry.outputDimensionality = request.dimensions;
    return entry;
  });
  return { body: { requests }, warnings };
}

function decodeEmbeddingResponse(body: unknown, context: CodecContext): EmbeddingResponse {
  const embeddings = typeof body === 'object' && body !== null ? (body as { embeddings?: unknown }).embeddings : undefined;
  if (!Array.isArray(embeddings)) {
    throw new GatewayError('HD_ERR_UPSTREAM_BAD_RESPONSE', 'Gemini answered batchEmbedContents without an embeddings array.');
  }
  return {
    object: 'list',
    data: embeddings.map((embedding: { values?: unknown }, index) => ({
      object: 'embedding' as const,
      index,
      embedding: Array.isArray(embedding?.values) ? embedding.values as number[] : [],
    })),
    model: context.model,
    usage: { prompt_tokens: 0, total_tokens: 0 },
  };
}

export const geminiEmbeddingCodec: ProviderEmbeddingCodec = {
  encodeRequest: encodeEmbeddingRequest,
  decodeResponse: decodeEmbeddingResponse,
};
