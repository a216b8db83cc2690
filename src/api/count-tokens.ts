/**
 * Token counts on the drop-in surfaces: Anthropic `count_tokens` and Gemini
 * `countTokens`. A count goes to a provider that has its own count in the
 * surface's wire format (ProviderDefinition.countTokens: Anthropic, Claude on
 * Vertex, Gemini, Gemini on Vertex) with the caller's body, the model
 * rewritten; the provider's answer (or error) goes back as it is. Any other
 * provider gets a 400 in the surface's error format: a count from another
 * tokenizer would be a guess, and a guess is not what the caller asked for.
 * @see https://docs.anthropic.com/en/api/messages-count-tokens
 * @see https://ai.google.dev/api/tokens#method:-models.counttokens
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import type { Gateway } from '../gateway/gateway.js';
import { resolveTarget } from '../gateway/router.js';
import { readBody, TOTAL_TIMEOUT } from '../gateway/upstream.js';
import { UpstreamFailure } from '../gateway/upstream-failure.js';
import { gatewayHeaders, sendError, startContext } from './respond.js';

export interface CountTokensRequest {
  /** The model as the caller named it. */
  model: string;
  /** The body to send, for the provider's own model id. */
  body(target: string): string;
}

export interface CountTokensSpec {
  surface: 'anthropic' | 'gemini';
  /** The surface's name for the call, in errors. */
  operation: string;
  /** Reads the caller's request (throws GatewayError naming the field). */
  read(request: FastifyRequest): CountTokensRequest;
}

export function countTokensHandler(gateway: Gateway, spec: CountTokensSpec) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const ctx = startContext(gateway, request, reply, spec.surface);
    try {
      for (const hooks of gateway.hooks) hooks.authenticate?.(ctx, request.headers);
      const call = spec.read(request);
      const target = resolveTarget(gateway.state, call.model, 'chat');
      const provider = target.provider;
      const definition = provider.definition;
      const key = provider.pickKey(target.model, undefined);
      const context = { baseUrl: provider.baseUrl, apiKey: key?.secret, model: target.model, stream: false, options: provider.options };
      const endpoint = definition.countTokens?.(context);
      if (endpoint === undefined || endpoint.format !== spec.surface) {
        throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Provider "${provider.name}" does not support ${spec.operation}.`, { param: 'model' });
      }
      ctx.target = target;
      ctx.requestedModel = call.model;
      const body = call.body(target.model);
      let headers: Record<string, string> = { ...endpoint.headers, ...provider.extraHeaders };
      if (definition.authorize !== undefined) {
        headers = { ...headers, ...(await definition.authorize({ method: 'POST', url: endpoint.url, headers, body, context })) };
      }
      headers['x-request-id'] ??= ctx.id;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(TOTAL_TIMEOUT), provider.timeouts.totalMs);
      ctx.attachController(controller);
      const started = performance.now();
      try {
        const response = await gateway.upstream.request({ url: endpoint.url, method: 'POST', headers, body, timeouts: provider.timeouts, signal: controller.signal });
        const raw = await readBody(response.body, controller.signal);
        const spent = performance.now() - started;
        ctx.upstreamMs += spent;
        ctx.attempts.push({ provider: provider.name, model: target.model, key: key?.name, status: response.status, latency_ms: Math.round(spent) });
        ctx.status = response.status;
        reply.code(response.status).headers(gatewayHeaders(ctx)).type('application/json').send(raw);
      } catch (error) {
        throw error instanceof UpstreamFailure ? error.toGatewayError(provider.name) : error;
      } finally {
        clearTimeout(timer);
      }
    } catch (error) {
      if (reply.sent) return;
      sendError(reply, ctx, error, spec.surface);
    }
  };
}
