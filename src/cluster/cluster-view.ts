/**
 * What GET /api/cluster answers (docs/cluster.md#the-cluster-view): types only, with no import, so
 * the dashboard reads the same declarations (ui/src/api/cluster-types.ts) without the server's code.
 */

export interface InstanceLoad {
  /** Requests being served now. */
  in_flight: number;
  /** Requests finished per second since the previous heartbeat. */
  requests_per_s: number;
  /** Share of one core this process used since the previous heartbeat, in %. */
  cpu_percent: number;
  rss_bytes: number;
  /** Event-loop delay p99 since the previous heartbeat, ms. */
  event_loop_delay_p99_ms: number;
}

export interface InstanceHeartbeat {
  id: string;
  /** Where the instance listens (HEIMDALL_ADVERTISE_URL, else host:port as it bound). */
  address: string;
  hostname: string;
  pid: number;
  version: string;
  started_at: number;
  uptime_s: number;
  load: InstanceLoad;
  last_heartbeat_at: number;
}

/** The shared counters' state (Redis), as this instance sees it. */
export interface RedisLedgerStatus {
  /** The Redis URL without user and password. */
  target: string;
  connected: boolean;
  /** Requests decided by the local fallback (fail-open) since start, admitted or not. */
  fallback_admissions: number;
  /** Requests refused with 503 (fail-closed) since start. */
  refused_unavailable: number;
  /** Settlements waiting for Redis. */
  pending_settlements: number;
  /** Settlements dropped past redis.max_pending_settlements since start. */
  dropped_settlements: number;
  /** Requests admitted without waiting for Redis (far from every limit) since start. */
  optimistic_admissions: number;
  /** Of those, the ones whose reservation Redis found over a limit (each instance at most redis.optimistic_admissions per crossing). */
  optimistic_over_limit: number;
}

/** The configuration shared through Postgres (database.url), as this instance's replica has it. */
export interface ConfigSyncStatus {
  /** The database URL without user and password. */
  target: string;
  connected: boolean;
  /** The configuration version this replica holds (equal on every instance in step). */
  version: number;
  /** Local changes waiting to be pushed. */
  pending: number;
  /** Local changes Postgres refused since start. */
  rejected: number;
}

export interface ClusterResponse {
  mode: 'cluster' | 'single';
  /** The id of the instance that answered. */
  self: string;
  /** The answering instance's clock (ms): heartbeat ages are measured against it, not the reader's clock. */
  now: number;
  heartbeat_interval_ms: number;
  heartbeat_ttl_ms: number;
  /** The shared counters (cluster mode only). */
  shared_counters: RedisLedgerStatus | null;
  /** The shared configuration (database.url only). */
  shared_config: ConfigSyncStatus | null;
  /** Every instance with a live heartbeat, the one that answered first. */
  data: InstanceHeartbeat[];
}
