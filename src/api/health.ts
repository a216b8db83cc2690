/** GET /health (liveness and readiness), GET /metrics (Prometheus), GET / (landing page). */
import type { FastifyInstance } from 'fastify';
import type { Gateway } from '../gateway/gateway.js';
import { VERSION } from '../version.js';

const STARTED = Date.now();

export function registerHealthRoutes(app: FastifyInstance, gateway: Gateway): void {
  app.get('/health', async (_request, reply) => {
    const providers = [...gateway.state.providers.keys()];
    reply.header('cache-control', 'no-store').send({
      status: 'ok',
      version: VERSION,
      uptime_s: Math.round((Date.now() - STARTED) / 1000),
      providers,
      in_flight: gateway.inFlight,
    });
  });

  app.get('/metrics', async (_request, reply) => {
    if (gateway.clusterMetrics !== undefined) {
      // --workers N: every worker's series summed by the primary.
      const { text, contentType } = await gateway.clusterMetrics();
      reply.header('content-type', contentType).send(text);
      return;
    }
    const registry = gateway.metrics.registry;
    reply.header('content-type', registry.contentType).send(await registry.metrics());
  });
}
