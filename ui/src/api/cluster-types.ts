/**
 * GET /api/cluster (docs/cluster.md#the-cluster-view): the server's declarations, from a file of
 * types only (nothing of the server enters the bundle).
 */
export type {
  ClusterResponse as ClusterView,
  ConfigSyncStatus as SharedConfigStatus,
  InstanceHeartbeat,
  InstanceLoad,
  RedisLedgerStatus as SharedCountersStatus,
} from '../../../src/cluster/cluster-view.js';
