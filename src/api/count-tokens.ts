/**
 * Token counts on the drop-in surfaces: Anthropic `count_tokens` and Gemini
 * `countTokens`. A count goes to a provider that has its own count in the
 * surface's wire format (ProviderDefinition.countTokens: Anthropic, Claude on
 * Vertex, Gemini, Gemini on Vertex) with the caller's body, the model
 * rewritten; the provider's answer (or error) goes back as it is, except a
 * configured key quoted in it (secret-guard.ts). Any other provider gets a
 * 400 in the surface's error format: a count from another tokenizer would be
 * a guess, and a guess is not what the caller asked for.
 *
 * Governance sees a count like any other call with the gateway's key: the
 * `authenticate` hooks (401 for a missing or bad virtual key) and the `admit`
 * hooks (403 for a model the key may not use, 429 past a request rate limit,
 * 402 over budget). A count costs nothing at Anthropic and Google, so the
 * request is settled at $0 and 0 tokens: the reservation `admit` made is
 * released, and token rate limits are not charged.
 * @see https://docs.anthropic.com/en/api/messages-count-tokens
 * @see https://ai.google.dev/api/tokens#method:-models.counttokens
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import type { Gateway } from '../gateway/gateway.js';
import type { PipelineInput } from '../gateway/pipeline.js';
import type { RequestContext } from '../gateway/request-context.js';
import { resolveTarget, type Target } from '../gateway/router.js';
import { maskSecretsInBody } from '../gateway/secret-guard.js';
import { pickAvailableKey } from '../gateway/upstream-call.js';
import { recordedCall } from './recorded-call.js';
import { startContext } from './respond.js';
import { failRequest, sendFinalAnswer } from './surface-handler.js';
import { FixedRoutingStage } from '../plugins/stages.js';
import { checkJsonContentType } from './validate.js';

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

/** Nothing is billed for a count: the settle hooks see $0 and no tokens. */
const NO_TOKENS = Object.freeze({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });

/** The built-in admission (governance), as for any call: access, request rate limits, budget (reserved, then settled at $0). */
export async function admitCount(gateway: Gateway, ctx: RequestContext, call: CountTokensRequest, target: Target, surface: CountTokensSpec['surface'] | 'openai'): Promise<void> {
  ctx.requestedModel = call.model;
  ctx.costUsd = 0;
  ctx.usage = { ...NO_TOKENS };
  const input: PipelineInput = {
    operation: 'chat',
    model: call.model,
    fallbacks: undefined,
    stream: false,
    nativeFormat: surface,
    maxOutputTokens: 0,
    passthroughBody: call.body,
    canonical: () => {
      throw new GatewayError('HD_ERR_INTERNAL', 'A token count has no canonical request.');
    },
  };
  await gateway.lifecycle.admitOnly(ctx, new FixedRoutingStage(gateway.state, ctx, input, target));
}

export function countTokensHandler(gateway: Gateway, spec: CountTokensSpec) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const ctx = startContext(gateway, request, reply, spec.surface);
    try {
      checkJsonContentType(request.headers['content-type']);
      const received = gateway.lifecycle.runReceived(ctx);
      if (received !== undefined) await received;
      const call = spec.read(request);
      const target = resolveTarget(gateway.state, call.model, 'chat');
      const provider = target.provider;
      const definition = provider.definition;
      // The same builder, breaker, concurrency slot and classification as a routed attempt (upstream-call.ts).
      const routing = gateway.state.routing;
      // Some endpoints are built from the credentials (Vertex reads its project from them): any key of the provider.
      const context = { baseUrl: provider.baseUrl, apiKey: provider.pickKey(target.model, undefined)?.secret, model: target.model, stream: false, options: provider.options };
      if (definition.countTokens?.(context)?.format !== spec.surface) {
        throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Provider "${provider.name}" does not support ${spec.operation}.`, { param: 'model' });
      }
      await admitCount(gateway, ctx, call, target, spec.surface);
      ctx.target = target;
      const key = pickAvailableKey(provider, target.model, routing.breaker);
      if (key === undefined && provider.keys.length > 0) {
        throw new GatewayError('HD_ERR_UPSTREAM_UNAVAILABLE', `Every key of "${provider.name}" is cooling down after repeated failures (circuit open).`, { retryAfter: 1 });
      }
      const endpoint = definition.countTokens!({ ...context, apiKey: key?.secret })!;
      // The caller speaks the count's format (checked above): its protocol headers go along (forward-headers.ts).
      provider.forwarding.apply(request.headers, endpoint.headers);
      const answer = await recordedCall(gateway, ctx, target, key, { endpoint, method: 'POST', body: call.body(target.model) });
      await sendFinalAnswer(reply, ctx, answer.status, maskSecretsInBody(answer.raw), gateway.lifecycle);
    } catch (error) {
      await failRequest(reply, ctx, error, spec.surface, gateway.lifecycle);
    }
  };
}
