/**
 * OpenTelemetry tracing of the request path. Loaded with a dynamic import
 * only when tracing is on (telemetry.ts): when it is off, not one module of
 * the SDK is read.
 *
 * Per request: a SERVER span `POST /v1/chat/completions` that continues the
 * caller's W3C trace (traceparent/tracestate), and a CLIENT span per upstream
 * attempt, `chat gpt-4o-mini`, whose context goes upstream in `traceparent`.
 * Both carry GenAI semantic-convention attributes (gen-ai-attributes.ts).
 *
 * The SDK is used through its parts (tracer provider, batch processor, OTLP
 * exporter, W3C propagator), per gateway instance, and nothing is registered
 * globally: spans are started with explicit parents from the gateway's hooks,
 * so no context manager, no monkey-patching instrumentation, and several
 * gateways (tests, embedding) can live in one process. NodeSDK would set
 * process-wide providers and also configure log exporters from the
 * environment; its building blocks give the same spans without that.
 * @see https://opentelemetry.io/docs/languages/js/instrumentation/#create-spans
 * @see https://www.w3.org/TR/trace-context/
 */
import { performance } from 'node:perf_hooks';
import {
  ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, defaultTextMapSetter, trace,
  type Attributes, type Context, type Span, type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler,
  type Sampler, type SamplingResult, type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { FinishedRequest, GatewayHooks } from '../gateway/gateway.js';
import type { ProviderRuntime } from '../gateway/provider-runtime.js';
import type { AttemptRecord, RequestContext } from '../gateway/request-context.js';
import { VERSION } from '../version.js';
import { ATTR, OPERATION_NAME, genAiProviderName, serverOf } from './gen-ai-attributes.js';
import { buildResource } from './otel-resource.js';
import { redactText } from './secrets.js';
import type { TelemetryConfig } from './settings.js';

const STATE = 'heimdall.trace';

interface TraceState {
  span: Span;
  /** The server span's context: the parent of every attempt span. */
  context: Context;
  operation: string;
  attempts: number;
  attempt: Span | undefined;
  /** The successful attempt, ended once the response's model, usage and finish reasons are known. */
  served: { span: Span; endedAt: number } | undefined;
}

export interface TracingOptions {
  settings: TelemetryConfig;
  /** Replaces the OTLP exporter (tests). */
  exporter?: SpanExporter;
}

export interface Tracing {
  /** Span start and attempt spans; must run before other hooks (a refused request still gets its span). */
  readonly hooks: GatewayHooks;
  /** The share of new traces recorded (a live setting: telemetry.tracing.sample_ratio). */
  readonly sampleRatio: number;
  setSampleRatio(ratio: number): void;
  /** Ends the spans when the request is over (after settle hooks: cost and usage are known). */
  onFinish(finished: FinishedRequest): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

function stateOf(ctx: RequestContext): TraceState | undefined {
  return ctx.hookState.get(STATE) as TraceState | undefined;
}

function setIfDefined(span: Span, key: string, value: string | number | boolean | string[] | undefined | null): void {
  if (value !== undefined && value !== null) span.setAttribute(key, value);
}

/** The response facts both the served attempt span and the server span carry. */
function setResponseAttributes(span: Span, ctx: RequestContext): void {
  setIfDefined(span, ATTR.genAiResponseModel, ctx.responseModel ?? ctx.target?.model);
  setIfDefined(span, ATTR.genAiFinishReasons, ctx.finishReasons);
  const usage = ctx.usage;
  if (usage !== undefined) {
    setIfDefined(span, ATTR.genAiInputTokens, usage.prompt_tokens);
    setIfDefined(span, ATTR.genAiOutputTokens, usage.completion_tokens);
    setIfDefined(span, ATTR.cachedTokens, usage.prompt_tokens_details?.cached_tokens);
  }
}

function attemptErrorType(record: AttemptRecord): string | undefined {
  if (record.status !== undefined && record.status >= 400) return String(record.status);
  if (record.status === undefined) return record.failure ?? 'network';
  return record.error === undefined ? undefined : record.failure ?? 'stream';
}

/**
 * The root sampler: a trace-id ratio that can change while the gateway runs (a config
 * reload). The caller's sampled flag still decides for continued traces (ParentBasedSampler).
 */
class AdjustableRatioSampler implements Sampler {
  #ratio: number;
  #inner: TraceIdRatioBasedSampler;

  constructor(ratio: number) {
    this.#ratio = ratio;
    this.#inner = new TraceIdRatioBasedSampler(ratio);
  }

  get ratio(): number {
    return this.#ratio;
  }

  set ratio(ratio: number) {
    if (ratio === this.#ratio) return;
    this.#ratio = ratio;
    this.#inner = new TraceIdRatioBasedSampler(ratio);
  }

  shouldSample(context: Context, traceId: string): SamplingResult {
    return this.#inner.shouldSample(context, traceId);
  }

  toString(): string {
    return `AdjustableRatioSampler{${this.#ratio}}`;
  }
}

export function createTracing(options: TracingOptions): Tracing {
  const tracing = options.settings.tracing;
  if (tracing === undefined) throw new Error('createTracing: tracing is off in these settings');
  const exporter = options.exporter ?? new OTLPTraceExporter({ url: tracing.endpoint, headers: { ...tracing.headers } });
  const processor = new BatchSpanProcessor(exporter);
  const ratio = new AdjustableRatioSampler(tracing.sampleRatio);
  const provider = new BasicTracerProvider({
    resource: buildResource(options.settings),
    sampler: new ParentBasedSampler({ root: ratio }),
    spanProcessors: [processor],
  });
  const tracer: Tracer = provider.getTracer('heimdall', VERSION);
  const propagator = new W3CTraceContextPropagator();
  /** Per-provider constant attributes, computed once per provider runtime (new ones after a reload). */
  const providerAttributes = new WeakMap<ProviderRuntime, Attributes>();

  const attributesOf = (provider: ProviderRuntime): Attributes => {
    let attributes = providerAttributes.get(provider);
    if (attributes === undefined) {
      const name = genAiProviderName(provider.definition.id);
      const server = serverOf(provider.baseUrl);
      attributes = { [ATTR.genAiProvider]: name, [ATTR.genAiSystem]: name, [ATTR.provider]: provider.name };
      if (server !== undefined) {
        attributes[ATTR.serverAddress] = server.address;
        attributes[ATTR.serverPort] = server.port;
      }
      providerAttributes.set(provider, attributes);
    }
    return attributes;
  };

  const hooks: GatewayHooks = {
    begin(ctx, request) {
      const parent = propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
      const span = tracer.startSpan(`${ctx.method} ${ctx.route}`, {
        kind: SpanKind.SERVER,
        startTime: ctx.startedAt,
        attributes: {
          [ATTR.httpMethod]: ctx.method,
          [ATTR.httpRoute]: ctx.route,
          [ATTR.requestId]: ctx.id,
          [ATTR.surface]: ctx.surface,
        },
      }, parent);
      ctx.traceId = span.spanContext().traceId;
      const state: TraceState = { span, context: trace.setSpan(parent, span), operation: 'chat', attempts: 0, attempt: undefined, served: undefined };
      ctx.hookState.set(STATE, state);
    },

    admit(ctx, input) {
      const state = stateOf(ctx);
      if (state === undefined) return;
      state.operation = OPERATION_NAME[input.operation];
      if (!state.span.isRecording()) return;
      state.span.setAttributes({ [ATTR.genAiOperation]: state.operation, [ATTR.genAiRequestModel]: input.model, [ATTR.stream]: input.stream });
    },

    beforeAttempt(ctx, target, headers) {
      const state = stateOf(ctx);
      if (state === undefined) return;
      state.attempts++;
      const span = tracer.startSpan(`${state.operation} ${target.model}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          ...attributesOf(target.provider),
          [ATTR.genAiOperation]: state.operation,
          [ATTR.genAiRequestModel]: target.model,
          [ATTR.attempt]: state.attempts,
        },
      }, state.context);
      state.attempt = span;
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
    },

    afterAttempt(ctx, _target, record) {
      const state = stateOf(ctx);
      const span = state?.attempt;
      if (state === undefined || span === undefined) return;
      state.attempt = undefined;
      const endedAt = performance.now();
      if (span.isRecording()) {
        setIfDefined(span, ATTR.httpStatus, record.status);
        setIfDefined(span, ATTR.key, record.key);
      }
      const errorType = attemptErrorType(record);
      if (errorType === undefined) {
        state.served = { span, endedAt };
        return;
      }
      span.setAttribute(ATTR.errorType, errorType);
      span.setStatus({ code: SpanStatusCode.ERROR, message: redactText(record.error ?? `HTTP ${record.status}`) });
      span.end(endedAt);
    },
  };

  const onFinish = ({ ctx, overheadMs }: FinishedRequest): void => {
    const state = stateOf(ctx);
    if (state === undefined) return;
    ctx.hookState.delete(STATE);
    const now = performance.now();
    if (state.attempt !== undefined) {
      // An attempt the pipeline never settled (an exception between the call and its result).
      state.attempt.setStatus({ code: SpanStatusCode.ERROR, message: 'attempt did not complete' });
      state.attempt.end(now);
    }
    if (state.served !== undefined) {
      if (state.served.span.isRecording()) setResponseAttributes(state.served.span, ctx);
      state.served.span.end(state.served.endedAt);
    }
    const span = state.span;
    if (span.isRecording()) {
      span.setAttribute(ATTR.httpStatus, ctx.status);
      span.setAttribute(ATTR.attempts, ctx.attempts.length);
      span.setAttribute(ATTR.cache, ctx.cache);
      span.setAttribute(ATTR.overheadMs, Math.round(overheadMs * 1000) / 1000);
      setIfDefined(span, ATTR.genAiRequestModel, ctx.requestedModel);
      setIfDefined(span, ATTR.virtualKey, ctx.virtualKeyId);
      setIfDefined(span, ATTR.costUsd, ctx.costUsd);
      if (ctx.ttftMs !== undefined) span.setAttribute(ATTR.ttftMs, Math.round(ctx.ttftMs * 1000) / 1000);
      if (ctx.target !== undefined) {
        const provider = attributesOf(ctx.target.provider);
        span.setAttributes({ [ATTR.genAiProvider]: provider[ATTR.genAiProvider], [ATTR.genAiSystem]: provider[ATTR.genAiSystem], [ATTR.provider]: provider[ATTR.provider] });
        setResponseAttributes(span, ctx);
      }
      if (ctx.status >= 500) {
        span.setAttribute(ATTR.errorType, String(ctx.status));
        const message = ctx.error?.message ?? ctx.errorMessage;
        span.setStatus({ code: SpanStatusCode.ERROR, message: message === undefined ? undefined : redactText(message) });
      }
    }
    span.end(now);
  };

  return {
    hooks,
    get sampleRatio() {
      return ratio.ratio;
    },
    setSampleRatio(value: number) {
      ratio.ratio = value;
    },
    onFinish,
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
