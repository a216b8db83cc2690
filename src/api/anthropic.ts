/**
 * The Anthropic Messages surface: POST /anthropic/v1/messages for the
 * Anthropic SDK with its base URL set to `<gateway>/anthropic`. Any provider
 * can answer; `anthropic/...` models get the caller's bytes as they are.
 * @see https://docs.anthropic.com/en/api/messages
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import { anthropicSurfaceCodec, validateAnthropicRequest } from '../formats/anthropic/index.js';
import type { ChatRequest } from '../formats/openai/types.js';
import type { Gateway } from '../gateway/gateway.js';
import { resolveTarget } from '../gateway/router.js';
import { readBody, TOTAL_TIMEOUT } from '../gateway/upstream.js';
import { anthropicCountTokensEndpoint } from '../providers/anthropic.js';
import { sendError, startContext, gatewayHeaders } from './respond.js';
import { surfaceHandler } from './surface-handler.js';
import { optionalBoolean, parseJsonBody, readFallbacks } from './validate.js';
import { UpstreamFailure } from '../gateway/upstream-failure.js';

const config = { surface: 'anthropic' as const };

function registerMessages(app: FastifyInstance, gateway: Gateway): void {
  app.post('/anthropic/v1/messages', { config }, surfaceHandler(gateway, {
    surface: 'anthropic',
    errorFormat: 'anthropic',
    prepare(request, _gateway, ctx) {
      const body = parseJsonBody(request.body);
      const fallbacks = readFallbacks(body);
      if (body.fallbacks !== undefined) delete body.fallbacks;
      validateAnthropicRequest(body);
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
          passthroughBody(target: string): string {
            body.model = target;
            return JSON.stringify(body);
          },
          canonical(): ChatRequest {
            if (canonical === undefined) {
              const decoded = anthropicSurfaceCodec.decodeRequest(body, { model });
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

/** count_tokens goes to providers that have it (Anthropic); others get a clear 400. */
function registerCountTokens(app: FastifyInstance, gateway: Gateway): void {
  app.post('/anthropic/v1/messages/count_tokens', { config }, async (request: FastifyRequest, reply: FastifyReply) => {
    const ctx = startContext(gateway, request, reply, 'anthropic');
    try {
      const body = parseJsonBody(request.body);
      if (typeof body.model !== 'string' || body.model === '') {
        throw new GatewayError('HD_ERR_REQUEST_INVALID_FIELD', 'model: Field required', { param: 'model' });
      }
      const target = resolveTarget(gateway.state, body.model, 'chat');
      const provider = target.provider;
      if (provider.definition.format !== 'anthropic' || provider.definition.id !== 'anthropic') {
        throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Provider "${provider.name}" does not support count_tokens.`, { param: 'model' });
      }
      ctx.target = target;
      ctx.requestedModel = body.model;
      const key = provider.pickKey(target.model, undefined);
      body.model = target.model;
      const endpoint = anthropicCountTokensEndpoint({ baseUrl: provider.baseUrl, apiKey: key?.secret, model: target.model, stream: false, options: provider.options });
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(TOTAL_TIMEOUT), provider.timeouts.totalMs);
      ctx.attachController(controller);
      const started = performance.now();
      try {
        const response = await gateway.upstream.request({ url: endpoint.url, method: 'POST', headers: endpoint.headers, body: JSON.stringify(body), timeouts: provider.timeouts, signal: controller.signal });
        const raw = await readBody(response.body, controller.signal);
        ctx.upstreamMs += performance.now() - started;
        ctx.attempts.push({ provider: provider.name, model: target.model, key: key?.name, status: response.status, latency_ms: Math.round(performance.now() - started) });
        ctx.status = response.status;
        reply.code(response.status).headers(gatewayHeaders(ctx)).type('application/json').send(raw);
      } catch (error) {
        throw error instanceof UpstreamFailure ? error.toGatewayError(provider.name) : error;
      } finally {
        clearTimeout(timer);
      }
    } catch (error) {
      if (reply.sent) return;
      sendError(reply, ctx, error, 'anthropic');
    }
  });
}

export function registerAnthropicRoutes(app: FastifyInstance, gateway: Gateway): void {
  registerMessages(app, gateway);
  registerCountTokens(app, gateway);
}
