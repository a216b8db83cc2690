/**
 * The gateway's run-time: the routing state (swapped atomically on reload),
 * the upstream pools, the pipeline, and the plugin lifecycle that everything
 * else (governance, metrics, logs, traces, user plugins) runs on.
 */
import type { SurfaceInterceptor } from '../api/surface-handler.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Logger } from '../telemetry/logger.js';
import { Lifecycle } from '../plugins/lifecycle.js';
import { CompletedImpl, timingsOf } from '../plugins/stages.js';
import { configSecrets, registerSecrets } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { Admission } from './admission.js';
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

/**
 * The hooks governance and tracing expose (their classes predate the plugin
 * lifecycle): src/plugins/governance.ts and src/plugins/tracing.ts adapt them
 * to lifecycle stages. Hooks must not do blocking I/O.
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
  /** Client requests in flight in this process and the overload limit (limits.max_in_flight); outlives reloads. */
  readonly admission: Admission;
  readonly healthChecks: HealthChecker;
  readonly pipeline: Pipeline;
  inFlight = 0;
  /** Requests finished since start (the cluster view's requests per second). */
  finished = 0;
  /** The plugins (Heimdall's own and the configured ones) and the stages they run at (src/plugins/). */
  readonly lifecycle: Lifecycle;
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
    this.lifecycle = new Lifecycle(logger, metrics);
    this.admission = new Admission(config.limits.overload, logger);
    // The pipeline gets what it uses, not the gateway: the live state, the upstream, the lifecycle's stages.
    const gateway = this;
    this.pipeline = new Pipeline({
      get state() {
        return gateway.state;
      },
      upstream: this.upstream,
      hooks: this.lifecycle,
    });
    this.healthChecks = new HealthChecker(this);
    this.healthChecks.sync(this.state);
    metrics.sources.inFlight = () => this.admission.inFlight;
    metrics.sources.admission = () => ({ queued: this.admission.queued, limit: this.admission.limit, capacityRate: this.admission.capacity.rate, capacityDelayMs: this.admission.capacity.delayMs });
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
    this.admission.configure(config.limits.overload);
    this.healthChecks.sync(this.state);
  }

  begin(): void {
    this.inFlight++;
  }

  /** Records a finished request once: the afterResponse stage (spend, metrics, log line, request log, trace). */
  finish(ctx: RequestContext): void {
    if (ctx.finished) return;
    ctx.finished = true;
    this.inFlight--;
    this.finished++;
    if (ctx.target === undefined && ctx.attempts.length === 0 && ctx.requestedModel !== undefined) {
      // Refused or failed before routing: counted under what the caller asked for.
      ctx.attributed = attributeModel(this.state, ctx.requestedModel);
    }
    const lifecycle = this.lifecycle;
    if (lifecycle.afterResponse.length > 0) lifecycle.runAfterResponse(ctx, new CompletedImpl(ctx, timingsOf(ctx)));
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
    this.admission.close();
    await this.upstream.close();
  }
}
