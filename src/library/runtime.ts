/**
 * The gateway runtime: the one way a gateway is built, for the server and the library alike.
 *
 * It holds the request lifecycle's core (the Gateway: routing state, upstream pools, pipeline, plugin
 * lifecycle), the metrics, overload admission and the table of client surfaces (the model routes and
 * their handlers), and wires the gateway's services (telemetry, the store and its configuration,
 * the shared ledger, governance, the response cache, the configured plugins) onto the application
 * that holds them. Then:
 * - the HTTP server (src/app.ts) mounts every surface of the table as a route (Fastify, and the fast
 *   lane for the hot ones) beside its other routes (management API, dashboard, health, metrics);
 * - the library (create-gateway.ts) calls the same handlers in-process (`call`): no socket, no HTTP
 *   parsing, the answer as values (in-process.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { AdmissionGate } from '../api/admission-gate.js';
import { requestIdOf, type LaneHandler } from '../api/fast-lane.js';
import { sendError, sendFailure } from '../api/respond.js';
import { registerCache } from '../cache/plugin.js';
import { attachConfigSync } from '../store/pg/wiring.js';
import type { CacheStore } from '../cache/types.js';
import { openSharedCacheStore } from '../cache/postgres-store.js';
import { startSharedLedger } from '../cluster/shared-counters.js';
import { attachWorker, type WorkerRuntime } from '../cluster/worker.js';
import type { ResolvedConfig } from '../config/load.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { ErrorFormat } from '../errors/render.js';
import { Gateway } from '../gateway/gateway.js';
import { registerGovernance } from '../governance/plugin.js';
import { registerCorePlugins } from '../plugins/builtin.js';
import { registerPlugins } from '../plugins/wiring.js';
import { wireStore, type WireStoreOptions } from '../store/wiring.js';
import type { Logger } from '../telemetry/logger.js';
import { Metrics } from '../telemetry/metrics.js';
import { registerTelemetry } from '../telemetry/telemetry.js';
import { InProcessReply, InProcessRequest, InProcessSink, type InProcessAnswer } from './in-process.js';

/** A client surface: a model route whose handler runs the request lifecycle. */
export interface SurfaceRoute {
  url: string;
  surface: ErrorFormat;
  handler: LaneHandler;
  /** Served by the fast lane too (node:http without Fastify's per-request work, src/api/fast-lane.ts). */
  lane: boolean;
}

export interface RuntimeOptions {
  /** Collect Node process metrics (off in most tests: they register timers). */
  processMetrics?: boolean;
  /** Store and config-file watch settings (tests). */
  management?: Pick<WireStoreOptions, 'store' | 'watchConfig' | 'watchDebounceMs'>;
  /** `--workers N`: this process is a worker (shared ledger, metrics, store-change notices). */
  cluster?: WorkerRuntime;
  /** A response cache store shared by the gateways of a cluster (src/cache/postgres-store.ts); default: the embedded one. Closed with the app. */
  cacheStore?: CacheStore;
}

export class GatewayRuntime {
  readonly metrics: Metrics;
  readonly gateway: Gateway;
  /** Overload shedding (limits.max_in_flight): every client request takes a slot, HTTP or in-process. */
  readonly admission: AdmissionGate;
  private readonly surfaces = new Map<string, SurfaceRoute>();

  constructor(
    config: ResolvedConfig,
    readonly logger: Logger,
    private readonly options: RuntimeOptions = {},
  ) {
    const settings = config.telemetry.metrics;
    this.metrics = new Metrics({ processMetrics: options.processMetrics ?? settings.processMetrics, virtualKeyLabels: settings.virtualKeyLabels });
    this.gateway = new Gateway(config, logger, this.metrics);
    registerCorePlugins(this.gateway); // metrics and the access log, on the request lifecycle (src/plugins/)
    this.admission = new AdmissionGate(this.gateway.admission, this.metrics);
  }

  /**
   * The gateway's services, wired on the application that holds them (its decorations, closed with it),
   * in the order they depend on each other.
   */
  async wire(app: FastifyInstance, config: ResolvedConfig): Promise<void> {
    const { gateway, logger, options } = this;
    // First: tracing (when on) must see every request before the other hooks.
    await registerTelemetry(app, gateway, config, logger);
    // The store: configuration (file + store -> gateway.reload), request logs, config-file watch.
    // --workers N: one origin of configuration changes for the data dir; the leader alone pushes them (docs/cluster.md).
    const configSharing = options.cluster === undefined ? undefined : { origin: options.cluster.group, push: options.cluster.index === 0 };
    await wireStore(app, config, { gateway, logger, sequenced: options.cluster === undefined, configSharing, ...options.management });
    // Cluster mode (redis.url): every instance shares its budgets and rate limits through Redis.
    const sharedLedger = await startSharedLedger(app, config, logger);
    // Virtual keys, budgets, rate limits, cost (a built-in plugin; spend flushed before the store closes).
    registerGovernance(app, config, { gateway, logger, ledger: sharedLedger ?? options.cluster?.ledger });
    // The response cache (after governance: a hit still counts toward the key's request rate limit).
    registerCache(app, config, gateway, logger, options.cacheStore ?? (await openSharedCacheStore(config, logger)));
    // The configured plugins (config file, PUT /api/plugins), after Heimdall's own (src/plugins/).
    await registerPlugins(app, config, gateway, logger);
    if (options.cluster !== undefined) attachWorker(app, options.cluster);
    // Cluster mode (database.url): changes other instances write to Postgres reload this one.
    if (app.configSync !== undefined) attachConfigSync(app, app.configSync, options.cluster?.announceStoreChange);
  }

  /** Adds a client surface: mounted over HTTP by the server, called in-process by the library. */
  addSurface(url: string, surface: ErrorFormat, handler: LaneHandler, options: { lane?: boolean } = {}): void {
    this.surfaces.set(url, { url, surface, handler, lane: options.lane === true });
  }

  /** The client surfaces, in the order they were added. */
  surfaceRoutes(): IterableIterator<SurfaceRoute> {
    return this.surfaces.values();
  }

  /**
   * One request to the surface at `url`, in-process: `body` as the HTTP route would read it, `headers`
   * as the caller would send them (lower-case names). Resolves with the first answer: a JSON value
   * (errors included, with their status), or the head of an event stream whose events follow.
   */
  call(url: string, body: Buffer, headers: IncomingHttpHeaders): Promise<InProcessAnswer> {
    const route = this.surfaces.get(url);
    if (route === undefined) return Promise.reject(new Error(`No surface at ${url}.`));
    return new Promise((resolve) => {
      let answered = false;
      const answer = (value: InProcessAnswer): void => {
        if (answered) return;
        answered = true;
        resolve(value);
      };
      const id = requestIdOf(headers);
      const sink = new InProcessSink(answer);
      const request = new InProcessRequest(id, url, route.surface, headers, body);
      const reply = new InProcessReply(sink, request, this.logger, answer) as unknown as FastifyReply;
      sink.once('close', () => {
        // Ended without an answer (cut before it began): the caller gets the error a client would.
        const error = new GatewayError('HD_ERR_INTERNAL', 'The request ended without an answer.');
        if (!answered) answer({ kind: 'json', status: error.status, headers: { 'x-request-id': id }, body: { error: { message: error.message, type: 'api_error' } } });
      });
      const run = (): void => {
        route.handler(request as unknown as FastifyRequest, reply).catch((error: unknown) => sendFailure(reply, undefined, error, route.surface));
      };
      const admission = this.admission;
      if (admission.tryEnter(sink)) run();
      else admission.waitOrShed(sink, url, run, (error) => sendError(reply, undefined, error, route.surface));
    });
  }

  /** The upstream pools and health checks (the services close with the application that holds them). */
  close(): Promise<void> {
    return this.gateway.close();
  }
}
