// node --test bench/test/ — checks for the benchmark's Prometheus reader (no server needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { histogramQuantile, parsePrometheusText, readHistogram, subtractHistogram } from '../lib/prom.mjs';

const TEXT = `# HELP heimdall_overhead_seconds Gateway overhead
# TYPE heimdall_overhead_seconds histogram
heimdall_overhead_seconds_bucket{le="0.00005",provider="openai"} 10
heimdall_overhead_seconds_bucket{le="0.0001",provider="openai"} 60
heimdall_overhead_seconds_bucket{le="0.001",provider="openai"} 100
heimdall_overhead_seconds_bucket{le="+Inf",provider="openai"} 100
heimdall_overhead_seconds_sum{provider="openai"} 0.01
heimdall_overhead_seconds_count{provider="openai"} 100
heimdall_overhead_seconds_bucket{le="0.00005",provider="groq"} 0
heimdall_overhead_seconds_bucket{le="0.0001",provider="groq"} 0
heimdall_overhead_seconds_bucket{le="0.001",provider="groq"} 0
heimdall_overhead_seconds_bucket{le="+Inf",provider="groq"} 100
heimdall_overhead_seconds_sum{provider="groq"} 0.5
heimdall_overhead_seconds_count{provider="groq"} 100
other_metric{path="/v1/x",note="a \\"quoted\\" value, with comma"} 3 1700000000000
`;

test('parses names, labels with escapes, values and timestamps', () => {
  const samples = parsePrometheusText(TEXT);
  assert.equal(samples.length, 13);
  const other = samples.find((sample) => sample.name === 'other_metric');
  assert.deepEqual(other, { name: 'other_metric', labels: { path: '/v1/x', note: 'a "quoted" value, with comma' }, value: 3 });
  assert.equal(samples[3].value, 100);
  assert.equal(samples[3].labels.le, '+Inf');
});

test('sums a histogram across label sets, or only the ones a filter keeps', () => {
  const samples = parsePrometheusText(TEXT);
  const all = readHistogram(samples, 'heimdall_overhead_seconds');
  assert.deepEqual(all?.buckets.map((bucket) => [bucket.le, bucket.count]), [[0.00005, 10], [0.0001, 60], [0.001, 100], [Infinity, 200]]);
  assert.equal(all?.count, 200);
  const openai = readHistogram(samples, 'heimdall_overhead_seconds', (labels) => labels.provider === 'openai');
  assert.equal(openai?.buckets.at(-1)?.count, 100);
  assert.equal(readHistogram(samples, 'missing_metric'), null);
});

test('estimates quantiles like histogram_quantile', () => {
  const openai = readHistogram(parsePrometheusText(TEXT), 'heimdall_overhead_seconds', (labels) => labels.provider === 'openai');
  assert.ok(openai);
  // rank 50 of 100 falls in (0.00005, 0.0001]: 40 of its 50 observations → 0.00005 + 0.00005 * 0.8
  assert.ok(Math.abs(histogramQuantile(0.5, openai) - 0.00009) < 1e-12);
  // rank 5 in the first bucket interpolates from 0
  assert.ok(Math.abs(histogramQuantile(0.05, openai) - 0.000025) < 1e-12);
  // rank 99 in (0.0001, 0.001]: 39 of 40
  assert.ok(Math.abs(histogramQuantile(0.99, openai) - (0.0001 + 0.0009 * (39 / 40))) < 1e-12);
  // a rank in the +Inf bucket answers the highest finite bound
  const all = readHistogram(parsePrometheusText(TEXT), 'heimdall_overhead_seconds');
  assert.ok(all);
  assert.equal(histogramQuantile(0.9, all), 0.001);
  assert.ok(Number.isNaN(histogramQuantile(0.5, { buckets: [], sum: 0, count: 0 })));
});

test('the difference of two scrapes holds only what was observed between them', () => {
  const before = { buckets: [{ le: 0.0001, count: 5 }, { le: Infinity, count: 10 }], sum: 1, count: 10 };
  const after = { buckets: [{ le: 0.0001, count: 15 }, { le: Infinity, count: 20 }], sum: 1.5, count: 20 };
  assert.deepEqual(subtractHistogram(after, before), { buckets: [{ le: 0.0001, count: 10 }, { le: Infinity, count: 10 }], sum: 0.5, count: 10 });
  assert.equal(subtractHistogram(after, null), after);
});
