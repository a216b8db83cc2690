/**
 * Usage: spend, tokens and requests from the request logs (GET /api/usage) over
 * today, 7 or 30 days or this month, for everything or one key, team or customer,
 * broken down by model, provider, key, team, customer or day, with spend per day as a chart.
 * Period and filters live in the URL. The server names the key, team and customer rows.
 */
import { useMemo } from 'react';
import { customers as customersApi, teams as teamsApi, usage, virtualKeys } from '../api/endpoints.js';
import type { UsageGroup, UsagePeriod, UsageReport, UsageRow } from '../api/types.js';
import { TimeChart } from '../components/chart.js';
import { Async, Card, EmptyState, Field, PageHeader, Segmented, Stat } from '../components/ui.js';
import { formatCompact, formatInteger, formatPercent, formatUsd } from '../lib/format.js';
import { Link, setSearch, useLocation, useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';

const DAY = 86_400_000;

const PERIODS: Array<{ value: UsagePeriod; label: string; long: string }> = [
  { value: 'today', label: 'Today', long: 'today (since 00:00 UTC)' },
  { value: '7d', label: '7 days', long: 'in the last 7 days' },
  { value: '30d', label: '30 days', long: 'in the last 30 days' },
  { value: 'month', label: 'This month', long: 'this month (UTC)' },
];

const GROUPS: Array<{ value: UsageGroup; label: string; column: string }> = [
  { value: 'model', label: 'Model', column: 'Model' },
  { value: 'provider', label: 'Provider', column: 'Provider' },
  { value: 'key', label: 'Virtual key', column: 'Virtual key' },
  { value: 'team', label: 'Team', column: 'Team' },
  { value: 'customer', label: 'Customer', column: 'Customer' },
  { value: 'day', label: 'Day', column: 'Day (UTC)' },
];

const utcDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
const utcDayLong = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric', timeZone: 'UTC' });

/** "2026-11-29" -> the time of that UTC day's noon (so its local date is the same nearly everywhere). */
function dayTime(group: string): number {
  return Date.parse(`${group}T12:00:00Z`);
}

function isPeriod(value: string | null): value is UsagePeriod {
  return PERIODS.some((period) => period.value === value);
}

function isGroup(value: string | null): value is UsageGroup {
  return GROUPS.some((group) => group.value === value);
}

export function UsagePage() {
  useTitle('Usage');
  const { search } = useLocation();
  const period: UsagePeriod = isPeriod(search.get('period')) ? (search.get('period') as UsagePeriod) : '30d';
  const by: UsageGroup = isGroup(search.get('by')) ? (search.get('by') as UsageGroup) : 'model';
  const scope = { key: search.get('key') ?? '', team: search.get('team') ?? '', customer: search.get('customer') ?? '' };
  const update = (changes: Record<string, string>): void => {
    const next = { period, by, ...scope, ...changes };
    setSearch({ ...next, period: next.period === '30d' ? undefined : next.period, by: next.by === 'model' ? undefined : next.by });
  };
  const filter = { key: scope.key || undefined, team: scope.team || undefined, customer: scope.customer || undefined };
  const scopeKey = JSON.stringify(filter);

  const report = useResource((signal) => usage.get({ period, group_by: by, ...filter }, signal), [period, by, scopeKey], { pollMs: 30_000 });
  const daily = useResource(
    (signal) => (by === 'day' ? Promise.resolve(undefined) : usage.get({ period, group_by: 'day', ...filter }, signal)),
    [period, by, scopeKey],
    { pollMs: 30_000, enabled: period !== 'today' },
  );
  const keys = useResource((signal) => virtualKeys.list(signal).catch(() => ({ data: [] })), []);
  const teams = useResource((signal) => teamsApi.list(signal).catch(() => ({ data: [] })), []);
  const customers = useResource((signal) => customersApi.list(signal).catch(() => ({ data: [] })), []);
  const periodText = PERIODS.find((item) => item.value === period)?.long ?? period;
  const days = by === 'day' ? report.data : daily.data;

  return (
    <>
      <PageHeader
        title="Usage"
        description={
          <>
            Spend, tokens and requests from the request logs, at the prices on the <Link to="/pricing">Pricing</Link> page.
          </>
        }
        actions={<Segmented label="Period" value={period} onChange={(value) => update({ period: value })} options={PERIODS.map(({ value, label }) => ({ value, label }))} />}
      />
      <div className="card" style={{ marginBottom: 16 }}>
        <form className="filters" role="search" aria-label="Filter usage" onSubmit={(event) => event.preventDefault()}>
          <Field label="Virtual key" htmlFor="u-key">
            <select id="u-key" value={scope.key} onChange={(event) => update({ key: event.target.value })}>
              <option value="">All keys</option>
              {(keys.data?.data ?? []).map((key) => (
                <option key={key.id} value={key.id}>
                  {key.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Team" htmlFor="u-team">
            <select id="u-team" value={scope.team} onChange={(event) => update({ team: event.target.value })}>
              <option value="">All teams</option>
              {(teams.data?.data ?? []).map((team) => (
                <option key={team.id} value={team.id}>
                  {team.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Customer" htmlFor="u-customer">
            <select id="u-customer" value={scope.customer} onChange={(event) => update({ customer: event.target.value })}>
              <option value="">All customers</option>
              {(customers.data?.data ?? []).map((customer) => (
                <option key={customer.id} value={customer.id}>
                  {customer.name}
                </option>
              ))}
            </select>
          </Field>
        </form>
      </div>
      <Async resource={report} rows={6}>
        {(data) => (
          <div className="stack" data-testid="usage">
            <Totals report={data} periodText={periodText} />
            {period === 'today' || data.totals.requests === 0 ? null : (
              <Card title="Spend per day" actions={<span className="muted small">UTC days</span>}>
                {days === undefined ? <div className="skeleton" style={{ height: 180 }} /> : <DailyChart report={days} />}
              </Card>
            )}
            <Card
              title="Breakdown"
              className="flush"
              actions={<Segmented label="Group by" value={by} onChange={(value) => update({ by: value })} options={GROUPS.map(({ value, label }) => ({ value, label }))} />}
            >
              {data.data.length === 0 ? (
                <EmptyState title={`No requests ${periodText}`}>
                  {filter.key !== undefined || filter.team !== undefined || filter.customer !== undefined ? (
                    'Nothing for this key, team or customer yet. Try a longer period or clear the filters.'
                  ) : (
                    <>
                      Calls through the gateway are counted here as soon as they finish. <Link to="/quickstart">Connect an app</Link>.
                    </>
                  )}
                </EmptyState>
              ) : (
                <>
                  <BreakdownTable report={data} by={by} />
                  {data.truncated === true ? (
                    <p className="muted small" style={{ padding: '8px 16px 12px' }}>
                      Only the {formatInteger(data.data.length)} costliest groups are listed; the totals count all of them.
                    </p>
                  ) : null}
                </>
              )}
            </Card>
          </div>
        )}
      </Async>
    </>
  );
}

function Totals({ report, periodText }: { report: UsageReport; periodText: string }) {
  const { totals } = report;
  return (
    <div className="grid grid-stats">
      <Stat
        label="Spend"
        value={formatUsd(totals.cost_usd)}
        sub={totals.unknown_cost_requests > 0 ? `${formatInteger(totals.unknown_cost_requests)} ${totals.unknown_cost_requests === 1 ? 'request' : 'requests'} without a price` : periodText}
      />
      <Stat label="Requests" value={formatInteger(totals.requests)} sub={`${formatInteger(totals.errors)} ${totals.errors === 1 ? 'error' : 'errors'} (${formatPercent(totals.requests === 0 ? 0 : totals.errors / totals.requests)})`} />
      <Stat label="Tokens" value={formatCompact(totals.tokens)} sub={`${formatCompact(totals.input_tokens)} in · ${formatCompact(totals.output_tokens)} out`} />
      <Stat label="Average per request" value={totals.requests === 0 ? '—' : formatUsd(totals.cost_usd / totals.requests)} sub={totals.requests === 0 ? undefined : `${formatCompact(Math.round(totals.tokens / totals.requests))} tokens`} />
    </div>
  );
}

function DailyChart({ report }: { report: UsageReport }) {
  // Every UTC day of the period, with 0 for days without traffic.
  const { times, values } = useMemo(() => {
    const byDay = new Map(report.data.filter((row) => row.group !== null).map((row) => [row.group as string, row.cost_usd]));
    const first = Math.floor(report.from / DAY) * DAY;
    const list: number[] = [];
    const amounts: number[] = [];
    for (let day = first; day <= report.to; day += DAY) {
      const name = new Date(day).toISOString().slice(0, 10);
      list.push(dayTime(name));
      amounts.push(byDay.get(name) ?? 0);
    }
    return { times: list, values: amounts };
  }, [report]);
  return (
    <TimeChart
      kind="bar"
      times={times}
      bucketMs={DAY}
      series={[{ label: 'Spend', color: 'var(--chart-1)', values }]}
      format={(value) => formatUsd(value)}
      formatTime={(ms) => utcDay.format(ms)}
      label="Spend per UTC day"
    />
  );
}

function groupLabel(row: UsageRow, by: UsageGroup): { text: string; muted: boolean; link?: string } {
  if (row.group === null) {
    const none: Record<UsageGroup, string> = {
      model: 'No model (refused before routing)',
      provider: 'No provider (refused before routing)',
      key: 'No virtual key',
      team: 'No team',
      customer: 'No customer',
      day: '—',
    };
    return { text: none[by], muted: true };
  }
  // A key, team or customer deleted since keeps its row, named by its id.
  if (by === 'key') return { text: row.name ?? row.group, muted: false, link: `/logs?since=all&key=${encodeURIComponent(row.group)}` };
  if (by === 'team' || by === 'customer') return { text: row.name ?? row.group, muted: false };
  if (by === 'provider') return { text: row.group, muted: false, link: `/logs?since=all&provider=${encodeURIComponent(row.group)}` };
  if (by === 'day') return { text: utcDayLong.format(dayTime(row.group)), muted: false };
  return { text: row.group, muted: false };
}

function BreakdownTable({ report, by }: { report: UsageReport; by: UsageGroup }) {
  const total = report.totals.cost_usd;
  const rows = by === 'day' ? [...report.data].reverse() : report.data;
  const column = GROUPS.find((group) => group.value === by)?.column ?? 'Group';
  return (
    <div className="table-wrap">
      <table className="table" data-testid="usage-table">
        <thead>
          <tr>
            <th>{column}</th>
            <th className="num">Requests</th>
            <th className="num">Errors</th>
            <th className="num">Input tokens</th>
            <th className="num">Output tokens</th>
            <th className="num">Cost</th>
            <th style={{ width: '18%' }}>Share of spend</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const label = groupLabel(row, by);
            const share = total > 0 ? row.cost_usd / total : 0;
            return (
              <tr key={row.group ?? '(none)'} data-group={row.group ?? ''} data-label={label.text}>
                <td className={`truncate ${by === 'model' || by === 'provider' ? 'mono' : ''}`} title={label.text}>
                  {label.link === undefined ? <span className={label.muted ? 'muted' : undefined}>{label.text}</span> : <Link to={label.link}>{label.text}</Link>}
                </td>
                <td className="num">{formatInteger(row.requests)}</td>
                <td className="num">{row.errors === 0 ? <span className="muted">0</span> : formatInteger(row.errors)}</td>
                <td className="num">{formatInteger(row.input_tokens)}</td>
                <td className="num">{formatInteger(row.output_tokens)}</td>
                <td className="num" data-testid="usage-cost">
                  {formatUsd(row.cost_usd)}
                  {row.unknown_cost_requests > 0 ? (
                    <span className="muted small" title={`${row.unknown_cost_requests} requests of a model without a price are not in this cost`}>
                      {' '}
                      +?
                    </span>
                  ) : null}
                </td>
                <td>
                  <div className="share-cell">
                    <span className="share-track" aria-hidden="true">
                      <span className="share-fill" style={{ width: `${Math.round(share * 100)}%` }} />
                    </span>
                    <span className="small muted">{formatPercent(share, 0)}</span>
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
        <tfoot>
          <tr>
            <th>Total</th>
            <th className="num">{formatInteger(report.totals.requests)}</th>
            <th className="num">{formatInteger(report.totals.errors)}</th>
            <th className="num">{formatInteger(report.totals.input_tokens)}</th>
            <th className="num">{formatInteger(report.totals.output_tokens)}</th>
            <th className="num">{formatUsd(total)}</th>
            <th />
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
