/**
 * Prometheus metrics (prom-client), one registry per gateway instance.
 * Label values are bounded: models past a cap are reported as "other".
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const MAX_MODEL_LABELS = 256;

/** From 10 µs to 10 ms, fine enough to see the gateway's own cost. */
const OVERHEAD_BUCKETS = [0.00001, 0.00002, 0.00003, 0.00005, 0.000075, 0.0001, 0.00015, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1];
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];

export interface RequestObservation {
  surface: string;
  provider: string;
  model: string;
  status: number;
  cache: string;
  totalSeconds: number;
  upstreamSeconds: number;
  overheadSeconds: number;
  ttftSeconds: number | undefined;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  cachedTokens: number | undefined;
  attempts: number;
}

function statusClass(status: number): string {
  if (status < 200) return '1xx';
  if (status < 300) return '2xx';
  if (status < 400) return '3xx';
  if (status < 500) return '4xx';
  return '5xx';
}

export class Metrics {
  readonly registry = new Registry();
  private readonly models = new Set<string>();
  readonly requests = new Counter({
    name: 'heimdall_requests_total',
    help: 'Requests handled, by surface, provider, model, status class and cache result.',
    labelNames: ['surface', 'provider', 'model', 'status_class', 'cache'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'heimdall_request_duration_seconds',
    help: 'Total time of a request, as the client sees it.',
    labelNames: ['surface', 'provider'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly upstreamDuration = new Histogram({
    name: 'heimdall_upstream_duration_seconds',
    help: 'Time spent waiting on upstream providers, all attempts of a request.',
    labelNames: ['provider'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly overhead = new Histogram({
    name: 'heimdall_overhead_seconds',
    help: "The gateway's own time for a request: total minus upstream time and retry waits.",
    buckets: OVERHEAD_BUCKETS,
    registers: [this.registry],
  });
  readonly ttft = new Histogram({
    name: 'heimdall_time_to_first_token_seconds',
    help: 'For streams, time from the request to the first byte sent to the client.',
    labelNames: ['provider'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'heimdall_tokens_total',
    help: 'Tokens reported by providers, by type (input, output, cached).',
    labelNames: ['provider', 'model', 'type'] as const,
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: 'heimdall_upstream_errors_total',
    help: 'Failed upstream attempts, by provider and status (or failure kind).',
    labelNames: ['provider', 'status'] as const,
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'heimdall_retries_total',
    help: 'Upstream attempts beyond the first, by provider.',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'heimdall_in_flight_requests',
    help: 'Requests being handled now.',
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'heimdall_process_' });
  }

  /** A bounded model label. */
  modelLabel(model: string): string {
    if (this.models.has(model)) return model;
    if (this.models.size >= MAX_MODEL_LABELS) return 'other';
    this.models.add(model);
    return model;
  }

  observe(o: RequestObservation): void {
    const model = this.modelLabel(o.model);
    this.requests.inc({ surface: o.surface, provider: o.provider, model, status_class: statusClass(o.status), cache: o.cache });
    this.requestDuration.observe({ surface: o.surface, provider: o.provider }, o.totalSeconds);
    if (o.provider !== 'none') this.upstreamDuration.observe({ provider: o.provider }, o.upstreamSeconds);
    this.overhead.observe(o.overheadSeconds);
    if (o.ttftSeconds !== undefined) this.ttft.observe({ provider: o.provider }, o.ttftSeconds);
    if (o.inputTokens) this.tokens.inc({ provider: o.provider, model, type: 'input' }, o.inputTokens);
    if (o.outputTokens) this.tokens.inc({ provider: o.provider, model, type: 'output' }, o.outputTokens);
    if (o.cachedTokens) this.tokens.inc({ provider: o.provider, model, type: 'cached' }, o.cachedTokens);
    if (o.attempts > 1) this.retries.inc({ provider: o.provider }, o.attempts - 1);
  }
}
