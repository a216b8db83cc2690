/**
 * Wires observability into a gateway at start: secrets to mask in logs,
 * the metric sources that live on the gateway, and, only when configured,
 * OpenTelemetry tracing and OTLP metrics, both loaded with a dynamic
 * import so that a gateway without them never reads a module of the SDK.
 */
import type { FastifyInstance } from 'fastify';
import type { ResolvedConfig } from '../config/load.js';
import type { Gateway } from '../gateway/gateway.js';
import type { Logger } from './logger.js';
import { configSecrets, registerSecrets } from './secrets.js';

export interface Telemetry {
  /** True when spans are recorded and exported. */
  readonly tracing: boolean;
  /** True when metrics are also pushed over OTLP. */
  readonly otlpMetrics: boolean;
  /** Exports what is buffered now (spans, metrics). */
  flush(): Promise<void>;
  /** Flushes and stops the exporters (on app close). */
  shutdown(): Promise<void>;
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

  if (settings.tracing !== undefined) {
    await installDiagLogger(logger);
    const { createTracing } = await import('./tracing.js');
    const tracing = createTracing({ settings });
    // First in line: a request refused by a later hook (401, 429) still gets its span and trace id.
    gateway.hooks.unshift(tracing.hooks);
    gateway.onFinish(tracing.onFinish);
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
  return {
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
  app.addHook('onClose', async () => {
    await telemetry.shutdown();
  });
  return telemetry;
}
