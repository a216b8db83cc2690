/**
 * Cluster: every instance serving the gateway (from its heartbeat in Redis) with its address, version,
 * uptime, load and heartbeat age, this one marked; the shared counters' (Redis) and the shared
 * configuration's (Postgres) state as the instance asked sees them. Refreshed every few seconds.
 * Without Redis there is no cluster to list: the page says so (docs/cluster.md#the-cluster-view).
 */
import { cluster } from '../api/endpoints.js';
import type { ClusterView, InstanceHeartbeat, SharedConfigStatus, SharedCountersStatus } from '../api/cluster-types.js';
import { Badge, Card, EmptyState, ErrorState, Loading, PageHeader, Stat } from '../components/ui.js';
import { DASH, formatBytes, formatInteger, formatMs } from '../lib/format.js';
import { useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';

const REFRESH_MS = 3_000;

/** "3d 4h", "2h 05m", "4m 10s", "12s". */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** A heartbeat is late once it misses more than one interval, and about to expire near the TTL. */
function heartbeatTone(ageMs: number, view: ClusterView): 'ok' | 'warn' | 'error' {
  if (ageMs > view.heartbeat_ttl_ms - view.heartbeat_interval_ms) return 'error';
  if (ageMs > view.heartbeat_interval_ms * 1.5) return 'warn';
  return 'ok';
}

function InstanceRow({ instance, view, versions }: { instance: InstanceHeartbeat; view: ClusterView; versions: number }) {
  const self = instance.id === view.self;
  const ageMs = Math.max(0, view.now - instance.last_heartbeat_at);
  const { load } = instance;
  return (
    <tr data-instance={instance.id}>
      <td>
        <code>{instance.id}</code> {self && <Badge tone="info" title="The instance that answered this page">this instance</Badge>}
        <div className="muted">{instance.hostname}, pid {instance.pid}</div>
      </td>
      <td>{instance.address === '' ? DASH : instance.address}</td>
      <td>
        {instance.version}
        {versions > 1 && <> <Badge tone="warn" title="The instances run different versions (a rollout in progress?)">mixed</Badge></>}
      </td>
      <td title={`started ${new Date(instance.started_at).toISOString()}`}>{formatUptime(instance.uptime_s)}</td>
      <td>{formatInteger(load.in_flight)}</td>
      {/* An instance of an older version (a rollout in progress) sends no requests_per_s. */}
      <td>{load.requests_per_s === undefined ? DASH : load.requests_per_s.toFixed(1)}</td>
      <td>{`${load.cpu_percent.toFixed(1)}%`}</td>
      <td>{formatBytes(load.rss_bytes)}</td>
      <td>{formatMs(load.event_loop_delay_p99_ms)}</td>
      <td>
        {self && view.mode === 'single' ? <span className="muted">not sent (no Redis)</span> : <Badge tone={heartbeatTone(ageMs, view)}>{`${(ageMs / 1000).toFixed(1)} s ago`}</Badge>}
      </td>
    </tr>
  );
}

function InstancesTable({ view }: { view: ClusterView }) {
  const versions = new Set(view.data.map((instance) => instance.version)).size;
  return (
    <table className="table" aria-label="Instances">
      <thead>
        <tr>
          <th scope="col">Instance</th>
          <th scope="col">Address</th>
          <th scope="col">Version</th>
          <th scope="col">Uptime</th>
          <th scope="col">In flight</th>
          <th scope="col">Req/s</th>
          <th scope="col">CPU</th>
          <th scope="col">Memory</th>
          <th scope="col">Loop delay p99</th>
          <th scope="col">Last heartbeat</th>
        </tr>
      </thead>
      <tbody>
        {view.data.map((instance) => <InstanceRow key={instance.id} instance={instance} view={view} versions={versions} />)}
      </tbody>
    </table>
  );
}

function CountersStat({ counters }: { counters: SharedCountersStatus | null }) {
  if (counters === null) return <Stat label="Shared counters (Redis)" value="not configured" sub="budgets and rate limits count on each instance" />;
  const sub = `${counters.target}; ${formatInteger(counters.pending_settlements)} settlements pending, ${formatInteger(counters.optimistic_admissions)} admitted without waiting, ${formatInteger(counters.fallback_admissions)} decided locally, ${formatInteger(counters.refused_unavailable)} refused (503), ${formatInteger(counters.dropped_settlements)} dropped`;
  return <Stat label="Shared counters (Redis)" value={counters.connected ? 'connected' : 'unreachable'} tone={counters.connected ? 'ok' : 'error'} sub={sub} />;
}

function ConfigStat({ config }: { config: SharedConfigStatus | null }) {
  if (config === null) return <Stat label="Shared configuration (Postgres)" value="not configured" sub="each instance keeps its own configuration" />;
  const sub = `${config.target}; version ${formatInteger(config.version)}, ${formatInteger(config.pending)} changes pending, ${formatInteger(config.rejected)} rejected`;
  const tone = !config.connected ? 'error' : config.rejected > 0 || config.pending > 0 ? 'warn' : 'ok';
  return <Stat label="Shared configuration (Postgres)" value={config.connected ? 'connected' : 'unreachable'} tone={tone} sub={sub} />;
}

function SingleNotice({ view }: { view: ClusterView }) {
  if (view.shared_config !== null) {
    return (
      <EmptyState title="No Redis configured: this instance alone is listed">
        The configuration is shared through Postgres, but without <code>HEIMDALL_REDIS_URL</code> (or <code>redis.url</code>) the instances send no
        heartbeat and each counts budgets and rate limits on its own.
      </EmptyState>
    );
  }
  return (
    <EmptyState title="Single instance: no cluster configured">
      This gateway runs alone. Give several instances the same <code>HEIMDALL_REDIS_URL</code> to share budgets and rate limits and list them
      here, and the same <code>HEIMDALL_DATABASE_URL</code> to share their configuration (see the cluster guide in the docs).
    </EmptyState>
  );
}

export function ClusterPage() {
  useTitle('Cluster');
  const resource = useResource((signal) => cluster.view(signal), [], { pollMs: REFRESH_MS });
  const view = resource.data;
  return (
    <div className="stack">
      <PageHeader
        title="Cluster"
        description={`The instances serving this gateway, from their heartbeats, and the state they share. Refreshed every ${REFRESH_MS / 1000} s.`}
      />
      {view === undefined && resource.error !== undefined ? (
        <ErrorState error={resource.error} onRetry={resource.reload} title="Could not load the cluster view" />
      ) : view === undefined ? (
        <Loading rows={3} />
      ) : (
        <>
          {view.mode === 'single' && <Card><SingleNotice view={view} /></Card>}
          <div className="grid grid-stats">
            <Stat
              label="Instances"
              value={view.mode === 'single' ? 'single' : formatInteger(view.data.length)}
              sub={view.mode === 'single' ? 'no heartbeats without Redis' : `heartbeat every ${view.heartbeat_interval_ms / 1000} s, dropped after ${view.heartbeat_ttl_ms / 1000} s`}
            />
            <CountersStat counters={view.shared_counters} />
            <ConfigStat config={view.shared_config} />
          </div>
          <Card title={view.mode === 'single' ? 'This instance' : 'Instances'}>
            {view.data.length === 0 ? <EmptyState title="No heartbeat in Redis yet" /> : <InstancesTable view={view} />}
          </Card>
        </>
      )}
    </div>
  );
}
