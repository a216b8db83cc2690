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
import { safeLine } from '../../telemetry/logger.js';
import { auditContext } from '../../store/audit-log.js';
import { AdminAuth, clientAddress, type Principal } from './auth.js';
import { registerAuthRoutes, type AuthRouteHooks } from './auth-routes.js';
import { registerUserRoutes } from './users.js';
import { seedFileUsers } from './file-users.js';
import { registerSsoRoutes, ssoNames, type Sso } from './sso.js';
import { registerLogRoutes } from './logs.js';
import { registerGovernanceRoutes } from './virtual-keys.js';
import { registerProviderRoutes } from './providers.js';
import { registerRoutingRoutes } from './routing.js';
import { registerRoutingHealthRoutes } from './routing-health.js';
import { registerSettingsRoutes } from './settings.js';
import { registerCacheRoutes } from '../../cache/admin-routes.js';
import { registerPluginRoutes } from './plugins.js';
import { registerClusterRoutes } from './cluster.js';
import { registerMcpAdminRoutes } from '../../mcp/admin-routes.js';
import { registerBatchRoutes } from './batches.js';

/** The areas of the management API, each registering its routes on the /api-scoped instance. */
function registerAreas(api: FastifyInstance): void {
  registerProviderRoutes(api);
  registerRoutingRoutes(api);
  registerRoutingHealthRoutes(api);
  registerSettingsRoutes(api);
  registerLogRoutes(api);
  registerGovernanceRoutes(api);
  registerCacheRoutes(api);
  registerPluginRoutes(api);
  registerClusterRoutes(api);
  registerMcpAdminRoutes(api);
  registerBatchRoutes(api);
}

function auditOf(request: FastifyRequest): { userId: string | null; address: string | null } {
  return { userId: request.principal?.user?.id ?? null, address: clientAddress(request) };
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

declare module 'fastify' {
  interface FastifyInstance {
    /** Sign-in, sessions and the access table of the management API. */
    adminAuth: AdminAuth;
  }
}

export function registerAdminApi(app: FastifyInstance): void {
  const service = app.configService;
  const auth = new AdminAuth({
    token: () => service.config.admin.token,
    sessionTtlHours: () => service.config.admin.sessionTtlHours,
    store: app.store.auth,
  });
  app.decorate('adminAuth', auth);
  app.register(async (api) => {
    await seedFileUsers(app, auth.store);
    if (!auth.required) {
      app.log.warn('no admin token (HEIMDALL_ADMIN_TOKEN or admin.token) and no user: the management API and dashboard data answer loopback clients only until the first admin is created');
    }
    api.decorateRequest('adminActor', '');
    api.decorateRequest('principal', null as unknown as Principal);
    api.decorateRequest('teamScope', undefined);
    // Callback hooks: the rest of the request (body parsing, handler) runs inside the audit context.
    api.addHook('onRequest', (request, reply, done) => {
      reply.header('cache-control', 'no-store');
      try {
        auth.guard(request);
      } catch (error) {
        done(error as Error);
        return;
      }
      auditContext.run(auditOf(request), done);
    });
    api.addHook('preValidation', async (request) => parseJsonBody(request));
    // Body parsing resumed on the socket's context: enter the request's again before the handler.
    api.addHook('preHandler', (request, _reply, done) => auditContext.run(auditOf(request), done));
    // One log line per change (never a body); reads are not logged.
    api.addHook('onResponse', async (request, reply) => {
      if (request.method === 'GET' || request.method === 'HEAD') return;
      request.log.info(safeLine({
        msg: 'admin', method: request.method, route: request.routeOptions.url, status: reply.statusCode, actor: request.adminActor || undefined,
      }));
    });
    const hooks: AuthRouteHooks = {
      audit: (request, action, entry = {}) => {
        app.store.config.appendAudit({
          actor: entry.as?.actor ?? request.adminActor,
          user_id: entry.as !== undefined ? entry.as.userId : (request.principal.user?.id ?? null),
          address: clientAddress(request),
          action,
          target: entry.target ?? null,
          after: entry.after,
        });
      },
      sso: () => ssoNames(service.config.auth),
      endSessionUrl: (request, idToken) => sso.endSessionUrl(request, idToken),
    };
    const sso: Sso = registerSsoRoutes(api, auth, hooks);
    registerAuthRoutes(api, auth, hooks);
    registerUserRoutes(api, auth, hooks);
    registerAreas(api);
  }, { prefix: '/api' });
}
