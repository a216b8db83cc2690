/**
 * Logs: the request log as a table with filters kept in the URL (time, provider,
 * model, status, key, text), keyset paging, and a live tail that polls the
 * newest page and marks rows that arrived since.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { logs, providers, virtualKeys, type LogQuery } from '../api/endpoints.js';
import type { LogSummary } from '../api/types.js';
import { FilterIcon, PauseIcon, PlayIcon, RefreshIcon } from '../components/icons.js';
import { Badge, Button, EmptyState, ErrorState, Field, Loading, PageHeader, errorMessage } from '../components/ui.js';
import { formatInteger, formatMs, formatUsd, formatWhen, statusClass } from '../lib/format.js';
import { navigate, setSearch, useLocation, useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';

const SINCE: Record<string, { label: string; ms: number | null }> = {
  '15m': { label: 'Last 15 minutes', ms: 15 * 60_000 },
  '1h': { label: 'Last hour', ms: 60 * 60_000 },
  '24h': { label: 'Last 24 hours', ms: 24 * 60 * 60_000 },
  '7d': { label: 'Last 7 days', ms: 7 * 24 * 60 * 60_000 },
  all: { label: 'Any time', ms: null },
  custom: { label: 'Custom range…', ms: null },
};

const FILTERS = ['since', 'from', 'to', 'provider', 'model', 'status', 'key', 'q'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

const PAGE = 100;

/** A datetime-local value ("2026-11-29T14:05:09", the browser's time zone) for a time. */
export function toLocalInput(ms: number): string {
  const date = new Date(ms);
  const two = (value: number): string => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}T${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** The time of a datetime-local value, or undefined when empty or not a date. */
export function fromLocalInput(text: string): number | undefined {
  if (text === '') return undefined;
  const ms = new Date(text).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

/** The custom range's problem, if any: an unreadable bound, or from after to. */
function rangeError(filters: Filters): string | null {
  if (filters.since !== 'custom') return null;
  const from = fromLocalInput(filters.from);
  const to = fromLocalInput(filters.to);
  if ((filters.from !== '' && from === undefined) || (filters.to !== '' && to === undefined)) return 'Enter a date and time.';
  if (from !== undefined && to !== undefined && from > to) return 'The start is after the end.';
  return null;
}

function queryOf(filters: Filters): LogQuery {
  const since = SINCE[filters.since] ?? SINCE['24h'];
  if (filters.since === 'custom') {
    const to = fromLocalInput(filters.to);
    return {
      from: fromLocalInput(filters.from),
      // The end is inclusive to the second shown (the API's `to` is exclusive).
      to: to === undefined ? undefined : to + (filters.to.length > 16 ? 1000 : 60_000),
      provider: filters.provider || undefined,
      model: filters.model || undefined,
      status_class: filters.status || undefined,
      virtual_key_id: filters.key || undefined,
      q: filters.q || undefined,
      limit: PAGE,
    };
  }
  return {
    from: since.ms === null ? undefined : Date.now() - since.ms,
    provider: filters.provider || undefined,
    model: filters.model || undefined,
    status_class: filters.status || undefined,
    virtual_key_id: filters.key || undefined,
    q: filters.q || undefined,
    limit: PAGE,
  };
}

export function LogsPage() {
  useTitle('Logs');
  const { search } = useLocation();
  const filters = Object.fromEntries(FILTERS.map((name) => [name, search.get(name) ?? (name === 'since' ? '24h' : '')])) as Filters;
  const filterKey = JSON.stringify(filters);
  const update = (name: keyof Filters, value: string): void => {
    const next = { ...filters, [name]: value };
    if (name === 'since') {
      // A custom range starts as the last hour, to the minute, so both fields show something to edit; other ranges need neither.
      const now = Date.now();
      next.from = value === 'custom' ? toLocalInput(now - 3_600_000).slice(0, 16) : '';
      next.to = value === 'custom' ? toLocalInput(now).slice(0, 16) : '';
    }
    setSearch({ ...next, since: next.since === '24h' ? undefined : next.since });
  };
  const badRange = rangeError(filters);

  const [text, setText] = useState(filters.q);
  useEffect(() => setText(filters.q), [filters.q]);
  useEffect(() => {
    if (text === filters.q) return;
    const timer = window.setTimeout(() => update('q', text), 300);
    return () => window.clearTimeout(timer);
  }, [text]); // eslint-disable-line react-hooks/exhaustive-deps

  const [live, setLive] = useState(false);
  // On a phone the filters fold away behind a button (they would fill the screen).
  const [filtersOpen, setFiltersOpen] = useState(false);
  const first = useResource(
    (signal) => (badRange === null ? logs.list(queryOf(filters), signal) : Promise.resolve({ data: [], next_cursor: null })),
    [filterKey],
    { pollMs: live ? 2_000 : undefined },
  );
  const [older, setOlder] = useState<{ rows: LogSummary[]; cursor: string | null; busy: boolean; error?: unknown }>({ rows: [], cursor: null, busy: false });
  useEffect(() => setOlder({ rows: [], cursor: null, busy: false }), [filterKey]);

  // Rows that were not in the previous answer are marked as fresh for a moment.
  const seen = useRef<Set<string> | null>(null);
  const fresh = useMemo(() => {
    const ids = new Set<string>();
    const rows = first.data?.data ?? [];
    if (seen.current !== null) for (const row of rows) if (!seen.current.has(row.id)) ids.add(row.id);
    seen.current = new Set(rows.map((row) => row.id));
    return ids;
  }, [first.data]);
  useEffect(() => {
    seen.current = null;
  }, [filterKey]);

  const providerList = useResource((signal) => providers.list(signal).catch(() => ({ data: [] })), []);
  const keyList = useResource((signal) => virtualKeys.list(signal).catch(() => ({ data: [] })), []);
  const keyName = useMemo(() => new Map((keyList.data?.data ?? []).map((key) => [key.id, key.name])), [keyList.data]);
  const models = useMemo(() => [...new Set((providerList.data?.data ?? []).flatMap((provider) => provider.models ?? []))], [providerList.data]);

  const loadMore = async (): Promise<void> => {
    const cursor = older.cursor ?? first.data?.next_cursor ?? null;
    if (cursor === null) return;
    setOlder((state) => ({ ...state, busy: true, error: undefined }));
    try {
      const page = await logs.list({ ...queryOf(filters), cursor });
      setOlder((state) => ({ rows: [...state.rows, ...page.data], cursor: page.next_cursor ?? null, busy: false }));
    } catch (error) {
      setOlder((state) => ({ ...state, busy: false, error }));
    }
  };

  const rows = useMemo(() => {
    const head = first.data?.data ?? [];
    const ids = new Set(head.map((row) => row.id));
    return [...head, ...older.rows.filter((row) => !ids.has(row.id))];
  }, [first.data, older.rows]);
  const hasMore = older.rows.length === 0 ? Boolean(first.data?.next_cursor) : older.cursor !== null;
  const filtered = filters.since === 'custom' || FILTERS.some((name) => name !== 'since' && filters[name] !== '');
  const active = FILTERS.filter((name) => name !== 'from' && name !== 'to' && filters[name] !== '' && !(name === 'since' && filters.since === '24h')).length;

  return (
    <>
      <PageHeader
        title="Logs"
        description="Every request through the gateway, newest first. Open a row for bodies, attempts and timings."
        actions={
          <>
            <Button variant={live ? 'primary' : 'secondary'} onClick={() => setLive((value) => !value)} aria-pressed={live}>
              {live ? <PauseIcon width={15} height={15} /> : <PlayIcon width={15} height={15} />} {live ? 'Live tail on' : 'Live tail'}
            </Button>
            <Button onClick={first.reload} busy={first.fetching && !live} aria-label="Refresh">
              <RefreshIcon width={15} height={15} />
            </Button>
            <Button className="phone-only" onClick={() => setFiltersOpen((value) => !value)} aria-expanded={filtersOpen} aria-controls="log-filters">
              <FilterIcon width={15} height={15} /> Filters{active === 0 ? '' : ` (${active})`}
            </Button>
          </>
        }
      />
      <div className={`card fold-on-phone ${filtersOpen ? 'open' : ''}`} id="log-filters" style={{ marginBottom: 16 }}>
        <form className="filters" role="search" aria-label="Filter logs" onSubmit={(event) => event.preventDefault()}>
          <Field label="Time" htmlFor="f-since">
            <select id="f-since" value={filters.since} onChange={(event) => update('since', event.target.value)}>
              {Object.entries(SINCE).map(([value, item]) => (
                <option key={value} value={value}>
                  {item.label}
                </option>
              ))}
            </select>
          </Field>
          {filters.since === 'custom' ? (
            <>
              <Field label="From" htmlFor="f-from" error={badRange} className="field-date">
                <input id="f-from" type="datetime-local" step={1} value={filters.from} max={filters.to || undefined} onChange={(event) => update('from', event.target.value)} />
              </Field>
              <Field label="To" htmlFor="f-to" className="field-date">
                <input id="f-to" type="datetime-local" step={1} value={filters.to} min={filters.from || undefined} onChange={(event) => update('to', event.target.value)} />
              </Field>
            </>
          ) : null}
          <Field label="Provider" htmlFor="f-provider">
            <select id="f-provider" value={filters.provider} onChange={(event) => update('provider', event.target.value)}>
              <option value="">All providers</option>
              {(providerList.data?.data ?? []).map((provider) => (
                <option key={provider.name} value={provider.name}>
                  {provider.name}
                </option>
              ))}
              {filters.provider !== '' && !(providerList.data?.data ?? []).some((provider) => provider.name === filters.provider) ? <option value={filters.provider}>{filters.provider}</option> : null}
            </select>
          </Field>
          <Field label="Model" htmlFor="f-model">
            <input id="f-model" list="f-model-list" placeholder="Any model" value={filters.model} onChange={(event) => update('model', event.target.value)} />
            <datalist id="f-model-list">
              {models.map((model) => (
                <option key={model} value={model} />
              ))}
            </datalist>
          </Field>
          <Field label="Status" htmlFor="f-status">
            <select id="f-status" value={filters.status} onChange={(event) => update('status', event.target.value)}>
              <option value="">Any status</option>
              <option value="2xx">2xx success</option>
              <option value="4xx">4xx client error</option>
              <option value="5xx">5xx upstream error</option>
            </select>
          </Field>
          <Field label="Virtual key" htmlFor="f-key">
            <select id="f-key" value={filters.key} onChange={(event) => update('key', event.target.value)}>
              <option value="">Any key</option>
              {(keyList.data?.data ?? []).map((key) => (
                <option key={key.id} value={key.id}>
                  {key.name}
                </option>
              ))}
              {filters.key !== '' && !keyName.has(filters.key) ? <option value={filters.key}>{filters.key}</option> : null}
            </select>
          </Field>
          <Field label="Search" htmlFor="f-q" className="field-grow">
            <input id="f-q" type="search" placeholder="Error, model or request id" value={text} onChange={(event) => setText(event.target.value)} />
          </Field>
        </form>
      </div>

      <div className="card flush">
        {first.data === undefined && first.error !== undefined ? (
          <div style={{ padding: 16 }}>
            <ErrorState error={first.error} onRetry={first.reload} title="Could not load the logs" />
          </div>
        ) : first.data === undefined ? (
          <div style={{ padding: 16 }}>
            <Loading rows={6} />
          </div>
        ) : rows.length === 0 ? (
          <EmptyState title={filtered ? 'No request matches these filters' : 'No requests yet'} action={filtered ? <Button onClick={() => setSearch({})}>Clear filters</Button> : undefined}>
            {badRange !== null ? `Fix the time range: ${badRange.toLowerCase()}` : filtered ? 'Try a longer time range or fewer filters.' : 'Requests appear here as soon as an app calls the gateway.'}
          </EmptyState>
        ) : (
          <LogTable rows={rows} fresh={fresh} keyName={keyName} />
        )}
        {first.error !== undefined && first.data !== undefined ? (
          <div style={{ padding: '0 16px' }}>
            <ErrorState error={first.error} title="Could not refresh" onRetry={first.reload} />
          </div>
        ) : null}
        {hasMore ? (
          <div className="row" style={{ justifyContent: 'center', padding: 12 }}>
            <Button onClick={() => void loadMore()} busy={older.busy}>
              Load older requests
            </Button>
            {older.error === undefined ? null : <span className="field-error">{errorMessage(older.error)}</span>}
          </div>
        ) : null}
      </div>
    </>
  );
}

function LogTable({ rows, fresh, keyName }: { rows: LogSummary[]; fresh: Set<string>; keyName: Map<string, string> }) {
  const open = (id: string): void => navigate(`/logs/${encodeURIComponent(id)}`);
  return (
    <div className="table-wrap">
      <table className="table" data-testid="log-table">
        <thead>
          <tr>
            <th>Time</th>
            <th>Status</th>
            <th>Model</th>
            <th>Provider</th>
            <th>Key</th>
            <th className="num">Latency</th>
            <th className="num">Tokens in / out</th>
            <th className="num">Cost</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr
              key={row.id}
              className={`clickable ${fresh.has(row.id) ? 'fresh' : ''}`}
              tabIndex={0}
              data-log-id={row.id}
              aria-label={`Request ${row.id}, status ${row.status}, ${row.model ?? row.requested_model ?? 'no model'}`}
              onClick={() => open(row.id)}
              onKeyDown={(event) => {
                if (event.key === 'Enter' || event.key === ' ') {
                  event.preventDefault();
                  open(row.id);
                } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
                  event.preventDefault();
                  const next = event.key === 'ArrowDown' ? event.currentTarget.nextElementSibling : event.currentTarget.previousElementSibling;
                  (next as HTMLElement | null)?.focus();
                }
              }}
            >
              <td className="nowrap" title={new Date(row.time).toISOString()}>
                {formatWhen(row.time)}
              </td>
              <td className="nowrap">
                <Badge tone={statusClass(row.status)} title={row.error_message ?? undefined}>
                  {row.status}
                </Badge>
                {row.stream ? <span className="muted small"> stream</span> : null}
                {(row.attempt_count ?? 1) > 1 ? <span className="muted small"> · {row.attempt_count} tries</span> : null}
              </td>
              <td className="truncate mono" title={row.requested_model !== null && row.requested_model !== row.model ? `${row.requested_model} → ${row.model ?? '—'}` : (row.model ?? undefined)}>
                {row.model ?? row.requested_model ?? '—'}
              </td>
              <td>{row.provider ?? '—'}</td>
              <td className="truncate">{row.virtual_key_id === null ? <span className="muted">—</span> : (keyName.get(row.virtual_key_id) ?? row.virtual_key_id)}</td>
              <td className="num nowrap">{formatMs(row.latency_ms)}</td>
              <td className="num nowrap">
                {formatInteger(row.input_tokens)} / {formatInteger(row.output_tokens)}
              </td>
              <td className="num nowrap">{row.cost_usd === null ? <span className="muted">{row.status < 400 ? 'unknown' : '—'}</span> : formatUsd(row.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
