/**
 * Batches: the batch jobs made through the gateway (OpenAI, Azure, Anthropic), newest first, with
 * their status as last seen, request counts and the cost charged when their results were read.
 * Each links to the request logs: the call that created it, the one that charged it, its key's calls.
 */
import { useEffect, useState } from 'react';
import { batches, virtualKeys, type BatchJob } from '../api/endpoints.js';
import { Badge, EmptyState, Field, PageHeader } from '../components/ui.js';
import { useCan } from '../lib/access.js';
import { formatDateTime, formatInteger, formatUsd } from '../lib/format.js';
import { Link, setSearch, useLocation, useTitle } from '../lib/router.js';
import { usePagedList } from '../lib/use-paged-list.js';
import { PagedListCard } from '../components/paged-list.js';
import { useResource } from '../lib/use-resource.js';

const PAGE = 50;

/** How a provider's status reads: done, running or failed. */
function toneOf(status: string): 'ok' | 'warn' | 'error' | 'info' | 'neutral' {
  if (status === 'completed' || status === 'ended') return 'ok';
  if (status === 'failed' || status === 'expired' || status === 'cancelled' || status === 'canceled') return 'error';
  if (status === 'cancelling' || status === 'canceling') return 'warn';
  return 'info';
}

function Counts({ job }: { job: BatchJob }) {
  const { total, completed, failed } = job.request_counts;
  return (
    <span title={`${completed} completed, ${failed} failed of ${total}`}>
      {formatInteger(completed)} / {formatInteger(total)}
      {failed > 0 ? <span className="muted"> ({formatInteger(failed)} failed)</span> : null}
    </span>
  );
}

function Cost({ job }: { job: BatchJob }) {
  if (job.charged_at === null) return <span className="muted" title="Charged when its results are read through the gateway">not yet</span>;
  const tokens = `${formatInteger(job.input_tokens ?? 0)} in, ${formatInteger(job.output_tokens ?? 0)} out`;
  return <span title={tokens}>{formatUsd(job.cost_usd)}</span>;
}

export function BatchesPage() {
  useTitle('Batches');
  const { search } = useLocation();
  const provider = search.get('provider') ?? '';
  const status = search.get('status') ?? '';
  const can = useCan();
  const keys = useResource((signal) => (can('GET /api/virtual-keys') ? virtualKeys.list(signal) : Promise.resolve({ data: [] })), []);
  const keyName = new Map((keys.data?.data ?? []).map((key) => [key.id, key.name]));
  const [providerText, setProviderText] = useState(provider);
  useEffect(() => {
    const timer = window.setTimeout(() => {
      if (providerText.trim() !== provider) setSearch({ provider: providerText.trim() || undefined, status: status || undefined });
    }, 300);
    return () => window.clearTimeout(timer);
  }, [providerText]); // eslint-disable-line react-hooks/exhaustive-deps

  const list = usePagedList<BatchJob>(
    (cursor, signal) => batches.list({ provider: provider || undefined, status: status || undefined, limit: PAGE, cursor }, signal),
    [provider, status],
    { pollMs: 15_000 },
  );

  return (
    <>
      <PageHeader
        title="Batches"
        description="Batch jobs created through the gateway (OpenAI and Azure batches, Anthropic message batches): status as last seen, request counts, and the cost charged to the virtual key when the results were read, at batch prices."
      />
      <div className="card" style={{ marginBottom: 16 }}>
        <form className="filters" role="search" aria-label="Filter batches" onSubmit={(event) => event.preventDefault()}>
          <Field label="Provider" htmlFor="b-provider">
            <input id="b-provider" placeholder="e.g. openai" value={providerText} onChange={(event) => setProviderText(event.target.value)} />
          </Field>
          <Field label="Status" htmlFor="b-status">
            <select id="b-status" value={status} onChange={(event) => setSearch({ provider: provider || undefined, status: event.target.value || undefined })}>
              <option value="">Any</option>
              {['validating', 'in_progress', 'finalizing', 'completed', 'ended', 'failed', 'expired', 'cancelling', 'cancelled', 'canceling'].map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </Field>
        </form>
      </div>
      <PagedListCard
        list={list}
        errorTitle="Could not load the batches"
        loadingRows={4}
        moreLabel="Load older batches"
        empty={
          <EmptyState title={provider || status ? 'No batch matches' : 'No batch yet'}>
            Batches created through <code>/v1/batches</code> or <code>/anthropic/v1/messages/batches</code> appear here.
          </EmptyState>
        }
      >
        {(rows) => (
          <div className="table-wrap">
            <table className="table" aria-label="Batch jobs">
              <thead>
                <tr>
                  <th>Created</th>
                  <th>Batch</th>
                  <th>Provider</th>
                  <th>Models</th>
                  <th>Virtual key</th>
                  <th>Status</th>
                  <th>Requests</th>
                  <th>Cost</th>
                  <th>Logs</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((job) => (
                  <tr key={job.id}>
                    <td title={job.completed_at === null ? undefined : `Ended ${formatDateTime(job.completed_at)}`}>{formatDateTime(job.created_at)}</td>
                    <td>
                      <code>{job.id}</code>
                    </td>
                    <td>{job.provider}</td>
                    <td>{job.models.length === 0 ? <span className="muted">—</span> : job.models.join(', ')}</td>
                    <td>{job.virtual_key_id === null ? <span className="muted">none</span> : (keyName.get(job.virtual_key_id) ?? job.virtual_key_id)}</td>
                    <td>
                      <Badge tone={toneOf(job.status)}>{job.status}</Badge>
                    </td>
                    <td>
                      <Counts job={job} />
                    </td>
                    <td>
                      <Cost job={job} />
                    </td>
                    <td>
                      {job.request_id === null ? null : <Link to={`/logs/${encodeURIComponent(job.request_id)}`}>created</Link>}
                      {job.charged_request_id === null ? null : (
                        <>
                          {' · '}
                          <Link to={`/logs/${encodeURIComponent(job.charged_request_id)}`}>charged</Link>
                        </>
                      )}
                      {job.virtual_key_id === null ? null : (
                        <>
                          {' · '}
                          <Link to={`/logs?since=all&key=${encodeURIComponent(job.virtual_key_id)}`}>key</Link>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </PagedListCard>
    </>
  );
}
