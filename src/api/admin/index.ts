/**
 * The management API under /api: one encapsulated plugin with the admin-auth
 * guard and JSON body parsing, then each area's routes. Another area adds
 * itself with one line in `registerAreas` (its registrar gets the /api-scoped
 * instance: `app.gateway`, `app.store`, `app.configService`, `request.adminActor`).
 *
 * Every answer is JSON (snake_case); errors are in the OpenAI error shape and
 * name the field at fault. Lists are `{ data: [...], next_cursor? }`.
 * docs/api.md documents every route.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from '../../errors/gateway-error.js';
import { AdminAuth, registerAuthRoutes } from './auth.js';
import { registerLogRoutes } from './logs.js';
import { registerGovernanceRoutes } from './virtual-keys.js';
import { registerProviderRoutes } from './providers.js';
import { registerRoutingRoutes } from './routing.js';
import { registerRoutingHealthRoutes } from './routing-health.js';
import { registerSettingsRoutes } from './settings.js';
import { registerMcpAdminRoutes } from '../../mcp/admin-routes.js';

/** Routes the guard lets through without auth (they report or change the auth state). */
const OPEN_ROUTES = new Set(['/api/auth/status', '/api/auth/login', '/api/auth/logout']);

/** The areas of the management API, each registering its routes on the /api-scoped instance. */
function registerAreas(api: FastifyInstance): void {
  registerProviderRoutes(api);
  registerRoutingRoutes(api);
  registerRoutingHealthRoutes(api);
  registerSettingsRoutes(api);
  registerLogRoutes(api);
  registerGovernanceRoutes(api);
  registerMcpAdminRoutes(api);
}

/** Bodies arrive as bytes (the app's catch-all parser): /api takes JSON only, parsed here. */
function parseJsonBody(request: FastifyRequest): void {
  const body = request.body;
  if (!Buffer.isBuffer(body)) return;
  if (body.length === 0) {
    request.body = undefined;
    return;
  }
  const type = request.headers['content-type'] ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new GatewayError('HD_ERR_REQUEST_INVALID_JSON', 'The management API takes JSON bodies: send content-type: application/json.', {
      status: 415, param: 'content-type',
    });
  }
  try {
    request.body = JSON.parse(body.toString('utf8'));
  } catch (error) {
    const reason = (error as Error).message.replace(/,?\s*"[\s\S]*"\s*is not valid JSON$/, '');
    throw new GatewayError('HD_ERR_REQUEST_INVALID_JSON', `The request body is not valid JSON: ${reason}`);
  }
}

export function registerAdminApi(app: FastifyInstance): void {
  const service = app.configService;
  if (service.config.admin.token === undefined) {
    app.log.warn('no admin token (HEIMDALL_ADMIN_TOKEN or admin.token): the management API and dashboard data answer loopback clients only');
  }
  app.register(async (api) => {
    const auth = new AdminAuth({
      token: () => service.config.admin.token,
      sessionTtlHours: () => service.config.admin.sessionTtlHours,
    });
    api.decorateRequest('adminActor', '');
    api.addHook('onRequest', async (request, reply) => {
      reply.header('cache-control', 'no-store');
      auth.guard(request, OPEN_ROUTES.has(request.routeOptions.url ?? ''));
    });
    api.addHook('preValidation', async (request) => parseJsonBody(request));
    // One log line per change (never a body); reads are not logged.
    api.addHook('onResponse', async (request, reply) => {
      if (request.method === 'GET' || request.method === 'HEAD') return;
      request.log.info({
        msg: 'admin', method: request.method, route: request.routeOptions.url, status: reply.statusCode, actor: request.adminActor || undefined,
      });
    });
    registerAuthRoutes(api, auth, {
      audit: (actor, action) => {
        app.store.config.appendAudit({ actor, action });
      },
    });
    registerAreas(api);
  }, { prefix: '/api' });
}
