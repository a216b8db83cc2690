/**
 * The OpenAI-compatible surface: /v1/chat/completions, /v1/completions,
 * /v1/embeddings, /v1/models (/v1/responses lives in responses.ts).
 * OpenAI-format providers get the caller's bytes with only the model
 * rewritten; others go through codecs.
 */
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import { base64EmbeddingsBody } from '../formats/openai/embedding-encoding.js';
import { OpenAIStreamEncoder } from '../formats/openai/stream-encoder.js';
import type { ChatRequest, EmbeddingRequest, EmbeddingResponse } from '../formats/openai/types.js';
import type { Gateway } from '../gateway/gateway.js';
import type { PipelineInput, UpstreamOperation } from '../gateway/pipeline.js';
import { editPassthroughBody } from './passthrough-body.js';
import { takeCacheControl } from '../cache/controls.js';
import { sendError } from './respond.js';
import { surfaceHandler } from './surface-handler.js';
import { listModels, getModel } from './models.js';
import {
  checkChatBody,
  checkCompletionsBody,
  checkEmbeddingsBody,
  checkTranslatedChat,
  decodePathPart,
  optionalBoolean,
  parseJsonBody,
  readFallbacks,
  requireString,
  type JsonObject,
} from './validate.js';

const CHECKS: Partial<Record<UpstreamOperation, (body: JsonObject) => void>> = {
  chat: checkChatBody,
  completions: checkCompletionsBody,
  embeddings: checkEmbeddingsBody,
};

/**
 * `addUsage`: ask a pass-through stream for usage the caller did not request (its cost needs it; the pump strips it).
 * `text`: the body as the caller sent it; a pass-through forwards it with only the model (and fallbacks) edited.
 */
export function buildInput(gateway: Gateway, operation: UpstreamOperation, body: JsonObject, addUsage = false, text?: string): PipelineInput {
  const model = requireString(body, 'model', gateway.state.routing.defaultModel);
  CHECKS[operation]?.(body);
  const fallbacks = readFallbacks(body);
  const dropFallbacks = body.fallbacks !== undefined;
  if (dropFallbacks) delete body.fallbacks;
  const cacheControl = takeCacheControl(body);
  // Rare: the body is re-serialised without the field instead of edited as text.
  if (cacheControl !== undefined) text = undefined;
  const stream = operation === 'embeddings' ? false : optionalBoolean(body, 'stream');
  let checked = false;
  return {
    operation,
    model,
    fallbacks,
    stream,
    nativeFormat: 'openai',
    passthroughBody(target: string): string {
      body.model = target;
      const edited = text === undefined ? undefined : editPassthroughBody(text, { model: target, dropFallbacks, addUsage });
      if (edited !== undefined) return edited;
      if (!addUsage) return JSON.stringify(body);
      const options = typeof body.stream_options === 'object' && body.stream_options !== null ? body.stream_options : {};
      return JSON.stringify({ ...body, stream_options: { ...options, include_usage: true } });
    },
    canonical(): ChatRequest | EmbeddingRequest {
      // Only a translation reads inside messages; a pass-through leaves them to the provider.
      if (operation === 'chat' && !checked) {
        checked = true;
        checkTranslatedChat(body);
      }
      return body as ChatRequest | EmbeddingRequest;
    },
    maxOutputTokens: outputCap(body.max_completion_tokens ?? body.max_tokens ?? body.max_output_tokens),
    cacheControl,
    requestBody: body,
  };
}

/** The caller's body, parsed once: `text` is what a pass-through forwards (edited). */
export function readBody(raw: unknown): { body: JsonObject; text: string | undefined } {
  // UTF-8; toString() without arguments is Node's direct path to it (a named encoding is looked up first).
  const text = Buffer.isBuffer(raw) && raw.length > 0 ? raw.toString() : undefined;
  return { body: parseJsonBody(text ?? raw), text };
}

function outputCap(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** Float vectors -> base64 of little-endian float32, as OpenAI encodes them. */
export function embeddingsToBase64(response: EmbeddingResponse): EmbeddingResponse {
  return {
    ...response,
    data: response.data.map((item) => {
      if (typeof item.embedding === 'string') return item;
      const floats = new Float32Array(item.embedding);
      return { ...item, embedding: Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64') };
    }),
  };
}

function handler(gateway: Gateway, operation: UpstreamOperation) {
  return surfaceHandler(gateway, {
    surface: 'openai',
    errorFormat: 'openai',
    prepare(request, _gateway, ctx) {
      const { body, text } = readBody(request.body);
      const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      const addUsage = body.stream === true && !includeUsage && (operation === 'chat' || operation === 'completions');
      const input = buildInput(gateway, operation, body, addUsage, text);
      if (addUsage) ctx.addedStreamUsage = true;
      const base64 = operation === 'embeddings' && body.encoding_format === 'base64';
      return {
        input,
        // Providers that return floats only still answer the SDK's default base64 request in kind.
        encodeJson: (result) => (base64 ? embeddingsToBase64(result as EmbeddingResponse) : result),
        // A pass-through server that ignores encoding_format (Ollama) sent floats: the SDK would misread them.
        encodeRaw: base64 ? base64EmbeddingsBody : undefined,
        createStreamEncoder: () => new OpenAIStreamEncoder(includeUsage),
      };
    },
  });
}

export function registerOpenAIRoutes(app: FastifyInstance, gateway: Gateway): void {
  const config = { surface: 'openai' as const };
  const routes: Array<[string, UpstreamOperation]> = [
    ['/v1/chat/completions', 'chat'],
    ['/v1/completions', 'completions'],
    ['/v1/embeddings', 'embeddings'],
  ];
  for (const [url, operation] of routes) {
    // A client surface of the runtime: mounted over HTTP (in the fast lane too), called in-process by the library.
    app.runtime.addSurface(url, 'openai', handler(gateway, operation), { lane: true });
  }
  app.get('/v1/models', { config }, async (request, reply) => {
    reply.header('x-request-id', request.id).type('application/json').send(JSON.stringify(listModels(gateway.state)));
  });
  app.get('/v1/models/*', { config }, async (request, reply) => {
    const id = decodePathPart((request.params as { '*': string })['*']);
    const model = getModel(gateway.state, id);
    if (model === undefined) {
      sendError(reply, undefined, new GatewayError('HD_ERR_MODEL_NOT_FOUND', `The model "${id}" does not exist or is not served by an enabled provider.`, { param: 'model' }), 'openai');
      return;
    }
    reply.header('x-request-id', request.id).type('application/json').send(JSON.stringify(model));
  });
}
