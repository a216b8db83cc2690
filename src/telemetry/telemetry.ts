/**
 * Wires observability into a gateway at start: secrets to mask in logs,
 * the metric sources that live on the gateway, and, only when configured,
 * OpenTelemetry tracing and OTLP metrics, both loaded with a dynamic
 * import so that a gateway without them never reads a module of the SDK.
 *
 * Live settings: `telemetry.tracing.sample_ratio` follows every configuration
 * change (config-file edit). The other telemetry settings shape what is
 * loaded and registered at start (the SDK, exporters, metric label sets, the
 * log stream), so a change to them is logged as applying at the next start.
 */
import type { FastifyInstance } from 'fastify';
import type { ResolvedConfig } from '../config/load.js';
import type { Gateway } from '../gateway/gateway.js';
import type { Logger } from './logger.js';
import { configSecrets, registerSecrets } from './secrets.js';
import type { TelemetryConfig } from './settings.js';
import type { Tracing } from './tracing.js';
import { tracingPlugin } from '../plugins/tracing.js';

export interface Telemetry {
  /** True when spans are recorded and exported. */
  readonly tracing: boolean;
  /** True when metrics are also pushed over OTLP. */
  readonly otlpMetrics: boolean;
  /** Exports what is buffered now (spans, metrics). */
  flush(): Promise<void>;
  /** Flushes and stops the exporters (on app close). */
  shutdown(): Promise<void>;
  /** Applies a new configuration: the live settings now; a change to any other is logged (next start). */
  apply(config: ResolvedConfig): void;
}

/** The settings that apply at start only, each as comparable text (never logged: headers hold secrets). */
function startOnlySettings(settings: TelemetryConfig): Record<string, string> {
  const tracing = settings.tracing === undefined ? 'off' : JSON.stringify({ ...settings.tracing, sampleRatio: undefined });
  return {
    'tracing (on/off, endpoint, headers)': tracing,
    'metrics (process_metrics, virtual_key_labels, OTLP export)': JSON.stringify(settings.metrics),
    service_name: settings.serviceName,
    resource_attributes: JSON.stringify(settings.resourceAttributes),
    log_format: settings.logFormat,
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    telemetry: Telemetry;
  }
}

interface Exporting {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

let diagInstalled = false;

/** OpenTelemetry's own warnings (an unreachable collector...) go to the log, once per process. */
async function installDiagLogger(logger: Logger): Promise<void> {
  if (diagInstalled) return;
  diagInstalled = true;
  const { diag, DiagLogLevel } = await import('@opentelemetry/api');
  const log = logger.child({ component: 'opentelemetry' });
  diag.setLogger(
    {
      error: (message, ...args) => log.warn({ detail: args.length > 0 ? String(args[0]) : undefined }, message),
      warn: (message) => log.warn(message),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}

/** Sets up telemetry for `gateway`; call once from buildApp, before other hooks are added. */
export async function startTelemetry(gateway: Gateway, config: ResolvedConfig, logger: Logger): Promise<Telemetry> {
  registerSecrets(configSecrets(config));
  const settings = config.telemetry;
  const exporting: Exporting[] = [];

  let tracing: Tracing | undefined;
  if (settings.tracing !== undefined) {
    await installDiagLogger(logger);
    const { createTracing } = await import('./tracing.js');
    tracing = createTracing({ settings });
    // Its span starts at `begin`, before any plugin may refuse the request (src/plugins/tracing.ts).
    gateway.lifecycle.use(tracingPlugin(tracing));
    exporting.push(tracing);
    logger.info({ endpoint: settings.tracing.endpoint, sample_ratio: settings.tracing.sampleRatio, service: settings.serviceName }, 'tracing on');
  }
  if (settings.metrics.otlp !== undefined) {
    await installDiagLogger(logger);
    const { startOtlpMetrics } = await import('./otlp-metrics.js');
    exporting.push(startOtlpMetrics(gateway.metrics.registry, settings));
    logger.info({ endpoint: settings.metrics.otlp.endpoint, interval_ms: settings.metrics.otlp.intervalMs }, 'OTLP metrics export on');
  }

  let closed: Promise<void> | undefined;
  const started = startOnlySettings(settings);
  let warned = '';
  return {
    apply(next: ResolvedConfig) {
      const live = next.telemetry;
      const ratio = live.tracing?.sampleRatio;
      if (tracing !== undefined && ratio !== undefined && ratio !== tracing.sampleRatio) {
        logger.info({ from: tracing.sampleRatio, to: ratio }, 'tracing sample ratio changed');
        tracing.setSampleRatio(ratio);
      }
      const now = startOnlySettings(live);
      const changed = Object.keys(started).filter((name) => started[name] !== now[name]);
      const fingerprint = changed.map((name) => `${name}=${now[name]}`).join('\n');
      if (fingerprint === warned) return;
      warned = fingerprint;
      if (changed.length > 0) logger.warn({ settings: changed }, 'telemetry settings changed: they apply at the next start (only telemetry.tracing.sample_ratio applies live)');
    },
    tracing: settings.tracing !== undefined,
    otlpMetrics: settings.metrics.otlp !== undefined,
    async flush() {
      await Promise.all(exporting.map((part) => part.forceFlush()));
    },
    shutdown() {
      closed ??= Promise.all(exporting.map((part) => part.shutdown().catch((error: unknown) => {
        logger.warn({ err: error }, 'telemetry shutdown failed');
      }))).then(() => undefined);
      return closed;
    },
  };
}

/** Registers telemetry on the app: `app.telemetry`, and a flush of spans and metrics on close. */
export async function registerTelemetry(app: FastifyInstance, gateway: Gateway, config: ResolvedConfig, logger: Logger): Promise<Telemetry> {
  const telemetry = await startTelemetry(gateway, config, logger);
  app.decorate('telemetry', telemetry);
  // The running configuration (file + store) exists once the store is wired: follow it from then on.
  app.addHook('onReady', async () => {
    if (!app.hasDecorator('configService')) return;
    const service = app.configService;
    telemetry.apply(service.config);
    service.onChange((next) => telemetry.apply(next));
  });
  app.addHook('onClose', async () => {
    await telemetry.shutdown();
  });
  return telemetry;
}
