/**
 * The objects handed to plugins at each stage (the public interfaces in
 * types.ts), and what built-in plugins read behind them (the planned
 * targets, the pipeline input, the provider runtime).
 */
import type { ChatCompletion, ChatRequest, EmbeddingRequest, EmbeddingResponse, Usage } from '../formats/openai/types.js';
import type { PipelineInput } from '../gateway/pipeline.js';
import type { GatewayState } from '../gateway/provider-runtime.js';
import type { RequestContext } from '../gateway/request-context.js';
import { planRequest, type Plan, type Target } from '../gateway/router.js';
import type { AttemptStage, CompletedRequest, FinalAnswer, PluginTarget, RoutingStage, Timings } from './types.js';

export function pluginTarget(target: Target): PluginTarget {
  return { provider: target.provider.name, model: target.model, label: target.label };
}

/** The router's plan for a request; a native route names its provider, and its one target is the plan. */
export function planInput(state: GatewayState, input: PipelineInput): Plan {
  const pinned = input.raw?.targets;
  if (pinned !== undefined) return { targets: pinned, tierStarts: [0, pinned.length], name: input.model };
  return planRequest(state, input.model, input.fallbacks, input.operation);
}

/** `beforeRouting`: the model and request may change; the plan is made on first need, for the model as it is then. */
export class RoutingStageImpl implements RoutingStage {
  private planned: Plan | undefined;
  private plannedFor: string | undefined;

  constructor(
    private readonly state: GatewayState,
    private readonly ctx: RequestContext,
    readonly input: PipelineInput,
  ) {}

  get model(): string {
    return this.input.model;
  }

  set model(value: string) {
    if (typeof value !== 'string' || value.length === 0) throw new TypeError('routing.model must be a non-empty string');
    this.input.model = value;
  }

  setRequest(request: ChatRequest | EmbeddingRequest): void {
    rewriteInput(this.ctx, this.input, request);
  }

  /** The router's plan for the current model (built-ins: governance admission). */
  plan(): Plan {
    const model = this.input.model;
    if (this.planned === undefined || this.plannedFor !== model) {
      this.planned = planInput(this.state, this.input);
      this.plannedFor = model;
    }
    return this.planned;
  }

  get targets(): readonly PluginTarget[] {
    return this.plan().targets.map(pluginTarget);
  }
}

/** A call with one target fixed in advance (a token count): admitted like a request, never rerouted. */
export class FixedRoutingStage extends RoutingStageImpl {
  constructor(state: GatewayState, ctx: RequestContext, input: PipelineInput, private readonly target: Target) {
    super(state, ctx, input);
  }

  override plan(): Plan {
    return { targets: [this.target], tierStarts: [0, 1], name: this.target.label };
  }
}

/**
 * A plugin replaced the request. A caller speaking OpenAI chat, completions or embeddings sends
 * the canonical shape itself, so a pass-through forwards the new body; any other caller's request
 * is translated from the new canonical one (its original bytes are never forwarded).
 */
function rewriteInput(ctx: RequestContext, input: PipelineInput, request: ChatRequest | EmbeddingRequest): void {
  if (typeof request !== 'object' || request === null) throw new TypeError('routing.setRequest takes the canonical request object');
  input.canonical = () => request;
  if (input.nativeFormat === 'openai' && input.operation !== 'responses') {
    input.passthroughBody = (model) => {
      const body: Record<string, unknown> = { ...request, model };
      if (ctx.addedStreamUsage) body.stream_options = { ...(request.stream_options as object | undefined), include_usage: true };
      return JSON.stringify(body);
    };
  } else input.rewritten = true;
}

/** `beforeAttempt`: one upstream call about to be sent. */
export class AttemptStageImpl implements AttemptStage {
  constructor(
    /** The provider runtime (built-ins: tracing reads its attributes). */
    readonly runtime: Target,
    readonly keyName: string,
    readonly attempt: number,
    readonly url: string,
    readonly headers: Record<string, string>,
    public body: string,
  ) {}

  get target(): PluginTarget {
    return pluginTarget(this.runtime);
  }

  get format(): string {
    return this.runtime.provider.definition.format;
  }
}

export function timingsOf(ctx: RequestContext, totalMs = ctx.totalMs()): Timings {
  return { totalMs, upstreamMs: ctx.upstreamMs, overheadMs: ctx.overheadMs(totalMs), ttftMs: ctx.ttftMs };
}

type Canonical = ChatCompletion | EmbeddingResponse;

/** The answer's price, from whoever knows prices (governance); undefined when nobody does. */
export type CostOf = (ctx: RequestContext) => number | null;

export class FinalAnswerImpl implements FinalAnswer {
  private decoded: Canonical | undefined;
  private read = false;
  /** Set by `replace`: what the caller gets instead. */
  replacement: Canonical | undefined;
  readonly timings: Timings;

  constructor(
    private readonly ctx: RequestContext,
    readonly stream: boolean,
    readonly completed: boolean,
    readonly headers: Readonly<Record<string, string>>,
    private readonly decode: () => Canonical | undefined,
    private readonly costOf: CostOf | undefined,
  ) {
    this.timings = timingsOf(ctx);
  }

  get status(): number {
    return this.ctx.status;
  }

  get source(): 'upstream' | 'plugin' {
    return this.ctx.answeredBy === undefined ? 'upstream' : 'plugin';
  }

  get usage(): Usage | undefined {
    return this.ctx.usage;
  }

  get costUsd(): number | null | undefined {
    const ctx = this.ctx;
    if (ctx.costUsd === undefined && this.costOf !== undefined) ctx.costUsd = this.costOf(ctx);
    return ctx.costUsd;
  }

  response(): Canonical | undefined {
    if (this.replacement !== undefined) return this.replacement;
    if (!this.read) {
      this.read = true;
      try {
        this.decoded = this.decode();
      } catch {
        this.decoded = undefined; // a provider answer no codec reads: plugins see no response
      }
    }
    return this.decoded;
  }

  replace(response: Canonical): void {
    if (this.stream) throw new Error('finalAnswer.replace: a streamed answer was already sent; change it chunk by chunk in streamEvent');
    if (typeof response !== 'object' || response === null) throw new TypeError('finalAnswer.replace takes a canonical response object');
    this.replacement = response;
  }
}

export class CompletedImpl implements CompletedRequest {
  constructor(
    private readonly ctx: RequestContext,
    readonly timings: Timings,
  ) {}

  get status(): number {
    return this.ctx.status;
  }

  get usage(): Usage | undefined {
    return this.ctx.usage;
  }

  get costUsd(): number | null | undefined {
    return this.ctx.costUsd;
  }

  get errorCode(): string | undefined {
    return this.ctx.error?.code;
  }

  get errorMessage(): string | undefined {
    return this.ctx.error?.message ?? this.ctx.errorMessage;
  }
}
