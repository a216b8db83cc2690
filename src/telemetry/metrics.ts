/**
 * Prometheus metrics (GET /metrics), one registry per gateway instance. The
 * reference table is docs/observability.md; keep the two in step.
 *
 * Label values are bounded: surface, status class, cache and type come from
 * fixed sets, providers from the configuration, models and virtual keys are
 * capped (past the cap they read "other"). Nothing per request (ids, text)
 * ever becomes a label.
 *
 * `observe()` runs once per request on the hot path: it finds a bundle of
 * series per (surface, provider, model, cache, virtual key) in a Map and
 * bumps fields (see metric-families.ts); no label hashing per request.
 * Gauges read live state at scrape time through `sources`, which the
 * gateway, the router and the store fill in.
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { VERSION } from '../version.js';
import { BoundedLabel, CounterFamily, HistogramFamily, type CounterSeries, type HistogramSeries } from './metric-families.js';

export { CounterFamily, HistogramFamily, type CounterSeries, type HistogramSeries } from './metric-families.js';

/** 5 µs to 100 ms, dense from 10 µs to 10 ms: the gateway's own time per request. */
export const OVERHEAD_BUCKETS: readonly number[] = [
  0.000005, 0.00001, 0.000015, 0.00002, 0.00003, 0.00004, 0.00005, 0.000075, 0.0001, 0.00015, 0.0002, 0.0003, 0.0005,
  0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.1,
];
/** Whole requests and upstream calls: 5 ms to 5 minutes (long generations). */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];
/** Time to first token: 10 ms to a minute, dense under 2 s. */
export const TTFT_BUCKETS: readonly number[] = [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 60];

const MAX_MODELS = 256;
const MAX_VIRTUAL_KEYS = 1000;
const MAX_PARAMS = 64;

export type CacheResult = 'hit' | 'miss' | 'none';
export type BreakerStateName = 'closed' | 'half_open' | 'open';

/** heimdall_circuit_breaker_state values. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerStateName, number>> = { closed: 0, half_open: 1, open: 2 };

/** One upstream attempt, as the request context records it. */
export interface AttemptObservation {
  provider: string;
  model: string;
  status?: number;
  error?: string;
  /** How it failed without an HTTP status: timeout, network, bad_response, aborted. */
  failure?: string;
}

export interface RequestObservation {
  surface: string;
  /** The provider that served (or last failed); "none" when no upstream was tried. */
  provider: string;
  model: string;
  status: number;
  cache: CacheResult;
  /** Only used when virtual-key labels are on. */
  virtualKey: string | undefined;
  totalSeconds: number;
  upstreamSeconds: number;
  overheadSeconds: number;
  ttftSeconds: number | undefined;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  cachedTokens: number | undefined;
  /** USD; null when the model has no known price, undefined when not computed (no governance, no usage). */
  costUsd: number | null | undefined;
  attempts: readonly AttemptObservation[];
  /** Parameters dropped because the target cannot take them. */
  warnings?: readonly { param: string }[];
}

export interface ProviderLoad {
  provider: string;
  /** Upstream calls running now. */
  inFlight: number;
  /** Requests waiting for a concurrency slot. */
  queued: number;
}

export interface KeyBreaker {
  provider: string;
  /** The key's name (its label in the config), never the secret. */
  key: string;
  state: BreakerStateName;
}

export interface LogWriterCounts {
  queued: number;
  droppedRecords: number;
  droppedBodies: number;
}

/**
 * Live state read at scrape time. Each owner sets its own function:
 * the gateway `inFlight`, the router `providers` and `breakers`, the store
 * `logWriter`. An unset source leaves its gauge empty.
 */
export interface MetricSources {
  inFlight?(): number;
  providers?(): Iterable<ProviderLoad>;
  breakers?(): Iterable<KeyBreaker>;
  logWriter?(): LogWriterCounts | undefined;
  /** Overload admission: requests waiting for a slot, and the in-flight limit (undefined: none). */
  admission?(): { queued: number; limit: number | undefined; capacityRate: number; capacityDelayMs: number };
}

export interface MetricsOptions {
  /** Node process metrics: memory, CPU, event loop lag, GC (default on). */
  processMetrics?: boolean;
  /** Adds a virtual_key label to the request, token, cost and rejection counters (default off). */
  virtualKeyLabels?: boolean;
}

/** Series one (surface, provider, model, cache, virtual key) tuple uses, found once per request. */
interface Bundle {
  readonly labels: readonly string[];
  readonly byStatusClass: Array<CounterSeries | undefined>;
  readonly duration: HistogramSeries;
  readonly overhead: HistogramSeries;
  upstream: HistogramSeries | undefined;
  ttft: HistogramSeries | undefined;
  inputTokens: CounterSeries | undefined;
  outputTokens: CounterSeries | undefined;
  cachedTokens: CounterSeries | undefined;
  cost: CounterSeries | undefined;
  unpriced: CounterSeries | undefined;
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

function statusClassIndex(status: number): number {
  const index = Math.floor(status / 100) - 1;
  return index < 0 ? 0 : index > 4 ? 4 : index;
}

/** The client surface a path belongs to (the `surface` label), undefined for other paths. */
export function surfaceOfPath(path: string): 'openai' | 'anthropic' | 'gemini' | undefined {
  if (path.startsWith('/v1/')) return 'openai';
  if (path.startsWith('/anthropic/')) return 'anthropic';
  if (path.startsWith('/genai/')) return 'gemini';
  return undefined;
}

/** The upstream-error label of a failed attempt, undefined when it did not fail (or the caller left). */
export function attemptErrorLabel(attempt: AttemptObservation): string | undefined {
  if (attempt.failure === 'aborted') return undefined;
  if (attempt.status !== undefined && attempt.status >= 400) return String(attempt.status);
  if (attempt.status === undefined) return attempt.failure ?? 'network';
  // Answered 2xx, then failed while streaming (or the body could not be decoded).
  return attempt.error === undefined ? undefined : attempt.failure ?? 'stream';
}

/** Plugin stage calls: a no-op is well under a microsecond, a slow one waits on I/O. */
const PLUGIN_BUCKETS = [0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

export class Metrics {
  readonly registry = new Registry();
  readonly sources: MetricSources = {};
  readonly virtualKeyLabels: boolean;
  private readonly models = new BoundedLabel(MAX_MODELS);
  private readonly virtualKeys = new BoundedLabel(MAX_VIRTUAL_KEYS);
  private readonly params = new BoundedLabel(MAX_PARAMS);
  /** surface -> provider -> model -> cache (+ virtual key) -> bundle. */
  private readonly bundles = new Map<string, Map<string, Map<string, Map<string, Bundle>>>>();

  readonly requests: CounterFamily;
  readonly requestDuration: HistogramFamily;
  readonly upstreamDuration: HistogramFamily;
  readonly overhead: HistogramFamily;
  readonly ttft: HistogramFamily;
  readonly tokens: CounterFamily;
  readonly cost: CounterFamily;
  readonly unpricedRequests: CounterFamily;
  readonly upstreamErrors: CounterFamily;
  readonly retries: CounterFamily;
  readonly fallbacks: CounterFamily;
  readonly droppedParams: CounterFamily;
  /** Incremented by governance: `metrics.rateLimited(scope, limit, virtualKeyId)`. */
  readonly rateLimitRejections: CounterFamily;
  /** Incremented by governance: `metrics.budgetExceeded(scope, virtualKeyId)`. */
  readonly budgetRejections: CounterFamily;
  readonly logDropped: CounterFamily;
  /** Client requests refused at once because the gateway was at limits.max_in_flight (`requestShed`). */
  readonly shed: CounterFamily;
  /** Plugin stage calls timed and failed (src/plugins/lifecycle.ts). */
  readonly pluginDuration: HistogramFamily;
  readonly pluginErrors: CounterFamily;

  constructor(options: MetricsOptions = {}) {
    const registry = this.registry;
    const vk = options.virtualKeyLabels === true;
    this.virtualKeyLabels = vk;
    const withKey = (names: string[]): string[] => (vk ? [...names, 'virtual_key'] : names);

    this.requests = new CounterFamily(registry, 'heimdall_requests_total',
      'Requests handled, by client surface, provider, model, HTTP status class and cache result.',
      withKey(['surface', 'provider', 'model', 'status_class', 'cache']));
    this.requestDuration = new HistogramFamily(registry, 'heimdall_request_duration_seconds',
      'Total time of a request as the client sees it (to the last byte of a stream).', ['surface', 'provider'], LATENCY_BUCKETS);
    this.upstreamDuration = new HistogramFamily(registry, 'heimdall_upstream_duration_seconds',
      'Time spent waiting on the provider, all attempts of a request together.', ['provider'], LATENCY_BUCKETS);
    this.overhead = new HistogramFamily(registry, 'heimdall_overhead_seconds',
      "The gateway's own time per request: total time minus upstream time and retry waits.", ['surface'], OVERHEAD_BUCKETS);
    this.ttft = new HistogramFamily(registry, 'heimdall_time_to_first_token_seconds',
      'Streams: time from the request to the first byte sent to the client.', ['provider'], TTFT_BUCKETS);
    this.tokens = new CounterFamily(registry, 'heimdall_tokens_total',
      'Tokens reported by providers, by type: input, output, cached (cached tokens are part of input).',
      withKey(['provider', 'model', 'type']));
    this.cost = new CounterFamily(registry, 'heimdall_cost_usd_total',
      'Cost of requests in US dollars, from the pricing table.', withKey(['provider', 'model']));
    this.unpricedRequests = new CounterFamily(registry, 'heimdall_cost_unknown_requests_total',
      'Requests with usage but no known price for their model (not in heimdall_cost_usd_total).', ['provider', 'model']);
    this.upstreamErrors = new CounterFamily(registry, 'heimdall_upstream_errors_total',
      'Failed upstream attempts, by provider and HTTP status, or timeout, network, bad_response, stream.', ['provider', 'status']);
    this.retries = new CounterFamily(registry, 'heimdall_retries_total',
      'Attempts repeated on the same provider and model (another key or after a retryable failure).', ['provider']);
    this.fallbacks = new CounterFamily(registry, 'heimdall_fallbacks_total',
      'Requests moved on from one target to the next (fallbacks, model-group deployments).', ['from_provider', 'to_provider']);
    this.droppedParams = new CounterFamily(registry, 'heimdall_dropped_params_total',
      'Request parameters dropped (with a warning) because the target provider cannot take them.', ['provider', 'param']);
    this.rateLimitRejections = new CounterFamily(registry, 'heimdall_rate_limit_rejections_total',
      'Requests refused with 429 by a Heimdall rate limit, by scope (virtual_key, team, customer, ...) and limit (requests, tokens, ...).',
      withKey(['scope', 'limit']));
    this.budgetRejections = new CounterFamily(registry, 'heimdall_budget_rejections_total',
      'Requests refused with 402 because a budget is spent, by scope (virtual_key, team, customer, ...).', withKey(['scope']));
    this.pluginDuration = new HistogramFamily(registry, 'heimdall_plugin_duration_seconds',
      'Time spent in each plugin, by stage (built-in plugins included; one call in 8 is timed).', ['plugin', 'stage'], PLUGIN_BUCKETS);
    this.pluginErrors = new CounterFamily(registry, 'heimdall_plugin_errors_total',
      'Plugin calls that threw or timed out, by plugin and stage (refusals are answers, not errors).', ['plugin', 'stage']);
    this.logDropped = new CounterFamily(registry, 'heimdall_log_dropped_total',
      'Request-log records (what="records") or their bodies (what="bodies") dropped because the write queue was full or a write failed.',
      ['what']);
    this.shed = new CounterFamily(registry, 'heimdall_requests_shed_total',
      'Client requests refused with 503 because the gateway was overloaded (limits.max_in_flight), by surface and reason: limit (no slot and no room in the queue), queue_timeout, event_loop_delay (limits.max_event_loop_delay_ms), capacity (the capacity limit, limits.capacity_target_delay_ms).',
      ['surface', 'reason']);
    this.logDropped.collect = () => {
      const counts = this.sources.logWriter?.();
      if (counts === undefined) return;
      this.logDropped.with('records').value = counts.droppedRecords;
      this.logDropped.with('bodies').value = counts.droppedBodies;
    };
    this.registerGauges();
    if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'heimdall_' });
  }

  private registerGauges(): void {
    const sources = this.sources;
    const registers = [this.registry];
    new Gauge({ name: 'heimdall_build_info', help: 'Always 1; the version label says which Heimdall runs.', labelNames: ['version'], registers })
      .set({ version: VERSION }, 1);
    new Gauge({
      name: 'heimdall_in_flight_requests', help: 'Client requests being handled now, from arrival to the last byte (what limits.max_in_flight bounds).', registers,
      collect() { this.set(sources.inFlight?.() ?? 0); },
    });
    new Gauge({
      name: 'heimdall_max_in_flight_requests', help: 'The in-flight limit (limits.max_in_flight); absent when there is none.', registers,
      collect() {
        this.reset();
        const limit = sources.admission?.().limit;
        if (limit !== undefined) this.set(limit);
      },
    });
    new Gauge({
      name: 'heimdall_capacity_limit_requests_per_second', help: 'The capacity limit: new client requests a second this process admits now (limits.capacity_target_delay_ms); 0 while there is none (the event loop keeps up).', registers,
      collect() {
        const rate = sources.admission?.().capacityRate;
        this.set(rate !== undefined && Number.isFinite(rate) ? rate : 0);
      },
    });
    new Gauge({
      name: 'heimdall_capacity_loop_delay_seconds', help: 'The event loop\'s mean delay over the last 100 ms, the capacity limit\'s signal (seconds); with --workers, the latest worker\'s.', registers, aggregator: 'max',
      collect() { this.set((sources.admission?.().capacityDelayMs ?? 0) / 1000); },
    });
    new Gauge({
      name: 'heimdall_admission_queue_depth', help: 'Client requests waiting for an in-flight slot (limits.max_queue).', registers,
      collect() { this.set(sources.admission?.().queued ?? 0); },
    });
    new Gauge({
      name: 'heimdall_provider_in_flight_requests', help: 'Upstream calls running now, by provider.', labelNames: ['provider'], registers,
      collect() {
        this.reset();
        for (const load of sources.providers?.() ?? []) this.set({ provider: load.provider }, load.inFlight);
      },
    });
    new Gauge({
      name: 'heimdall_provider_queue_depth', help: 'Requests waiting for a concurrency slot, by provider.', labelNames: ['provider'], registers,
      collect() {
        this.reset();
        for (const load of sources.providers?.() ?? []) this.set({ provider: load.provider }, load.queued);
      },
    });
    new Gauge({
      name: 'heimdall_circuit_breaker_state', help: 'Circuit breaker of each provider key: 0 closed, 1 half-open, 2 open.',
      labelNames: ['provider', 'key'], registers,
      collect() {
        this.reset();
        for (const breaker of sources.breakers?.() ?? []) this.set({ provider: breaker.provider, key: breaker.key }, BREAKER_STATE_VALUE[breaker.state]);
      },
    });
    new Gauge({
      name: 'heimdall_log_queue_depth', help: 'Request-log records waiting to be written to the database.', registers,
      collect() { this.set(sources.logWriter?.()?.queued ?? 0); },
    });
  }

  /** A bounded model label ("other" past the first 256 distinct models). */
  modelLabel(model: string): string {
    return this.models.value(model);
  }

  /** A bounded virtual-key label ("none" without a key, "other" past 1,000 keys). */
  virtualKeyLabel(id: string | undefined): string {
    return id === undefined ? 'none' : this.virtualKeys.value(id);
  }

  /**
   * A client request refused before the gateway took it up (no request context yet): an unknown
   * route (404), a body over limits.max_body_bytes (413), a malformed Content-Length (400). Counted
   * in heimdall_requests_total on its surface with provider, model and cache "none"; paths outside
   * the client surfaces (/api, /metrics, the dashboard) are not LLM requests and are not counted.
   */
  observeRefusal(path: string, status: number): void {
    const surface = surfaceOfPath(path);
    if (surface === undefined) return;
    const values = [surface, 'none', 'none', STATUS_CLASSES[statusClassIndex(status)], 'none'];
    if (this.virtualKeyLabels) values.push('none');
    this.requests.with(...values).value++;
  }

  /** A client request refused with 503 by overload shedding; also counted in heimdall_requests_total. */
  requestShed(path: string, reason: 'limit' | 'queue_timeout' | 'event_loop_delay' | 'capacity'): void {
    const surface = surfaceOfPath(path) ?? 'openai';
    this.shed.inc([surface, reason]);
    this.observeRefusal(path, 503);
  }

  /** A request refused by a rate limit (governance). `limit`: requests, tokens, concurrency... */
  rateLimited(scope: string, limit: string, virtualKeyId?: string): void {
    if (this.virtualKeyLabels) this.rateLimitRejections.inc([scope, limit, this.virtualKeyLabel(virtualKeyId)]);
    else this.rateLimitRejections.inc([scope, limit]);
  }

  /** A request refused because a budget is spent (governance). */
  budgetExceeded(scope: string, virtualKeyId?: string): void {
    if (this.virtualKeyLabels) this.budgetRejections.inc([scope, this.virtualKeyLabel(virtualKeyId)]);
    else this.budgetRejections.inc([scope]);
  }

  private bundle(surface: string, provider: string, model: string, cache: string, virtualKey: string | undefined): Bundle {
    // Nested maps of short strings: no key string is built per request (that cost ten times more).
    let byProvider = this.bundles.get(surface);
    if (byProvider === undefined) this.bundles.set(surface, (byProvider = new Map()));
    let byModel = byProvider.get(provider);
    if (byModel === undefined) byProvider.set(provider, (byModel = new Map()));
    let byRest = byModel.get(model);
    if (byRest === undefined) byModel.set(model, (byRest = new Map()));
    const vk = this.virtualKeyLabels ? this.virtualKeyLabel(virtualKey) : '';
    const rest = this.virtualKeyLabels ? `${cache}\u0001${vk}` : cache;
    let bundle = byRest.get(rest);
    if (bundle === undefined) {
      bundle = {
        labels: this.virtualKeyLabels ? [surface, provider, model, cache, vk] : [surface, provider, model, cache],
        byStatusClass: [undefined, undefined, undefined, undefined, undefined],
        duration: this.requestDuration.with(surface, provider),
        overhead: this.overhead.with(surface),
        upstream: undefined,
        ttft: undefined,
        inputTokens: undefined,
        outputTokens: undefined,
        cachedTokens: undefined,
        cost: undefined,
        unpriced: undefined,
      };
      byRest.set(rest, bundle);
    }
    return bundle;
  }

  private tokenSeries(bundle: Bundle, type: string): CounterSeries {
    const [, provider, model, , vk] = bundle.labels;
    return this.virtualKeyLabels ? this.tokens.with(provider, model, type, vk) : this.tokens.with(provider, model, type);
  }

  /** Records one finished request: counters, histograms, attempts. */
  observe(o: RequestObservation): void {
    const model = this.models.value(o.model);
    const bundle = this.bundle(o.surface, o.provider, model, o.cache, o.virtualKey);
    const labels = bundle.labels;
    const classIndex = statusClassIndex(o.status);
    let requests = bundle.byStatusClass[classIndex];
    if (requests === undefined) {
      const values = [labels[0], labels[1], labels[2], STATUS_CLASSES[classIndex], labels[3]];
      if (this.virtualKeyLabels) values.push(labels[4]);
      requests = this.requests.with(...values);
      bundle.byStatusClass[classIndex] = requests;
    }
    requests.value++;
    bundle.duration.observe(o.totalSeconds);
    bundle.overhead.observe(o.overheadSeconds);
    if (o.attempts.length > 0) (bundle.upstream ??= this.upstreamDuration.with(o.provider)).observe(o.upstreamSeconds);
    if (o.ttftSeconds !== undefined) (bundle.ttft ??= this.ttft.with(o.provider)).observe(o.ttftSeconds);
    if (o.inputTokens) (bundle.inputTokens ??= this.tokenSeries(bundle, 'input')).value += o.inputTokens;
    if (o.outputTokens) (bundle.outputTokens ??= this.tokenSeries(bundle, 'output')).value += o.outputTokens;
    if (o.cachedTokens) (bundle.cachedTokens ??= this.tokenSeries(bundle, 'cached')).value += o.cachedTokens;
    if (typeof o.costUsd === 'number') {
      bundle.cost ??= this.virtualKeyLabels ? this.cost.with(o.provider, model, labels[4]) : this.cost.with(o.provider, model);
      bundle.cost.value += o.costUsd;
    } else if (o.costUsd === null) {
      (bundle.unpriced ??= this.unpricedRequests.with(o.provider, model)).value++;
    }
    if (o.attempts.length > 0) this.observeAttempts(o.attempts);
    if (o.warnings !== undefined) {
      for (const warning of o.warnings) this.droppedParams.with(o.provider, this.params.value(warning.param)).value++;
    }
  }

  /** Failed attempts, retries (same provider and model again) and fallbacks (a different target). */
  private observeAttempts(attempts: readonly AttemptObservation[]): void {
    for (let i = 0; i < attempts.length; i++) {
      const attempt = attempts[i];
      const error = attemptErrorLabel(attempt);
      if (error !== undefined) this.upstreamErrors.with(attempt.provider, error).value++;
      if (i === 0) continue;
      const previous = attempts[i - 1];
      if (previous.provider === attempt.provider && previous.model === attempt.model) this.retries.with(attempt.provider).value++;
      else this.fallbacks.with(previous.provider, attempt.provider).value++;
    }
  }
}
