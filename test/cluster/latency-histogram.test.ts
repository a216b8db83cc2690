/**
 * Percentiles from the latency histogram (src/store/pg/latency-histogram.ts) against exact ones
 * (percentile_cont's linear interpolation) on the same latencies: within the stated bound, 4.9%
 * (plus 0.5 ms when some latencies are under 1 ms). The buckets are put as the SQL expression puts them (its formula
 * restated here; test/cluster/pg-rollups.test.ts checks the SQL itself against Postgres).
 */
import { describe, expect, it } from 'vitest';
import {
  LATENCY_ABSOLUTE_ERROR_UNDER_1_MS, LATENCY_BUCKETS, LATENCY_RATIO, LATENCY_RELATIVE_ERROR,
  addToHistogram, bucketLatency, emptyHistogram, histogramPercentile, latencyBucketSql,
} from '../../src/store/pg/latency-histogram.js';

const bucketOf = (latency: number) => (latency < 1 ? 0 : Math.min(LATENCY_BUCKETS - 1, 1 + Math.floor(Math.log(latency) / Math.log(LATENCY_RATIO))));

function exactPercentile(sorted: number[], fraction: number): number {
  const position = fraction * (sorted.length - 1);
  const rank = Math.floor(position);
  const part = position - rank;
  return part === 0 ? sorted[rank] : sorted[rank] + part * (sorted[rank + 1] - sorted[rank]);
}

/** A small deterministic generator (no randomness in tests). */
function latencies(count: number, seed: number, spread: (unit: number) => number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return spread(state / 2 ** 31);
  });
}

describe('latency histogram', () => {
  it('says its buckets in SQL as stated: under 1 ms, 10% wide, the last one open', () => {
    expect(latencyBucketSql('latency_ms')).toBe('CASE WHEN latency_ms < 1 THEN 0 ELSE LEAST(141, 1 + floor(ln(latency_ms) / ln(1.1))::int) END');
    expect(LATENCY_RELATIVE_ERROR).toBeLessThan(0.049);
    expect(bucketLatency(0)).toBe(0.5);
    expect(bucketLatency(1)).toBeCloseTo(Math.sqrt(1.1), 12);
    expect(bucketLatency(141)).toBeCloseTo(1.1 ** 140, 6);
    expect(1.1 ** 140 / 60_000).toBeGreaterThan(10);
  });

  it('is empty without requests, and one request is its bucket', () => {
    const histogram = emptyHistogram();
    expect(histogramPercentile(histogram, 0.5)).toBeNull();
    addToHistogram(histogram, bucketOf(250), 1);
    expect(histogramPercentile(histogram, 0.99)).toBeCloseTo(bucketLatency(bucketOf(250)), 12);
  });

  it('interpolates between the two ranks\' buckets as percentile_cont does between the ranks', () => {
    const histogram = emptyHistogram();
    addToHistogram(histogram, 10, 1);
    addToHistogram(histogram, 20, 1);
    // Two requests: p50 is halfway between them.
    expect(histogramPercentile(histogram, 0.5)).toBeCloseTo((bucketLatency(10) + bucketLatency(20)) / 2, 12);
    expect(histogramPercentile(histogram, 0)).toBe(bucketLatency(10));
    expect(histogramPercentile(histogram, 1)).toBe(bucketLatency(20));
  });

  it.each([
    ['uniform 40 ms to 8 s', 5000, 1, (unit: number) => 40 + unit * 7960],
    ['long tail from 5 ms', 20_000, 7, (unit: number) => 5 + unit ** 4 * 300_000],
    ['under a millisecond to 2 ms (cache hits)', 3000, 11, (unit: number) => unit * 2],
    ['a few distinct values', 1001, 3, (unit: number) => [12, 12.5, 900, 901][Math.floor(unit * 4)]],
    ['up to 10 minutes', 4000, 5, (unit: number) => 1 + unit * 599_999],
  ])('%s: every percentile within the bound of the exact one', (_, count, seed, spread) => {
    const values = latencies(count, seed, spread);
    const histogram = emptyHistogram();
    for (const value of values) addToHistogram(histogram, bucketOf(value), 1);
    const sorted = [...values].sort((a, b) => a - b);
    for (let percent = 0; percent <= 100; percent++) {
      const exact = exactPercentile(sorted, percent / 100);
      const approximate = histogramPercentile(histogram, percent / 100)!;
      const bound = exact * LATENCY_RELATIVE_ERROR * (1 + 1e-9) + (sorted[0] < 1 ? LATENCY_ABSOLUTE_ERROR_UNDER_1_MS : 0);
      expect(Math.abs(approximate - exact), `p${percent}: ${approximate} for ${exact}`).toBeLessThanOrEqual(bound);
    }
  });
});
