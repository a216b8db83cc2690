/**
 * The Metrics registry on its own: what one observation moves (exactly),
 * bucket placement in the overhead histogram, bounded labels, opt-in
 * virtual-key labels, the counters governance calls, and the gauges that
 * read live state at scrape time.
 */
import { describe, expect, it } from 'vitest';
import { Metrics, OVERHEAD_BUCKETS, attemptErrorLabel, type RequestObservation } from '../../src/telemetry/metrics.js';
import { parseProm, samplesOf, value, type Scrape } from './helpers.js';

function observation(overrides: Partial<RequestObservation> = {}): RequestObservation {
  return {
    surface: 'openai',
    provider: 'openai',
    model: 'gpt-4o-mini',
    status: 200,
    cache: 'none',
    virtualKey: undefined,
    totalSeconds: 0.2,
    upstreamSeconds: 0.19,
    overheadSeconds: 0.00004,
    ttftSeconds: undefined,
    inputTokens: 10,
    outputTokens: 5,
    cachedTokens: undefined,
    costUsd: undefined,
    attempts: [{ provider: 'openai', model: 'gpt-4o-mini', status: 200 }],
    ...overrides,
  };
}

async function read(metrics: Metrics): Promise<Scrape> {
  return parseProm(await metrics.registry.metrics());
}

describe('Metrics.observe', () => {
  it('moves each request counter and histogram by exactly one observation', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.observe(observation());
    metrics.observe(observation({ status: 502, inputTokens: undefined, outputTokens: undefined }));
    metrics.observe(observation({ surface: 'anthropic', ttftSeconds: 0.3, stream: undefined } as Partial<RequestObservation>));
    const scrape = await read(metrics);
    const base = { provider: 'openai', model: 'gpt-4o-mini', cache: 'none' };
    expect(value(scrape, 'heimdall_requests_total', { ...base, surface: 'openai', status_class: '2xx' })).toBe(1);
    expect(value(scrape, 'heimdall_requests_total', { ...base, surface: 'openai', status_class: '5xx' })).toBe(1);
    expect(value(scrape, 'heimdall_requests_total', { ...base, surface: 'anthropic', status_class: '2xx' })).toBe(1);
    expect(value(scrape, 'heimdall_request_duration_seconds_count', { surface: 'openai', provider: 'openai' })).toBe(2);
    expect(value(scrape, 'heimdall_request_duration_seconds_sum', { surface: 'openai', provider: 'openai' })).toBeCloseTo(0.4, 10);
    expect(value(scrape, 'heimdall_upstream_duration_seconds_count', { provider: 'openai' })).toBe(3);
    expect(value(scrape, 'heimdall_overhead_seconds_count')).toBe(3);
    expect(value(scrape, 'heimdall_time_to_first_token_seconds_count', { provider: 'openai' })).toBe(1);
    expect(value(scrape, 'heimdall_tokens_total', { provider: 'openai', model: 'gpt-4o-mini', type: 'input' })).toBe(20);
    expect(value(scrape, 'heimdall_tokens_total', { provider: 'openai', model: 'gpt-4o-mini', type: 'output' })).toBe(10);
    expect(samplesOf(scrape, 'heimdall_tokens_total', { type: 'cached' })).toHaveLength(0);
    expect(scrape.types.get('heimdall_requests_total')).toBe('counter');
    expect(scrape.types.get('heimdall_overhead_seconds')).toBe('histogram');
  });

  it('puts overheads from 10 µs to 10 ms into distinct buckets', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const overheads = [0.00001, 0.00002, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01];
    for (const seconds of overheads) metrics.observe(observation({ overheadSeconds: seconds * 0.999 }));
    const scrape = await read(metrics);
    const buckets = samplesOf(scrape, 'heimdall_overhead_seconds_bucket', { surface: 'openai' });
    const at = (le: string): number => buckets.find((b) => b.labels.le === le)?.value ?? -1;
    // Each value sits just under a bound, so each bound's cumulative count is one more than the one before.
    overheads.forEach((seconds, i) => expect(at(String(seconds))).toBe(i + 1));
    expect(at('+Inf')).toBe(overheads.length);
    expect(OVERHEAD_BUCKETS.filter((b) => b >= 0.00001 && b <= 0.01).length).toBeGreaterThanOrEqual(15);
    // cumulative and non-decreasing
    const counts = buckets.map((b) => b.value);
    expect([...counts].sort((a, b) => a - b)).toEqual(counts);
  });

  it('counts cost, unpriced requests, cached tokens, dropped parameters', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.observe(observation({ costUsd: 0.25, cachedTokens: 4 }));
    metrics.observe(observation({ costUsd: 0.5 }));
    metrics.observe(observation({ costUsd: null }));
    metrics.observe(observation({ warnings: [{ param: 'logit_bias' }, { param: 'seed' }] }));
    const scrape = await read(metrics);
    expect(value(scrape, 'heimdall_cost_usd_total', { provider: 'openai', model: 'gpt-4o-mini' })).toBeCloseTo(0.75, 10);
    expect(value(scrape, 'heimdall_cost_unknown_requests_total', { provider: 'openai', model: 'gpt-4o-mini' })).toBe(1);
    expect(value(scrape, 'heimdall_tokens_total', { type: 'cached' })).toBe(4);
    expect(value(scrape, 'heimdall_dropped_params_total', { provider: 'openai', param: 'logit_bias' })).toBe(1);
    expect(value(scrape, 'heimdall_dropped_params_total', { provider: 'openai', param: 'seed' })).toBe(1);
  });

  it('tells retries, fallbacks and upstream errors apart from the attempts', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.observe(observation({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      attempts: [
        { provider: 'openai', model: 'gpt-4o', status: 500 },
        { provider: 'openai', model: 'gpt-4o', status: undefined, failure: 'timeout', error: 'connect timeout' },
        { provider: 'anthropic', model: 'claude-sonnet-4-5', status: 200 },
      ],
    }));
    metrics.observe(observation({ status: 499, attempts: [{ provider: 'openai', model: 'gpt-4o-mini', failure: 'aborted', error: 'client closed' }] }));
    const scrape = await read(metrics);
    expect(value(scrape, 'heimdall_upstream_errors_total', { provider: 'openai', status: '500' })).toBe(1);
    expect(value(scrape, 'heimdall_upstream_errors_total', { provider: 'openai', status: 'timeout' })).toBe(1);
    expect(value(scrape, 'heimdall_upstream_errors_total')).toBe(2); // the client's abort is not an upstream error
    expect(value(scrape, 'heimdall_retries_total', { provider: 'openai' })).toBe(1);
    expect(value(scrape, 'heimdall_fallbacks_total', { from_provider: 'openai', to_provider: 'anthropic' })).toBe(1);
    expect(value(scrape, 'heimdall_requests_total', { status_class: '4xx' })).toBe(1);
  });

  it('labels an attempt error by status or failure kind', () => {
    expect(attemptErrorLabel({ provider: 'p', model: 'm', status: 429 })).toBe('429');
    expect(attemptErrorLabel({ provider: 'p', model: 'm', status: 429, failure: 'http' })).toBe('429');
    expect(attemptErrorLabel({ provider: 'p', model: 'm' })).toBe('network');
    expect(attemptErrorLabel({ provider: 'p', model: 'm', failure: 'timeout' })).toBe('timeout');
    expect(attemptErrorLabel({ provider: 'p', model: 'm', status: 200 })).toBeUndefined();
    expect(attemptErrorLabel({ provider: 'p', model: 'm', status: 200, error: 'upstream stream failed' })).toBe('stream');
    expect(attemptErrorLabel({ provider: 'p', model: 'm', failure: 'aborted' })).toBeUndefined();
  });
});

describe('labels', () => {
  it('caps distinct model labels at 256; the rest read "other"', async () => {
    const metrics = new Metrics({ processMetrics: false });
    for (let i = 0; i < 300; i++) metrics.observe(observation({ model: `model-${i}` }));
    const scrape = await read(metrics);
    const models = new Set(samplesOf(scrape, 'heimdall_requests_total').map((s) => s.labels.model));
    expect(models.size).toBe(257);
    expect(value(scrape, 'heimdall_requests_total', { model: 'other' })).toBe(44);
    expect(value(scrape, 'heimdall_requests_total')).toBe(300);
  });

  it('has no virtual_key label unless it is turned on', async () => {
    const off = new Metrics({ processMetrics: false });
    off.observe(observation({ virtualKey: 'vk_1' }));
    off.rateLimited('virtual_key', 'requests', 'vk_1');
    const offScrape = await read(off);
    for (const sample of offScrape.samples) expect(sample.labels.virtual_key).toBeUndefined();
    expect(value(offScrape, 'heimdall_rate_limit_rejections_total', { scope: 'virtual_key', limit: 'requests' })).toBe(1);

    const on = new Metrics({ processMetrics: false, virtualKeyLabels: true });
    on.observe(observation({ virtualKey: 'vk_1', costUsd: 0.1 }));
    on.observe(observation({ virtualKey: undefined }));
    on.rateLimited('team', 'tokens', 'vk_1');
    on.budgetExceeded('virtual_key', 'vk_1');
    const onScrape = await read(on);
    expect(value(onScrape, 'heimdall_requests_total', { virtual_key: 'vk_1' })).toBe(1);
    expect(value(onScrape, 'heimdall_requests_total', { virtual_key: 'none' })).toBe(1);
    expect(value(onScrape, 'heimdall_tokens_total', { virtual_key: 'vk_1', type: 'input' })).toBe(10);
    expect(value(onScrape, 'heimdall_cost_usd_total', { virtual_key: 'vk_1' })).toBeCloseTo(0.1, 10);
    expect(value(onScrape, 'heimdall_rate_limit_rejections_total', { scope: 'team', limit: 'tokens', virtual_key: 'vk_1' })).toBe(1);
    expect(value(onScrape, 'heimdall_budget_rejections_total', { scope: 'virtual_key', virtual_key: 'vk_1' })).toBe(1);
    // histograms never carry it
    for (const sample of samplesOf(onScrape, 'heimdall_request_duration_seconds_count')) expect(sample.labels.virtual_key).toBeUndefined();
  });
});

describe('gauges read live state at scrape time', () => {
  it('in flight, per-provider load, breaker state, log queue and drops', async () => {
    const metrics = new Metrics({ processMetrics: false });
    let inFlight = 3;
    let writer = { queued: 7, droppedRecords: 2, droppedBodies: 5 };
    metrics.sources.inFlight = () => inFlight;
    metrics.sources.providers = () => [{ provider: 'openai', inFlight: 2, queued: 1 }, { provider: 'groq', inFlight: 0, queued: 0 }];
    metrics.sources.breakers = () => [
      { provider: 'openai', key: 'primary', state: 'closed' },
      { provider: 'openai', key: 'backup', state: 'open' },
      { provider: 'groq', key: 'default', state: 'half_open' },
    ];
    metrics.sources.logWriter = () => writer;
    let scrape = await read(metrics);
    expect(value(scrape, 'heimdall_in_flight_requests')).toBe(3);
    expect(value(scrape, 'heimdall_provider_in_flight_requests', { provider: 'openai' })).toBe(2);
    expect(value(scrape, 'heimdall_provider_queue_depth', { provider: 'openai' })).toBe(1);
    expect(value(scrape, 'heimdall_circuit_breaker_state', { provider: 'openai', key: 'primary' })).toBe(0);
    expect(value(scrape, 'heimdall_circuit_breaker_state', { provider: 'openai', key: 'backup' })).toBe(2);
    expect(value(scrape, 'heimdall_circuit_breaker_state', { provider: 'groq', key: 'default' })).toBe(1);
    expect(value(scrape, 'heimdall_log_queue_depth')).toBe(7);
    expect(value(scrape, 'heimdall_log_dropped_total', { what: 'records' })).toBe(2);
    expect(value(scrape, 'heimdall_log_dropped_total', { what: 'bodies' })).toBe(5);
    expect(scrape.types.get('heimdall_log_dropped_total')).toBe('counter');

    inFlight = 0;
    writer = { queued: 0, droppedRecords: 3, droppedBodies: 5 };
    metrics.sources.breakers = () => [{ provider: 'openai', key: 'primary', state: 'open' }];
    scrape = await read(metrics);
    expect(value(scrape, 'heimdall_in_flight_requests')).toBe(0);
    expect(value(scrape, 'heimdall_log_dropped_total', { what: 'records' })).toBe(3);
    // a key that is gone leaves no stale series
    expect(samplesOf(scrape, 'heimdall_circuit_breaker_state')).toHaveLength(1);
  });

  it('leaves a gauge empty (or 0 without labels) when nobody feeds it', async () => {
    const scrape = await read(new Metrics({ processMetrics: false }));
    expect(samplesOf(scrape, 'heimdall_provider_queue_depth')).toHaveLength(0);
    expect(samplesOf(scrape, 'heimdall_circuit_breaker_state')).toHaveLength(0);
    expect(samplesOf(scrape, 'heimdall_log_dropped_total')).toHaveLength(0);
    expect(value(scrape, 'heimdall_log_queue_depth')).toBe(0);
    expect(value(scrape, 'heimdall_build_info')).toBe(1);
  });

  it('adds Node process metrics (memory, event loop lag, GC) only when enabled', async () => {
    const withProcess = await read(new Metrics({ processMetrics: true }));
    expect(withProcess.types.get('heimdall_process_resident_memory_bytes')).toBe('gauge');
    expect(withProcess.types.get('heimdall_nodejs_heap_size_used_bytes')).toBe('gauge');
    expect(withProcess.types.get('heimdall_nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(withProcess.types.get('heimdall_nodejs_gc_duration_seconds')).toBe('histogram');
    const without = await read(new Metrics({ processMetrics: false }));
    expect([...without.types.keys()].filter((name) => name.includes('nodejs') || name.includes('process_'))).toEqual([]);
  });

  it('every metric name is prefixed heimdall_ and documented with HELP', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.observe(observation());
    const scrape = await read(metrics);
    for (const name of scrape.types.keys()) {
      expect(name.startsWith('heimdall_')).toBe(true);
      expect(scrape.help.get(name)?.length ?? 0).toBeGreaterThan(10);
    }
  });
});
