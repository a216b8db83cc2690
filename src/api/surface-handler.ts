/**
 * The request handler every client surface shares: context, pipeline, reply.
 * A surface only says how to read its body and how to write its answers.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorFormat } from '../errors/render.js';
import type { CodecContext, StreamEncoder } from '../formats/types.js';
import type { ChatCompletion, EmbeddingResponse } from '../formats/openai/types.js';
import type { Gateway } from '../gateway/gateway.js';
import type { PipelineInput } from '../gateway/pipeline.js';
import type { RequestContext, Surface } from '../gateway/request-context.js';
import { requestedModelOf } from './requested-model.js';
import { gatewayHeaders, sendFailure, sendOutcome, startContext } from './respond.js';
import { FinalAnswerImpl } from '../plugins/stages.js';
import { checkJsonContentType } from './validate.js';
import { toGatewayError } from '../errors/render.js';
import type { Lifecycle } from '../plugins/lifecycle.js';
import { redactText } from '../telemetry/secrets.js';

export interface PreparedRequest {
  input: PipelineInput;
  /** Canonical answer -> the surface's JSON. */
  encodeJson(result: ChatCompletion | EmbeddingResponse, context: CodecContext): unknown;
  /** Canonical chunks -> the surface's stream; its onError also ends a pass-through stream. */
  createStreamEncoder(context: CodecContext): StreamEncoder;
  /** A pass-through answer's bytes -> what the caller gets (base64 embeddings from a server that sent floats). */
  encodeRaw?(raw: Buffer): Buffer;
}

/**
 * Runs before a surface reads a request (the MCP tools of src/mcp/model-tools.ts): answers it itself
 * (`handled`), hands on a rewritten body, or leaves it alone (undefined).
 */
export type SurfaceInterceptor = (request: FastifyRequest, reply: FastifyReply, surface: Surface) => Promise<InterceptResult> | InterceptResult;
export type InterceptResult = undefined | { handled: true } | { body: Buffer };

/** The request as the surface reads it: the same one, with another body. */
function withBody(request: FastifyRequest, body: Buffer): FastifyRequest {
  return Object.create(request, { body: { value: body, enumerable: true } }) as FastifyRequest;
}

export interface SurfaceSpec {
  surface: Surface;
  errorFormat: ErrorFormat;
  /** Reads and checks the caller's request (throws GatewayError naming the field). */
  prepare(request: FastifyRequest, gateway: Gateway, ctx: RequestContext): PreparedRequest;
}

export function surfaceHandler(gateway: Gateway, spec: SurfaceSpec) {
  return async (original: FastifyRequest, reply: FastifyReply): Promise<void> => {
    let request = original;
    const interceptors = gateway.surfaceInterceptors;
    for (let i = 0; i < interceptors.length; i++) {
      // Synchronous when it leaves the request alone: no extra tick on the hot path.
      let result = interceptors[i](request, reply, spec.surface);
      if (result instanceof Promise) result = await result;
      if (result === undefined) continue;
      if ('handled' in result) return;
      request = withBody(request, result.body);
    }
    const ctx = startContext(gateway, request, reply, spec.surface);
    const lifecycle = gateway.lifecycle;
    try {
      checkJsonContentType(request.headers['content-type']);
      // received: who is calling (governance's virtual key), before the body is read.
      if (lifecycle.received.length > 0) {
        const received = lifecycle.runReceived(ctx);
        if (received !== undefined) await received;
      }
      const prepared = spec.prepare(request, gateway, ctx);
      prepared.input.clientHeaders ??= request.headers;
      const outcome = await gateway.pipeline.execute(ctx, prepared.input);
      // The codec context is made when an encoder needs it (a pass-through answer does not).
      await sendOutcome(reply, ctx, outcome, {
        json: (result) => prepared.encodeJson(result, gateway.pipeline.codecContext(ctx, prepared.input.model)),
        stream: () => prepared.createStreamEncoder(gateway.pipeline.codecContext(ctx, prepared.input.model)),
        raw: prepared.encodeRaw,
      }, lifecycle);
    } catch (error) {
      // Refused before the pipeline read it (a bad key, a malformed body): the model it names still counts.
      ctx.requestedModel ??= requestedModelOf(request);
      await failRequest(reply, ctx, error, spec.errorFormat, lifecycle);
    }
  };
}

/** The error stage (plugins see the failure the caller is about to get), then the failure's answer. */
export async function failRequest(reply: FastifyReply, ctx: RequestContext, error: unknown, format: ErrorFormat, lifecycle: Lifecycle): Promise<void> {
  if (lifecycle.error.length > 0 && !reply.raw.headersSent) {
    const failure = toGatewayError(error);
    const ran = lifecycle.runError(ctx, { status: failure.status, code: failure.code, message: failure.code === 'HD_ERR_INTERNAL' ? 'internal error' : redactText(failure.message) });
    if (ran !== undefined) await ran;
  }
  sendFailure(reply, ctx, error, format);
}

/**
 * Sends an answer that is no model's (a token count, a stored response): the finalAnswer stage first
 * (plugins see its status, headers, usage, cost and timings; it has no canonical response to read or
 * replace, and a plugin may still refuse it), then the answer with the gateway's headers.
 */
export async function sendFinalAnswer(reply: FastifyReply, ctx: RequestContext, status: number, payload: string | Buffer, lifecycle: Lifecycle): Promise<void> {
  ctx.status = status;
  if (lifecycle.finalAnswer.length > 0) {
    const ran = lifecycle.runFinalAnswer(ctx, new FinalAnswerImpl(ctx, false, true, gatewayHeaders(ctx), () => undefined, lifecycle.costOf));
    if (ran !== undefined) await ran;
  }
  reply.code(status).headers(gatewayHeaders(ctx)).type('application/json').send(payload);
  ctx.respondedAt = performance.now();
}
