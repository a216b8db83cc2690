/**
 * OTLP beyond traces: the optional metrics push (the /metrics registry
 * converted to OpenTelemetry data), and the test receiver itself decoding
 * every encoding an OpenTelemetry JS exporter can send (JSON, protobuf, gzip).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { DataPointType, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { millisToHrTime } from '@opentelemetry/core';
import { loadConfig } from '../../src/config/load.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { startOtlpMetrics, toMetricData } from '../../src/telemetry/otlp-metrics.js';
import type { MetricSnapshot } from '../../src/telemetry/metric-families.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { post, waitFor } from '../integration/helpers.js';
import { scrape, value } from './helpers.js';

let otlp: OtlpReceiver;
beforeAll(async () => {
  otlp = await startOtlpReceiver();
});
afterAll(async () => {
  await otlp.close();
});

describe('OTLP metrics export', () => {
  let mock: MockUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGateway({
      env: { OPENAI_API_KEY: 'sk-otlp-metrics-0123456789', OPENAI_BASE_URL: mock.openaiBaseUrl, OTEL_SERVICE_NAME: 'heimdall-metrics-test' },
      config: { telemetry: { metrics: { otlp_endpoint: `${otlp.url}/v1/metrics`, otlp_interval_ms: 60_000 } } },
    });
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });

  it('pushes the same numbers GET /metrics serves', async () => {
    expect(gateway.app.telemetry).toMatchObject({ tracing: false, otlpMetrics: true });
    for (const id of ['otlp-m-1', 'otlp-m-2', 'otlp-m-3']) {
      await post(`${gateway.url}/v1/chat/completions`, { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { 'x-request-id': id });
      await waitFor(() => gateway.logs().some((l) => l.msg === 'request' && l.request_id === id), 10_000, id);
    }
    const scraped = await scrape(gateway.url);
    otlp.reset();
    await gateway.app.telemetry.flush();
    const points = await otlp.waitForMetrics((all) => all.some((p) => p.name === 'heimdall_requests_total'));
    expect(otlp.exports.every((e) => e.path === '/v1/metrics' && e.contentType === 'application/json')).toBe(true);

    const requests = points.filter((p) => p.name === 'heimdall_requests_total');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      type: 'sum',
      isMonotonic: true,
      value: 3,
      attributes: { surface: 'openai', provider: 'openai', model: 'gpt-4o-mini', status_class: '2xx', cache: 'none' },
    });
    expect(requests[0].value).toBe(value(scraped, 'heimdall_requests_total'));
    expect(requests[0].resource['service.name']).toBe('heimdall-metrics-test');

    const overhead = points.find((p) => p.name === 'heimdall_overhead_seconds')!;
    expect(overhead.type).toBe('histogram');
    expect(overhead.count).toBe(3);
    expect(overhead.bucketCounts!.reduce((a, b) => a + b, 0)).toBe(3);
    expect(overhead.bucketCounts).toHaveLength(overhead.explicitBounds!.length + 1);
    expect(overhead.explicitBounds![0]).toBeLessThanOrEqual(0.00001);

    const inFlight = points.find((p) => p.name === 'heimdall_in_flight_requests')!;
    expect(inFlight).toMatchObject({ type: 'gauge', value: 0 });
  });
});

describe('toMetricData', () => {
  const start = millisToHrTime(1_700_000_000_000);
  const end = millisToHrTime(1_700_000_060_000);

  it('turns cumulative Prometheus buckets into per-bucket OTLP counts', () => {
    const snapshot: MetricSnapshot = {
      name: 'x_seconds', help: 'h', type: 'histogram', aggregator: 'sum',
      values: [
        { labels: { p: 'a', le: 0.1 }, value: 2, metricName: 'x_seconds_bucket' },
        { labels: { p: 'a', le: 1 }, value: 5, metricName: 'x_seconds_bucket' },
        { labels: { p: 'a', le: '+Inf' }, value: 6, metricName: 'x_seconds_bucket' },
        { labels: { p: 'a' }, value: 4.5, metricName: 'x_seconds_sum' },
        { labels: { p: 'a' }, value: 6, metricName: 'x_seconds_count' },
      ],
    };
    const data = toMetricData(snapshot, start, end) as HistogramMetricData;
    expect(data.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(data.descriptor.unit).toBe('s');
    expect(data.dataPoints).toHaveLength(1);
    expect(data.dataPoints[0]).toMatchObject({
      attributes: { p: 'a' },
      value: { buckets: { boundaries: [0.1, 1], counts: [2, 3, 1] }, sum: 4.5, count: 6 },
    });
  });

  it('exports over protobuf too, through any OTLP metric exporter', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.rateLimited('virtual_key', 'requests');
    const config = loadConfig({ env: { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${otlp.url}/v1/metrics` }, config: {} });
    otlp.reset();
    const pusher = startOtlpMetrics(metrics.registry, config.telemetry, new ProtoMetricExporter({ url: `${otlp.url}/v1/metrics` }));
    await pusher.shutdown();
    expect(otlp.exports.map((e) => e.contentType)).toEqual(['application/x-protobuf']);
    expect(otlp.metricPoints.find((p) => p.name === 'heimdall_rate_limit_rejections_total')).toMatchObject({
      type: 'sum', value: 1, attributes: { scope: 'virtual_key', limit: 'requests' },
    });
  });
});

describe('the test receiver', () => {
  async function exportOneSpan(exporter: SpanExporter): Promise<{ traceId: string; spanId: string }> {
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const span = provider.getTracer('receiver-test').startSpan('probe', { kind: SpanKind.CLIENT, attributes: { n: 42, ok: true, s: 'text', list: ['a', 'b'], f: 1.5 } });
    span.end();
    await provider.shutdown();
    return span.spanContext();
  }

  it.each([
    ['JSON', () => new JsonTraceExporter({ url: `${otlp.url}/v1/traces` }), 'application/json', undefined],
    ['gzip JSON', () => new JsonTraceExporter({ url: `${otlp.url}/v1/traces`, compression: 'gzip' as never }), 'application/json', 'gzip'],
    ['protobuf', () => new ProtoTraceExporter({ url: `${otlp.url}/v1/traces` }), 'application/x-protobuf', undefined],
  ])('decodes %s', async (_name, exporter, contentType, encoding) => {
    otlp.reset();
    const context = await exportOneSpan(exporter());
    expect(otlp.exports).toHaveLength(1);
    expect(otlp.exports[0]).toMatchObject({ contentType, contentEncoding: encoding });
    expect(otlp.spans).toHaveLength(1);
    expect(otlp.spans[0]).toMatchObject({
      traceId: context.traceId,
      spanId: context.spanId,
      parentSpanId: '',
      name: 'probe',
      kind: 3,
      attributes: { n: 42, ok: true, s: 'text', list: ['a', 'b'], f: 1.5 },
      scope: { name: 'receiver-test' },
    });
    expect(otlp.spans[0].endTimeUnixNano >= otlp.spans[0].startTimeUnixNano).toBe(true);
  });
});
