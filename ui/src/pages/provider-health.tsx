/**
 * Live routing health on the Providers page (GET /api/routing/health): each
 * key's circuit breaker state, its share of the provider's traffic from the
 * effective (adaptive) weights, its decaying error rate and latency, and the
 * provider's concurrency queue. @see ../../../docs/routing.md
 */
import type { ReactNode } from 'react';
import type { KeyHealth, ProviderLoad } from '../api/types.js';
import { Badge } from '../components/ui.js';
import { formatInteger, formatMs, formatPercent, formatRelative } from '../lib/format.js';

export type Tone = 'ok' | 'warn' | 'error';

/** The badge of a key: its breaker state, or a failed health check. */
export function healthBadge(item: KeyHealth | undefined, now = Date.now()): { tone: Tone; text: string; title: string } | null {
  if (item === undefined) return null;
  if (item.state === 'open') {
    const probe = item.open_until === null ? '' : `, next probe ${formatRelative(item.open_until, now)}`;
    return { tone: 'error', text: 'circuit open', title: `The breaker holds this key back after ${formatInteger(item.consecutive_failures)} failures in a row${probe}.` };
  }
  if (item.state === 'half_open') return { tone: 'warn', text: 'probing', title: 'The breaker lets a trial request through; the key takes traffic again if it succeeds.' };
  if (item.last_check_ok === false) return { tone: 'error', text: 'check failed', title: 'The last health check of this key failed.' };
  if (item.error_rate >= 0.2) return { tone: 'warn', text: 'degraded', title: 'Many recent calls failed: its weight is lowered.' };
  return { tone: 'ok', text: 'healthy', title: 'Circuit closed: the key takes traffic.' };
}

/** The worst state of a provider's keys, for the dot before its name. */
export function providerTone(items: KeyHealth[]): Tone | null {
  let tone: Tone | null = null;
  for (const item of items) {
    const badge = healthBadge(item);
    if (badge === null) continue;
    if (badge.tone === 'error') return 'error';
    if (badge.tone === 'warn' || tone === null) tone = badge.tone;
  }
  return tone;
}

/**
 * Share of the provider's traffic a key gets now: its effective weight over the sum of the
 * enabled keys' (a key with no health record yet counts with its configured weight).
 */
export function trafficShare(keyId: string, keys: Array<{ id: string; weight: number; enabled: boolean }>, health: KeyHealth[]): number | null {
  const weightOf = (key: { id: string; weight: number }): number => health.find((item) => item.key_id === key.id)?.effective_weight ?? key.weight;
  const enabled = keys.filter((key) => key.enabled);
  const own = enabled.find((key) => key.id === keyId);
  if (own === undefined) return 0;
  const total = enabled.reduce((sum, key) => sum + weightOf(key), 0);
  return total > 0 ? weightOf(own) / total : 0;
}

function Metric({ label, value, title, tone }: { label: string; value: ReactNode; title?: string; tone?: Tone }) {
  return (
    <div className={`metric ${tone === undefined ? '' : `metric-${tone}`}`} title={title}>
      <div className="metric-label">{label}</div>
      <div className="metric-value">{value}</div>
    </div>
  );
}

/** The live numbers of one key, under its name on the provider card. */
export function KeyHealthDetails({ item, share, enabled, weight }: { item: KeyHealth | undefined; share: number | null; enabled: boolean; weight: number }) {
  if (!enabled) return <div className="muted small">Turned off: takes no traffic.</div>;
  const now = Date.now();
  const recentError = item !== undefined && item.last_error !== null && item.last_error_at !== null && (item.state !== 'closed' || now - item.last_error_at < 15 * 60_000);
  const effective = item?.effective_weight ?? weight;
  const adjusted = Math.abs(effective - weight) >= 0.005;
  const errorRate = item?.error_rate ?? 0;
  return (
    <div className="key-health" data-testid="key-health">
      <div className="metrics">
        <Metric
          label="Traffic share"
          title={`Weight ${weight}${adjusted ? `, ${effective} after adaptive balancing (errors and latency)` : ''}`}
          value={
            <span className="row" style={{ gap: 6, flexWrap: 'nowrap' }}>
              {share === null ? '—' : formatPercent(share, 0)}
              <span className="share-track" aria-hidden="true">
                <span className="share-fill" style={{ width: `${Math.round((share ?? 0) * 100)}%` }} />
              </span>
            </span>
          }
        />
        <Metric label="Weight" value={adjusted ? `${weight} → ${Number(effective.toFixed(2))}` : String(weight)} title="Configured weight → effective weight after adaptive balancing" />
        <Metric
          label="Errors"
          value={item === undefined ? '—' : formatPercent(errorRate)}
          tone={errorRate >= 0.2 ? 'error' : errorRate >= 0.05 ? 'warn' : undefined}
          title={item === undefined ? 'No call yet' : `Recent error rate (decaying). ${formatInteger(item.failures)} failed of ${formatInteger(item.requests)} calls in all.`}
        />
        <Metric label="Latency" value={formatMs(item?.latency_ms)} title="Recent average time to the first byte of an answer" />
        <Metric label="Calls" value={formatInteger(item?.requests ?? 0)} title={item === undefined ? 'No call yet' : `${formatInteger(item.failures)} failed; circuit opened ${formatInteger(item.opens)} times`} />
      </div>
      {recentError ? (
        <div className={`key-error small ${item.state === 'closed' ? 'muted' : 'key-error-now'}`} title={item.last_error ?? undefined}>
          <span className={`dot ${item.state === 'closed' ? 'dot-warn' : 'dot-error'}`} aria-hidden="true" /> Last error {formatRelative(item.last_error_at, now)}: {item.last_error}
        </div>
      ) : null}
    </div>
  );
}

/** "2 in flight · 0 queued (limit 10)" when the provider has a concurrency limit or calls waiting. */
export function ProviderLoadLine({ load }: { load: ProviderLoad | undefined }) {
  if (load === undefined || (load.max_in_flight === null && load.in_flight === 0 && load.queued === 0)) return null;
  const full = load.max_in_flight !== null && load.in_flight >= load.max_in_flight;
  return (
    <>
      <dt>Concurrency</dt>
      <dd>
        {formatInteger(load.in_flight)} in flight{load.max_in_flight === null ? '' : ` of ${formatInteger(load.max_in_flight)}`} · {formatInteger(load.queued)} queued
        {full ? (
          <>
            {' '}
            <Badge tone="warn">at limit</Badge>
          </>
        ) : null}
      </dd>
    </>
  );
}
