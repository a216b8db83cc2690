/**
 * GET /api/cluster: the instances serving this gateway and the shared
 * counters' and the shared configuration's state. In cluster mode (Redis) every instance with a recent
 * heartbeat, whichever instance is asked; otherwise this instance alone.
 * See docs/cluster.md.
 */
import type { FastifyInstance } from 'fastify';
import type { InstanceHeartbeat } from '../../cluster/instance-registry.js';
import { HEARTBEAT_MS, HEARTBEAT_TTL_MS } from '../../cluster/instance-registry.js';
import type { RedisLedgerStatus } from '../../cluster/redis-ledger.js';
import type { ConfigSyncStatus } from '../../store/pg/config-sync.js';

export interface ClusterResponse {
  mode: 'cluster' | 'single';
  /** The id of the instance that answered. */
  self: string;
  heartbeat_interval_ms: number;
  heartbeat_ttl_ms: number;
  /** The shared counters (cluster mode only): Redis reachable, decisions made without it, settlements waiting. */
  shared_counters: RedisLedgerStatus | null;
  /** The configuration shared through Postgres (database.url): reachable, the version this replica holds, changes waiting to be pushed. */
  shared_config: ConfigSyncStatus | null;
  data: InstanceHeartbeat[];
}

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
      heartbeat_interval_ms: HEARTBEAT_MS,
      heartbeat_ttl_ms: HEARTBEAT_TTL_MS,
      shared_counters: ledger?.status() ?? null,
      shared_config: api.configSync?.status ?? null,
      data,
    };
  });
}
