/**
 * The cache's Prometheus series, on the gateway's registry:
 *
 *   heimdall_cache_requests_total{result}             hit | semantic-hit | miss | bypass
 *   heimdall_cache_saved_usd_total                    what hits would have cost upstream
 *   heimdall_cache_saved_tokens_total{type}           input | output tokens not sent upstream
 *   heimdall_cache_lookup_duration_seconds{kind}      exact | semantic (semantic includes the embedding call)
 *   heimdall_cache_semantic_matches_total{mode,guard} near matches at the threshold; guard "none": passed
 *   heimdall_cache_semantic_skipped_total{reason}     tool_results | temperature | not_text | embedding_failed
 *   heimdall_cache_entries, heimdall_cache_bytes      gauges, read at scrape time
 */
import { Gauge, type Registry } from 'prom-client';
import { CounterFamily, HistogramFamily } from '../telemetry/metrics.js';
import type { Verdict } from './response-cache.js';
import type { StoreStats } from './types.js';

const LOOKUP_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export class CacheMetrics {
  readonly requests: CounterFamily;
  readonly savedUsd: CounterFamily;
  readonly savedTokens: CounterFamily;
  readonly lookup: HistogramFamily;
  readonly matches: CounterFamily;
  readonly skipped: CounterFamily;
  /** Counts since start by result, for GET /api/cache/stats. */
  readonly counts: Record<Verdict, number> = { hit: 0, 'semantic-hit': 0, miss: 0, bypass: 0 };
  savedUsdTotal = 0;
  savedTokensTotal = 0;

  constructor(registry: Registry, stats: () => StoreStats | undefined) {
    this.requests = new CounterFamily(registry, 'heimdall_cache_requests_total', 'Requests the response cache looked at, by result: hit, semantic-hit, miss, bypass.', ['result']);
    this.savedUsd = new CounterFamily(registry, 'heimdall_cache_saved_usd_total', 'What the answers served from the cache cost when they were made upstream (USD).', []);
    this.savedTokens = new CounterFamily(registry, 'heimdall_cache_saved_tokens_total', 'Tokens not sent upstream thanks to cache hits, by type: input, output.', ['type']);
    this.lookup = new HistogramFamily(registry, 'heimdall_cache_lookup_duration_seconds', 'Time of a cache lookup: exact, or semantic (the embedding call included).', ['kind'], LOOKUP_BUCKETS);
    this.matches = new CounterFamily(registry, 'heimdall_cache_semantic_matches_total', 'Near matches at or above the threshold, by mode (serve, shadow) and the guard that refused them (none: passed).', ['mode', 'guard']);
    this.skipped = new CounterFamily(registry, 'heimdall_cache_semantic_skipped_total', 'Requests not looked up semantically, by reason: tool_results, temperature, not_text, embedding_failed.', ['reason']);
    const registers = [registry];
    new Gauge({ name: 'heimdall_cache_entries', help: 'Entries in the response cache.', registers, collect() { this.set(stats()?.entries ?? 0); } });
    new Gauge({ name: 'heimdall_cache_bytes', help: 'Bytes held by the response cache entries (answers, vectors).', registers, collect() { this.set(stats()?.bytes ?? 0); } });
  }

  counted(verdict: Verdict): void {
    this.counts[verdict]++;
    this.requests.with(verdict).inc();
  }

  saved(usd: number, inputTokens: number, outputTokens: number): void {
    this.savedUsdTotal += usd;
    this.savedTokensTotal += inputTokens + outputTokens;
    if (usd > 0) this.savedUsd.with().inc(usd);
    if (inputTokens > 0) this.savedTokens.with('input').inc(inputTokens);
    if (outputTokens > 0) this.savedTokens.with('output').inc(outputTokens);
  }
}
