/**
 * A loopback OTLP/HTTP receiver for tests (a stand-in for a collector):
 * accepts POST /v1/traces and /v1/metrics in either OTLP/HTTP encoding,
 * JSON (what @opentelemetry/exporter-*-otlp-http sends) or protobuf (the
 * -otlp-proto exporters), gzip or not, decodes them properly and keeps
 * spans and metric points in one normalised shape:
 * ids as lower-case hex, attributes as plain values, int64 as numbers.
 *
 *   const otlp = await startOtlpReceiver();
 *   ... OTEL_EXPORTER_OTLP_ENDPOINT=otlp.url ...
 *   const spans = await otlp.waitForSpans((all) => all.length >= 2);
 *   await otlp.close();
 *
 * @see https://opentelemetry.io/docs/specs/otlp/#otlphttp
 * @see https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';

export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty string for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, AttributeValue>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  resource: Record<string, AttributeValue>;
  scope: { name: string; version?: string };
}

export interface ReceivedMetricPoint {
  name: string;
  /** sum, gauge, histogram, exponentialHistogram or summary. */
  type: string;
  attributes: Record<string, AttributeValue>;
  /** Sums and gauges. */
  value?: number;
  /** Histograms. */
  count?: number;
  sum?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
  isMonotonic?: boolean;
  resource: Record<string, AttributeValue>;
}

export interface OtlpExport {
  path: string;
  contentType: string;
  contentEncoding: string | undefined;
  headers: IncomingHttpHeaders;
}

export interface OtlpReceiver {
  /** http://127.0.0.1:PORT, the value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Metric points of every export, in arrival order (a counter appears once per export). */
  readonly metricPoints: ReceivedMetricPoint[];
  readonly exports: OtlpExport[];
  /** Resolves with `spans` once `ready(spans)` is true; rejects after `timeoutMs` (default 5000). */
  waitForSpans(ready: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  waitForMetrics(ready: (points: ReceivedMetricPoint[]) => boolean, timeoutMs?: number): Promise<ReceivedMetricPoint[]>;
  reset(): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

interface ProtoType {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options: Record<string, unknown>): Json;
}

/** The protobuf definitions the OpenTelemetry JS exporters themselves encode with (protobufjs static code). */
function protoTypes(): { traces: ProtoType; metrics: ProtoType } {
  const require = createRequire(import.meta.url);
  const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
    opentelemetry: { proto: { collector: { trace: { v1: Json }; metrics: { v1: Json } } } };
  };
  const collector = root.opentelemetry.proto.collector;
  return {
    traces: collector.trace.v1.ExportTraceServiceRequest as unknown as ProtoType,
    metrics: collector.metrics.v1.ExportMetricsServiceRequest as unknown as ProtoType,
  };
}

/** JSON carries ids as hex; protobuf (converted with bytes: String) as base64. */
function idToHex(value: unknown, protobuf: boolean): string {
  if (typeof value !== 'string' || value === '') return '';
  return protobuf ? Buffer.from(value, 'base64').toString('hex') : value.toLowerCase();
}

function anyValue(value: unknown): AttributeValue {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Json;
  if ('stringValue' in v) return String(v.stringValue);
  if ('boolValue' in v) return Boolean(v.boolValue);
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return (((v.arrayValue as Json | undefined)?.values as unknown[] | undefined) ?? []).map(anyValue);
  if ('kvlistValue' in v) return attributes((v.kvlistValue as Json | undefined)?.values);
  if ('bytesValue' in v) return String(v.bytesValue);
  return null;
}

function attributes(list: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  if (!Array.isArray(list)) return out;
  for (const item of list as Json[]) out[String(item.key)] = anyValue(item.value);
  return out;
}

function nanos(value: unknown): bigint {
  if (typeof value === 'string' || typeof value === 'number') return BigInt(value);
  return 0n;
}

function spansOf(request: Json, protobuf: boolean): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of (request.resourceSpans as Json[] | undefined) ?? []) {
    const resource = attributes((resourceSpans.resource as Json | undefined)?.attributes);
    for (const scopeSpans of (resourceSpans.scopeSpans as Json[] | undefined) ?? []) {
      const scope = (scopeSpans.scope as { name?: string; version?: string } | undefined) ?? {};
      for (const span of (scopeSpans.spans as Json[] | undefined) ?? []) {
        const status = (span.status as { code?: number; message?: string } | undefined) ?? {};
        spans.push({
          traceId: idToHex(span.traceId, protobuf),
          spanId: idToHex(span.spanId, protobuf),
          parentSpanId: idToHex(span.parentSpanId, protobuf),
          name: String(span.name),
          kind: Number(span.kind ?? 0),
          attributes: attributes(span.attributes),
          status: { code: Number(status.code ?? 0), ...(status.message ? { message: status.message } : {}) },
          startTimeUnixNano: nanos(span.startTimeUnixNano),
          endTimeUnixNano: nanos(span.endTimeUnixNano),
          resource,
          scope: { name: String(scope.name ?? ''), ...(scope.version ? { version: scope.version } : {}) },
        });
      }
    }
  }
  return spans;
}

const NUMBER = (point: Json): number => Number(point.asDouble ?? point.asInt ?? 0);

function metricPointsOf(request: Json): ReceivedMetricPoint[] {
  const points: ReceivedMetricPoint[] = [];
  for (const resourceMetrics of (request.resourceMetrics as Json[] | undefined) ?? []) {
    const resource = attributes((resourceMetrics.resource as Json | undefined)?.attributes);
    for (const scopeMetrics of (resourceMetrics.scopeMetrics as Json[] | undefined) ?? []) {
      for (const metric of (scopeMetrics.metrics as Json[] | undefined) ?? []) {
        const name = String(metric.name);
        for (const type of ['sum', 'gauge', 'histogram', 'exponentialHistogram', 'summary']) {
          const data = metric[type] as Json | undefined;
          if (data === undefined) continue;
          for (const point of (data.dataPoints as Json[] | undefined) ?? []) {
            const base = { name, type, attributes: attributes(point.attributes), resource };
            if (type === 'histogram') {
              points.push({
                ...base,
                count: Number(point.count ?? 0),
                sum: Number(point.sum ?? 0),
                bucketCounts: ((point.bucketCounts as unknown[] | undefined) ?? []).map(Number),
                explicitBounds: ((point.explicitBounds as unknown[] | undefined) ?? []).map(Number),
              });
            } else {
              points.push({ ...base, value: NUMBER(point), ...(type === 'sum' ? { isMonotonic: Boolean(data.isMonotonic) } : {}) });
            }
          }
        }
      }
    }
  }
  return points;
}

function waitUntil<T>(read: () => T, ready: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const check = (): void => {
      const value = read();
      if (ready(value)) return resolve(value);
      if (Date.now() > deadline) return reject(new Error(`otlp receiver: timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(check, 20);
    };
    check();
  });
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const metricPoints: ReceivedMetricPoint[] = [];
  const exports: OtlpExport[] = [];
  const sockets = new Set<Socket>();
  let proto: ReturnType<typeof protoTypes> | undefined;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const contentEncoding = req.headers['content-encoding'];
      const protobuf = contentType === 'application/x-protobuf';
      const reply = (status: number, body: string): void => {
        res.writeHead(status, { 'content-type': protobuf && status === 200 ? 'application/x-protobuf' : 'application/json' }).end(body);
      };
      if (req.method !== 'POST' || (path !== '/v1/traces' && path !== '/v1/metrics')) return reply(404, '{"message":"not an OTLP path"}');
      if (!protobuf && contentType !== 'application/json') return reply(415, '{"message":"unsupported content type"}');
      exports.push({ path, contentType, contentEncoding, headers: req.headers });
      try {
        let bytes = Buffer.concat(chunks);
        if (contentEncoding === 'gzip') bytes = gunzipSync(bytes);
        let request: Json;
        if (protobuf) {
          proto ??= protoTypes();
          const type = path === '/v1/traces' ? proto.traces : proto.metrics;
          request = type.toObject(type.decode(bytes), { longs: String, bytes: String, enums: Number, defaults: false });
        } else {
          request = JSON.parse(bytes.toString('utf8')) as Json;
        }
        if (path === '/v1/traces') spans.push(...spansOf(request, protobuf));
        else metricPoints.push(...metricPointsOf(request));
      } catch (error) {
        return reply(400, JSON.stringify({ message: `cannot decode: ${(error as Error).message}` }));
      }
      // An empty ExportServiceResponse: `{}` in JSON, zero bytes in protobuf.
      reply(200, protobuf ? '' : '{}');
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    metricPoints,
    exports,
    waitForSpans: (ready, timeoutMs = 5000) => waitUntil(() => spans, ready, timeoutMs, 'spans'),
    waitForMetrics: (ready, timeoutMs = 5000) => waitUntil(() => metricPoints, ready, timeoutMs, 'metrics'),
    reset() {
      spans.length = 0;
      metricPoints.length = 0;
      exports.length = 0;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
