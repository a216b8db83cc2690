/**
 * The telemetry part of the resolved configuration: the config file's
 * `telemetry` section merged with the OpenTelemetry environment variables
 * (which win, like every other environment variable).
 * @see https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 * @see https://opentelemetry.io/docs/specs/otel/protocol/exporter/
 */
import type { ConfigFile } from '../config/schema.js';

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface OtlpTarget {
  /** The full OTLP/HTTP URL (`.../v1/traces` or `.../v1/metrics`). */
  endpoint: string;
  headers: Readonly<Record<string, string>>;
}

export interface TelemetryConfig {
  serviceName: string;
  resourceAttributes: Readonly<Record<string, string>>;
  /** Undefined when tracing is off: nothing of OpenTelemetry is loaded. */
  tracing: (OtlpTarget & { sampleRatio: number }) | undefined;
  metrics: {
    processMetrics: boolean;
    virtualKeyLabels: boolean;
    /** Undefined unless metrics are also pushed over OTLP. */
    otlp: (OtlpTarget & { intervalMs: number }) | undefined;
  };
  logFormat: LogFormat;
}

type TelemetrySection = ConfigFile['telemetry'];
type SecretResolver = (value: string, path: string, env: NodeJS.ProcessEnv) => string;

const DEFAULT_OTLP_BASE = 'http://localhost:4318';

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** `k1=v1,k2=v2` with percent-encoded values (OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS). */
export function parseKeyValueList(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === undefined) return out;
  for (const part of text.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const key = part.slice(0, at).trim();
    let value = part.slice(at + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // not percent-encoded: keep it as written
    }
    if (key !== '') out[key] = value;
  }
  return out;
}

/** A base endpoint gets the signal's path appended; a per-signal one is used as it is. */
function signalUrl(base: string, signal: 'traces' | 'metrics'): string {
  return `${base.replace(/\/+$/, '')}/v1/${signal}`;
}

function isOff(value: string | undefined): boolean {
  return value !== undefined && value.split(',').map((v) => v.trim().toLowerCase()).includes('none');
}

function sampleRatio(env: NodeJS.ProcessEnv, fromFile: number): number {
  const sampler = nonEmpty(env.OTEL_TRACES_SAMPLER)?.toLowerCase();
  if (sampler === 'always_off' || sampler === 'parentbased_always_off') return 0;
  if (sampler === 'always_on' || sampler === 'parentbased_always_on') return 1;
  if (sampler === 'traceidratio' || sampler === 'parentbased_traceidratio') {
    const arg = Number(env.OTEL_TRACES_SAMPLER_ARG);
    if (Number.isFinite(arg) && arg >= 0 && arg <= 1) return arg;
  }
  return fromFile;
}

export function resolveTelemetry(section: TelemetrySection, env: NodeJS.ProcessEnv, resolveSecret: SecretResolver): TelemetryConfig {
  const disabled = nonEmpty(env.OTEL_SDK_DISABLED)?.toLowerCase() === 'true';
  const fileHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(section.otlp?.headers ?? {})) {
    fileHeaders[name] = resolveSecret(value, `telemetry.otlp.headers.${name}`, env);
  }
  const sharedHeaders = { ...fileHeaders, ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_HEADERS) };
  const base = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT) ?? section.otlp?.endpoint;

  const tracesEndpoint = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
    ?? section.tracing.endpoint
    ?? (base === undefined ? undefined : signalUrl(base, 'traces'));
  const tracingOn = !disabled && !isOff(env.OTEL_TRACES_EXPORTER) && (section.tracing.enabled ?? tracesEndpoint !== undefined);

  const metricsEndpoint = nonEmpty(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) ?? section.metrics.otlp_endpoint;
  const metricsExporter = nonEmpty(env.OTEL_METRICS_EXPORTER)?.toLowerCase();
  const metricsOn = !disabled && !isOff(metricsExporter)
    && (section.metrics.otlp_export || metricsEndpoint !== undefined || (metricsExporter?.split(',').includes('otlp') ?? false));
  const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL);

  const resourceAttributes = { ...section.resource_attributes, ...parseKeyValueList(env.OTEL_RESOURCE_ATTRIBUTES) };
  const serviceName = nonEmpty(env.OTEL_SERVICE_NAME) ?? nonEmpty(resourceAttributes['service.name']) ?? section.service_name ?? 'heimdall';
  delete resourceAttributes['service.name'];

  const envLogFormat = nonEmpty(env.LOG_FORMAT)?.toLowerCase();
  const logFormat: LogFormat = envLogFormat === 'json' || envLogFormat === 'pretty' || envLogFormat === 'auto' ? envLogFormat : section.log_format;

  return {
    serviceName,
    resourceAttributes,
    tracing: tracingOn
      ? {
          endpoint: tracesEndpoint ?? signalUrl(DEFAULT_OTLP_BASE, 'traces'),
          headers: { ...sharedHeaders, ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) },
          sampleRatio: sampleRatio(env, section.tracing.sample_ratio),
        }
      : undefined,
    metrics: {
      processMetrics: section.metrics.process_metrics,
      virtualKeyLabels: section.metrics.virtual_key_labels,
      otlp: metricsOn
        ? {
            endpoint: metricsEndpoint ?? signalUrl(base ?? DEFAULT_OTLP_BASE, 'metrics'),
            headers: { ...sharedHeaders, ...parseKeyValueList(env.OTEL_EXPORTER_OTLP_METRICS_HEADERS) },
            intervalMs: Number.isInteger(interval) && interval > 0 ? interval : section.metrics.otlp_interval_ms,
          }
        : undefined,
    },
    logFormat,
  };
}
