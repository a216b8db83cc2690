/**
 * The latency histogram of the request log's rollups (request_log_latency, migration 12): per UTC
 * hour and team, how many requests fell in each of a fixed set of log-spaced latency buckets. The
 * stats of ranges longer than a day take their percentiles from it (rollup-stats.ts) instead of
 * reading every row's latency. Pure: the bucket of a latency (as SQL, so the writer and the reader's
 * edges agree) and a percentile from bucket counts.
 *
 * Bucket 0 holds latencies under 1 ms; bucket i (1..140) holds [1.1^(i-1), 1.1^i) ms, 10% wide,
 * up to 1.1^140 ms (about 10.4 minutes); bucket 141 holds everything slower. A bucket stands for
 * its geometric middle, 1.1^(i-0.5), which is within a factor √1.1 ≈ 1.0488 of every latency in
 * it; a percentile interpolates between the middles of the two ranks' buckets as percentile_cont
 * interpolates between the ranks, so it is within 4.9% of the exact percentile (plus at most 0.5 ms
 * when some latencies are under 1 ms; latencies over 1.1^140 ms count as 1.1^140 ms).
 */

export const LATENCY_RATIO = 1.1;
/** Buckets 0 (under 1 ms) to 141 (1.1^140 ms and over). */
export const LATENCY_BUCKETS = 142;
const TOP = LATENCY_BUCKETS - 1;
/** The largest relative error of a percentile from the histogram (for latencies of 1 ms to 1.1^140 ms). */
export const LATENCY_RELATIVE_ERROR = Math.sqrt(LATENCY_RATIO) - 1;
/** What latencies under 1 ms (bucket 0, standing for 0.5 ms) add to the error at most, in ms. */
export const LATENCY_ABSOLUTE_ERROR_UNDER_1_MS = 0.5;

/** The bucket of `column` (a latency in ms, not null), in SQL. */
export function latencyBucketSql(column: string): string {
  return `CASE WHEN ${column} < 1 THEN 0 ELSE LEAST(${TOP}, 1 + floor(ln(${column}) / ln(${LATENCY_RATIO}))::int) END`;
}

/** The latency a bucket stands for. */
export function bucketLatency(bucket: number): number {
  if (bucket <= 0) return 0.5;
  if (bucket >= TOP) return LATENCY_RATIO ** (TOP - 1);
  return LATENCY_RATIO ** (bucket - 0.5);
}

/** Counts per bucket (index: bucket), the buckets' total. */
export interface Histogram {
  counts: number[];
  total: number;
}

export function emptyHistogram(): Histogram {
  return { counts: new Array<number>(LATENCY_BUCKETS).fill(0), total: 0 };
}

export function addToHistogram(histogram: Histogram, bucket: number, count: number): void {
  histogram.counts[bucket] += count;
  histogram.total += count;
}

/** The bucket holding the request of rank `rank` (0-based) in latency order. */
function bucketOfRank(histogram: Histogram, rank: number): number {
  let seen = 0;
  for (let bucket = 0; bucket < histogram.counts.length; bucket++) {
    seen += histogram.counts[bucket];
    if (seen > rank) return bucket;
  }
  return histogram.counts.length - 1;
}

/** The `fraction` percentile as percentile_cont gives it (linear between ranks), from the buckets' latencies; null when empty. */
export function histogramPercentile(histogram: Histogram, fraction: number): number | null {
  if (histogram.total === 0) return null;
  const position = fraction * (histogram.total - 1);
  const rank = Math.floor(position);
  const low = bucketLatency(bucketOfRank(histogram, rank));
  const part = position - rank;
  if (part === 0) return low;
  return low + part * (bucketLatency(bucketOfRank(histogram, rank + 1)) - low);
}
