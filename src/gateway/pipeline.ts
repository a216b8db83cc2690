/**
 * One request's upstream work, the same for every surface: plan targets,
 * try them in order with retries, encode with the provider's codec (or pass
 * the caller's bytes through when formats match), decode the answer.
 */
import { performance } from 'node:perf_hooks';
import { GatewayError } from '../errors/gateway-error.js';
import { decodeOpenAIError } from '../formats/openai/codec.js';
import type { ChatCompletion, ChatRequest, EmbeddingRequest, EmbeddingResponse, Usage } from '../formats/openai/types.js';
import { chatCodecFor, embeddingCodecFor } from '../formats/registry.js';
import type { CodecContext, CodecWarning, StreamDecoder, UpstreamErrorInfo, WireFormat } from '../formats/types.js';
import { dropGeminiOnlyFields, GEMINI_ONLY_FIELDS } from '../formats/gemini/index.js';
import type { Operation } from '../providers/types.js';
import type { Gateway } from './gateway.js';
import type { KeyRuntime } from './provider-runtime.js';
import type { RequestContext } from './request-context.js';
import { decideRetry, isRetryable } from './retry-policy.js';
import { planTargets, type Target } from './router.js';
import { readBody, TOTAL_TIMEOUT, type UpstreamResponse } from './upstream.js';
import { parseRetryAfter, UpstreamFailure } from './upstream-failure.js';

export type UpstreamOperation = Exclude<Operation, 'models'>;

/** What a surface hands the pipeline. */
export interface PipelineInput {
  operation: UpstreamOperation;
  /** The model as the caller named it. */
  model: string;
  fallbacks: readonly string[] | undefined;
  stream: boolean;
  /** The caller's wire format: when the provider speaks it too, bytes pass through. */
  nativeFormat: WireFormat;
  /** The caller's body re-targeted at `model`, for a pass-through. */
  passthroughBody(model: string): string;
  /** The request in canonical form (computed lazily: a pass-through never needs it). */
  canonical(): ChatRequest | EmbeddingRequest;
}

interface OutcomeBase {
  target: Target;
  /** True when the provider speaks the caller's format and its bytes are forwarded as they are. */
  passthrough: boolean;
}

export interface JsonOutcome extends OutcomeBase {
  kind: 'json';
  /** The provider's bytes (pass-through). */
  raw?: Buffer;
  /** The decoded answer (codec path). */
  result?: ChatCompletion | EmbeddingResponse;
}

export interface StreamOutcome extends OutcomeBase {
  kind: 'stream';
  response: UpstreamResponse;
  framing: 'sse' | 'aws-eventstream';
  /** Upstream events -> canonical chunks; also used on a pass-through to observe usage. */
  decoder: StreamDecoder | undefined;
  signal: AbortSignal;
  /** Stops the total-timeout timer and records the upstream time. Call once when the body ends. */
  finish(): void;
}

export type Outcome = JsonOutcome | StreamOutcome;

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

function errorInfo(format: WireFormat, status: number, raw: Buffer): UpstreamErrorInfo {
  const body = parseJson(raw);
  if (body === undefined) {
    const text = raw.toString('utf8').trim().slice(0, 300);
    return { message: text === '' ? `upstream returned HTTP ${status}` : `upstream returned HTTP ${status}: ${text}` };
  }
  const codec = format === 'openai' ? undefined : chatCodecFor(format);
  return codec === undefined ? decodeOpenAIError(status, body) : codec.decodeError(status, body);
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Reads the usage of a pass-through answer (only the OpenAI shape is read without a codec). */
function passthroughUsage(format: WireFormat, raw: Buffer, context: CodecContext): Usage | undefined {
  const body = parseJson(raw) as Record<string, unknown> | undefined;
  if (body === undefined) return undefined;
  if (format === 'openai') return body.usage as Usage | undefined;
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

export class Pipeline {
  constructor(private readonly gateway: Gateway) {}

  codecContext(ctx: RequestContext, model: string): CodecContext {
    return { id: `chatcmpl-${ctx.id}`, created: Math.floor(ctx.time / 1000), model };
  }

  /** Runs the request: returns the first successful outcome or throws the final GatewayError. */
  async execute(ctx: RequestContext, input: PipelineInput): Promise<Outcome> {
    const state = this.gateway.state;
    ctx.requestedModel = input.model;
    ctx.stream = input.stream;
    const targets = planTargets(state, input.model, input.fallbacks, input.operation);
    for (const hooks of this.gateway.hooks) {
      if (hooks.admit !== undefined) await hooks.admit(ctx, input, targets);
    }
    let last: UpstreamFailure | undefined;
    let lastTarget: Target | undefined;
    for (const target of targets) {
      const provider = target.provider;
      const tried = new Set<string>();
      const deadline = performance.now() + provider.timeouts.totalMs;
      let retries = 0;
      for (;;) {
        if (ctx.clientGone) throw new UpstreamFailure('aborted', 'client closed the connection').toGatewayError(provider.name);
        const key = provider.pickKey(target.model, tried) ?? (tried.size > 0 ? provider.pickKey(target.model, undefined) : undefined);
        if (key === undefined && provider.keys.length > 0) break; // no key may serve this model here
        try {
          const outcome = await this.attempt(ctx, input, target, key);
          ctx.target = target;
          return outcome;
        } catch (error) {
          if (!(error instanceof UpstreamFailure)) throw error;
          last = error;
          lastTarget = target;
          if (error.kind === 'aborted') throw error.toGatewayError(provider.name);
          if (key !== undefined) tried.add(key.id);
          // A rejected key: another key of the same provider may work, at once.
          const keyRejected = error.kind === 'http' && (error.status === 401 || error.status === 403);
          if (keyRejected && provider.pickKey(target.model, tried) !== undefined) continue;
          if (!isRetryable(error)) {
            if (keyRejected) break; // every key rejected: the next target may serve
            throw error.toGatewayError(provider.name);
          }
          const decision = decideRetry({
            failure: error,
            retriesDone: retries,
            maxRetries: provider.maxRetries,
            timeLeftMs: deadline - performance.now(),
            random: Math.random(),
          });
          if (!decision.retry) break;
          retries++;
          const sleptAt = performance.now();
          await sleep(decision.delayMs, undefined);
          ctx.waitMs += performance.now() - sleptAt;
        }
      }
    }
    if (last !== undefined && lastTarget !== undefined) throw last.toGatewayError(lastTarget.provider.name);
    throw new GatewayError('HD_ERR_UPSTREAM_UNAVAILABLE', `No key of the configured providers may serve "${input.model}".`);
  }

  private encodeBody(ctx: RequestContext, input: PipelineInput, target: Target, passthrough: boolean, patch: Readonly<Record<string, unknown>> | undefined): string {
    if (passthrough) {
      const body = input.passthroughBody(target.model);
      return patch === undefined ? body : JSON.stringify({ ...(JSON.parse(body) as Record<string, unknown>), ...patch });
    }
    const format = target.provider.definition.format;
    if (input.operation === 'embeddings') {
      const codec = embeddingCodecFor(format);
      if (codec === undefined) throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Provider "${target.provider.name}" does not support embeddings.`, { param: 'model' });
      const encoded = codec.encodeRequest(input.canonical() as EmbeddingRequest, { model: target.model });
      ctx.addWarnings(encoded.warnings);
      return JSON.stringify(encoded.body);
    }
    const codec = chatCodecFor(format);
    if (codec === undefined || input.operation !== 'chat') {
      throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Provider "${target.provider.name}" cannot serve this request format.`, { param: 'model' });
    }
    let request = input.canonical() as ChatRequest;
    const foreign: CodecWarning[] = [];
    if (format !== 'gemini' && hasGeminiOnlyFields(request)) {
      request = { ...request };
      foreign.push(...dropGeminiOnlyFields(request));
    }
    const encoded = codec.encodeRequest(request, { model: target.model, stream: input.stream });
    if (foreign.length > 0) encoded.warnings.unshift(...foreign);
    if (encoded.warnings.length > 0) {
      if (this.gateway.state.routing.strictParams) {
        const first = encoded.warnings[0];
        throw new GatewayError('HD_ERR_REQUEST_UNSUPPORTED_PARAM', `${first.message} (strict mode)`, { param: first.param });
      }
      ctx.addWarnings(encoded.warnings);
    }
    return JSON.stringify(patch === undefined ? encoded.body : { ...(encoded.body as Record<string, unknown>), ...patch });
  }

  private async attempt(ctx: RequestContext, input: PipelineInput, target: Target, key: KeyRuntime | undefined): Promise<Outcome> {
    const provider = target.provider;
    const format = provider.definition.format;
    const passthrough = format === input.nativeFormat;
    const endpoint = provider.endpoint(input.operation, key, target.model, input.stream);
    const body = this.encodeBody(ctx, input, target, passthrough, endpoint.bodyPatch);
    let headers = endpoint.headers;
    if (provider.definition.authorize !== undefined) {
      const context = { baseUrl: provider.baseUrl, apiKey: key?.secret, model: target.model, stream: input.stream, options: provider.options };
      headers = { ...headers, ...(await provider.definition.authorize({ method: 'POST', url: endpoint.url, headers, body, context })) };
    }
    headers['x-request-id'] ??= ctx.id;
    for (const hooks of this.gateway.hooks) hooks.beforeAttempt?.(ctx, target, headers);

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(TOTAL_TIMEOUT), provider.timeouts.totalMs);
    ctx.attachController(controller);
    if (ctx.clientGone) controller.abort();
    const started = performance.now();
    const record = { provider: provider.name, model: target.model, key: key?.name, status: undefined as number | undefined, error: undefined as string | undefined, latency_ms: 0 };
    ctx.attempts.push(record);
    let settled = false;
    const settle = (status: number | undefined, error?: string): void => {
      settled = true;
      const spent = performance.now() - started;
      ctx.upstreamMs += spent;
      record.latency_ms = Math.round(spent);
      record.status = status;
      if (error !== undefined) record.error = error;
      for (const hooks of this.gateway.hooks) hooks.afterAttempt?.(ctx, target, record);
    };
    let response: UpstreamResponse;
    try {
      response = await this.gateway.upstream.request({ url: endpoint.url, method: 'POST', headers, body, timeouts: provider.timeouts, signal: controller.signal });
    } catch (error) {
      clearTimeout(timer);
      const failure = error as UpstreamFailure;
      settle(undefined, failure.message);
      throw failure;
    }
    const codecContext = this.codecContext(ctx, target.label);
    try {
      if (response.status >= 400) {
        const raw = await readBody(response.body, controller.signal);
        const info = errorInfo(format, response.status, raw);
        const shouldRetry = headerString(response.headers['x-should-retry']);
        throw new UpstreamFailure(
          'http',
          info.message,
          response.status,
          parseRetryAfter(response.headers, Date.now()),
          shouldRetry === 'true' ? true : shouldRetry === 'false' ? false : undefined,
          info.type,
          info.code,
          info.param,
        );
      }
      if (input.stream) {
        let done = false;
        const stream: StreamOutcome = {
          kind: 'stream',
          target,
          passthrough,
          response,
          framing: endpoint.streamFraming ?? 'sse',
          decoder: passthrough && format === 'openai' ? undefined : chatCodecFor(format)?.createStreamDecoder(codecContext),
          signal: controller.signal,
          finish: () => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            settle(response.status);
          },
        };
        return stream;
      }
      const raw = await readBody(response.body, controller.signal);
      clearTimeout(timer);
      settle(response.status);
      if (passthrough) {
        if (input.operation === 'chat') ctx.usage = passthroughUsage(format, raw, codecContext);
        else if (input.operation === 'embeddings') ctx.usage = (parseJson(raw) as { usage?: Usage } | undefined)?.usage;
        return { kind: 'json', target, passthrough, raw };
      }
      const json = parseJson(raw);
      if (json === undefined) throw new UpstreamFailure('bad_response', 'the response body is not JSON');
      try {
        const result = input.operation === 'embeddings'
          ? embeddingCodecFor(format)!.decodeResponse(json, codecContext)
          : chatCodecFor(format)!.decodeResponse(json, codecContext);
        ctx.usage = result.usage as Usage | undefined;
        return { kind: 'json', target, passthrough, result };
      } catch (error) {
        if (error instanceof GatewayError) throw error;
        throw new UpstreamFailure('bad_response', (error as Error).message);
      }
    } catch (error) {
      clearTimeout(timer);
      if (!settled) {
        settle(response.status, (error as Error).message);
      } else if (record.error === undefined) {
        record.error = (error as Error).message;
      }
      response.body.destroy();
      throw error;
    }
  }
}
