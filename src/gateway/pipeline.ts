/**
 * One request's upstream work, the same for every surface: plan the tiers
 * (router.ts), pick a (target, key) in the current tier (picker.ts), run the
 * attempt (attempt.ts), and on failure decide what follows:
 *
 * - a rejected key (401/403): another key of the tier at once, else the next tier;
 * - a context-window or content-policy refusal: the named fallbacks for it, when configured;
 * - a retryable failure: a retry within the tier (another key first, at once; the same key after
 *   backoff or Retry-After), bounded by the provider's retry count and time budget; then the next tier;
 * - anything else: the caller's error, at once.
 *
 * Keys whose circuit is open are skipped; when nothing can take the request
 * the caller gets 503 (or 429 when queues are full) at once, with Retry-After.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { GatewayError } from '../errors/gateway-error.js';
import type { ChatCompletion, ChatRequest, EmbeddingRequest, EmbeddingResponse } from '../formats/openai/types.js';
import type { CodecContext, StreamDecoder, WireFormat } from '../formats/types.js';
import type { Operation } from '../providers/types.js';
import { codecContextFor, runAttempt } from './attempt.js';
import { isContentPolicyError, isContextWindowError, isKeyRejected } from './failure-class.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { Picker, Tried } from './picker.js';
import type { GatewayState } from './provider-runtime.js';
import type { RequestContext } from './request-context.js';
import { decideRetry, isRetryable } from './retry-policy.js';
import { filterPlan, planRequest, specialFallbackPlan, type Plan, type Target } from './router.js';
import type { StreamBody, UpstreamResponse } from './upstream.js';
import { UpstreamFailure } from './upstream-failure.js';
import type { EarlyAnswer } from '../plugins/types.js';
import { planInput, RoutingStageImpl } from '../plugins/stages.js';
import type { RawCall, RawOutcome } from './raw-attempt.js';

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
  /** The output cap the caller set (max_tokens and its kin), read without decoding; governance reserves budget from it. */
  maxOutputTokens?: number;
  /** The caller's request headers: a provider of the caller's format gets its protocol headers (forward-headers.ts). */
  clientHeaders?: IncomingHttpHeaders;
  /** A plugin replaced the request (routing.setRequest): it is translated from `canonical()`, never passed through. */
  rewritten?: boolean;
  /** The body's `heimdall_cache` field (cache controls for SDKs without headers), taken out of the body. */
  cacheControl?: unknown;
  /** The caller's JSON body as read (OpenAI surfaces; `model` is rewritten per attempt): the cache keys a Responses request on it. */
  requestBody?: Readonly<Record<string, unknown>>;
  /** A call forwarded as bytes, its answer streamed back as bytes (raw-attempt.ts). */
  raw?: RawCall;
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
  /** Its body pushes each chunk to the pump; failures come classified (aborted, timeout, network). */
  response: UpstreamResponse<StreamBody>;
  framing: 'sse' | 'aws-eventstream';
  /** Upstream events -> canonical chunks; also used on a pass-through to observe usage. */
  decoder: StreamDecoder | undefined;
  /** Stops the total-timeout timer and records the upstream time. Call once when the body ends. */
  finish(): void;
}

/** A plugin answered at `beforeRouting` (cache, guardrail, mock): canonical, rendered in the caller's format. */
export interface AnswerOutcome {
  kind: 'answer';
  answer: EarlyAnswer;
}

export type Outcome = JsonOutcome | StreamOutcome | AnswerOutcome | RawOutcome;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A timeout this close to the deadline is the deadline's (timers fire a little early or late). */
const DEADLINE_SLACK_MS = 5;

/** The request's total time ran out (504 in the caller's format). */
function deadlineError(ctx: RequestContext): GatewayError {
  const attempts = ctx.attempts.length;
  return new GatewayError(
    'HD_ERR_REQUEST_DEADLINE',
    `No answer within the request's total time of ${ctx.deadlineMs} ms (timeouts.total_ms) after ${attempts} attempt${attempts === 1 ? '' : 's'}.`,
  );
}

/** Which named fallback list a failure switched to (each at most once per request). */
const SWITCHED_CONTEXT = 1;
const SWITCHED_POLICY = 2;

/** What stopped tiers from being tried at all, for the final error when no attempt was made. */
interface Blocked {
  breaker: boolean;
  retryAt: number;
  queue: GatewayError | undefined;
}

export class Pipeline {
  private readonly picker = new Picker();

  constructor(private readonly deps: PipelineDeps) {}

  codecContext(ctx: RequestContext, model: string): CodecContext {
    return codecContextFor(ctx, model);
  }

  /** Runs the request: returns the first successful outcome or throws the final GatewayError. */
  async execute(ctx: RequestContext, input: PipelineInput): Promise<Outcome> {
    const state = this.deps.state;
    ctx.requestedModel = input.model;
    ctx.stream = input.stream;
    ctx.input = input;
    const lifecycle = this.deps.hooks;
    let plan: Plan;
    if (lifecycle.beforeRouting.length > 0) {
      // Plugins in their order: governance admits (over the planned targets), others may reroute or answer.
      const stage = new RoutingStageImpl(state, ctx, input);
      const ran = lifecycle.runBeforeRouting(ctx, stage);
      const answer = ran instanceof Promise ? await ran : ran;
      if (answer !== undefined) return earlyAnswer(answer, ctx);
      plan = stage.plan();
    } else plan = planInput(state, input);
    // A raw call may name more models than it is sent to (a batch's requests): governance saw them all
    // (plugins/governance.ts), and every one must be allowed.
    const named = input.raw?.alsoNamed;
    if (named !== undefined && ctx.targetFilter !== undefined) {
      const refused = named.find((target) => !ctx.targetFilter!(target));
      if (refused !== undefined) {
        throw new GatewayError('HD_ERR_AUTH_FORBIDDEN', `The virtual key may not use the model "${refused.label}" that the request names.`, { param: 'model' });
      }
    }
    // A plugin (governance) may refuse some targets: they are never attempted, fallback plans included.
    // Awaited, not returned: an async function that returns a promise resolves its own with it two microtask turns later.
    return await this.run(ctx, input, state, ctx.targetFilter === undefined ? plan : filterPlan(plan, ctx.targetFilter));
  }

  private async run(ctx: RequestContext, input: PipelineInput, state: GatewayState, initial: Plan): Promise<Outcome> {
    const routing = state.routing;
    const picker = this.picker;
    let plan = initial;
    let last: UpstreamFailure | GatewayError | undefined;
    let lastProvider = '';
    let tried: Tried | undefined;
    let switched = 0;
    let blocked: Blocked | undefined;
    let tier = 0;
    tiers: while (tier < plan.tierStarts.length - 1) {
      const start = plan.tierStarts[tier];
      const end = plan.tierStarts[tier + 1];
      const targets = plan.targets;
      tried?.clear();
      let retries = 0;
      let firstAt = 0;
      let untriedOnly = false;
      let chosen = false;
      for (;;) {
        if (ctx.clientGone) throw new UpstreamFailure('aborted', 'client closed the connection').toGatewayError(lastProvider || 'upstream');
        const now = performance.now();
        if (!chosen && !picker.pick(targets, start, end, tried, untriedOnly, now, routing)) {
          if (!untriedOnly) blocked = noteBlocked(blocked, picker);
          break;
        }
        chosen = false;
        untriedOnly = false;
        const target = picker.target!;
        const key = picker.key!;
        // The first provider tried sets the request's deadline; retries, waits and fallbacks all fit in it.
        if (ctx.deadline === Infinity) {
          ctx.deadlineMs = target.provider.timeouts.totalMs;
          ctx.deadline = ctx.startedAt + ctx.deadlineMs;
        } else if (now >= ctx.deadline) {
          throw deadlineError(ctx);
        }
        key.health.breaker.onPick(now);
        if (firstAt === 0) firstAt = now;
        try {
          const outcome = await runAttempt(this.deps, routing, ctx, input, target, key);
          ctx.target = target;
          return outcome;
        } catch (error) {
          if (error instanceof GatewayError && (error.code === 'HD_ERR_QUEUE_FULL' || error.code === 'HD_ERR_QUEUE_TIMEOUT')) {
            last = error; // the provider is saturated: the next tier may serve
            break;
          }
          if (!(error instanceof UpstreamFailure)) throw error;
          last = error;
          lastProvider = target.provider.name;
          if (error.kind === 'aborted') throw error.toGatewayError(lastProvider);
          if (error.kind === 'timeout' && performance.now() >= ctx.deadline - DEADLINE_SLACK_MS) throw deadlineError(ctx);
          (tried ??= new Tried()).add(target, key);
          if (isKeyRejected(error)) {
            untriedOnly = true; // another key at once; none left: the next tier
            continue;
          }
          const named = input.raw?.targets === undefined ? namedFallback(state, input, plan, target, error, switched) : undefined;
          if (named !== undefined) {
            switched |= named.flag;
            plan = ctx.targetFilter === undefined ? named.plan : filterPlan(named.plan, ctx.targetFilter);
            tier = 0;
            continue tiers;
          }
          if (!isRetryable(error)) {
            // A provider that answers what its format cannot be read as: not worth retrying, but a fallback may serve.
            if (error.kind === 'bad_response') break;
            throw error.toGatewayError(lastProvider);
          }
          const provider = target.provider;
          const after = performance.now();
          // Another key (or deployment) not tried yet takes the retry at once.
          const otherKey = picker.pick(targets, start, end, tried, true, after, routing);
          const decision = decideRetry({
            failure: error,
            retriesDone: retries,
            maxRetries: provider.maxRetries,
            timeLeftMs: Math.min(provider.retryBudgetMs - (after - firstAt), ctx.deadline - after),
            random: Math.random(),
            otherKey,
            attemptMs: provider.timeouts.firstByteMs,
            reserveMs: nextTierWaitMs(plan, tier),
          });
          if (!decision.retry) break;
          retries++;
          if (otherKey) {
            chosen = true;
            continue;
          }
          const sleptAt = performance.now();
          await sleep(decision.delayMs);
          ctx.waitMs += performance.now() - sleptAt;
        }
      }
      tier++;
    }
    // The deadline ran out while waiting (a provider's queue): say so, not the wait's own error.
    if (last !== undefined && performance.now() >= ctx.deadline - DEADLINE_SLACK_MS) throw deadlineError(ctx);
    if (last instanceof GatewayError) throw last;
    if (last !== undefined) throw last.toGatewayError(lastProvider);
    throw unavailable(blocked, input.model);
  }
}

/** Checks a plugin's early answer enough to render it (a plugin's mistake is its failure, not a crash). */
function earlyAnswer(answer: EarlyAnswer, ctx: RequestContext): AnswerOutcome {
  const valid = typeof answer === 'object' && answer !== null && (
    (answer.stream !== undefined && typeof (answer.stream as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') ||
    (answer.stream === undefined && typeof answer.response === 'object' && answer.response !== null));
  if (!valid) {
    throw new GatewayError('HD_ERR_PLUGIN_FAILED', `The plugin "${ctx.answeredBy}" answered with neither a response object nor an async iterable stream.`);
  }
  return { kind: 'answer', answer };
}

/** A context-window or content-policy refusal with named fallbacks for the model: the plan to switch to (once per kind). */
function namedFallback(state: GatewayState, input: PipelineInput, plan: Plan, target: Target, error: UpstreamFailure, switched: number): { plan: Plan; flag: number } | undefined {
  const routing = state.routing;
  if ((switched & SWITCHED_CONTEXT) === 0 && isContextWindowError(error)) {
    const next = specialFallbackPlan(state, routing.contextWindowFallbacks, input.model, plan, target, input.operation);
    if (next !== undefined) return { plan: next, flag: SWITCHED_CONTEXT };
  }
  if ((switched & SWITCHED_POLICY) === 0 && isContentPolicyError(error)) {
    const next = specialFallbackPlan(state, routing.contentPolicyFallbacks, input.model, plan, target, input.operation);
    if (next !== undefined) return { plan: next, flag: SWITCHED_POLICY };
  }
  return undefined;
}

function noteBlocked(blocked: Blocked | undefined, picker: Picker): Blocked {
  const next = blocked ?? { breaker: false, retryAt: Infinity, queue: undefined };
  if (picker.blockedByBreaker) {
    next.breaker = true;
    if (picker.retryAt < next.retryAt) next.retryAt = picker.retryAt;
  }
  if (picker.fullLimiter !== undefined && next.queue === undefined) next.queue = picker.fullLimiter.queueFullError();
  return next;
}

/** The first-byte wait of the next tier's first target (0 when no tier follows): time a retry after a timeout leaves it. */
function nextTierWaitMs(plan: Plan, tier: number): number {
  const next = plan.tierStarts[tier + 1];
  return next === undefined || next >= plan.targets.length ? 0 : plan.targets[next].provider.timeouts.firstByteMs;
}

/** The error when no tier could even be tried. */
function unavailable(blocked: Blocked | undefined, model: string): GatewayError {
  if (blocked?.queue !== undefined && !blocked.breaker) return blocked.queue;
  if (blocked?.breaker) {
    const seconds = Math.max(1, Math.ceil((blocked.retryAt - performance.now()) / 1000));
    return new GatewayError(
      'HD_ERR_UPSTREAM_UNAVAILABLE',
      `Every key that may serve "${model}" is cooling down after repeated failures (circuit open); retry in ${seconds} s.`,
      { retryAfter: seconds },
    );
  }
  return new GatewayError('HD_ERR_UPSTREAM_UNAVAILABLE', `No key of the configured providers may serve "${model}".`);
}
