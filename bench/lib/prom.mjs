// A small Prometheus text-format (0.0.4) reader and the histogram_quantile estimate, enough to read the
// gateway's own overhead histogram before and after a benchmark step.
// @see https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
// @see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile

/** @typedef {{ name: string, labels: Record<string, string>, value: number }} Sample */
/** @typedef {{ buckets: { le: number, count: number }[], sum: number, count: number }} Histogram */

/** Parses exposition text into samples; comments, blank lines and malformed lines are skipped. */
export function parsePrometheusText(text) {
  /** @type {Sample[]} */
  const samples = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    const sample = parseSampleLine(line);
    if (sample) samples.push(sample);
  }
  return samples;
}

function parseSampleLine(line) {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) return null;
  const name = nameMatch[0];
  let position = name.length;
  /** @type {Record<string, string>} */
  const labels = {};
  if (line[position] === '{') {
    position += 1;
    while (position < line.length && line[position] !== '}') {
      const labelMatch = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(line.slice(position));
      if (!labelMatch) return null;
      position += labelMatch[0].length;
      let value = '';
      while (position < line.length && line[position] !== '"') {
        if (line[position] === '\\') {
          const escaped = line[position + 1];
          value += escaped === 'n' ? '\n' : escaped;
          position += 2;
        } else {
          value += line[position];
          position += 1;
        }
      }
      if (line[position] !== '"') return null;
      position += 1;
      labels[labelMatch[1]] = value;
      const separator = /^\s*,?\s*/.exec(line.slice(position));
      position += separator ? separator[0].length : 0;
    }
    if (line[position] !== '}') return null;
    position += 1;
  }
  const rest = line.slice(position).trim().split(/\s+/);
  const value = parseValue(rest[0]);
  if (value === null) return null;
  return { name, labels, value };
}

function parseValue(text) {
  if (text === undefined) return null;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const value = Number(text);
  return Number.isNaN(value) ? null : value;
}

/**
 * Sums a histogram across all its label sets (optionally only those `filter` accepts).
 * Returns null when the text holds no `<name>_bucket` series.
 * @param {Sample[]} samples
 * @param {string} name base name, e.g. `heimdall_overhead_seconds`
 * @param {(labels: Record<string, string>) => boolean} [filter]
 * @returns {Histogram | null}
 */
export function readHistogram(samples, name, filter = () => true) {
  /** @type {Map<number, number>} */
  const byBound = new Map();
  let sum = 0;
  let count = 0;
  let found = false;
  for (const sample of samples) {
    if (!filter(sample.labels)) continue;
    if (sample.name === `${name}_bucket`) {
      const le = parseValue(sample.labels.le);
      if (le === null) continue;
      found = true;
      byBound.set(le, (byBound.get(le) ?? 0) + sample.value);
    } else if (sample.name === `${name}_sum`) {
      sum += sample.value;
    } else if (sample.name === `${name}_count`) {
      count += sample.value;
    }
  }
  if (!found) return null;
  const buckets = [...byBound].map(([le, bucketCount]) => ({ le, count: bucketCount })).sort((a, b) => a.le - b.le);
  return { buckets, sum, count };
}

/** after − before, bucket by bucket (the observations made between two scrapes). */
export function subtractHistogram(after, before) {
  if (!before) return after;
  const previous = new Map(before.buckets.map((bucket) => [bucket.le, bucket.count]));
  return {
    buckets: after.buckets.map((bucket) => ({ le: bucket.le, count: bucket.count - (previous.get(bucket.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/**
 * The φ-quantile of a cumulative-bucket histogram, as Prometheus's histogram_quantile estimates it:
 * linear interpolation inside the bucket that holds the rank; the lowest bucket starts at 0; a rank in
 * the +Inf bucket answers the highest finite bound. NaN when the histogram is empty.
 */
export function histogramQuantile(quantile, histogram) {
  const buckets = histogram.buckets;
  if (buckets.length === 0) return NaN;
  const total = buckets[buckets.length - 1].count;
  if (!(total > 0)) return NaN;
  if (quantile <= 0) return 0;
  if (quantile >= 1) return highestFiniteBound(buckets);
  const rank = quantile * total;
  let index = buckets.findIndex((bucket) => bucket.count >= rank);
  if (index === -1) index = buckets.length - 1;
  const bucket = buckets[index];
  if (bucket.le === Infinity) return highestFiniteBound(buckets);
  const lowerBound = index === 0 ? 0 : buckets[index - 1].le;
  const countBelow = index === 0 ? 0 : buckets[index - 1].count;
  const inBucket = bucket.count - countBelow;
  if (inBucket <= 0) return bucket.le;
  return lowerBound + (bucket.le - lowerBound) * ((rank - countBelow) / inBucket);
}

function highestFiniteBound(buckets) {
  for (let index = buckets.length - 1; index >= 0; index -= 1) {
    if (Number.isFinite(buckets[index].le)) return buckets[index].le;
  }
  return NaN;
}
