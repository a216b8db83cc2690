/**
 * GET /api/routing/health: the live health of every configured key (circuit
 * breaker state, decaying error rate and latency, effective weight, last error
 * and health check) and each provider's concurrency (in flight, queued).
 * `?provider=name` narrows both lists. State is the gateway's own, kept across
 * reloads; see docs/routing.md.
 */
import type { FastifyInstance } from 'fastify';
import type { ConcurrencyView } from '../../gateway/concurrency.js';
import type { Gateway } from '../../gateway/gateway.js';
import type { KeyHealthView } from '../../gateway/key-health.js';

export interface RoutingHealthResponse {
  data: KeyHealthView[];
  providers: ConcurrencyView[];
}

export function routingHealth(gateway: Gateway, provider?: string): RoutingHealthResponse {
  const routing = gateway.state.routing;
  let data = gateway.health.snapshot(routing.breaker, routing.adaptive);
  let providers = gateway.concurrency.snapshot();
  if (provider !== undefined && provider !== '') {
    data = data.filter((key) => key.provider === provider);
    providers = providers.filter((load) => load.provider === provider);
  }
  return { data, providers };
}

export function registerRoutingHealthRoutes(api: FastifyInstance): void {
  api.get('/routing/health', async (request) => {
    const query = request.query as { provider?: unknown } | undefined;
    return routingHealth(api.gateway, typeof query?.provider === 'string' ? query.provider : undefined);
  });
}
