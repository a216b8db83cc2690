/**
 * The OpenAI-compatible surface: /v1/chat/completions, /v1/completions,
 * /v1/embeddings, /v1/responses, /v1/models. OpenAI-format providers get the
 * caller's bytes with only the model rewritten; others go through codecs.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import { OpenAIStreamEncoder } from '../formats/openai/stream-encoder.js';
import type { ChatRequest, EmbeddingRequest } from '../formats/openai/types.js';
import type { Gateway } from '../gateway/gateway.js';
import type { PipelineInput, UpstreamOperation } from '../gateway/pipeline.js';
import { sendError, sendOutcome, startContext } from './respond.js';
import { listModels, getModel } from './models.js';
import {
  checkChatBody,
  checkCompletionsBody,
  checkEmbeddingsBody,
  optionalBoolean,
  parseJsonBody,
  readFallbacks,
  requireString,
  type JsonObject,
} from './validate.js';

const CHECKS: Record<UpstreamOperation, ((body: JsonObject) => void) | undefined> = {
  chat: checkChatBody,
  completions: checkCompletionsBody,
  embeddings: checkEmbeddingsBody,
  responses: undefined,
};

function buildInput(gateway: Gateway, operation: UpstreamOperation, body: JsonObject): PipelineInput {
  const model = requireString(body, 'model', gateway.state.routing.defaultModel);
  CHECKS[operation]?.(body);
  const fallbacks = readFallbacks(body);
  if (body.fallbacks !== undefined) delete body.fallbacks;
  const stream = operation === 'embeddings' ? false : optionalBoolean(body, 'stream');
  return {
    operation,
    model,
    fallbacks,
    stream,
    nativeFormat: 'openai',
    passthroughBody(target: string): string {
      body.model = target;
      return JSON.stringify(body);
    },
    canonical(): ChatRequest | EmbeddingRequest {
      return body as ChatRequest | EmbeddingRequest;
    },
  };
}

function handler(gateway: Gateway, operation: UpstreamOperation) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const ctx = startContext(gateway, request, reply, 'openai');
    try {
      const body = parseJsonBody(request.body);
      const input = buildInput(gateway, operation, body);
      const outcome = await gateway.pipeline.execute(ctx, input);
      const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      await sendOutcome(reply, ctx, outcome, {
        json: (result) => result,
        stream: () => new OpenAIStreamEncoder(includeUsage),
      });
    } catch (error) {
      if (reply.sent || reply.raw.headersSent) return;
      sendError(reply, ctx, error, 'openai');
    }
  };
}

export function registerOpenAIRoutes(app: FastifyInstance, gateway: Gateway): void {
  const config = { surface: 'openai' as const };
  app.post('/v1/chat/completions', { config }, handler(gateway, 'chat'));
  app.post('/v1/completions', { config }, handler(gateway, 'completions'));
  app.post('/v1/embeddings', { config }, handler(gateway, 'embeddings'));
  app.post('/v1/responses', { config }, handler(gateway, 'responses'));
  app.get('/v1/models', { config }, async (_request, reply) => {
    reply.type('application/json').send(JSON.stringify(listModels(gateway.state)));
  });
  app.get('/v1/models/*', { config }, async (request, reply) => {
    const id = decodeURIComponent((request.params as { '*': string })['*']);
    const model = getModel(gateway.state, id);
    if (model === undefined) {
      sendError(reply, undefined, new GatewayError('HD_ERR_MODEL_NOT_FOUND', `The model "${id}" does not exist or is not served by an enabled provider.`, { param: 'model' }), 'openai');
      return;
    }
    reply.type('application/json').send(JSON.stringify(model));
  });
}
