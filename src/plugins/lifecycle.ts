/**
 * The request lifecycle: the plugins in their declared order, compiled into
 * one array per stage, and the runner that calls them. A stage nobody
 * listens to is an empty array: the request path checks its length and
 * allocates nothing. Each call is timed (heimdall_plugin_duration_seconds)
 * and isolated: a plugin that throws or times out is logged and counted
 * (heimdall_plugin_errors_total) and skipped, or fails the request when it is
 * `failClosed`. A refusal (`refuse()`, a GatewayError) is the plugin's answer
 * to the caller, not a failure.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { GatewayError } from '../errors/gateway-error.js';
import type { ChatCompletionChunk } from '../formats/openai/types.js';
import type { AttemptRecord, RequestContext } from '../gateway/request-context.js';
import type { Target } from '../gateway/router.js';
import type { Logger } from '../telemetry/logger.js';
import { redactText } from '../telemetry/secrets.js';
import type { CounterFamily, CounterSeries, HistogramFamily, HistogramSeries } from '../telemetry/metric-families.js';
import type { Metrics } from '../telemetry/metrics.js';
import { orderPlugins } from './order.js';
import { viewOf } from './request-view.js';
import type { CostOf } from './stages.js';
import { STAGES, type AttemptStage, type CompletedRequest, type EarlyAnswer, type ErrorInfo, type FinalAnswer, type Plugin, type RoutingStage, type Stage } from './types.js';

/** A built-in plugin: the public stages, plus two that only Heimdall's own features need. */
export interface BuiltinPlugin extends Plugin {
  /** When the context starts, with the raw exchange (request log body capture, trace start). */
  begin?(ctx: RequestContext, request: IncomingMessage, body: unknown, response: ServerResponse): void;
  /** After each upstream attempt, successful or not (trace spans). */
  afterAttempt?(ctx: RequestContext, target: Target, record: AttemptRecord): void;
}

/** Settings the configuration gives a plugin, over what the plugin says of itself. */
export interface PluginSettings {
  failClosed?: boolean;
  timeoutMs?: number;
}

/** A user plugin's default wait for an async stage. */
export const DEFAULT_PLUGIN_TIMEOUT_MS = 5000;

const STAGE_INDEX: Record<Stage, number> = Object.fromEntries(STAGES.map((stage, i) => [stage, i])) as Record<Stage, number>;
/**
 * One stage call in 8 is timed, per plugin (and every later one of a stage that went async): a
 * clock read costs about what a plugin that does nothing costs (1 µs or more on a loaded VM), and
 * two per call would double it. Errors are counted on every call.
 */
const TIMED_MASK = 7;

class Entry {
  readonly name: string;
  readonly failClosed: boolean;
  readonly timeoutMs: number;
  /** Per stage (STAGES order), made when the entry is compiled. */
  readonly durations: Array<HistogramSeries | undefined> = [];
  readonly errors: Array<CounterSeries | undefined> = [];
  /** Calls so far: one synchronous call in TIMED_EVERY is timed. */
  ticks = 0;

  constructor(
    readonly plugin: BuiltinPlugin,
    readonly builtin: boolean,
    settings: PluginSettings,
  ) {
    this.name = plugin.name;
    this.failClosed = settings.failClosed ?? plugin.failClosed ?? false;
    this.timeoutMs = settings.timeoutMs ?? plugin.timeoutMs ?? (builtin ? Infinity : DEFAULT_PLUGIN_TIMEOUT_MS);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function isRefusal(error: unknown): error is { message: string; status?: unknown; headers?: unknown } {
  return typeof error === 'object' && error !== null && (error as { refusal?: unknown }).refusal === true;
}

class PluginTimeout extends Error {
  constructor(ms: number) {
    super(`did not finish within ${ms} ms`);
    this.name = 'PluginTimeout';
  }
}

function withTimeout<T>(promise: PromiseLike<T>, ms: number): Promise<T> {
  if (ms === Infinity) return Promise.resolve(promise);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new PluginTimeout(ms)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

type Call = (entry: Entry, ctx: RequestContext, arg: unknown) => unknown;

const CALLS: Record<Stage, Call> = {
  received: (entry, ctx) => entry.plugin.received!(viewOf(ctx)),
  beforeRouting: (entry, ctx, arg) => entry.plugin.beforeRouting!(viewOf(ctx), arg as RoutingStage),
  beforeAttempt: (entry, ctx, arg) => entry.plugin.beforeAttempt!(viewOf(ctx), arg as AttemptStage),
  streamEvent: (entry, ctx, arg) => entry.plugin.streamEvent!(viewOf(ctx), arg as ChatCompletionChunk),
  finalAnswer: (entry, ctx, arg) => entry.plugin.finalAnswer!(viewOf(ctx), arg as FinalAnswer),
  error: (entry, ctx, arg) => entry.plugin.error!(viewOf(ctx), arg as ErrorInfo),
  afterResponse: (entry, ctx, arg) => entry.plugin.afterResponse!(viewOf(ctx), arg as CompletedRequest),
};

export class Lifecycle {
  /** Per stage, the plugins that take part, in order. Swapped whole on a change (a request in flight keeps its arrays). */
  received: readonly Entry[] = [];
  beforeRouting: readonly Entry[] = [];
  beforeAttempt: readonly Entry[] = [];
  streamEvent: readonly Entry[] = [];
  finalAnswer: readonly Entry[] = [];
  error: readonly Entry[] = [];
  afterResponse: readonly Entry[] = [];
  begin: readonly Entry[] = [];
  afterAttempt: readonly Entry[] = [];
  /** Some plugin reads streamed answers (streamEvent, finalAnswer): streams are decoded to canonical chunks. */
  readsStreams = false;
  /** Prices a request (governance registers it): the final answer's cost. */
  costOf: CostOf | undefined;

  private builtins: Entry[] = [];
  private configured: Entry[] = [];
  private ordered: Entry[] = [];
  private readonly durationFamily: HistogramFamily | undefined;
  private readonly errorFamily: CounterFamily | undefined;

  constructor(
    private readonly logger: Logger,
    metrics: Metrics | undefined,
  ) {
    this.durationFamily = metrics?.pluginDuration;
    this.errorFamily = metrics?.pluginErrors;
  }

  /** Adds one of Heimdall's own plugins (at start). */
  use(plugin: BuiltinPlugin): void {
    this.builtins.push(new Entry(plugin, true, {}));
    this.compile();
  }

  /** Takes one of Heimdall's own plugins off (the response cache when it is turned off); use() puts it back. */
  unuse(name: string): void {
    const kept = this.builtins.filter((entry) => entry.plugin.name !== name);
    if (kept.length === this.builtins.length) return;
    this.builtins = kept;
    this.compile();
  }

  /** Replaces the configured (user) plugins: the next request runs the new set. Throws on a name clash or cycle. */
  setConfigured(plugins: ReadonlyArray<{ plugin: Plugin; settings?: PluginSettings }>): void {
    const previous = this.configured;
    this.configured = plugins.map(({ plugin, settings }) => new Entry(plugin, false, settings ?? {}));
    try {
      this.compile();
    } catch (error) {
      this.configured = previous;
      throw error;
    }
  }

  /** Throws when `plugins`, configured beside the built-ins, clash in name or declare a cycle. */
  checkOrder(plugins: readonly Plugin[]): void {
    orderPlugins([...this.builtins.map((entry) => entry.plugin), ...plugins]);
  }

  /** The plugins in the order they run, and whether each is Heimdall's own. */
  describe(): Array<{ name: string; builtin: boolean; stages: Stage[]; failClosed: boolean; timeoutMs: number | null }> {
    return this.ordered.map((entry) => ({
      name: entry.name,
      builtin: entry.builtin,
      stages: STAGES.filter((stage) => typeof entry.plugin[stage] === 'function'),
      failClosed: entry.failClosed,
      timeoutMs: entry.timeoutMs === Infinity ? null : entry.timeoutMs,
    }));
  }

  /** The plugins in the order they run. */
  names(): string[] {
    return this.ordered.map((entry) => entry.name);
  }

  /** The plugin named `name`, when loaded. */
  plugin(name: string): Plugin | undefined {
    return this.ordered.find((entry) => entry.name === name)?.plugin;
  }

  private compile(): void {
    const ordered = orderPlugins([...this.builtins, ...this.configured].map((entry) => ({ entry, name: entry.name, after: entry.plugin.after, before: entry.plugin.before }))).map((item) => item.entry);
    const listening = (stage: string): Entry[] => ordered.filter((entry) => typeof (entry.plugin as unknown as Record<string, unknown>)[stage] === 'function');
    for (const entry of ordered) {
      for (const stage of STAGES) {
        const i = STAGE_INDEX[stage];
        if (entry.durations[i] !== undefined || typeof entry.plugin[stage] !== 'function') continue;
        entry.durations[i] = this.durationFamily?.with(entry.name, stage);
        entry.errors[i] = this.errorFamily?.with(entry.name, stage);
      }
    }
    this.ordered = ordered;
    this.received = listening('received');
    this.beforeRouting = listening('beforeRouting');
    this.beforeAttempt = listening('beforeAttempt');
    this.streamEvent = listening('streamEvent');
    this.finalAnswer = listening('finalAnswer');
    this.error = listening('error');
    this.afterResponse = listening('afterResponse');
    this.begin = listening('begin');
    this.afterAttempt = listening('afterAttempt');
    this.readsStreams = this.streamEvent.length > 0 || this.finalAnswer.length > 0;
  }

  // ---- the stages, in request order -------------------------------------------------------

  runBegin(ctx: RequestContext, request: IncomingMessage, body: unknown, response: ServerResponse): void {
    for (const entry of this.begin) {
      try {
        entry.plugin.begin!(ctx, request, body, response);
      } catch (error) {
        this.logger.error({ err: error, plugin: entry.name }, 'plugin begin failed');
      }
    }
  }

  /** Throws the refusal (or a fail-closed failure) as a GatewayError; a promise when a plugin is async. */
  runReceived(ctx: RequestContext): void | Promise<void> {
    return this.run(this.received, 'received', ctx, undefined, false) as void | Promise<void>;
  }

  /**
   * The built-in `received` stages alone, synchronously: the key check of a call that is not a
   * request of its own (a WebSocket upgrade, a warm-up); each request on it runs the full stage.
   */
  checkCaller(ctx: RequestContext): void {
    for (const entry of this.received) {
      if (!entry.builtin) continue;
      const result = CALLS.received(entry, ctx, undefined);
      if (isThenable(result)) throw new GatewayError('HD_ERR_INTERNAL', `The built-in plugin "${entry.name}" must check callers synchronously.`);
    }
  }

  /** The first early answer stops the stage (ctx.answeredBy names its plugin). */
  runBeforeRouting(ctx: RequestContext, stage: RoutingStage): EarlyAnswer | undefined | Promise<EarlyAnswer | undefined> {
    return this.run(this.beforeRouting, 'beforeRouting', ctx, stage, true) as EarlyAnswer | undefined | Promise<EarlyAnswer | undefined>;
  }

  /**
   * The built-in `beforeRouting` stages alone (access, rate limits, budget): for a call that is
   * no model request (a token count), which no plugin answers or reroutes.
   */
  async admitOnly(ctx: RequestContext, stage: RoutingStage): Promise<void> {
    for (const entry of this.beforeRouting) {
      if (!entry.builtin) continue;
      const result = CALLS.beforeRouting(entry, ctx, stage);
      if (isThenable(result)) await result;
    }
  }

  runBeforeAttempt(ctx: RequestContext, stage: AttemptStage): void | Promise<void> {
    return this.run(this.beforeAttempt, 'beforeAttempt', ctx, stage, false) as void | Promise<void>;
  }

  runAfterAttempt(ctx: RequestContext, target: Target, record: AttemptRecord): void {
    for (const entry of this.afterAttempt) {
      try {
        entry.plugin.afterAttempt!(ctx, target, record);
      } catch (error) {
        this.logger.error({ err: error, plugin: entry.name }, 'plugin afterAttempt failed');
      }
    }
  }

  /** Each plugin may replace the chunk (or drop it: null). Synchronous; a failure keeps the chunk as it was. */
  runStreamEvent(ctx: RequestContext, chunk: ChatCompletionChunk): ChatCompletionChunk | null {
    const entries = this.streamEvent;
    const index = STAGE_INDEX.streamEvent;
    let current = chunk;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      const started = (entry.ticks++ & TIMED_MASK) === 0 ? performance.now() : 0;
      try {
        const result = entry.plugin.streamEvent!(viewOf(ctx), current);
        if (result === null) {
          if (started !== 0) entry.durations[index]?.observe((performance.now() - started) / 1000);
          return null;
        }
        if (result !== undefined) current = result;
      } catch (error) {
        // Mid-stream nothing can be refused any more: a failure is logged and counted, the chunk goes on.
        this.failure(entry, 'streamEvent', error, ctx);
      }
      if (started !== 0) entry.durations[index]?.observe((performance.now() - started) / 1000);
    }
    return current;
  }

  runFinalAnswer(ctx: RequestContext, answer: FinalAnswer): void | Promise<void> {
    return this.run(this.finalAnswer, 'finalAnswer', ctx, answer, false) as void | Promise<void>;
  }

  /** Observers only: what they throw is logged, never the caller's answer. */
  runError(ctx: RequestContext, info: ErrorInfo): void | Promise<void> {
    const result = this.run(this.error, 'error', ctx, info, false);
    if (isThenable(result)) return Promise.resolve(result).then(() => undefined, () => undefined);
    return undefined;
  }

  /** Synchronous; failures are logged and counted (the client has its answer already). */
  runAfterResponse(ctx: RequestContext, completed: CompletedRequest): void {
    const entries = this.afterResponse;
    const index = STAGE_INDEX.afterResponse;
    const view = viewOf(ctx);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      const started = (entry.ticks++ & TIMED_MASK) === 0 ? performance.now() : 0;
      try {
        entry.plugin.afterResponse!(view, completed);
      } catch (error) {
        this.failure(entry, 'afterResponse', error, ctx);
      }
      if (started !== 0) entry.durations[index]?.observe((performance.now() - started) / 1000);
    }
  }

  /** Closes every plugin (gateway close). */
  async close(): Promise<void> {
    await Promise.all(this.ordered.map((entry) => this.closeEntry(entry)));
  }

  /** Closes configured plugins that a reload removed or replaced. */
  async closeRemoved(previous: readonly Plugin[]): Promise<void> {
    const live = new Set(this.configured.map((entry) => entry.plugin));
    await Promise.all(previous.filter((plugin) => !live.has(plugin)).map((plugin) => this.closeEntry(new Entry(plugin, false, {}))));
  }

  configuredPlugins(): Plugin[] {
    return this.configured.map((entry) => entry.plugin);
  }

  private async closeEntry(entry: Entry): Promise<void> {
    try {
      await entry.plugin.close?.();
    } catch (error) {
      this.logger.warn({ err: error, plugin: entry.name }, 'plugin close failed');
    }
  }

  // ---- running one stage ------------------------------------------------------------------

  /**
   * Calls each entry's stage in order, synchronously while results are plain values; the first
   * promise switches to the async loop. `stopOnResult`: a defined result ends the stage (early answer).
   */
  private run(entries: readonly Entry[], stage: Stage, ctx: RequestContext, arg: unknown, stopOnResult: boolean): unknown {
    const index = STAGE_INDEX[stage];
    const call = CALLS[stage];
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      const started = (entry.ticks++ & TIMED_MASK) === 0 ? performance.now() : 0;
      let result: unknown;
      try {
        result = call(entry, ctx, arg);
      } catch (error) {
        const refusal = this.failure(entry, stage, error, ctx);
        if (refusal !== undefined) throw refusal;
        continue;
      }
      if (isThenable(result)) return this.runAsync(entries, i, stage, ctx, arg, stopOnResult, result, started);
      if (started !== 0) entry.durations[index]?.observe((performance.now() - started) / 1000);
      if (stopOnResult && result !== undefined && result !== null) {
        ctx.answeredBy = entry.name;
        return result;
      }
    }
    return undefined;
  }

  private async runAsync(entries: readonly Entry[], from: number, stage: Stage, ctx: RequestContext, arg: unknown, stopOnResult: boolean, pending: PromiseLike<unknown>, startedAt: number): Promise<unknown> {
    const index = STAGE_INDEX[stage];
    const call = CALLS[stage];
    let started = startedAt;
    for (let i = from; i < entries.length; i++) {
      const entry = entries[i];
      let result: unknown;
      try {
        if (i === from) result = await withTimeout(pending, entry.timeoutMs);
        else {
          started = performance.now(); // awaited anyway: always timed
          result = call(entry, ctx, arg);
          if (isThenable(result)) result = await withTimeout(result, entry.timeoutMs);
        }
      } catch (error) {
        if (started !== 0) entry.durations[index]?.observe((performance.now() - started) / 1000);
        const refusal = this.failure(entry, stage, error, ctx);
        if (refusal !== undefined) throw refusal;
        continue;
      }
      if (started !== 0) entry.durations[index]?.observe((performance.now() - started) / 1000);
      if (stopOnResult && result !== undefined && result !== null) {
        ctx.answeredBy = entry.name;
        return result;
      }
    }
    return undefined;
  }

  /**
   * What a throw means: a refusal or GatewayError is the caller's answer (returned to be thrown);
   * anything else is the plugin's failure, logged and counted, then skipped, or the request's
   * 500 when the plugin fails closed.
   */
  private failure(entry: Entry, stage: Stage, error: unknown, ctx: RequestContext): GatewayError | undefined {
    if (error instanceof GatewayError) return error;
    if (isRefusal(error)) {
      const status = typeof error.status === 'number' && error.status >= 400 && error.status <= 599 ? error.status : 403;
      const headers = typeof error.headers === 'object' && error.headers !== null ? error.headers as Record<string, string> : undefined;
      return new GatewayError('HD_ERR_PLUGIN_REFUSED', String(error.message), { status, headers });
    }
    entry.errors[STAGE_INDEX[stage]]?.inc();
    const message = error instanceof Error ? error.message : String(error);
    this.logger.warn({ plugin: entry.name, stage, request_id: ctx.id, error: redactText(message), fail_closed: entry.failClosed }, 'plugin failed');
    if (!entry.failClosed) return undefined;
    return new GatewayError('HD_ERR_PLUGIN_FAILED', `The plugin "${entry.name}" failed at its ${stage} stage (${error instanceof PluginTimeout ? 'timeout' : 'error'}), and it is set to fail closed.`);
  }
}
