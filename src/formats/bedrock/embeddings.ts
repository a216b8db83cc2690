/**
 * Bedrock embeddings through InvokeModel (`/model/{id}/invoke`); the body is
 * the model vendor's own, chosen by model id prefix:
 *
 * - Amazon Titan Text Embeddings (`amazon.titan-embed-text-v2:0`, `-v1`):
 *   `{inputText, dimensions?, normalize}` -> `{embedding, inputTextTokenCount}`.
 *   ONE text per call: an `input` of several texts becomes one body per text
 *   (EncodedRequest.bodies); the gateway sends them a few at a time and merges
 *   the answers in input order, token counts summed. Up to TITAN_MAX_INPUTS
 *   texts per request, as OpenAI's own limit on an `input` array.
 * - Cohere Embed on Bedrock (`cohere.embed-english-v3`, `cohere.embed-multilingual-v3`,
 *   `cohere.embed-v4:0`): `{texts, input_type}` -> `{embeddings}`. The response
 *   carries no token count (Bedrock puts it in a header), so usage is 0.
 *
 * `encoding_format` is not sent: these models return floats.
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-embed.html
 */
import { GatewayError, invalidField } from '../../errors/gateway-error.js';
import type { CodecContext, EncodedRequest, ProviderEmbeddingCodec } from '../types.js';
import { EMBEDDING_FIELDS, unhandledFields } from '../warnings.js';
import type { EmbeddingRequest, EmbeddingResponse } from '../openai/types.js';
import { bedrockModelFamily } from './request.js';

/** Cohere's input types; the default suits indexing, as OpenAI's embeddings have no such notion. */
const COHERE_INPUT_TYPES = new Set(['search_document', 'search_query', 'classification', 'clustering']);
const COHERE_FIELDS: ReadonlySet<string> = new Set([...EMBEDDING_FIELDS, 'input_type']);
/** Texts one request may fan out to (one Titan call each); OpenAI caps an `input` array at 2048 too. */
export const TITAN_MAX_INPUTS = 2048;

function texts(input: EmbeddingRequest['input']): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.every((item) => typeof item === 'string')) return input as string[];
  throw invalidField('input', 'Bedrock embedding models take text; token arrays are not supported.');
}

function encodeTitan(request: EmbeddingRequest, model: string): EncodedRequest {
  const inputs = texts(request.input);
  if (inputs.length === 0) throw invalidField('input', 'input is empty: send at least one text.');
  if (inputs.length > TITAN_MAX_INPUTS) {
    throw invalidField('input', `${model} is called once per text; at most ${TITAN_MAX_INPUTS} texts per request, got ${inputs.length}.`);
  }
  const warnings = unhandledFields(request, EMBEDDING_FIELDS, model);
  const isV1 = model.includes('titan-embed-text-v1');
  if (isV1 && request.dimensions !== undefined) warnings.push({ param: 'dimensions', message: `${model} has a fixed size; dimensions dropped.` });
  const bodyFor = (inputText: string): Record<string, unknown> => {
    if (isV1) return { inputText };
    const body: Record<string, unknown> = { inputText, normalize: true };
    if (request.dimensions !== undefined) body.dimensions = request.dimensions;
    return body;
  };
  const bodies = inputs.map(bodyFor);
  return bodies.length === 1 ? { body: bodies[0], warnings } : { body: bodies[0], bodies, warnings };
}

function encodeCohere(request: EmbeddingRequest, model: string): EncodedRequest {
  const warnings = unhandledFields(request, COHERE_FIELDS, model);
  const known = typeof request.input_type === 'string' && COHERE_INPUT_TYPES.has(request.input_type);
  if (request.input_type != null && !known) {
    warnings.push({ param: 'input_type', message: `Cohere input_type is one of ${[...COHERE_INPUT_TYPES].join(', ')}; search_document was sent instead.` });
  }
  const inputType = known ? (request.input_type as string) : 'search_document';
  const body: Record<string, unknown> = { texts: texts(request.input), input_type: inputType };
  if (request.dimensions !== undefined) {
    if (model.includes('embed-v4')) body.output_dimension = request.dimensions;
    else warnings.push({ param: 'dimensions', message: `${model} has a fixed size; dimensions dropped.` });
  }
  return { body, warnings };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function vectors(body: Record<string, unknown>): number[][] {
  if (Array.isArray(body.embedding)) return [body.embedding as number[]];
  // Cohere: a list of vectors, or `{float: [...]}` when embedding types were requested (v4).
  if (Array.isArray(body.embeddings)) return body.embeddings as number[][];
  if (isObject(body.embeddings) && Array.isArray(body.embeddings.float)) return body.embeddings.float as number[][];
  throw new GatewayError('HD_ERR_UPSTREAM_BAD_RESPONSE', 'Bedrock: the embedding response has no embedding.');
}

export const bedrockEmbeddingCodec: ProviderEmbeddingCodec = {
  encodeRequest(request, options) {
    const family = bedrockModelFamily(options.model);
    if (family === 'amazon' && options.model.includes('titan-embed-text')) return encodeTitan(request, options.model);
    if (family === 'cohere' && options.model.includes('embed')) return encodeCohere(request, options.model);
    throw invalidField('model', `Heimdall does not know the embedding body of Bedrock model "${options.model}" (supported: amazon.titan-embed-text-*, cohere.embed-*).`);
  },

  decodeResponse(body: unknown, context: CodecContext): EmbeddingResponse {
    if (!isObject(body)) throw new GatewayError('HD_ERR_UPSTREAM_BAD_RESPONSE', 'Bedrock: the embedding response is not an object.');
    const tokens = typeof body.inputTextTokenCount === 'number' ? body.inputTextTokenCount : 0;
    return {
      object: 'list',
      data: vectors(body).map((embedding, index) => ({ object: 'embedding', index, embedding })),
      model: context.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  },
};
