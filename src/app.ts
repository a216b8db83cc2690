/**
 * buildApp(config) -> a ready Fastify instance with every route registered.
 * The CLI and the tests both use it; starting and stopping lives in server.ts.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { registerAdminApi } from './api/admin/index.js';
import { registerAnthropicRoutes } from './api/anthropic.js';
import { registerDashboardRoutes } from './api/dashboard.js';
import { registerGenAIRoutes } from './api/genai.js';
import { registerMediaRoutes } from './api/media.js';
import { registerHealthRoutes } from './api/health.js';
import { registerOpenAIRoutes } from './api/openai.js';
import { registerResponsesRoutes } from './api/responses.js';
import { registerResponsesWebSocket } from './api/responses-websocket.js';
import { FastLane, requestIdOf } from './api/fast-lane.js';
import { registerAdmission } from './api/admission-gate.js';
import { sendError } from './api/respond.js';
import { BrowserGuard } from './api/browser-guard.js';
import { badUrl, clientErrorHandler, expectationFailed } from './api/http-errors.js';
import { errorFormatOfPath } from './api/raw-error.js';
import type { ResolvedConfig } from './config/load.js';
import { GatewayError } from './errors/gateway-error.js';
import type { ErrorFormat } from './errors/render.js';
import { Gateway } from './gateway/gateway.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { BODY_LIMIT_CEILING, wireStore, type WireStoreOptions } from './store/wiring.js';
import { Metrics } from './telemetry/metrics.js';
import { registerTelemetry } from './telemetry/telemetry.js';
import { registerGovernance } from './governance/plugin.js';
import { registerCache } from './cache/plugin.js';
import { attachWorker, type WorkerRuntime } from './cluster/worker.js';
import { registerCorePlugins } from './plugins/builtin.js';
import { registerPlugins } from './plugins/wiring.js';
import { startSharedLedger } from './cluster/shared-counters.js';
import { attachConfigSync } from './store/pg/wiring.js';
import { registerMcp } from './mcp/plugin.js';

declare module 'fastify' {
  interface FastifyInstance {
    gateway: Gateway;
    /** The hot POST routes served from node:http directly (src/api/fast-lane.ts). */
    fastLane: FastLane;
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
  /** `--workers N`: this process is a worker (shared ledger, metrics, store-change notices). */
  cluster?: WorkerRuntime;
}

/** request.log for Fastify: the pino child is created on first use only. */
class LazyChildLogger {
  #child: Logger | undefined;
  constructor(
    private readonly parent: Logger,
    private readonly bindings: Record<string, unknown>,
  ) {}

  private get log(): Logger {
    return (this.#child ??= this.parent.child(this.bindings));
  }

  get level(): string {
    return this.parent.level;
  }

  isLevelEnabled(level: string): boolean {
    return this.parent.isLevelEnabled(level);
  }

  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): Logger {
    return this.log.child(bindings, options);
  }

  fatal(...args: unknown[]): void {
    (this.log.fatal as (...a: unknown[]) => void)(...args);
  }

  error(...args: unknown[]): void {
    (this.log.error as (...a: unknown[]) => void)(...args);
  }

  warn(...args: unknown[]): void {
    (this.log.warn as (...a: unknown[]) => void)(...args);
  }

  info(...args: unknown[]): void {
    if (this.parent.isLevelEnabled('info')) (this.log.info as (...a: unknown[]) => void)(...args);
  }

  debug(...args: unknown[]): void {
    if (this.parent.isLevelEnabled('debug')) (this.log.debug as (...a: unknown[]) => void)(...args);
  }

  trace(...args: unknown[]): void {
    if (this.parent.isLevelEnabled('trace')) (this.log.trace as (...a: unknown[]) => void)(...args);
  }

  silent(): void {}
}

function surfaceOf(request: FastifyRequest): ErrorFormat {
  const configured = request.routeOptions?.config?.surface;
  if (configured !== undefined) return configured;
  return errorFormatOfPath(request.url);
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
  let liveGateway: Gateway | undefined;
  let liveMetrics: Metrics | undefined;
  const observeRefusal = (path: string, status: number): void => liveMetrics?.observeRefusal(path, status);
  const fastLane = new FastLane(logger, () => liveGateway?.state.limits.maxBodyBytes ?? 0, config.server.connections);
  // Host and Origin checks on every request, before any route (src/api/browser-guard.ts).
  const guard = new BrowserGuard({ host: config.server.host, allowedHosts: config.server.allowedHosts, cors: config.server.cors }, logger, observeRefusal);
  fastLane.admit = (request, response) => guard.admit(request, response);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // The hot routes skip Fastify's per-request work; everything else reaches Fastify as usual.
    serverFactory: fastLane.serverFactory,
    // A pino child per request (bindings serialised, redaction compiled) showed in the profile:
    // the child is made only when a route actually logs through request.log.
    childLoggerFactory: (parent, bindings) => new LazyChildLogger(parent as Logger, bindings) as unknown as FastifyBaseLogger,
    // One log line per request is written by the gateway itself (with model, provider, overhead).
    logController: new LogController({ disableRequestLogging: true }),
    // limits.max_body_bytes is live: enforced per request by a preParsing hook (src/config/body-limit.ts).
    bodyLimit: BODY_LIMIT_CEILING,
    // genReqId reads and checks the caller's x-request-id; Fastify would echo any value as-is.
    requestIdHeader: false,
    genReqId: (request) => requestIdOf(request.headers),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // What node:http or Fastify refuse before a route runs is still answered in the caller's format.
    clientErrorHandler: clientErrorHandler(logger, observeRefusal),
    frameworkErrors: (error, request, reply) => {
      const url = request.raw.url ?? '/';
      sendError(reply, undefined, error.code === 'FST_ERR_BAD_URL' ? badUrl(url) : fromFastifyError(error, liveGateway?.state.limits.maxBodyBytes ?? 0), errorFormatOfPath(url));
      observeRefusal(url, reply.statusCode);
    },
    // The server's timeouts (slow clients, idle keep-alive) are set by the fast lane's serverFactory.
  });
  const metricsSettings = config.telemetry.metrics;
  const metrics = new Metrics({ processMetrics: options.processMetrics ?? metricsSettings.processMetrics, virtualKeyLabels: metricsSettings.virtualKeyLabels });
  liveMetrics = metrics;
  app.server.on('checkExpectation', expectationFailed);
  const gateway = new Gateway(config, logger, metrics);
  registerCorePlugins(gateway); // metrics and the access log, on the request lifecycle (src/plugins/)
  liveGateway = gateway;
  app.decorate('gateway', gateway);
  app.decorate('fastLane', fastLane);
  app.addHook('preClose', (done) => {
    fastLane.close();
    done();
  });
  // Every answer carries its request id (health, metrics, /api, the dashboard, 404s and errors too);
  // the model routes set it with their other headers, on the fast lane as well.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  // Overload shedding: client requests beyond limits.max_in_flight are refused before any other work.
  registerAdmission(app, gateway, metrics);
  // Before other hooks: tracing (when on) must see every request first.
  await registerTelemetry(app, gateway, config, logger);
  // The store: configuration (file + store -> gateway.reload), request logs, config-file watch.
  await wireStore(app, config, { gateway, logger, sequenced: options.cluster === undefined, ...options.management });
  // Cluster mode (redis.url): every instance shares its budgets and rate limits through Redis.
  const sharedLedger = await startSharedLedger(app, config, logger);
  // Virtual keys, budgets, rate limits, cost (a built-in plugin; spend flushed before the store closes).
  registerGovernance(app, config, { gateway, logger, ledger: sharedLedger ?? options.cluster?.ledger });
  // The response cache (after governance: a hit still counts toward the key's request rate limit).
  registerCache(app, config, gateway, logger);
  // The configured plugins (config file, PUT /api/plugins), after Heimdall's own (src/plugins/).
  await registerPlugins(app, config, gateway, logger);
  if (options.cluster !== undefined) attachWorker(app, options.cluster);
  // Cluster mode (database.url): changes other instances write to Postgres reload this one.
  if (app.configSync !== undefined) attachConfigSync(app, app.configSync);

  // Bodies are kept as bytes: each surface parses them itself so errors come in its own format,
  // and a pass-through forwards what the client sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const mapped = fromFastifyError(error, app.gateway.state.limits.maxBodyBytes);
    sendError(reply, undefined, mapped, surfaceOf(request));
    // Refused by the server before any handler (413, a bad Content-Length): still a request in the metrics.
    if (error.code?.startsWith('FST_')) metrics.observeRefusal(request.url, reply.statusCode);
  });
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, undefined, new GatewayError('HD_ERR_ROUTE_NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}.`), surfaceOf(request));
    metrics.observeRefusal(request.url, 404);
  });

  registerHealthRoutes(app, gateway);
  registerOpenAIRoutes(app, gateway);
  const serveResponses = registerResponsesRoutes(app, gateway);
  registerResponsesWebSocket(app, gateway, serveResponses, config.server.websocket, config.server.shutdownTimeoutMs);
  registerAnthropicRoutes(app, gateway);
  registerGenAIRoutes(app, gateway);
  registerMcp(app, config, logger);
  registerMediaRoutes(app, gateway);
  registerDashboardRoutes(app);
  registerAdminApi(app);

  app.addHook('onClose', async () => {
    await gateway.close();
  });
  await app.ready();
  return app;
}
