/**
 * Overview: live traffic (requests/s, latency p50/p95, error rate), tokens and
 * cost over a selectable range, and the top models, providers and keys.
 * Polls /api/logs/stats; the first-run guide replaces it while no provider exists.
 */
import { useMemo, useState } from 'react';
import { logs, providers, virtualKeys } from '../api/endpoints.js';
import type { LogStats } from '../api/types.js';
import { BarList, Legend, TimeChart, type Series } from '../components/chart.js';
import { Async, Card, EmptyState, PageHeader, Segmented, Stat } from '../components/ui.js';
import { formatCompact, formatDuration, formatInteger, formatMs, formatPercent, formatRelative, formatUsd } from '../lib/format.js';
import { Link, useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';
import { FirstRun } from './quickstart.js';

type Range = '15m' | '1h' | '24h' | '7d' | '30d';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Span, bucket and refresh interval of each range: about 60 buckets each, aligned so they do not shift between polls. */
const RANGES: Record<Range, { span: number; bucket: number; poll: number; label: string }> = {
  '15m': { span: 15 * MINUTE, bucket: 15_000, poll: 3_000, label: '15 min' },
  '1h': { span: HOUR, bucket: MINUTE, poll: 5_000, label: '1 hour' },
  '24h': { span: DAY, bucket: 30 * MINUTE, poll: 15_000, label: '24 hours' },
  '7d': { span: 7 * DAY, bucket: 3 * HOUR, poll: 60_000, label: '7 days' },
  '30d': { span: 30 * DAY, bucket: 12 * HOUR, poll: 60_000, label: '30 days' },
};

const money = (value: number): string => formatUsd(value);
const rate = (value: number): string => (value === 0 ? '0' : value < 0.1 ? value.toFixed(3) : value < 10 ? value.toFixed(2) : formatCompact(value));
const requestsLabel = (value: number): string => `${formatInteger(value)} req`;

export function OverviewPage() {
  useTitle('Overview');
  const [range, setRange] = useState<Range>(() => {
    const saved = sessionStorage.getItem('heimdall.overview.range');
    return saved !== null && saved in RANGES ? (saved as Range) : '1h';
  });
  const choose = (next: Range): void => {
    sessionStorage.setItem('heimdall.overview.range', next);
    setRange(next);
  };
  const spec = RANGES[range];

  const stats = useResource(
    (signal) => {
      const to = Math.ceil(Date.now() / spec.bucket) * spec.bucket;
      return logs.stats({ from: to - spec.span, to, bucket_ms: spec.bucket, top: 8 }, signal);
    },
    [range],
    { pollMs: spec.poll },
  );
  // Requests per second right now: the last minute, polled with the chart.
  const live = useResource(
    (signal) => {
      const to = Date.now();
      return logs.stats({ from: to - MINUTE, to, bucket_ms: MINUTE, top: 1 }, signal);
    },
    [],
    { pollMs: 3_000 },
  );
  const providerList = useResource((signal) => providers.list(signal), []);
  const keyNames = useResource(
    (signal) =>
      virtualKeys.list(signal).then(
        (page) => new Map(page.data.map((key) => [key.id, key.name])),
        () => new Map<string, string>(),
      ),
    [],
  );

  const noProviders = providerList.data !== undefined && providerList.data.data.length === 0;
  const noTraffic = stats.data !== undefined && stats.data.totals.requests === 0;
  const firstRun = noProviders && (noTraffic || stats.data === undefined);

  return (
    <>
      <PageHeader
        title="Overview"
        description={
          firstRun ? (
            'Nothing to show yet: set up a provider to get started.'
          ) : (
            <span className="row" style={{ gap: 6 }}>
              <span className={`dot ${stats.error === undefined ? 'live-dot' : 'dot-error'}`} aria-hidden="true" />
              {stats.error === undefined ? `Live, refreshed ${stats.updatedAt === undefined ? '…' : formatRelative(stats.updatedAt)}` : 'Refresh failing'}
            </span>
          )
        }
        actions={
          firstRun ? undefined : (
          <Segmented
            label="Time range"
            value={range}
            onChange={choose}
            options={(Object.keys(RANGES) as Range[]).map((value) => ({ value, label: value }))}
          />
          )
        }
      />
      {firstRun ? (
        <FirstRun />
      ) : (
        <Async resource={stats} rows={6}>
          {(data) => <Dashboard data={data} rangeLabel={spec.label} liveRps={live.data === undefined ? undefined : live.data.totals.requests / 60} keyNames={keyNames.data} />}
        </Async>
      )}
    </>
  );
}

/** What "≈" before a latency means (the stats' percentiles came from a latency histogram). */
const APPROXIMATE_LATENCY = 'Approximate: from a latency histogram, within 5% of the exact value';

/** A latency, marked "≈" when the stats' percentiles are approximate. */
function latencyText(value: number | null, approximate: boolean): string {
  return approximate && value !== null ? `≈ ${formatMs(value)}` : formatMs(value);
}

function Dashboard({ data, rangeLabel, liveRps, keyNames }: { data: LogStats; rangeLabel: string; liveRps: number | undefined; keyNames: Map<string, string> | undefined }) {
  const { totals } = data;
  const approximate = data.percentiles === 'approximate';
  const errorRate = totals.requests === 0 ? null : totals.errors / totals.requests;
  const times = useMemo(() => data.buckets.map((bucket) => bucket.start), [data]);
  const traffic = useMemo(() => {
    // The bucket in progress holds only the seconds elapsed so far: divide by those, or leave it out while
    // it is too young to say anything (a rate over the full bucket would dip at the right edge every time).
    const now = Date.now();
    const seconds = (start: number): number | null => {
      const elapsed = Math.min(data.bucket_ms, now - start);
      return elapsed < data.bucket_ms / 4 ? null : elapsed / 1000;
    };
    const rate = (count: number, start: number): number | null => {
      const span = seconds(start);
      return span === null ? null : count / span;
    };
    return [
      { label: 'Requests/s', color: 'var(--chart-1)', values: data.buckets.map((bucket) => rate(bucket.requests, bucket.start)) },
      { label: 'Errors/s', color: 'var(--chart-4)', values: data.buckets.map((bucket) => rate(bucket.errors, bucket.start)) },
    ];
  }, [data]);
  return (
    <div className="stack" data-testid="overview">
      <div className="grid grid-stats">
        <Stat label="Requests / s (last minute)" value={liveRps === undefined ? '—' : rate(liveRps)} sub={`${formatInteger(totals.requests)} in ${rangeLabel}`} />
        <Stat
          label="Latency p50"
          value={<span title={approximate ? APPROXIMATE_LATENCY : undefined}>{latencyText(totals.p50_ms, approximate)}</span>}
          sub={<span title={approximate ? APPROXIMATE_LATENCY : undefined}>{`p95 ${latencyText(totals.p95_ms, approximate)} · p99 ${latencyText(totals.p99_ms, approximate)}`}</span>}
        />
        <Stat
          label="Error rate"
          value={formatPercent(errorRate)}
          sub={`${formatInteger(totals.errors)} ${totals.errors === 1 ? 'error' : 'errors'}`}
          tone={errorRate === null ? undefined : errorRate >= 0.05 ? 'error' : errorRate > 0 ? 'warn' : 'ok'}
        />
        <Stat label="Tokens" value={formatCompact(totals.input_tokens + totals.output_tokens)} sub={`${formatCompact(totals.input_tokens)} in · ${formatCompact(totals.output_tokens)} out`} />
        <Stat
          label="Cost"
          value={formatUsd(totals.cost_usd)}
          sub={totals.unknown_cost_requests > 0 ? `${formatInteger(totals.unknown_cost_requests)} ${totals.unknown_cost_requests === 1 ? 'request' : 'requests'} without a price` : `in ${rangeLabel}`}
        />
      </div>

      {totals.requests === 0 ? (
        <div className="card">
          <EmptyState title={`No requests in the last ${rangeLabel === '1 hour' ? 'hour' : rangeLabel}`}>
            Calls through the gateway appear here within seconds. <Link to="/quickstart">Connect an app</Link> or pick a longer range.
          </EmptyState>
        </div>
      ) : (
        <Charts data={data} rangeLabel={rangeLabel} keyNames={keyNames} traffic={traffic} times={times} />
      )}
    </div>
  );
}

/** The four charts and the top lists (left out while the range holds no request). */
function Charts({
  data,
  rangeLabel,
  keyNames,
  traffic,
  times,
}: {
  data: LogStats;
  rangeLabel: string;
  keyNames: Map<string, string> | undefined;
  traffic: Series[];
  times: number[];
}) {
  const approximate = data.percentiles === 'approximate';
  const latency = useMemo(
    () => [
      { label: 'p50', color: 'var(--chart-1)', values: data.buckets.map((bucket) => bucket.p50_ms) },
      { label: 'p95', color: 'var(--chart-3)', values: data.buckets.map((bucket) => bucket.p95_ms) },
    ],
    [data],
  );
  const tokens = useMemo(() => [{ label: 'Tokens', color: 'var(--chart-2)', values: data.buckets.map((bucket) => bucket.tokens) }], [data]);
  const cost = useMemo(() => [{ label: 'Cost', color: 'var(--chart-1)', values: data.buckets.map((bucket) => bucket.cost_usd) }], [data]);
  return (
    <>
      <div className="grid grid-2">
        <Card title="Traffic" actions={<Legend series={traffic} />}>
          <TimeChart times={times} bucketMs={data.bucket_ms} series={traffic} format={rate} label={`Requests and errors per second over ${rangeLabel}`} />
        </Card>
        <Card title={approximate ? <span title={APPROXIMATE_LATENCY}>Latency ≈</span> : 'Latency'} actions={<Legend series={latency} />}>
          <TimeChart
            times={times}
            bucketMs={data.bucket_ms}
            series={latency}
            format={(value) => (value === 0 ? '0' : formatMs(value))}
            label={`Latency p50 and p95 over ${rangeLabel}${approximate ? ' (approximate, within 5%)' : ''}`}
          />
        </Card>
        <Card title="Tokens" actions={<span className="muted small">per {formatDuration(data.bucket_ms)}</span>}>
          <TimeChart kind="bar" times={times} bucketMs={data.bucket_ms} series={tokens} format={formatCompact} label={`Tokens per bucket over ${rangeLabel}`} />
        </Card>
        <Card title="Cost" actions={<span className="muted small">per {formatDuration(data.bucket_ms)}</span>}>
          <TimeChart kind="bar" times={times} bucketMs={data.bucket_ms} series={cost} format={money} label={`Cost per bucket over ${rangeLabel}`} />
        </Card>
      </div>

      <div className="grid grid-3">
        <Card title="Top models" actions={<Link to="/usage" className="small">Usage →</Link>}>
          {data.top_models.length === 0 ? (
            <p className="muted">No traffic yet.</p>
          ) : (
            <BarList
              format={requestsLabel}
              items={data.top_models.map((row) => ({
                label: row.provider === null || row.model.startsWith(`${row.provider}/`) ? row.model : `${row.provider}/${row.model}`,
                value: row.requests,
                detail: formatUsd(row.cost_usd),
              }))}
            />
          )}
        </Card>
        <Card title="Top providers" actions={<Link to="/providers" className="small">Health →</Link>}>
          {data.top_providers.length === 0 ? (
            <p className="muted">No traffic yet.</p>
          ) : (
            <BarList format={requestsLabel} items={data.top_providers.map((row) => ({ label: row.provider, value: row.requests, detail: `${formatPercent(row.requests === 0 ? 0 : row.errors / row.requests)} errors` }))} />
          )}
        </Card>
        <Card title="Top virtual keys" actions={<Link to="/usage?by=key" className="small">By key →</Link>}>
          {data.top_keys.length === 0 ? (
            <p className="muted">No calls with a virtual key yet.</p>
          ) : (
            <BarList
              format={requestsLabel}
              items={data.top_keys.map((row) => ({ label: row.name ?? keyNames?.get(row.virtual_key_id) ?? row.virtual_key_id, value: row.requests, detail: formatUsd(row.cost_usd) }))}
            />
          )}
        </Card>
      </div>
    </>
  );
}
