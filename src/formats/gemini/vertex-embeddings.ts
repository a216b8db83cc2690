/**
 * OpenAI embeddings <-> Vertex AI text embeddings (`publishers/google/models/{model}:predict`).
 *
 * - Each input text becomes one instance `{content, task_type?}`; `dimensions` ->
 *   `parameters.outputDimensionality`. `task_type` (an extra request field, as Cohere's
 *   `input_type`) is sent as it is (`RETRIEVAL_DOCUMENT`, `RETRIEVAL_QUERY`, ...; Vertex's default
 *   is RETRIEVAL_QUERY). Token-array inputs cannot be sent (Vertex takes text).
 * - gemini-embedding-001 takes ONE instance per request, the other models up to 250: a longer
 *   `input` becomes several bodies (EncodedRequest.bodies), sent as one call each and merged in
 *   order by the gateway.
 * - Usage: the sum of each prediction's `statistics.token_count`.
 *
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/get-text-embeddings
 */
import { GatewayError, invalidField } from '../../errors/gateway-error.js';
import type { EmbeddingRequest, EmbeddingResponse } from '../openai/types.js';
import type { CodecContext, EncodedRequest, ProviderEmbeddingCodec } from '../types.js';
import { EMBEDDING_FIELDS, unhandledFields } from '../warnings.js';

/** Instances per request: Vertex's limit (one for the Gemini embedding models). */
export const VERTEX_MAX_INSTANCES = 250;
/** Texts one request may fan out to, as OpenAI's own limit on an `input` array. */
const MAX_INPUTS = 2048;
const FIELDS: ReadonlySet<string> = new Set([...EMBEDDING_FIELDS, 'task_type']);

function inputTexts(input: EmbeddingRequest['input']): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length === 0) throw invalidField('input', 'input must not be empty.');
  if (Array.isArray(input) && input.every((item) => typeof item === 'string')) return input as string[];
  throw invalidField('input', 'Vertex AI embeddings take text: input must be a string or an array of strings, not token arrays.');
}

function instancesPerRequest(model: string): number {
  return model.startsWith('gemini-embedding') ? 1 : VERTEX_MAX_INSTANCES;
}

function encodeRequest(request: EmbeddingRequest, options: { model: string }): EncodedRequest {
  const texts = inputTexts(request.input);
  if (texts.length > MAX_INPUTS) throw invalidField('input', `At most ${MAX_INPUTS} texts per request, got ${texts.length}.`);
  const warnings = unhandledFields(request, FIELDS, 'Vertex AI embeddings');
  const taskType = typeof request.task_type === 'string' && request.task_type !== '' ? request.task_type : undefined;
  if (request.task_type != null && taskType === undefined) warnings.push({ param: 'task_type', message: 'task_type must be a string such as RETRIEVAL_DOCUMENT; it was dropped.' });
  const parameters = typeof request.dimensions === 'number' ? { outputDimensionality: request.dimensions } : undefined;
  const instance = (content: string): Record<string, unknown> => (taskType === undefined ? { content } : { content, task_type: taskType });
  const size = instancesPerRequest(options.model);
  const bodies: Record<string, unknown>[] = [];
  for (let at = 0; at < texts.length; at += size) {
    const body: Record<string, unknown> = { instances: texts.slice(at, at + size).map(instance) };
    if (parameters !== undefined) body.parameters = parameters;
    bodies.push(body);
  }
  return bodies.length === 1 ? { body: bodies[0], warnings } : { body: bodies[0], bodies, warnings };
}

interface Prediction {
  embeddings?: { values?: unknown; statistics?: { token_count?: unknown } };
}

function decodeResponse(body: unknown, context: CodecContext): EmbeddingResponse {
  const predictions = typeof body === 'object' && body !== null ? (body as { predictions?: unknown }).predictions : undefined;
  if (!Array.isArray(predictions)) {
    throw new GatewayError('HD_ERR_UPSTREAM_BAD_RESPONSE', 'Vertex AI answered the embeddings call without a predictions array.');
  }
  let tokens = 0;
  const data = (predictions as Prediction[]).map((prediction, index) => {
    const values = prediction?.embeddings?.values;
    if (!Array.isArray(values)) throw new GatewayError('HD_ERR_UPSTREAM_BAD_RESPONSE', `Vertex AI prediction ${index} has no embedding values.`);
    const count = prediction.embeddings?.statistics?.token_count;
    if (typeof count === 'number') tokens += count;
    return { object: 'embedding' as const, index, embedding: values as number[] };
  });
  return { object: 'list', data, model: context.model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}

export const vertexEmbeddingCodec: ProviderEmbeddingCodec = { encodeRequest, decodeResponse };
