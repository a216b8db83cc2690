/**
 * Optional OTLP/HTTP push of the same metrics GET /metrics serves. The
 * prom-client registry stays the one source: a MetricProducer converts its
 * snapshot to OpenTelemetry metric data (counters to monotonic cumulative
 * sums, gauges to gauges, histograms to explicit-bucket histograms) and a
 * periodic reader exports it. Loaded only when OTLP metrics are configured.
 * @see https://opentelemetry.io/docs/specs/otel/metrics/sdk/#metricproducer
 * @see https://opentelemetry.io/docs/specs/otel/compatibility/prometheus_and_openmetrics/
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import {
  AggregationTemporality, DataPointType, MeterProvider, PeriodicExportingMetricReader,
  type CollectionResult, type DataPoint, type Histogram, type MetricData, type MetricProducer, type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import type { Registry } from 'prom-client';
import { VERSION } from '../version.js';
import type { MetricSnapshot, Sample } from './metric-families.js';
import { buildResource } from './otel-resource.js';
import type { TelemetryConfig } from './settings.js';

export interface OtlpMetrics {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

function unitOf(name: string): string {
  if (name.includes('_seconds')) return 's';
  if (name.includes('_bytes')) return 'By';
  if (name.includes('_usd')) return 'USD';
  return '';
}

function attributesOf(labels: Sample['labels'], skip?: string): Attributes {
  const attributes: Attributes = {};
  for (const [key, value] of Object.entries(labels)) if (key !== skip) attributes[key] = String(value);
  return attributes;
}

function histogramPoints(metric: MetricSnapshot, startTime: HrTime, endTime: HrTime): DataPoint<Histogram>[] {
  const series = new Map<string, { attributes: Attributes; bounds: Array<[number, number]>; sum: number; count: number }>();
  const entry = (labels: Sample['labels']) => {
    const attributes = attributesOf(labels, 'le');
    const key = JSON.stringify(attributes);
    let found = series.get(key);
    if (found === undefined) {
      found = { attributes, bounds: [], sum: 0, count: 0 };
      series.set(key, found);
    }
    return found;
  };
  for (const sample of metric.values) {
    const name = sample.metricName ?? metric.name;
    if (name.endsWith('_bucket')) {
      const le = sample.labels.le;
      if (le !== '+Inf' && le !== undefined) entry(sample.labels).bounds.push([Number(le), sample.value]);
    } else if (name.endsWith('_sum')) entry(sample.labels).sum = sample.value;
    else if (name.endsWith('_count')) entry(sample.labels).count = sample.value;
  }
  const points: DataPoint<Histogram>[] = [];
  for (const { attributes, bounds, sum, count } of series.values()) {
    bounds.sort((a, b) => a[0] - b[0]);
    const counts: number[] = [];
    let previous = 0;
    for (const [, cumulative] of bounds) {
      counts.push(cumulative - previous);
      previous = cumulative;
    }
    counts.push(count - previous);
    points.push({ startTime, endTime, attributes, value: { buckets: { boundaries: bounds.map(([le]) => le), counts }, sum, count } });
  }
  return points;
}

/** One prom-client metric as OpenTelemetry metric data (summaries are not exported). */
export function toMetricData(metric: MetricSnapshot, startTime: HrTime, endTime: HrTime): MetricData | undefined {
  const descriptor = { name: metric.name, description: metric.help, unit: unitOf(metric.name), valueType: ValueType.DOUBLE };
  const points = (): DataPoint<number>[] =>
    metric.values.map((sample) => ({ startTime, endTime, attributes: attributesOf(sample.labels), value: sample.value }));
  switch (metric.type) {
    case 'counter':
      return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints: points() };
    case 'gauge':
      return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: points() };
    case 'histogram':
      return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM, dataPoints: histogramPoints(metric, startTime, endTime) };
    default:
      return undefined;
  }
}

/** Reads the prom-client registry at each export. */
export class RegistryProducer implements MetricProducer {
  private readonly startTime = millisToHrTime(Date.now());
  constructor(private readonly registry: Registry) {}

  async collect(): Promise<CollectionResult> {
    const snapshots = (await this.registry.getMetricsAsJSON()) as unknown as MetricSnapshot[];
    const endTime = millisToHrTime(Date.now());
    const metrics: MetricData[] = [];
    for (const snapshot of snapshots) {
      const data = toMetricData(snapshot, this.startTime, endTime);
      if (data !== undefined && data.dataPoints.length > 0) metrics.push(data);
    }
    return {
      resourceMetrics: { resource: undefined as never, scopeMetrics: [{ scope: { name: 'heimdall', version: VERSION }, metrics }] },
      errors: [],
    };
  }
}

export function startOtlpMetrics(registry: Registry, settings: TelemetryConfig, exporter?: PushMetricExporter): OtlpMetrics {
  const otlp = settings.metrics.otlp;
  if (otlp === undefined) throw new Error('startOtlpMetrics: OTLP metrics are off in these settings');
  const reader = new PeriodicExportingMetricReader({
    exporter: exporter ?? new OTLPMetricExporter({ url: otlp.endpoint, headers: { ...otlp.headers } }),
    exportIntervalMillis: otlp.intervalMs,
    exportTimeoutMillis: Math.min(30_000, otlp.intervalMs),
    metricProducers: [new RegistryProducer(registry)],
  });
  // The provider carries the resource and drives the reader; it has no instruments of its own.
  const provider = new MeterProvider({ resource: buildResource(settings), readers: [reader] });
  return {
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
