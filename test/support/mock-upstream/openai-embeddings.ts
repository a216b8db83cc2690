/**
 * POST /v1/embeddings of the mock: one `mockEmbedding(text, dimensions)` per input.
 * @see https://platform.openai.com/docs/api-reference/embeddings/create
 */
import type { EmbeddingResponse } from '../../../src/formats/openai/types.js';
import type { MockContext } from './context.js';
import { invalidParam, requireBody } from './openai-common.js';
import { countWords, float32Base64, mockEmbedding } from './text.js';

export const DEFAULT_EMBEDDING_DIMENSIONS = 8;

/** Inputs as texts: strings as is, token arrays as their numbers joined with ' '. */
export function embeddingTexts(input: unknown): string[] | undefined {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((item) => typeof item === 'number')) return [input.join(' ')];
  if (input.every((item) => typeof item === 'string')) return input as string[];
  if (input.every((item) => Array.isArray(item))) return (input as unknown[][]).map((tokens) => tokens.join(' '));
  return undefined;
}

export async function embeddings(context: MockContext): Promise<void> {
  const body = await requireBody(context);
  if (body === undefined) return;
  const texts = embeddingTexts(body.input);
  if (texts === undefined) return invalidParam(context, 'input', "Invalid value for 'input'.");
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : DEFAULT_EMBEDDING_DIMENSIONS;
  const base64 = body.encoding_format === 'base64';
  const promptTokens = texts.reduce((sum, text) => sum + countWords(text), 0);
  const reply: EmbeddingResponse = {
    object: 'list',
    data: texts.map((text, index) => {
      const vector = mockEmbedding(text, dimensions);
      return { object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector };
    }),
    model: body.model as string,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
  return context.json(200, reply);
}
