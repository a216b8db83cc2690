/**
 * The Anthropic Messages surface: POST /anthropic/v1/messages for the
 * Anthropic SDK with its base URL set to `<gateway>/anthropic`. Any provider
 * can answer; `anthropic/...` models get the caller's bytes as they are.
 * @see https://docs.anthropic.com/en/api/messages
 */
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import { anthropicSurfaceCodec, checkAnthropicEnvelope } from '../formats/anthropic/index.js';
import type { ChatRequest } from '../formats/openai/types.js';
import type { Gateway } from '../gateway/gateway.js';
import { translating } from '../formats/malformed.js';
import { refuseWarnings } from '../formats/warnings.js';
import { takeCacheControl } from '../cache/controls.js';
import { countTokensHandler } from './count-tokens.js';
import { surfaceHandler } from './surface-handler.js';
import { optionalBoolean, parseJsonBody, readFallbacks } from './validate.js';

const config = { surface: 'anthropic' as const };

/**
 * Heimdall's `fallbacks` (model names) is taken out of the body. Anthropic's own beta `fallbacks`
 * (`"default"` or a list of objects) is the provider's: it stays in the body for a pass-through.
 */
function takeFallbacks(body: Record<string, unknown>): string[] | undefined {
  const value = body.fallbacks;
  if (value === 'default' || (Array.isArray(value) && value.some((item) => typeof item === 'object' && item !== null))) return undefined;
  const fallbacks = readFallbacks(body);
  if (value !== undefined) delete body.fallbacks;
  return fallbacks;
}

function registerMessages(app: FastifyInstance, gateway: Gateway): void {
  // A client surface of the runtime: mounted over HTTP, called in-process by the library.
  app.runtime.addSurface('/anthropic/v1/messages', 'anthropic', surfaceHandler(gateway, {
    surface: 'anthropic',
    errorFormat: 'anthropic',
    prepare(request, _gateway, ctx) {
      const body = parseJsonBody(request.body);
      const fallbacks = takeFallbacks(body);
      const cacheControl = takeCacheControl(body);
      // Only what routing needs: a pass-through forwards roles, fields and block types as they are;
      // a translation checks the shapes it reads when it decodes (surface-validate.ts).
      checkAnthropicEnvelope(body);
      const model = body.model as string;
      const stream = optionalBoolean(body, 'stream');
      let canonical: ChatRequest | undefined;
      return {
        input: {
          operation: 'chat',
          model,
          fallbacks,
          stream,
          nativeFormat: 'anthropic',
          // Type-checked above when present (governance reserves budget from it).
          maxOutputTokens: typeof body.max_tokens === 'number' ? body.max_tokens : undefined,
          cacheControl,
          passthroughBody(target: string): string {
            body.model = target;
            return JSON.stringify(body);
          },
          canonical(): ChatRequest {
            if (canonical === undefined) {
              const decoded = translating('an Anthropic Messages request', () => anthropicSurfaceCodec.decodeRequest(body, { model }));
              if (gateway.state.routing.strictParams) refuseWarnings(decoded.warnings);
              ctx.addWarnings(decoded.warnings);
              canonical = decoded.request;
            }
            return canonical;
          },
        },
        encodeJson: (result, context) => anthropicSurfaceCodec.encodeResponse(result as never, context),
        createStreamEncoder: (context) => anthropicSurfaceCodec.createStreamEncoder(context),
      };
    },
  }));
}

/** count_tokens goes to providers that count in Anthropic's format (Anthropic, Claude on Vertex); others get a clear 400. */
function registerCountTokens(app: FastifyInstance, gateway: Gateway): void {
  app.post('/anthropic/v1/messages/count_tokens', { config }, countTokensHandler(gateway, {
    surface: 'anthropic',
    operation: 'count_tokens',
    read(request) {
      const body = parseJsonBody(request.body);
      if (typeof body.model !== 'string' || body.model === '') {
        throw new GatewayError('HD_ERR_REQUEST_INVALID_FIELD', 'model: Field required', { param: 'model' });
      }
      return { model: body.model, body: (target) => JSON.stringify({ ...body, model: target }) };
    },
  }));
}

export function registerAnthropicRoutes(app: FastifyInstance, gateway: Gateway): void {
  registerMessages(app, gateway);
  registerCountTokens(app, gateway);
}
