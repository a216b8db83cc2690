/**
 * Counter and histogram families for the request path.
 *
 * prom-client hashes and validates the label set on every inc() and
 * observe(), even through a `labels()` child (about 0.5 µs a call, measured),
 * and a request touches ten or so series. These families hand out a series
 * object once per label set; callers keep it, and an increment is a field
 * update (~15 ns). The registry reads the families at scrape time through
 * the interface prom-client's own metrics implement (`get`, `reset`), so the
 * text format, content type and `getMetricsAsJSON()` stay prom-client's.
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/
 */
import type { Metric, Registry } from 'prom-client';

/** One sample as prom-client's registry reads it (`metricName` for a histogram's _bucket/_sum/_count). */
export interface Sample {
  labels: Readonly<Record<string, string | number>>;
  value: number;
  metricName?: string;
}

/** A metric as prom-client's registry reads it (the shape of its own `get()`). */
export interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  values: Sample[];
  aggregator: 'sum';
}

/** A label whose values come from outside (model names, virtual keys): past `max` values, `other`. */
export class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}

  value(raw: string): string {
    if (this.seen.has(raw)) return raw;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(raw);
    return raw;
  }
}

abstract class Family<S extends { readonly labels: Readonly<Record<string, string>> }> {
  readonly aggregator = 'sum' as const;
  abstract readonly type: 'counter' | 'histogram';
  protected readonly all = new Map<string, S>();
  /** Runs before each read (scrape): lets a family mirror outside state. */
  collect: (() => void) | undefined;

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series for these label values, in `labelNames` order. Keep it: lookups cost a join and a Map get. */
  with(...values: string[]): S {
    const key = values.length === 1 ? values[0] : values.join('\u0001');
    let series = this.all.get(key);
    if (series === undefined) {
      if (values.length !== this.labelNames.length) {
        throw new Error(`${this.name} takes labels ${this.labelNames.join(', ')}; got ${values.length} values`);
      }
      const labels: Record<string, string> = {};
      for (let i = 0; i < values.length; i++) labels[this.labelNames[i]] = values[i];
      series = this.create(labels);
      this.all.set(key, series);
    }
    return series;
  }

  /** Every series so far (tests, the OTLP bridge). */
  series(): IterableIterator<S> {
    return this.all.values();
  }

  protected abstract create(labels: Record<string, string>): S;
  protected abstract values(): Sample[];
  /** Zeroes every series in place: callers may hold them. */
  abstract reset(): void;

  async get(): Promise<MetricSnapshot> {
    this.collect?.();
    return { name: this.name, help: this.help, type: this.type, values: this.values(), aggregator: this.aggregator };
  }
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: Readonly<Record<string, string>>) {}
  inc(by = 1): void {
    this.value += by;
  }
}

export class CounterFamily extends Family<CounterSeries> {
  readonly type = 'counter' as const;

  /** Convenience for rare events (a lookup per call); the request path keeps series instead. */
  inc(values: readonly string[], by = 1): void {
    this.with(...values).inc(by);
  }

  protected create(labels: Record<string, string>): CounterSeries {
    return new CounterSeries(labels);
  }

  protected values(): Sample[] {
    const out: Sample[] = [];
    for (const series of this.all.values()) out.push({ labels: series.labels, value: series.value });
    return out;
  }

  reset(): void {
    for (const series of this.all.values()) series.value = 0;
  }
}

export class HistogramSeries {
  /** counts[i]: observations in (buckets[i-1], buckets[i]]; the last slot is above every bucket. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly buckets: readonly number[],
  ) {
    this.counts = new Float64Array(buckets.length + 1);
  }

  observe(value: number): void {
    const buckets = this.buckets;
    let i = 0;
    while (i < buckets.length && value > buckets[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = 'histogram' as const;
  readonly buckets: readonly number[];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(registry, name, help, labelNames);
    this.buckets = [...buckets].sort((a, b) => a - b);
  }

  protected create(labels: Record<string, string>): HistogramSeries {
    return new HistogramSeries(labels, this.buckets);
  }

  protected values(): Sample[] {
    const out: Sample[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.all.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += series.counts[i];
        out.push({ labels: { ...series.labels, le: this.buckets[i] }, value: cumulative, metricName: bucketName });
      }
      out.push({ labels: { ...series.labels, le: '+Inf' }, value: series.count, metricName: bucketName });
      out.push({ labels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      out.push({ labels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return out;
  }

  reset(): void {
    for (const series of this.all.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
