/**
 * Telemetry settings: the config file's `telemetry` section and the
 * OpenTelemetry environment variables (which win), as loadConfig resolves
 * them; and the response facts noted for traces from each wire shape.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { RequestContext } from '../../src/gateway/request-context.js';
import { noteOpenAIStreamEvent, noteResponse } from '../../src/telemetry/response-facts.js';
import type { TelemetryConfig } from '../../src/telemetry/settings.js';

function telemetry(env: Record<string, string>, file: Record<string, unknown> = {}): TelemetryConfig {
  return loadConfig({ env, config: { telemetry: file } }).telemetry;
}

describe('telemetry settings', () => {
  it('everything off by default, and nothing to load', () => {
    const t = telemetry({});
    expect(t).toMatchObject({ serviceName: 'heimdall', tracing: undefined, metrics: { processMetrics: true, virtualKeyLabels: false, otlp: undefined }, logFormat: 'auto' });
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT turns tracing on, with /v1/traces appended', () => {
    const t = telemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/', OTEL_EXPORTER_OTLP_HEADERS: 'x-key=a%20b,other=1' });
    expect(t.tracing).toEqual({ endpoint: 'http://collector:4318/v1/traces', headers: { 'x-key': 'a b', other: '1' }, sampleRatio: 1 });
    expect(t.metrics.otlp).toBeUndefined();
  });

  it('a per-signal endpoint is used as it is; env wins over the file', () => {
    const t = telemetry(
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://env:4318/custom/traces' },
      { tracing: { endpoint: 'http://file:4318/v1/traces', sample_ratio: 0.25 } },
    );
    expect(t.tracing?.endpoint).toBe('http://env:4318/custom/traces');
    expect(t.tracing?.sampleRatio).toBe(0.25);
  });

  it('can be switched off by the environment whatever the file says', () => {
    const file = { otlp: { endpoint: 'http://127.0.0.1:4318' } };
    expect(telemetry({}, file).tracing).toBeDefined();
    expect(telemetry({ OTEL_TRACES_EXPORTER: 'none' }, file).tracing).toBeUndefined();
    expect(telemetry({ OTEL_SDK_DISABLED: 'true' }, file).tracing).toBeUndefined();
    expect(telemetry({}, { ...file, tracing: { enabled: false } }).tracing).toBeUndefined();
  });

  it('service name and resource attributes: OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, then the file', () => {
    const file = { service_name: 'from-file', resource_attributes: { 'deployment.environment.name': 'prod', region: 'eu' } };
    expect(telemetry({}, file).serviceName).toBe('from-file');
    expect(telemetry({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' }, file).serviceName).toBe('from-attrs');
    const t = telemetry({ OTEL_SERVICE_NAME: 'from-env', OTEL_RESOURCE_ATTRIBUTES: 'service.name=x,region=us,team=ai%2Fml' }, file);
    expect(t.serviceName).toBe('from-env');
    expect(t.resourceAttributes).toEqual({ 'deployment.environment.name': 'prod', region: 'us', team: 'ai/ml' });
  });

  it('the sampler variables', () => {
    expect(telemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }).tracing?.sampleRatio).toBe(0.1);
    expect(telemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'always_off' }).tracing?.sampleRatio).toBe(0);
  });

  it('OTLP metrics: by exporter variable, by endpoint, or by the file', () => {
    expect(telemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRICS_EXPORTER: 'otlp', OTEL_METRIC_EXPORT_INTERVAL: '5000' }).metrics.otlp)
      .toEqual({ endpoint: 'http://c:4318/v1/metrics', headers: {}, intervalMs: 5000 });
    expect(telemetry({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:4318/v1/metrics' }).metrics.otlp?.endpoint).toBe('http://m:4318/v1/metrics');
    expect(telemetry({}, { otlp: { endpoint: 'http://f:4318' }, metrics: { otlp_export: true } }).metrics.otlp?.endpoint).toBe('http://f:4318/v1/metrics');
  });

  it('log format: LOG_FORMAT wins over the file', () => {
    expect(telemetry({}, { log_format: 'json' }).logFormat).toBe('json');
    expect(telemetry({ LOG_FORMAT: 'pretty' }, { log_format: 'json' }).logFormat).toBe('pretty');
  });
});

describe('response facts for traces', () => {
  function ctx(traced = true): RequestContext {
    const context = new RequestContext('r', 'openai', '/v1/chat/completions');
    if (traced) context.traceId = '0af7651916cd43dd8448eb211c80319c';
    return context;
  }

  it('reads the OpenAI, Anthropic and Gemini shapes', () => {
    const openai = ctx();
    noteResponse(openai, { model: 'gpt-4o-2024-08-06', choices: [{ finish_reason: 'stop' }, { finish_reason: 'length' }] });
    expect([openai.responseModel, openai.finishReasons]).toEqual(['gpt-4o-2024-08-06', ['stop', 'length']]);
    const anthropic = ctx();
    noteResponse(anthropic, { type: 'message', model: 'claude-sonnet-4-5-20250929', stop_reason: 'end_turn' });
    expect([anthropic.responseModel, anthropic.finishReasons]).toEqual(['claude-sonnet-4-5-20250929', ['end_turn']]);
    const gemini = ctx();
    noteResponse(gemini, { modelVersion: 'gemini-2.5-flash', candidates: [{ finishReason: 'STOP' }] });
    expect([gemini.responseModel, gemini.finishReasons]).toEqual(['gemini-2.5-flash', ['STOP']]);
  });

  it('does nothing unless the request is traced', () => {
    const untraced = ctx(false);
    noteResponse(untraced, { model: 'm', choices: [{ finish_reason: 'stop' }] });
    noteOpenAIStreamEvent(untraced, '{"model":"m","choices":[{"finish_reason":"stop"}]}');
    expect([untraced.responseModel, untraced.finishReasons]).toEqual([undefined, undefined]);
  });

  it('a forwarded stream: the model from the first event, the reason from the event that has one', () => {
    const stream = ctx();
    noteOpenAIStreamEvent(stream, '{"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}');
    noteOpenAIStreamEvent(stream, '{"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason": null}]}');
    noteOpenAIStreamEvent(stream, '{"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}');
    noteOpenAIStreamEvent(stream, '[DONE]');
    expect([stream.responseModel, stream.finishReasons]).toEqual(['gpt-4o-mini', ['tool_calls']]);
  });
});
