/**
 * GET /api/cluster: the instances serving this gateway and the shared
 * counters' and the shared configuration's state. In cluster mode (Redis) every instance with a recent
 * heartbeat, whichever instance is asked; otherwise this instance alone.
 * See docs/cluster.md.
 */
import type { FastifyInstance } from 'fastify';
import type { ClusterResponse, InstanceHeartbeat } from '../../cluster/cluster-view.js';
import { HEARTBEAT_MS, HEARTBEAT_TTL_MS } from '../../cluster/instance-registry.js';

export function registerClusterRoutes(api: FastifyInstance): void {
  api.get('/cluster', async (): Promise<ClusterResponse> => {
    const ledger = api.sharedLedger;
    const instances = api.instances;
    let data: InstanceHeartbeat[];
    try {
      data = await instances.list();
    } catch {
      // Redis unreachable: this instance is all it can vouch for.
      data = [instances.heartbeat()];
    }
    return {
      mode: ledger === undefined ? 'single' : 'cluster',
      self: instances.id,
      now: Date.now(),
      heartbeat_interval_ms: HEARTBEAT_MS,
      heartbeat_ttl_ms: HEARTBEAT_TTL_MS,
      shared_counters: ledger?.status() ?? null,
      shared_config: api.configSync?.status ?? null,
      data,
    };
  });
}
