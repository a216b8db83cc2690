/**
 * Wires governance into the app (one line in app.ts, after the store): the
 * service over the store's database, its lifecycle plugin, the config-change
 * listener, a guard for the client routes outside the pipeline (GET /v1/models,
 * count_tokens), and the last spend flush on close (before the store closes:
 * Fastify runs onClose hooks last-registered first).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../api/respond.js';
import type { ResolvedConfig } from '../config/load.js';
import type { Gateway } from '../gateway/gateway.js';
import { governancePlugin } from '../plugins/governance.js';
import { queryKeyOf } from './credentials.js';
import { Governance, type GovernanceLogger } from './governance.js';
import type { SpendLedger } from './ledger.js';

export interface GovernanceWiring {
  gateway: Gateway;
  logger: GovernanceLogger;
  /** Clock (tests). */
  now?: () => number;
  /** Another ledger (`--workers N`: the primary's, over IPC). */
  ledger?: SpendLedger;
}

/** Client routes that do not go through the pipeline (and so not through its authenticate hook). */
function outsidePipeline(request: FastifyRequest): boolean {
  return request.method === 'GET' || (request.routeOptions.url ?? '').endsWith('/count_tokens');
}

export function registerGovernance(app: FastifyInstance, config: ResolvedConfig, wiring: GovernanceWiring): Governance {
  const { gateway, logger } = wiring;
  const store = app.hasDecorator('store') ? app.store : undefined;
  // The running configuration (file + store): switches saved through PATCH /api/settings hold after a restart.
  const running = app.hasDecorator('configService') ? app.configService.config : config;
  const governance = new Governance({
    config: running.governance,
    db: store?.db,
    audit: store === undefined ? undefined : (entry) => store.config.appendAudit(entry),
    metrics: gateway.metrics,
    logger,
    now: wiring.now,
    ledger: wiring.ledger,
    catalog: () => gateway.state.catalog,
    logSequence: store?.logSequence === undefined ? undefined : () => store.logSequence!.last,
  });
  app.decorate('governance', governance);
  // On the request lifecycle as the built-in plugin `governance` (src/plugins/governance.ts).
  gateway.lifecycle.use(governancePlugin(governance));
  gateway.lifecycle.costOf = (ctx) => governance.costOf(ctx);
  if (app.hasDecorator('configService')) app.configService.onChange((next) => governance.applyConfig(next.governance));

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const surface = request.routeOptions.config?.surface;
    if (surface === undefined || !outsidePipeline(request)) return;
    try {
      governance.checkKey(request.headers, surface === 'gemini' ? queryKeyOf(request.url) : undefined);
    } catch (error) {
      sendError(reply, undefined, error, surface);
      return reply;
    }
  });
  app.addHook('onClose', async () => governance.close());
  return governance;
}
