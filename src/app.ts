/**
 * buildApp(config) -> a ready Fastify instance with every route registered.
 * The CLI and the tests both use it; starting and stopping lives in server.ts.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { registerAdminApi } from './api/admin/index.js';
import { registerAnthropicRoutes } from './api/anthropic.js';
import { registerDashboardRoutes } from './api/dashboard.js';
import { registerGenAIRoutes } from './api/genai.js';
import { registerHealthRoutes } from './api/health.js';
import { registerOpenAIRoutes } from './api/openai.js';
import { sendError } from './api/respond.js';
import type { ResolvedConfig } from './config/load.js';
import { GatewayError } from './errors/gateway-error.js';
import type { ErrorFormat } from './errors/render.js';
import { Gateway } from './gateway/gateway.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { BODY_LIMIT_CEILING, wireStore, type WireStoreOptions } from './store/wiring.js';
import { Metrics } from './telemetry/metrics.js';
import { registerTelemetry } from './telemetry/telemetry.js';
import { registerGovernance } from './governance/plugin.js';

declare module 'fastify' {
  interface FastifyInstance {
    gateway: Gateway;
  }
  interface FastifyContextConfig {
    surface?: ErrorFormat;
  }
}

export interface BuildOptions {
  logger?: Logger;
  /** Collect Node process metrics (off in most tests: they register timers). */
  processMetrics?: boolean;
  /** Store and config-file watch settings (tests). */
  management?: Pick<WireStoreOptions, 'store' | 'watchConfig' | 'watchDebounceMs'>;
}

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

function surfaceOf(request: FastifyRequest): ErrorFormat {
  const configured = request.routeOptions?.config?.surface;
  if (configured !== undefined) return configured;
  const url = request.url;
  if (url.startsWith('/anthropic/')) return 'anthropic';
  if (url.startsWith('/genai/')) return 'gemini';
  return 'openai';
}

/** Fastify's own errors (body parsing, limits) as coded gateway errors. */
function fromFastifyError(error: FastifyError, maxBodyBytes: number): GatewayError | FastifyError {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError('HD_ERR_REQUEST_TOO_LARGE', `The request body is larger than the limit of ${maxBodyBytes} bytes (limits.max_body_bytes).`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GatewayError('HD_ERR_REQUEST_INVALID_JSON', error.message);
    default:
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        return new GatewayError('HD_ERR_REQUEST_INVALID_FIELD', error.message, { status: error.statusCode });
      }
      return error;
  }
}

export async function buildApp(config: ResolvedConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const logger = options.logger ?? createLogger({ level: config.server.logLevel, format: config.telemetry.logFormat });
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One log line per request is written by the gateway itself (with model, provider, overhead).
    logController: new LogController({ disableRequestLogging: true }),
    // limits.max_body_bytes is live: enforced per request by a preParsing hook (src/config/body-limit.ts).
    bodyLimit: BODY_LIMIT_CEILING,
    // genReqId reads and checks the caller's x-request-id; Fastify would echo any value as-is.
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    keepAliveTimeout: 65_000,
  });
  const metricsSettings = config.telemetry.metrics;
  const metrics = new Metrics({ processMetrics: options.processMetrics ?? metricsSettings.processMetrics, virtualKeyLabels: metricsSettings.virtualKeyLabels });
  const gateway = new Gateway(config, logger, metrics);
  app.decorate('gateway', gateway);
  // Before other hooks: tracing (when on) must see every request first.
  await registerTelemetry(app, gateway, config, logger);
  // The store: configuration (file + store -> gateway.reload), request logs, config-file watch.
  await wireStore(app, config, { gateway, logger, ...options.management });
  // Virtual keys, budgets, rate limits, cost (gateway hooks; spend flushed before the store closes).
  registerGovernance(app, config, { gateway, logger });

  // Bodies are kept as bytes: each surface parses them itself so errors come in its own format,
  // and a pass-through forwards what the client sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const mapped = fromFastifyError(error, app.gateway.state.limits.maxBodyBytes);
    sendError(reply, undefined, mapped, surfaceOf(request));
  });
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, undefined, new GatewayError('HD_ERR_ROUTE_NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}.`), surfaceOf(request));
  });

  registerHealthRoutes(app, gateway);
  registerOpenAIRoutes(app, gateway);
  registerAnthropicRoutes(app, gateway);
  registerGenAIRoutes(app, gateway);
  registerDashboardRoutes(app);
  registerAdminApi(app);

  app.addHook('onClose', async () => {
    await gateway.close();
  });
  await app.ready();
  return app;
}
