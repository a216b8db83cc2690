/**
 * One upstream attempt: take a concurrency slot, encode (or pass the caller's
 * bytes through), send, classify the answer, decode it. The attempt's
 * bookkeeping (record, timers, the key's health verdict, the slot) lives in
 * one UpstreamAttempt object, which is also the stream outcome the pump
 * finishes: no closure per attempt.
 */
import { performance } from 'node:perf_hooks';
import type { ResolvedConfig } from '../config/load.js';
import { GatewayError } from '../errors/gateway-error.js';
import { translating } from '../formats/malformed.js';
import { decodeOpenAIError } from '../formats/openai/codec.js';
import type { ChatRequest, EmbeddingRequest, Usage } from '../formats/openai/types.js';
import { chatCodecFor, embeddingCodecFor } from '../formats/registry.js';
import type { CodecContext, CodecWarning, ProviderChatCodec, StreamDecoder, UpstreamErrorInfo, WireFormat } from '../formats/types.js';
import { dropGeminiOnlyFields, GEMINI_ONLY_FIELDS } from '../formats/gemini/index.js';
import { refuseWarnings } from '../formats/warnings.js';
import type { ModelCatalog } from '../catalog/catalog.js';
import { fitRequestToModel } from '../catalog/fit-request.js';
import { keyVerdict } from './failure-class.js';
import type { AttemptDeps } from './pipeline-deps.js';
import type { Outcome, PipelineInput, StreamOutcome } from './pipeline.js';
import type { KeyRuntime } from './provider-runtime.js';
import type { AttemptRecord, RequestContext } from './request-context.js';
import type { Target } from './router.js';
import { readBody, TOTAL_TIMEOUT, type AbortableCall, type StreamBody, type UpstreamResponse } from './upstream.js';
import { decodeFailure, passthroughJsonProblem, streamProblem, UpstreamFailure } from './upstream-failure.js';
import { noteResponse } from '../telemetry/response-facts.js';
import { scanUsage } from './usage-scan.js';
import { mergeEmbeddingResponses } from '../formats/merge-embeddings.js';
import { canonicalUsage, responsesProviderCodec } from '../formats/responses/index.js';
import { sendParts } from './send-parts.js';
import { httpFailure } from './upstream-call.js';
import { AttemptStageImpl } from '../plugins/stages.js';
import { runRawAttempt } from './raw-attempt.js';

type Routing = ResolvedConfig['routing'];

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The `usage` object of an OpenAI-shape answer: scanned for at the end, the whole body parsed only when that fails. */
function openAIUsage(raw: Buffer): Usage | undefined {
  const scanned = scanUsage(raw);
  if (scanned !== undefined) return (scanned ?? undefined) as Usage | undefined;
  return (parseJson(raw) as { usage?: Usage } | undefined)?.usage;
}

/** Reads the usage of a pass-through answer (only the OpenAI shape is read without a codec). */
function passthroughUsage(format: WireFormat, raw: Buffer, context: CodecContext): Usage | undefined {
  if (format === 'openai') return openAIUsage(raw);
  const body = parseJson(raw) as Record<string, unknown> | undefined;
  if (body === undefined) return undefined;
  try {
    return chatCodecFor(format)?.decodeResponse(body, context).usage;
  } catch {
    return undefined;
  }
}

function hasGeminiOnlyFields(request: ChatRequest): boolean {
  for (const field of GEMINI_ONLY_FIELDS) if (request[field] !== undefined) return true;
  return false;
}

function onTotalTimeout(attempt: UpstreamAttempt): void {
  attempt.expire();
}

export function codecContextFor(ctx: RequestContext, model: string): CodecContext {
  return { id: `chatcmpl-${ctx.id}`, created: Math.floor(ctx.time / 1000), model };
}

export function encodeBody(
  ctx: RequestContext,
  input: PipelineInput,
  target: Target,
  passthrough: boolean,
  patch: Readonly<Record<string, unknown>> | undefined,
  strictParams: boolean,
  chatCodec: ProviderChatCodec | undefined,
  catalog?: ModelCatalog,
): string | string[] {
  if (passthrough) {
    const body = input.passthroughBody(target.model);
    return patch === undefined ? body : JSON.stringify({ ...(JSON.parse(body) as Record<string, unknown>), ...patch });
  }
  // The caller's request is read field by field here: a field of the wrong shape is the caller's 400 (malformed.ts).
  return translating(`a ${input.nativeFormat} request translated for ${target.provider.definition.format}`, () => encodeTranslated(ctx, input, target, patch, strictParams, chatCodec, catalog));
}

function encodeTranslated(
  ctx: RequestContext,
  input: PipelineInput,
  target: Target,
  patch: Readonly<Record<string, unknown>> | undefined,
  strictParams: boolean,
  chatCodec: ProviderChatCodec | undefined,
  catalog: ModelCatalog | undefined,
): string | string[] {
  const format = target.provider.definition.format;
  if (input.operation === 'embeddings') {
    const codec = embeddingCodecFor(format, target.provider.definition.id);
    if (codec === undefined) throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Provider "${target.provider.name}" does not support embeddings.`, { param: 'model' });
    const encoded = codec.encodeRequest(input.canonical() as EmbeddingRequest, { model: target.model });
    if (strictParams) refuseWarnings(encoded.warnings);
    ctx.addWarnings(encoded.warnings);
    // Several calls (Bedrock Titan: one text each): every body, the first one first.
    return encoded.bodies === undefined ? JSON.stringify(encoded.body) : encoded.bodies.map((part) => JSON.stringify(part));
  }
  const codec = chatCodec;
  if (codec === undefined || (input.operation !== 'chat' && input.operation !== 'responses')) {
    throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Provider "${target.provider.name}" cannot serve this request format.`, { param: 'model' });
  }
  let request = input.canonical() as ChatRequest;
  const foreign: CodecWarning[] = [];
  if (format !== 'gemini' && hasGeminiOnlyFields(request)) {
    request = { ...request };
    foreign.push(...dropGeminiOnlyFields(request));
  }
  let maxOutputTokens: number | undefined;
  if (catalog !== undefined) {
    // The target model's limits and parameter rules (src/catalog/), before the codec sees the request.
    const facts = catalog.facts({ provider: target.provider.name, type: target.provider.definition.id, model: target.model });
    const fitted = fitRequestToModel(request, facts, target.label);
    request = fitted.request;
    foreign.push(...fitted.warnings);
    maxOutputTokens = facts.maxOutputTokens;
  }
  // The caller's Anthropic betas, for a provider that serves Claude in its own format (Bedrock).
  const anthropicBetas = input.nativeFormat === 'anthropic' ? target.provider.forwarding.anthropicBetas(input.clientHeaders) : undefined;
  const encoded = codec.encodeRequest(request, { model: target.model, stream: input.stream, anthropicBetas, maxOutputTokens });
  if (foreign.length > 0) encoded.warnings.unshift(...foreign);
  if (encoded.warnings.length > 0) {
    if (strictParams) {
      const first = encoded.warnings[0];
      throw new GatewayError('HD_ERR_REQUEST_UNSUPPORTED_PARAM', `${first.message} (strict mode)`, { param: first.param });
    }
    ctx.addWarnings(encoded.warnings);
  }
  return JSON.stringify(patch === undefined ? encoded.body : { ...(encoded.body as Record<string, unknown>), ...patch });
}

/**
 * The bookkeeping of one attempt, and the stream outcome handed to the pump.
 * `judge` gives the key's health verdict once (a stream is judged at its first
 * byte, so a half-open probe does not hold the key for a whole generation);
 * `end` closes the upstream part once (time, record, slot, hooks).
 */
export class UpstreamAttempt implements StreamOutcome {
  readonly kind = 'stream' as const;
  response!: UpstreamResponse<StreamBody>;
  framing: 'sse' | 'aws-eventstream' = 'sse';
  decoder: StreamDecoder | undefined;
  readonly record: AttemptRecord;
  readonly startedAt = performance.now();
  /**
   * Made on first use only: a non-stream call is aborted through `bind()` (its dispatch handler),
   * so most attempts never build an AbortController and its EventTarget (perf profile: ~3% of CPU).
   */
  private controller: AbortController | undefined;
  private call: AbortableCall | undefined;
  private abortReason: unknown;
  private isAborted = false;
  private readonly timer: NodeJS.Timeout;
  private judged = false;
  private ended = false;

  constructor(
    private readonly hooks: AttemptDeps['hooks'],
    private readonly routing: Routing,
    private readonly ctx: RequestContext,
    readonly target: Target,
    private readonly key: KeyRuntime,
    readonly passthrough: boolean,
  ) {
    // The provider's total for one call, cut to what is left of the request's deadline.
    const left = ctx.deadline - this.startedAt;
    this.timer = setTimeout(onTotalTimeout, Math.max(1, Math.min(target.provider.timeouts.totalMs, left)), this);
    ctx.attachController(this);
    if (ctx.clientGone) this.abort();
    this.record = { provider: target.provider.name, model: target.model, key: key.name, key_id: key.id, status: undefined, error: undefined, latency_ms: 0 };
    ctx.attempts.push(this.record);
  }

  /** The attempt's AbortSignal (streams, error bodies, extra calls): built on first use. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.isAborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.isAborted;
  }

  get reason(): unknown {
    return this.abortReason;
  }

  /** Aborts the call in flight (client gone, total timeout); reason as AbortController.abort(reason). */
  abort(reason?: unknown): void {
    if (this.isAborted) return;
    this.isAborted = true;
    this.abortReason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    this.controller?.abort(this.abortReason);
    this.call?.abort(this.abortReason);
  }

  /** AbortLink: the non-stream call in flight, aborted with the attempt. */
  bind(call: AbortableCall | undefined): void {
    this.call = call;
    if (call !== undefined && this.isAborted) call.abort(this.abortReason);
  }

  /** The key's health verdict: `failure` undefined is a success, timed by `latencyMs`. */
  judge(failure: UpstreamFailure | undefined, latencyMs: number | undefined): void {
    if (this.judged) return;
    this.judged = true;
    const health = this.key.health;
    const now = performance.now();
    const verdict = failure === undefined ? 'success' : keyVerdict(failure);
    if (verdict === 'success') health.onSuccess(now, failure === undefined ? latencyMs : undefined, this.routing.breaker, this.routing.adaptive);
    else if (verdict === 'failure') {
      // One failed request is one failure of the key, however many retries it took: a short blip on a
      // one-key provider must not open its circuit alone. A half-open probe's failure always counts.
      const counted = (this.ctx.failedKeys ??= new Set());
      if (counted.has(health) && health.breaker.state !== 'half_open') health.onRepeatFailure(failure!.message);
      else {
        counted.add(health);
        health.onFailure(now, failure!.message, this.routing.breaker, this.routing.adaptive);
      }
    } else health.onCancel();
  }

  end(status: number | undefined, error: Error | undefined, endedAt: number): void {
    const record = this.record;
    if (this.ended) {
      if (error !== undefined && record.error === undefined) record.error = error.message;
      return;
    }
    this.ended = true;
    clearTimeout(this.timer);
    const spent = endedAt - this.startedAt;
    this.ctx.upstreamMs += spent;
    record.latency_ms = Math.round(spent);
    record.status = status;
    if (error !== undefined) {
      record.error = error.message;
      record.failure = error instanceof UpstreamFailure ? error.kind : 'bad_response';
    }
    this.target.provider.limiter.release();
    const lifecycle = this.hooks;
    if (lifecycle.afterAttempt.length > 0) lifecycle.runAfterAttempt(this.ctx, this.target, record);
  }

  /**
   * The total timeout: abort the call. A call in flight ends through its own
   * rejection; a stream handed out ends here too, so its concurrency slot is
   * freed even if nobody pumps it.
   */
  expire(): void {
    this.abort(TOTAL_TIMEOUT);
    if (this.ended || this.response === undefined) return;
    this.key.health.onFailure(performance.now(), 'no complete response before the total timeout', this.routing.breaker, this.routing.adaptive);
    this.end(this.response.status, undefined, performance.now());
  }

  /** Called once by the pump when the stream is over; a failure it met is in `record.error`. */
  finish(): void {
    if (this.ended) return;
    const error = this.record.error;
    if (error !== undefined && !this.ctx.clientGone) {
      // Judged a success at its first byte; the stream broke afterwards: that counts too.
      this.key.health.onFailure(performance.now(), error, this.routing.breaker, this.routing.adaptive);
      this.record.failure ??= 'network';
    }
    this.end(this.response.status, undefined, performance.now());
  }
}

/** Takes a concurrency slot, waiting in the provider's queue when needed (the wait is not overhead). */
export async function takeSlot(ctx: RequestContext, target: Target): Promise<void> {
  const limiter = target.provider.limiter;
  if (limiter.tryAcquire()) return;
  const waitStart = performance.now();
  try {
    await limiter.acquire(ctx.deadline - waitStart); // no longer than the request's deadline allows
  } finally {
    ctx.waitMs += performance.now() - waitStart;
  }
  if (ctx.clientGone) {
    limiter.release();
    throw new UpstreamFailure('aborted', 'client closed the connection');
  }
}

/**
 * Runs one attempt on (target, key). Resolves with the outcome or throws an
 * UpstreamFailure (the pipeline decides what follows) or a GatewayError
 * (queue full/timeout, a request the target cannot take).
 */
export async function runAttempt(deps: AttemptDeps, routing: Routing, ctx: RequestContext, input: PipelineInput, target: Target, key: KeyRuntime): Promise<Outcome> {
  // A call forwarded as bytes (native pass-through, images, audio): raw-attempt.ts.
  if (input.raw !== undefined) return runRawAttempt(deps, routing, ctx, input.raw, target, key);
  const provider = target.provider;
  const format = provider.definition.format;
  // A Responses request to a provider without the Responses API is bridged through its chat endpoint.
  const operation = provider.wireOperation(input.operation, target.model, deps.state.catalog);
  // A request a plugin replaced (routing.setRequest) is translated from its canonical form, never forwarded as it came.
  const passthrough = format === input.nativeFormat && operation === input.operation && input.rewritten !== true;
  // A call to the Responses API (a chat call to a model only it serves, a translated or observed Responses call) goes through formats/responses.
  const codec = operation === 'responses' ? responsesProviderCodec : chatCodecFor(format);
  let body: string;
  let parts: string[] | undefined;
  let unsigned: Record<string, string> | undefined;
  let headers: Record<string, string>;
  let url: string;
  let framing: 'sse' | 'aws-eventstream' | undefined;
  let slot = false;
  try {
    await takeSlot(ctx, target);
    slot = true;
    // The caller's protocol headers go along when the provider speaks the caller's format (forward-headers.ts).
    const endpoint = provider.endpoint(operation, key, target.model, input.stream, format === input.nativeFormat ? input.clientHeaders : undefined);
    const encoded = encodeBody(ctx, input, target, passthrough, endpoint.bodyPatch, routing.strictParams, codec, deps.state.catalog);
    if (typeof encoded === 'string') body = encoded;
    else {
      [body, ...parts] = encoded;
      unsigned = { ...endpoint.headers };
    }
    url = endpoint.url;
    framing = endpoint.streamFraming;
    headers = endpoint.headers;
    const lifecycle = deps.hooks;
    if (lifecycle.beforeAttempt.length > 0) {
      // Plugins see the call before it is signed: a header or body they change is signed as changed.
      const stage = new AttemptStageImpl(target, key.name, ctx.attempts.length + 1, url, headers, body);
      const ran = lifecycle.runBeforeAttempt(ctx, stage);
      if (ran !== undefined) await ran;
      if (typeof stage.body === 'string') body = stage.body;
    }
    if (provider.definition.authorize !== undefined) {
      const context = { baseUrl: provider.baseUrl, apiKey: key.secret, model: target.model, stream: input.stream, options: provider.options };
      headers = { ...headers, ...(await provider.definition.authorize({ method: 'POST', url, headers, body, context })) };
    }
    headers['x-request-id'] ??= ctx.id;
  } catch (error) {
    // Nothing was sent: no verdict on the key, the probe slot (if it was one) is free again.
    if (slot) provider.limiter.release();
    key.health.onCancel();
    throw error;
  }

  const attempt = new UpstreamAttempt(deps.hooks, routing, ctx, target, key, passthrough);
  let response: UpstreamResponse | UpstreamResponse<StreamBody>;
  try {
    // One dispatch handler per call, aborted through the attempt (no AbortSignal): a non-stream
    // answer is read whole, a stream's chunks are pushed to the pump (no body stream per call).
    response = input.stream
      ? await deps.upstream.request({ url, method: 'POST', headers, body, timeouts: provider.timeouts, link: attempt, stream: true })
      : await deps.upstream.request({ url, method: 'POST', headers, body, timeouts: provider.timeouts, link: attempt, whole: true });
  } catch (error) {
    const failure = error as UpstreamFailure;
    attempt.judge(failure, undefined);
    attempt.end(undefined, failure, performance.now());
    throw failure;
  }
  try {
    if (response.status >= 400) throw httpFailure(format, response, await readBody(response.body, attempt));
    if (input.stream) {
      // Nothing reaches the client before the first chunk: a failure until then may still be retried.
      const streamed = response as UpstreamResponse<StreamBody>;
      const first = await streamed.body.first();
      if (first === null) throw new UpstreamFailure('network', 'the stream ended before its first event');
      const notStream = streamProblem(streamed.headers);
      if (notStream !== undefined) throw new UpstreamFailure('bad_response', notStream);
      attempt.response = streamed;
      attempt.framing = framing ?? 'sse';
      // A plugin that reads the answer (streamEvent, finalAnswer) needs canonical chunks even on a pass-through.
      attempt.decoder = passthrough && format === 'openai' && !deps.hooks.readsStreams ? undefined : codec?.createStreamDecoder(codecContextFor(ctx, target.label));
      attempt.judge(undefined, performance.now() - attempt.startedAt);
      return attempt;
    }
    const raw = await readBody(response.body, attempt);
    // The request's other calls, after the first succeeded (send-parts.ts).
    const raws = parts === undefined ? undefined : [raw, ...(await sendParts({
      upstream: deps.upstream, provider, key, model: target.model, url, unsigned: unsigned!, headers, signal: attempt.signal,
      fail: (answer, answerRaw) => httpFailure(format, answer, answerRaw),
    }, parts))];
    const endedAt = performance.now();
    const codecContext = codecContextFor(ctx, target.label);
    let outcome: Outcome;
    if (passthrough) {
      // The caller gets these bytes as the provider's JSON answer: they must be JSON (checked cheaply).
      const problem = passthroughJsonProblem(response.headers, raw);
      if (problem !== undefined) throw new UpstreamFailure('bad_response', problem);
      if (input.operation === 'chat') ctx.usage = passthroughUsage(format, raw, codecContext);
      // Embeddings, legacy completions, Responses (input_tokens/output_tokens): the body's own usage, for cost.
      else ctx.usage = canonicalUsage(format === 'openai' ? openAIUsage(raw) : (parseJson(raw) as { usage?: Usage } | undefined)?.usage);
      if (ctx.traceId !== undefined) noteResponse(ctx, parseJson(raw)); // traced: response model, finish reasons
      outcome = { kind: 'json', target, passthrough, raw };
    } else {
      const json = parseJson(raw);
      if (json === undefined) throw new UpstreamFailure('bad_response', 'the response body is not JSON');
      try {
        const embeddings = input.operation === 'embeddings' ? embeddingCodecFor(format, provider.definition.id)! : undefined;
        const result = embeddings !== undefined
          ? (raws === undefined
            ? embeddings.decodeResponse(json, codecContext)
            : mergeEmbeddingResponses(raws.map((part) => embeddings.decodeResponse(parseJson(part), codecContext))))
          : codec!.decodeResponse(json, codecContext);
        ctx.usage = result.usage as Usage | undefined;
        noteResponse(ctx, result);
        outcome = { kind: 'json', target, passthrough, result };
      } catch (error) {
        throw decodeFailure(error);
      }
    }
    attempt.judge(undefined, endedAt - attempt.startedAt);
    attempt.end(response.status, undefined, endedAt);
    return outcome;
  } catch (error) {
    attempt.judge(error instanceof UpstreamFailure ? error : undefined, undefined);
    attempt.end(response.status, error as Error, performance.now());
    response.body.destroy();
    throw error;
  }
}
