/**
 * The gateway's run-time: the routing state (swapped atomically on reload),
 * the upstream pools, the pipeline, and what happens after each request
 * (metrics, the log line, log records for the store).
 */
import type { SurfaceInterceptor } from '../api/surface-handler.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Logger } from '../telemetry/logger.js';
import { configSecrets, redactText, registerSecrets } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { ConcurrencyRegistry } from './concurrency.js';
import { HealthChecker } from './health-check.js';
import { HealthRegistry } from './key-health.js';
import { Pipeline } from './pipeline.js';
import { GatewayState } from './provider-runtime.js';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AttemptRecord, RequestContext } from './request-context.js';
import type { PipelineInput } from './pipeline.js';
import { attributeModel, type Target } from './router.js';
import { UpstreamClient } from './upstream.js';

export interface FinishedRequest {
  ctx: RequestContext;
  totalMs: number;
  overheadMs: number;
}

export type FinishListener = (finished: FinishedRequest) => void;

/**
 * Extension points on the request path, in call order. Governance (virtual
 * keys, limits, budgets), tracing and others plug in here instead of editing
 * the pipeline. Hooks must not do blocking I/O.
 */
export interface GatewayHooks {
  /**
   * When a request's context starts, with the raw exchange: `body` is the request body as
   * received (a Buffer). The request log uses it to capture bodies when that setting is on.
   */
  begin?(ctx: RequestContext, request: IncomingMessage, body: unknown, response: ServerResponse): void;
  /** Before the body is read: who is calling (virtual key). Throws a GatewayError (401/403) to refuse. */
  authenticate?(ctx: RequestContext, headers: IncomingHttpHeaders): void;
  /** After the targets are planned, before any upstream call: access, rate limits, budget reservation. */
  admit?(ctx: RequestContext, input: PipelineInput, targets: readonly Target[]): void | Promise<void>;
  /** Before each upstream attempt (tracing spans, header propagation). May add headers. */
  beforeAttempt?(ctx: RequestContext, target: Target, headers: Record<string, string>): void;
  /** After each attempt, successful or not. */
  afterAttempt?(ctx: RequestContext, target: Target, attempt: AttemptRecord): void;
  /** When the request is over, before metrics and the log line: settle spend, compute cost. */
  settle?(finished: FinishedRequest): void;
}

export class Gateway {
  state: GatewayState;
  readonly upstream = new UpstreamClient();
  /** Per-key breaker, adaptive averages and last errors; outlives reloads (`health.snapshot()`). */
  readonly health = new HealthRegistry();
  /** Per-provider concurrency limits and in-flight counts; outlive reloads (`concurrency.snapshot()`). */
  readonly concurrency = new ConcurrencyRegistry();
  readonly healthChecks: HealthChecker;
  readonly pipeline: Pipeline;
  inFlight = 0;
  private readonly listeners: FinishListener[] = [];
  readonly hooks: GatewayHooks[] = [];
  /** Run by the client surfaces before they read a request (src/api/surface-handler.ts). */
  readonly surfaceInterceptors: SurfaceInterceptor[] = [];
  /** `--workers N`: GET /metrics answers with every worker's metrics summed (set by src/cluster/worker.ts). */
  clusterMetrics: (() => Promise<{ text: string; contentType: string }>) | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(
    config: ResolvedConfig,
    readonly logger: Logger,
    readonly metrics: Metrics,
  ) {
    this.state = new GatewayState(config, this.health, this.concurrency);
    this.pipeline = new Pipeline(this);
    this.healthChecks = new HealthChecker(this);
    this.healthChecks.sync(this.state);
    metrics.sources.inFlight = () => this.inFlight;
    metrics.sources.providers = () => this.concurrency.snapshot().map((p) => ({ provider: p.provider, inFlight: p.in_flight, queued: p.queued }));
    metrics.sources.breakers = () => this.health.snapshot(this.state.routing.breaker, this.state.routing.adaptive).map((k) => ({ provider: k.provider, key: k.key_name, state: k.state }));
  }

  get config(): ResolvedConfig {
    return this.state.config;
  }

  /** Applies a new configuration to the next request. */
  reload(config: ResolvedConfig): void {
    registerSecrets(configSecrets(config)); // keys added at run time are masked in logs too
    this.state = new GatewayState(config, this.health, this.concurrency);
    this.healthChecks.sync(this.state);
  }

  onFinish(listener: FinishListener): void {
    this.listeners.push(listener);
  }

  addHooks(hooks: GatewayHooks): void {
    this.hooks.push(hooks);
  }

  begin(): void {
    this.inFlight++;
  }

  /** Records a finished request once: metrics, log line, listeners (the store's log writer). */
  finish(ctx: RequestContext): void {
    if (ctx.finished) return;
    ctx.finished = true;
    this.inFlight--;
    const totalMs = ctx.totalMs();
    const overheadMs = ctx.overheadMs(totalMs);
    const finished: FinishedRequest = { ctx, totalMs, overheadMs };
    for (const hooks of this.hooks) {
      if (hooks.settle === undefined) continue;
      try {
        hooks.settle(finished);
      } catch (error) {
        this.logger.error({ err: error }, 'settle hook failed');
      }
    }
    const target = ctx.target;
    const last = ctx.attempts[ctx.attempts.length - 1];
    if (target === undefined && last === undefined && ctx.requestedModel !== undefined) {
      // Refused or failed before routing: counted under what the caller asked for.
      ctx.attributed = attributeModel(this.state, ctx.requestedModel);
    }
    const provider = target?.provider.name ?? last?.provider ?? ctx.attributed?.provider ?? 'none';
    const model = target?.model ?? last?.model ?? ctx.attributed?.model ?? 'none';
    const usage = ctx.usage;
    this.metrics.observe({
      surface: ctx.surface,
      provider,
      model,
      status: ctx.status,
      cache: ctx.cache,
      virtualKey: ctx.virtualKeyId,
      totalSeconds: totalMs / 1000,
      upstreamSeconds: ctx.upstreamMs / 1000,
      overheadSeconds: overheadMs / 1000,
      ttftSeconds: ctx.ttftMs === undefined ? undefined : ctx.ttftMs / 1000,
      inputTokens: usage?.prompt_tokens,
      outputTokens: usage?.completion_tokens,
      cachedTokens: usage?.prompt_tokens_details?.cached_tokens,
      costUsd: ctx.costUsd,
      attempts: ctx.attempts,
      warnings: ctx.warnings,
    });
    if (this.logger.isLevelEnabled('info')) {
      const error = ctx.error?.message ?? ctx.errorMessage;
      this.logger.info({
        msg: 'request',
        request_id: ctx.id,
        trace_id: ctx.traceId,
        method: ctx.method,
        route: ctx.route,
        surface: ctx.surface,
        model: ctx.requestedModel,
        provider,
        upstream_model: model,
        status: ctx.status,
        stream: ctx.stream,
        latency_ms: Math.round(totalMs * 100) / 100,
        overhead_ms: Math.round(overheadMs * 1000) / 1000,
        ttft_ms: ctx.ttftMs === undefined ? undefined : Math.round(ctx.ttftMs),
        attempts: ctx.attempts.length,
        input_tokens: usage?.prompt_tokens,
        output_tokens: usage?.completion_tokens,
        // null: the model has no known price (never a silent 0).
        cost_usd: ctx.costUsd,
        error: error === undefined ? undefined : redactText(error),
      });
    }
    if (this.listeners.length > 0) {
      for (const listener of this.listeners) {
        try {
          listener(finished);
        } catch (error) {
          this.logger.error({ err: error }, 'finish listener failed');
        }
      }
    }
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Resolves when no request is in flight, or after `timeoutMs`. Returns true if idle. */
  waitForIdle(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async close(): Promise<void> {
    this.healthChecks.close();
    await this.upstream.close();
  }
}
