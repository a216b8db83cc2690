/**
 * OpenAI embeddings <-> Cohere v2 `POST /v2/embed`.
 * `{model, texts, input_type, embedding_types: ['float']}` -> `{embeddings: {float}, meta.billed_units}`.
 * `input_type` defaults to `search_document` (OpenAI has no such notion; a
 * caller may send `input_type` as an extra field). `encoding_format` is not
 * sent: floats are always requested.
 * @see https://docs.cohere.com/v2/reference/embed
 */
import { GatewayError, invalidField } from '../../errors/gateway-error.js';
import type { ProviderEmbeddingCodec } from '../types.js';
import { EMBEDDING_FIELDS, unhandledFields } from '../warnings.js';
import { isObject } from './response.js';

const INPUT_TYPES = new Set(['search_document', 'search_query', 'classification', 'clustering']);
const HANDLED_FIELDS: ReadonlySet<string> = new Set([...EMBEDDING_FIELDS, 'input_type']);
/** @see https://docs.cohere.com/v2/reference/embed#request.body.texts */
const MAX_TEXTS = 96;

export const cohereEmbeddingCodec: ProviderEmbeddingCodec = {
  encodeRequest(request, options) {
    const input = request.input;
    const texts = typeof input === 'string' ? [input] : input;
    if (!Array.isArray(texts) || !texts.every((text) => typeof text === 'string')) {
      throw invalidField('input', 'Cohere embeds text; token arrays are not supported.');
    }
    if (texts.length > MAX_TEXTS) throw invalidField('input', `Cohere embeds at most ${MAX_TEXTS} texts per call; got ${texts.length}.`);
    const warnings = unhandledFields(request, HANDLED_FIELDS, 'Cohere embed');
    const known = typeof request.input_type === 'string' && INPUT_TYPES.has(request.input_type);
    if (request.input_type != null && !known) {
      warnings.push({ param: 'input_type', message: `Cohere input_type is one of ${[...INPUT_TYPES].join(', ')}; search_document was sent instead.` });
    }
    const inputType = known ? (request.input_type as string) : 'search_document';
    const body: Record<string, unknown> = { model: options.model, texts, input_type: inputType, embedding_types: ['float'] };
    if (request.dimensions !== undefined) {
      // @see https://docs.cohere.com/v2/reference/embed#request.body.output_dimension
      if (options.model.startsWith('embed-v4')) body.output_dimension = request.dimensions;
      else warnings.push({ param: 'dimensions', message: `${options.model} has a fixed size; dimensions dropped.` });
    }
    return { body, warnings };
  },

  decodeResponse(body, context) {
    if (!isObject(body)) throw new GatewayError('HD_ERR_UPSTREAM_BAD_RESPONSE', 'Cohere: the embedding response is not an object.');
    const embeddings = body.embeddings;
    // `{float: [...]}` when embedding_types was sent (always, here); a bare list from older deployments.
    const vectors = Array.isArray(embeddings) ? embeddings : isObject(embeddings) ? embeddings.float : undefined;
    if (!Array.isArray(vectors)) throw new GatewayError('HD_ERR_UPSTREAM_BAD_RESPONSE', 'Cohere: the embedding response has no float embeddings.');
    const meta = isObject(body.meta) && isObject(body.meta.billed_units) ? body.meta.billed_units : undefined;
    const tokens = typeof meta?.input_tokens === 'number' ? meta.input_tokens : 0;
    return {
      object: 'list',
      data: vectors.map((embedding, index) => ({ object: 'embedding' as const, index, embedding: embedding as number[] })),
      model: context.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  },
};
