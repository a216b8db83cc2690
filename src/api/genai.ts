/**
 * The Gemini surface for the Google Gen AI SDK with its base URL set to
 * `<gateway>/genai`: POST /genai/v1beta/models/{model}:generateContent and
 * :streamGenerateContent (?alt=sse). Any provider can answer; `gemini/...`
 * models get the caller's body as it is.
 * @see https://ai.google.dev/api/generate-content
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import { geminiSurfaceCodec } from '../formats/gemini/index.js';
import type { ChatRequest } from '../formats/openai/types.js';
import type { Gateway } from '../gateway/gateway.js';
import type { RequestContext } from '../gateway/request-context.js';
import { translating } from '../formats/malformed.js';
import { refuseWarnings } from '../formats/warnings.js';
import { countTokensHandler } from './count-tokens.js';
import { surfaceHandler, type PreparedRequest } from './surface-handler.js';
import { decodePathPart, parseJsonBody, readFallbacks } from './validate.js';

const config = { surface: 'gemini' as const };

/** `models/openai/gpt-4o:streamGenerateContent` -> model and method. */
function parseModelAction(path: string): { model: string; method: string } {
  const colon = path.lastIndexOf(':');
  if (colon <= 0) throw new GatewayError('HD_ERR_ROUTE_NOT_FOUND', `No route for "models/${path}": expected models/{model}:generateContent or :streamGenerateContent.`);
  let model = decodePathPart(path.slice(0, colon));
  if (model.startsWith('models/')) model = model.slice(7);
  return { model, method: path.slice(colon + 1) };
}

function prepare(request: FastifyRequest, ctx: RequestContext, strictParams: boolean): PreparedRequest {
  const { model, method } = parseModelAction((request.params as { '*': string })['*']);
  if (method !== 'generateContent' && method !== 'streamGenerateContent') {
    throw new GatewayError('HD_ERR_ROUTE_NOT_FOUND', `The method "${method}" is not supported; use generateContent, streamGenerateContent or countTokens.`);
  }
  const body = parseJsonBody(request.body);
  const fallbacks = readFallbacks(body);
  if (body.fallbacks !== undefined) delete body.fallbacks;
  // Decoding validates the body (naming the field), whichever provider answers.
  const decoded = translating('a Gemini generateContent request', () => geminiSurfaceCodec.decodeRequest(body, { model }));
  let warned = false;
  return {
    input: {
      operation: 'chat',
      model,
      fallbacks,
      stream: method === 'streamGenerateContent',
      nativeFormat: 'gemini',
      maxOutputTokens: decoded.request.max_completion_tokens ?? decoded.request.max_tokens ?? undefined,
      passthroughBody: () => JSON.stringify(body),
      canonical(): ChatRequest {
        if (!warned) {
          warned = true;
          if (strictParams) refuseWarnings(decoded.warnings);
          ctx.addWarnings(decoded.warnings);
        }
        return decoded.request;
      },
    },
    encodeJson: (result, context) => geminiSurfaceCodec.encodeResponse(result as never, context),
    createStreamEncoder: (context) => geminiSurfaceCodec.createStreamEncoder(context),
  };
}

export function registerGenAIRoutes(app: FastifyInstance, gateway: Gateway): void {
  const handler = surfaceHandler(gateway, {
    surface: 'gemini',
    errorFormat: 'gemini',
    prepare: (request, gw, ctx) => prepare(request, ctx, gw.state.routing.strictParams),
  });
  // countTokens goes to providers that count in Gemini's format (Gemini, Gemini on Vertex).
  const count = countTokensHandler(gateway, {
    surface: 'gemini',
    operation: 'countTokens',
    read(request) {
      const { model } = parseModelAction((request.params as { '*': string })['*']);
      const body = parseJsonBody(request.body);
      const inner = body.generateContentRequest as Record<string, unknown> | undefined;
      return {
        model,
        body: (target) => JSON.stringify(typeof inner?.model === 'string' ? { ...body, generateContentRequest: { ...inner, model: `models/${target}` } } : body),
      };
    },
  });
  const route = (request: FastifyRequest, reply: FastifyReply): Promise<void> =>
    (request.params as { '*': string })['*'].endsWith(':countTokens') ? count(request, reply) : handler(request, reply);
  app.post('/genai/v1beta/models/*', { config }, route);
  app.post('/genai/v1/models/*', { config }, route);
}
