/**
 * One attempt of a call the gateway forwards as bytes: a native pass-through
 * (`/openai/*`, `/anthropic/*`, `/genai/*`, `/bedrock/*`) and the operations
 * whose answers are files (images, audio). The same bookkeeping as a chat
 * attempt (UpstreamAttempt: record, timers, the key's verdict, the slot,
 * hooks); what differs is that the body is the caller's bytes (or a stream of
 * them), any method goes, and the answer is handed on as a stream of bytes
 * whatever its type, never buffered whole.
 *
 * An error answer that a retry or another key cannot fix (a 400, a 404) goes
 * back as the provider wrote it when the call asks for that (`forwardErrors`):
 * a native client reads its own provider's errors. Anything else (401/403 of
 * the gateway's key, 408/409/429/5xx) fails the attempt, and the pipeline
 * retries, falls back or renders the error in the caller's format.
 */
import { performance } from 'node:perf_hooks';
import { AttemptStageImpl } from '../plugins/stages.js';
import type { Readable } from 'node:stream';
import type { ResolvedConfig } from '../config/load.js';
import { takeSlot, UpstreamAttempt } from './attempt.js';
import { isKeyRejected } from './failure-class.js';
import type { AttemptDeps } from './pipeline-deps.js';
import type { KeyRuntime } from './provider-runtime.js';
import type { RequestContext } from './request-context.js';
import { isRetryable } from './retry-policy.js';
import type { Target } from './router.js';
import { readBody, type HttpMethod, type StreamBody, type UpstreamResponse } from './upstream.js';
import { UpstreamFailure } from './upstream-failure.js';
import { httpFailure } from './upstream-call.js';
import type { Usage } from '../formats/openai/types.js';

const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json' });

/** The upstream request of a raw call, for one target and key. */
export interface RawRequestParts {
  url: string;
  /** The provider's headers (credentials included) and what the call forwards of the caller's. */
  headers: Record<string, string>;
  /** Bytes (a retry sends them again) or a stream (sent once: an upload read as it arrives). */
  body: Buffer | Readable | undefined;
  /**
   * A translated call (formats/images, formats/audio, formats/rerank): the provider's whole answer -> the caller's body and its
   * usage. Throws when the answer cannot be read (the provider's fault: 502, a fallback may serve).
   */
  decode?(answer: Buffer): DecodedAnswer;
}

/** A translated answer: the caller's bytes (JSON unless `contentType` says otherwise) and its usage. */
export interface DecodedAnswer {
  body: Buffer;
  usage?: Usage;
  contentType?: string;
}

export interface RawCall {
  method: HttpMethod;
  /** The request for one (target, key); throws a GatewayError when the target cannot take it. */
  prepare(target: Target, key: KeyRuntime): RawRequestParts | Promise<RawRequestParts>;
  /** The only targets (a native route names its provider); undefined: the model is routed as usual. */
  targets?: readonly Target[];
  /**
   * Further models the body names (a batch's requests), as targets of a tier after the first: the
   * `admit` hooks see them, each must pass their filter (else 403), none is attempted. The input's
   * `fallbacks` must then be defined (`[]`), so each is checked on its own name.
   */
  alsoNamed?: readonly Target[];
  /** A provider error a retry cannot fix goes to the caller as the provider wrote it. */
  forwardErrors: boolean;
}

/** A raw answer: the provider's status, headers and body (a stream, or the bytes of a forwarded error). */
export interface RawOutcome {
  kind: 'raw';
  target: Target;
  passthrough: true;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: StreamBody | Buffer;
  /** Ends the attempt's bookkeeping once the body is over (idempotent). */
  finish(): void;
}

type Routing = ResolvedConfig['routing'];

function noop(): void {}

export async function runRawAttempt(deps: AttemptDeps, routing: Routing, ctx: RequestContext, call: RawCall, target: Target, key: KeyRuntime): Promise<RawOutcome> {
  const provider = target.provider;
  let parts: RawRequestParts;
  let slot = false;
  try {
    await takeSlot(ctx, target);
    slot = true;
    parts = await call.prepare(target, key);
    if (provider.definition.authorize !== undefined) {
      const context = { baseUrl: provider.baseUrl, apiKey: key.secret, model: target.model, stream: false, options: provider.options };
      // A stream is signed as an unsigned payload would be: the SigV4 signer reads bytes only.
      const body = parts.body === undefined ? '' : Buffer.isBuffer(parts.body) ? parts.body : '';
      parts.headers = { ...parts.headers, ...(await provider.definition.authorize({ method: call.method, url: parts.url, headers: parts.headers, body, context })) };
    }
    parts.headers['x-request-id'] ??= ctx.id;
    const lifecycle = deps.hooks;
    if (lifecycle.beforeAttempt.length > 0) {
      // Plugins see the outgoing headers (trace propagation); the body is the caller's bytes, not theirs to change.
      const ran = lifecycle.runBeforeAttempt(ctx, new AttemptStageImpl(target, key.name, ctx.attempts.length + 1, parts.url, parts.headers, ''));
      if (ran !== undefined) await ran;
    }
  } catch (error) {
    if (slot) provider.limiter.release();
    key.health.onCancel();
    throw error;
  }

  const attempt = new UpstreamAttempt(deps.hooks, routing, ctx, target, key, true);
  let response: UpstreamResponse<StreamBody>;
  try {
    response = await deps.upstream.request({ url: parts.url, method: call.method, headers: parts.headers, body: parts.body, timeouts: provider.timeouts, link: attempt, stream: true });
  } catch (error) {
    const failure = error as UpstreamFailure;
    attempt.judge(failure, undefined);
    attempt.end(undefined, failure, performance.now());
    throw sentOnce(parts, failure, provider.name);
  }
  try {
    if (response.status >= 400) {
      const bytes = await readBody(response.body, attempt);
      const failure = httpFailure(provider.definition.format, response, bytes);
      if (!call.forwardErrors || isRetryable(failure) || isKeyRejected(failure)) throw failure;
      // The caller's own mistake, in its provider's words: not the key's fault, not worth a retry.
      attempt.judge(failure, undefined);
      attempt.record.error = failure.message;
      attempt.end(response.status, undefined, performance.now());
      return { kind: 'raw', target, passthrough: true, status: response.status, headers: response.headers, body: bytes, finish: noop };
    }
    if (parts.decode !== undefined) {
      const answer = await readBody(response.body, attempt);
      let decoded: DecodedAnswer;
      try {
        decoded = parts.decode(answer);
      } catch (error) {
        throw new UpstreamFailure('bad_response', `the answer could not be read: ${(error as Error).message}`);
      }
      if (decoded.usage !== undefined) ctx.usage = decoded.usage;
      const endedAt = performance.now();
      attempt.judge(undefined, endedAt - attempt.startedAt);
      attempt.end(response.status, undefined, endedAt);
      const headers = decoded.contentType === undefined ? JSON_HEADERS : { 'content-type': decoded.contentType };
      return { kind: 'raw', target, passthrough: true, status: response.status, headers, body: decoded.body, finish: noop };
    }
    attempt.response = response;
    attempt.judge(undefined, performance.now() - attempt.startedAt);
    return { kind: 'raw', target, passthrough: true, status: response.status, headers: response.headers, body: response.body, finish: () => attempt.finish() };
  } catch (error) {
    attempt.judge(error instanceof UpstreamFailure ? error : undefined, undefined);
    attempt.end(response.status, error as Error, performance.now());
    response.body.destroy();
    throw sentOnce(parts, error, provider.name);
  }
}

/**
 * A streamed upload was consumed by this attempt: nothing can send it again, so its failure is the
 * caller's answer now (a GatewayError: the pipeline does not retry it or fall back).
 */
function sentOnce(parts: RawRequestParts, error: unknown, provider: string): unknown {
  if (parts.body === undefined || Buffer.isBuffer(parts.body) || !(error instanceof UpstreamFailure)) return error;
  return error.toGatewayError(provider);
}
