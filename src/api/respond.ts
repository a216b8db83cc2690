/**
 * Writing outcomes and errors back to the caller; shared by every surface.
 * Each surface brings its own encoders; this module owns headers, the
 * stream hand-off and the one place where errors are rendered.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors/gateway-error.js';
import { renderError, toGatewayError, type ErrorFormat } from '../errors/render.js';
import type { StreamEncoder } from '../formats/types.js';
import type { ChatCompletion, EmbeddingResponse } from '../formats/openai/types.js';
import { codecContextFor } from '../gateway/attempt.js';
import { canonicalOfRaw } from '../gateway/canonical-answer.js';
import type { Lifecycle } from '../plugins/lifecycle.js';
import { FinalAnswerImpl } from '../plugins/stages.js';
import { sendEarlyAnswer } from './early-answer.js';
import type { Gateway } from '../gateway/gateway.js';
import type { Outcome } from '../gateway/pipeline.js';
import { RequestContext, type Surface } from '../gateway/request-context.js';
import { withSseHeaders } from '../gateway/sse.js';
import { maskSecretsInBody } from '../gateway/secret-guard.js';
import { abandonStream, pumpStream } from '../gateway/stream-pump.js';
import { redactText, safeLine } from '../telemetry/logger.js';
import { writeRawError } from './raw-error.js';
import { sendRawOutcome } from './raw-reply.js';

/** Starts a request's context and ties the client's disconnect to the upstream call. */
export function startContext(gateway: Gateway, request: FastifyRequest, reply: FastifyReply, surface: Surface, route?: string): RequestContext {
  const ctx = new RequestContext(request.id, surface, route ?? request.routeOptions.url ?? request.url.split('?')[0], request.method);
  ctx.headers = request.headers;
  gateway.begin();
  const lifecycle = gateway.lifecycle;
  if (lifecycle.begin.length > 0) lifecycle.runBegin(ctx, request.raw, request.body, reply.raw);
  const raw = reply.raw;
  // 'close' comes once per response: a plain listener (once() would wrap it, then remove it).
  raw.on('close', () => {
    if (!raw.writableFinished) {
      // Closed before the whole response was written: the client went away (logged as 499).
      ctx.status = 499;
      ctx.onClientClose();
    }
    gateway.finish(ctx);
  });
  return ctx;
}

const NOT_HEADER_SAFE = /[^\x20-\x7e]/;

/** UTF-8 bytes as %XX (a lone surrogate becomes U+FFFD's bytes; encodeURIComponent would throw). */
function percentEncoded(run: string): string {
  let out = '';
  for (const byte of Buffer.from(run, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/**
 * A caller-chosen value (a model name) as a header value: Node refuses any
 * character outside Latin-1 and any control character in a header, so
 * characters outside printable ASCII are percent-encoded as UTF-8
 * (`gpt-编码` -> `gpt-%E7%BC%96%E7%A0%81`); ASCII names are sent as they are.
 */
export function headerSafe(value: string): string {
  return NOT_HEADER_SAFE.test(value) ? value.replace(/[^\x20-\x7e]+/g, percentEncoded) : value;
}

/** x-request-id and the x-heimdall-* headers that say who served the request. */
export function gatewayHeaders(ctx: RequestContext): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': ctx.id };
  const target = ctx.target;
  if (target !== undefined) {
    headers['x-heimdall-provider'] = headerSafe(target.provider.name);
    headers['x-heimdall-model'] = headerSafe(target.model);
  }
  if (ctx.attempts.length > 0) headers['x-heimdall-attempts'] = String(ctx.attempts.length);
  const extra = ctx.responseHeaders;
  if (extra !== undefined) {
    // What Object.assign does, by plain stores: its generic path showed in the profile (a plain object, own keys only).
    for (const name in extra) headers[name] = extra[name];
  }
  if (ctx.warnings !== undefined) {
    // `<param>: <message>` items joined with '; ' (a message never holds ';', so the header splits cleanly).
    headers['x-heimdall-warnings'] = ctx.warnings.map((w) => `${w.param}: ${w.message.replace(/;/g, ',')}`).join('; ').replace(/[^\x20-\x7e]/g, '?').slice(0, 1024);
  }
  return headers;
}

export function sendError(reply: FastifyReply, ctx: RequestContext | undefined, error: unknown, format: ErrorFormat): void {
  const gatewayError = toGatewayError(error);
  if (gatewayError.code === 'HD_ERR_INTERNAL') {
    reply.log.error({ err: error, request_id: reply.request.id }, 'internal error');
  }
  const safe = gatewayError.code === 'HD_ERR_INTERNAL' ? gatewayError : redactError(gatewayError);
  const rendered = renderError(safe, format);
  if (ctx !== undefined) {
    ctx.status = rendered.status;
    ctx.error = safe;
    reply.headers(gatewayHeaders(ctx));
  } else {
    reply.header('x-request-id', reply.request.id);
    // Refused before a gateway context existed (413, unknown route): still one log line.
    reply.log.info(safeLine({ msg: 'request', request_id: reply.request.id, method: reply.request.method, route: reply.request.url.split('?')[0], status: rendered.status, error: safe.message }));
  }
  reply.code(rendered.status).headers(rendered.headers).type('application/json').send(JSON.stringify(rendered.body));
  if (ctx !== undefined) ctx.respondedAt = performance.now();
}

/** An upstream message may echo a key; never pass one back. */
function redactError(error: GatewayError): GatewayError {
  const message = redactText(error.message);
  if (message === error.message) return error;
  return new GatewayError(error.code, message, {
    param: error.param,
    status: error.status,
    upstreamCode: error.upstreamCode,
    upstreamType: error.upstreamType,
    retryAfter: error.retryAfter,
    headers: error.headers,
  });
}

export interface OutcomeEncoders {
  /** A canonical answer -> the surface's JSON. */
  json(result: ChatCompletion | EmbeddingResponse): unknown;
  stream(): StreamEncoder;
  /** The pass-through bytes as the caller gets them (default: as they are). */
  raw?(raw: Buffer): Buffer;
}

/** Sends a successful outcome: bytes as they came (pass-through), the surface's encoding, or a plugin's early answer. */
export async function sendOutcome(reply: FastifyReply, ctx: RequestContext, outcome: Outcome, encode: OutcomeEncoders, lifecycle: Lifecycle): Promise<void> {
  if (outcome.kind === 'raw') return sendRawOutcome(reply, ctx, outcome);
  if (outcome.kind === 'answer') return sendEarlyAnswer(reply, ctx, outcome.answer, encode, lifecycle);
  if (outcome.kind === 'json') {
    ctx.status = 200;
    let replacement: ChatCompletion | EmbeddingResponse | undefined;
    if (lifecycle.finalAnswer.length > 0) replacement = await finalAnswerOf(ctx, outcome, lifecycle);
    const headers = gatewayHeaders(ctx);
    // A provider's bytes as they came, except a configured key quoted in an error (secret-guard.ts).
    const raw = outcome.raw;
    const payload = raw !== undefined && replacement === undefined
      ? maskSecretsInBody(encode.raw === undefined ? raw : encode.raw(raw))
      : JSON.stringify(encode.json(replacement ?? outcome.result!));
    reply.code(200).headers(headers).type('application/json').send(payload);
    ctx.respondedAt = performance.now();
    return;
  }
  reply.hijack();
  const headers = withSseHeaders(gatewayHeaders(ctx));
  let encoder: StreamEncoder;
  try {
    encoder = encode.stream();
  } catch (error) {
    abandonStream(outcome);
    throw error;
  }
  await pumpStream(ctx, outcome, reply.raw, encoder, headers, lifecycle);
}

/** The finalAnswer stage of an answer not streamed: a plugin may replace it (or refuse it: thrown). */
async function finalAnswerOf(ctx: RequestContext, outcome: Extract<Outcome, { kind: 'json' }>, lifecycle: Lifecycle): Promise<ChatCompletion | EmbeddingResponse | undefined> {
  const decode = outcome.result !== undefined
    ? () => outcome.result
    : () => canonicalOfRaw(outcome.raw!, outcome.target, ctx.input!.operation, codecContextFor(ctx, outcome.target.label));
  const answer = new FinalAnswerImpl(ctx, false, true, gatewayHeaders(ctx), decode, lifecycle.costOf);
  const ran = lifecycle.runFinalAnswer(ctx, answer);
  if (ran !== undefined) await ran;
  return answer.replacement;
}

/**
 * The answer to a failure, whatever state the reply is in, so that no request is left without an
 * answer and a log line (the log line comes from the response's 'close'):
 * - the answer had started (a stream): it is cut, so the client sees the end instead of waiting;
 * - nothing was sent: the error in the caller's format (sendError);
 * - the reply was handed over (a stream about to start) or sending threw (a header Node refused):
 *   the error written on the raw response, with only headers that are known to be valid.
 */
export function sendFailure(reply: FastifyReply, ctx: RequestContext | undefined, error: unknown, format: ErrorFormat): void {
  const raw = reply.raw;
  if (raw.headersSent) {
    if (!raw.writableEnded) raw.destroy();
    return;
  }
  let failure = error;
  if (!reply.sent) {
    try {
      sendError(reply, ctx, failure, format);
    } catch (late) {
      failure = late;
    }
    if (raw.headersSent) return;
  }
  const gatewayError = toGatewayError(failure);
  if (gatewayError.code === 'HD_ERR_INTERNAL') reply.log.error({ err: failure, request_id: reply.request.id }, 'internal error while answering');
  const status = writeRawError(raw, reply.request.id, gatewayError.code === 'HD_ERR_INTERNAL' ? gatewayError : redactError(gatewayError), format);
  if (ctx !== undefined) {
    ctx.status = status;
    ctx.error = gatewayError;
    ctx.respondedAt = performance.now();
  }
}
