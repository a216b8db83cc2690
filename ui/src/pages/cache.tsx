/**
 * Response cache: hit rate and savings over time, the largest entries,
 * invalidation (by virtual key, model or entry), and the shadow-mode review:
 * each near match with its similarity, the stored answer beside the real one,
 * so a threshold can be picked from evidence (docs/caching.md).
 */
import { useState } from 'react';
import { cache } from '../api/endpoints.js';
import type { CacheShadowMatch, CacheStats } from '../api/types.js';
import { TimeChart } from '../components/chart.js';
import { ConfirmDialog } from '../components/dialog.js';
import { toast } from '../components/toast.js';
import { Badge, Button, Card, EmptyState, ErrorState, Field, Loading, PageHeader, Stat, errorMessage } from '../components/ui.js';
import { formatBytes, formatDateTime, formatInteger, formatPercent, formatUsd } from '../lib/format.js';
import { useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';

const HOUR = 3_600_000;

function SavingsChart({ stats }: { stats: CacheStats }) {
  if (stats.savings.length === 0) return <EmptyState title="No cached traffic yet">Hits and misses appear here by the hour.</EmptyState>;
  const times = stats.savings.map((row) => row.hour);
  return (
    <>
      <TimeChart
        kind="bar"
        times={times}
        bucketMs={HOUR}
        series={[
          { label: 'Exact hits', color: 'var(--chart-1)', values: stats.savings.map((row) => row.hits) },
          { label: 'Semantic hits', color: 'var(--chart-2)', values: stats.savings.map((row) => row.semantic_hits) },
          { label: 'Misses', color: 'var(--chart-3)', values: stats.savings.map((row) => row.misses) },
        ]}
        format={(value) => (Number.isInteger(value) ? formatInteger(value) : value.toFixed(1))}
        label="Cache lookups per hour"
      />
      <TimeChart
        times={times}
        bucketMs={HOUR}
        series={[{ label: 'Saved', color: 'var(--chart-1)', values: stats.savings.map((row) => row.saved_usd) }]}
        format={(value) => formatUsd(value)}
        label="USD saved per hour"
      />
    </>
  );
}

function Invalidate({ onDone }: { onDone(): void }) {
  const [virtualKey, setVirtualKey] = useState('');
  const [model, setModel] = useState('');
  const [id, setId] = useState('');
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const filter = { virtual_key: virtualKey.trim() || undefined, model: model.trim() || undefined, id: id.trim() || undefined };
  const everything = filter.virtual_key === undefined && filter.model === undefined && filter.id === undefined;
  const run = async (): Promise<void> => {
    setBusy(true);
    try {
      const result = await cache.invalidate(filter);
      toast(`${formatInteger(result.deleted)} ${result.deleted === 1 ? 'entry' : 'entries'} removed`);
      setConfirm(false);
      onDone();
    } catch (error) {
      toast(errorMessage(error), 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Invalidate">
      <form className="filters" onSubmit={(event) => { event.preventDefault(); setConfirm(true); }}>
        <Field label="Virtual key id" htmlFor="c-vk">
          <input id="c-vk" placeholder="vk_…" value={virtualKey} onChange={(event) => setVirtualKey(event.target.value)} />
        </Field>
        <Field label="Model" htmlFor="c-model">
          <input id="c-model" placeholder="openai/gpt-4o-mini" value={model} onChange={(event) => setModel(event.target.value)} />
        </Field>
        <Field label="Entry id" htmlFor="c-id">
          <input id="c-id" placeholder="from x-heimdall-cache-entry" value={id} onChange={(event) => setId(event.target.value)} />
        </Field>
        <Button type="submit" variant="danger">{everything ? 'Empty the cache' : 'Remove matching entries'}</Button>
      </form>
      <ConfirmDialog
        open={confirm}
        title={everything ? 'Empty the cache?' : 'Remove matching entries?'}
        message={everything ? 'Every entry of every scope is removed; the next requests go upstream.' : 'The entries that match every filter given are removed.'}
        confirmLabel="Remove"
        busy={busy}
        onConfirm={() => void run()}
        onClose={() => setConfirm(false)}
      />
    </Card>
  );
}

function ShadowReview() {
  const shadow = useResource((signal) => cache.shadow(200, signal), [], { pollMs: 30_000 });
  const [sort, setSort] = useState<'time' | 'similarity'>('time');
  if (shadow.data === undefined && shadow.error !== undefined) return <ErrorState error={shadow.error} onRetry={shadow.reload} title="Could not load the shadow-mode matches" />;
  if (shadow.data === undefined) return <Loading rows={3} />;
  const rows: CacheShadowMatch[] = [...shadow.data.data];
  if (sort === 'similarity') rows.sort((a, b) => b.similarity - a.similarity);
  if (rows.length === 0) {
    return <EmptyState title="No shadow-mode match yet">With semantic.mode "shadow", each near match is recorded here with both answers, and nothing is served from it.</EmptyState>;
  }
  return (
    <>
      <div style={{ display: 'flex', gap: 8, marginBottom: 12 }}>
        <Button variant={sort === 'time' ? 'primary' : 'secondary'} onClick={() => setSort('time')}>Newest first</Button>
        <Button variant={sort === 'similarity' ? 'primary' : 'secondary'} onClick={() => setSort('similarity')}>Most similar first</Button>
      </div>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Similarity</th>
            <th scope="col">Question</th>
            <th scope="col">Stored question</th>
            <th scope="col">Stored answer</th>
            <th scope="col">Real answer</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.request_id}-${row.time}`}>
              <td>
                <strong>{row.similarity.toFixed(4)}</strong>
                <div className="muted">{formatDateTime(row.time)}</div>
                {row.guard !== null ? <Badge tone="warn" title="The guard that would have refused this match">guard: {row.guard}</Badge>
                  : row.similarity >= row.threshold ? <Badge tone="info">would serve</Badge>
                  : <Badge tone="neutral">below {row.threshold}</Badge>}
              </td>
              <td>{row.question}</td>
              <td>{row.cached_question}</td>
              <td style={{ whiteSpace: 'pre-wrap' }}>{row.cached_answer}</td>
              <td style={{ whiteSpace: 'pre-wrap' }}>{row.real_answer ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function CachePage() {
  useTitle('Cache');
  const stats = useResource((signal) => cache.stats(signal), [], { pollMs: 15_000 });
  const data = stats.data;
  return (
    <div className="stack">
      <PageHeader title="Cache" description="Answers served from the response cache, what they saved, and what a semantic threshold would serve." />
      {data === undefined && stats.error !== undefined ? (
        <ErrorState error={stats.error} onRetry={stats.reload} title="Could not load the cache statistics" />
      ) : data === undefined ? (
        <Loading rows={4} />
      ) : (
        <>
          {!data.enabled && (
            <Card>
              The cache is off. Turn it on with <code>"cache": {'{'} "enabled": true {'}'}</code> in the config file, or in Settings.
            </Card>
          )}
          <div className="grid grid-stats">
            <Stat label="Hit rate" value={formatPercent(data.hit_rate)} sub={`${formatInteger(data.requests.hit)} exact, ${formatInteger(data.requests['semantic-hit'])} semantic, ${formatInteger(data.requests.miss)} misses`} />
            <Stat label="Saved" value={formatUsd(data.saved_usd)} sub={`${formatInteger(data.saved_tokens)} tokens not sent upstream`} />
            <Stat label="Entries" value={formatInteger(data.store.entries)} sub={`of ${formatInteger(data.store.max_entries)}; ${formatInteger(data.store.evictions)} evicted`} />
            <Stat label="Size" value={formatBytes(data.store.bytes)} sub={`of ${formatBytes(data.store.max_bytes)}`} />
            <Stat
              label="Semantic"
              value={data.semantic.enabled ? data.semantic.mode : 'off'}
              sub={data.semantic.enabled ? `threshold ${data.semantic.threshold}, ${data.semantic.embedding_model}` : undefined}
              tone={data.semantic.enabled && data.semantic.mode === 'shadow' ? 'warn' : undefined}
            />
          </div>
          <Card title="Last 24 hours">
            <SavingsChart stats={data} />
          </Card>
          <Card title="Largest entries">
            {data.largest.length === 0 ? (
              <EmptyState title="The cache is empty" />
            ) : (
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Entry</th>
                    <th scope="col">Model</th>
                    <th scope="col">Scope</th>
                    <th scope="col">Size</th>
                    <th scope="col">Hits</th>
                    <th scope="col">Expires</th>
                  </tr>
                </thead>
                <tbody>
                  {data.largest.map((entry) => (
                    <tr key={entry.id}>
                      <td><code>{entry.id}</code>{entry.question !== null && <div className="muted">{entry.question}</div>}</td>
                      <td>{entry.model}</td>
                      <td>{entry.scope}</td>
                      <td>{formatBytes(entry.bytes)}</td>
                      <td>{formatInteger(entry.hits)}</td>
                      <td>{formatDateTime(entry.expires_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
          <Invalidate onDone={stats.reload} />
          <Card title="Shadow-mode review">
            <ShadowReview />
          </Card>
        </>
      )}
    </div>
  );
}
