/** One request in full: summary, timings (total, upstream, overhead, first token), tokens and cost, a media preview, every attempt, bodies. */
import { customers, logs, teams, virtualKeys } from '../api/endpoints.js';
import type { LogDetail } from '../api/types.js';
import { Async, Badge, Card, CodeBlock, CopyButton, PageHeader } from '../components/ui.js';
import { DASH, formatDateTime, formatInteger, formatMs, formatUs, formatUsd, prettyJson, statusClass } from '../lib/format.js';
import { Link, useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';
import { MediaPreview } from './media-preview.js';

export function LogDetailPage({ id }: { id: string }) {
  useTitle(`Request ${id}`);
  const log = useResource((signal) => logs.get(id, signal), [id]);
  return (
    <>
      <div style={{ marginBottom: 8 }}>
        <Link to="/logs">← All logs</Link>
      </div>
      <PageHeader
        title="Request"
        description={
          <span className="row" style={{ gap: 4 }}>
            <code>{id}</code> <CopyButton text={id} label="Copy id" />
          </span>
        }
      />
      <Async resource={log} rows={8}>
        {(data) => <Detail log={data} />}
      </Async>
    </>
  );
}

function Detail({ log }: { log: LogDetail }) {
  const key = useResource((signal) => (log.virtual_key_id === null ? Promise.resolve(null) : virtualKeys.get(log.virtual_key_id, signal).catch(() => null)), [log.virtual_key_id]);
  const team = useResource((signal) => (log.team_id ? teams.get(log.team_id, signal).catch(() => null) : Promise.resolve(null)), [log.team_id]);
  const customer = useResource((signal) => (log.customer_id ? customers.get(log.customer_id, signal).catch(() => null) : Promise.resolve(null)), [log.customer_id]);
  const overheadMs = log.overhead_us === null ? null : log.overhead_us / 1000;
  const upstream = log.upstream_ms;
  const total = log.latency_ms;
  const tokensTotal = (log.input_tokens ?? 0) + (log.output_tokens ?? 0);
  return (
    <div className="stack" data-testid="log-detail">
      <div className="grid grid-2">
        <Card title="Summary">
          <dl className="kv">
            <dt>Status</dt>
            <dd>
              <Badge tone={statusClass(log.status)}>{log.status}</Badge> {log.error_code === null ? null : <code>{log.error_code}</code>}
            </dd>
            <dt>Time</dt>
            <dd>{formatDateTime(log.time)}</dd>
            <dt>Route</dt>
            <dd>
              <code>
                {log.method} {log.route}
              </code>{' '}
              <span className="muted">({log.surface} format{log.stream ? ', streamed' : ''})</span>
            </dd>
            <dt>Model asked</dt>
            <dd className="mono">{log.requested_model ?? DASH}</dd>
            <dt>{log.status < 400 ? "Answered by" : "Routed to"}</dt>
            <dd className="mono">
              {log.provider ?? DASH}
              {log.model === null ? null : ` / ${log.model}`}
            </dd>
            <dt>Virtual key</dt>
            <dd>
              {log.virtual_key_id === null ? (
                DASH
              ) : (
                <Link to={`/logs?since=all&key=${encodeURIComponent(log.virtual_key_id)}`} title="Requests with this key">
                  {key.data?.name ?? log.virtual_key_id}
                </Link>
              )}
            </dd>
            {log.team_id ? (
              <>
                <dt>Team</dt>
                <dd>{team.data?.name ?? log.team_id}</dd>
              </>
            ) : null}
            {log.customer_id ? (
              <>
                <dt>Customer</dt>
                <dd>{customer.data?.name ?? log.customer_id}</dd>
              </>
            ) : null}
            {log.cache ? (
              <>
                <dt>Cache</dt>
                <dd>{log.cache}</dd>
              </>
            ) : null}
          </dl>
          {log.error_message === null ? null : (
            <div className="error-state" style={{ marginTop: 12, marginBottom: 0 }}>
              <div>
                <strong>Error</strong>
                <p>{log.error_message}</p>
              </div>
            </div>
          )}
        </Card>
        <div className="stack">
          <Card title="Timings">
            <dl className="kv">
              <dt>Total</dt>
              <dd>
                <strong>{formatMs(total)}</strong>
              </dd>
              <dt>Upstream</dt>
              <dd>{formatMs(upstream)}</dd>
              <dt>Gateway overhead</dt>
              <dd>{formatUs(log.overhead_us)}</dd>
              <dt>First token</dt>
              <dd>{formatMs(log.ttft_ms)}</dd>
            </dl>
            {total > 0 ? (
              <div style={{ marginTop: 12 }}>
                <div className="timeline" role="img" aria-label={`Upstream ${formatMs(upstream)} of ${formatMs(total)} total`}>
                  <span style={{ width: `${Math.min(100, ((overheadMs ?? 0) / total) * 100)}%`, background: 'var(--chart-3)' }} />
                  <span style={{ width: `${Math.min(100, ((upstream ?? 0) / total) * 100)}%`, background: 'var(--chart-1)' }} />
                </div>
                <div className="legend" style={{ marginTop: 6 }}>
                  <span>
                    <i style={{ background: 'var(--chart-3)' }} />
                    overhead
                  </span>
                  <span>
                    <i style={{ background: 'var(--chart-1)' }} />
                    upstream
                  </span>
                  <span>
                    <i style={{ background: 'var(--surface-3)' }} />
                    other (retries, waits)
                  </span>
                </div>
              </div>
            ) : null}
          </Card>
          <Card title="Tokens and cost">
            <dl className="kv">
              <dt>Input</dt>
              <dd>{formatInteger(log.input_tokens)}</dd>
              <dt>Output</dt>
              <dd>{formatInteger(log.output_tokens)}</dd>
              {log.cached_tokens ? (
                <>
                  <dt>Cached</dt>
                  <dd>{formatInteger(log.cached_tokens)}</dd>
                </>
              ) : null}
              {log.reasoning_tokens ? (
                <>
                  <dt>Reasoning</dt>
                  <dd>{formatInteger(log.reasoning_tokens)}</dd>
                </>
              ) : null}
              <dt>Total</dt>
              <dd>{formatInteger(tokensTotal)}</dd>
              <dt>Cost</dt>
              <dd>
                <strong>{formatUsd(log.cost_usd, 'unknown (no price for this model)')}</strong>
              </dd>
            </dl>
          </Card>
        </div>
      </div>

      <MediaPreview log={log} />

      <Card title={`Attempts (${log.attempts.length})`} className="flush">
        {log.attempts.length === 0 ? (
          <p className="muted" style={{ padding: '0 16px 16px' }}>
            No upstream call was made (refused by the gateway before routing, or served from the cache).
          </p>
        ) : (
          <div className="table-wrap">
            <table className="table table-compact">
              <thead>
                <tr>
                  <th>#</th>
                  <th>Provider</th>
                  <th>Model</th>
                  <th>Key</th>
                  <th>Status</th>
                  <th className="num">Latency</th>
                  <th>Error</th>
                </tr>
              </thead>
              <tbody>
                {log.attempts.map((attempt, index) => (
                  <tr key={index}>
                    <td>{index + 1}</td>
                    <td>{attempt.provider}</td>
                    <td className="mono">{attempt.model}</td>
                    <td title={attempt.key_id}>{attempt.key_name ?? attempt.key_id ?? DASH}</td>
                    <td>{attempt.status === undefined ? <Badge tone="error">no reply</Badge> : <Badge tone={statusClass(attempt.status)}>{attempt.status}</Badge>}</td>
                    <td className="num">{formatMs(attempt.latency_ms)}</td>
                    <td style={{ whiteSpace: 'normal' }}>{attempt.error ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>

      <div className="grid grid-2">
        <Card title="Request body">
          {log.request_body !== null ? (
            <CodeBlock code={prettyJson(log.request_body)} label="request" maxHeight={480} />
          ) : log.response_body !== null && typeof log.metadata?.media === 'object' ? (
            <p className="muted">The upload streamed through the gateway and was not held: its files are listed above.</p>
          ) : (
            <BodyMissing hidden={log.bodies_hidden === true} />
          )}
        </Card>
        <Card title="Response body">
          {log.response_body === null ? <BodyMissing hidden={log.bodies_hidden === true} /> : <CodeBlock code={prettyJson(log.response_body)} label="response" maxHeight={480} />}
        </Card>
      </div>
      {log.metadata === null || Object.keys(log.metadata).length === 0 ? null : (
        <Card title="Metadata">
          <CodeBlock code={JSON.stringify(log.metadata, null, 2)} label="metadata" />
        </Card>
      )}
    </div>
  );
}

function BodyMissing({ hidden }: { hidden: boolean }) {
  if (hidden) return <p className="muted">Kept, but hidden from your role: an admin can let you read bodies (view_bodies).</p>;
  return (
    <p className="muted">
      Not kept. Bodies are logged when <Link to="/settings">logging.bodies</Link> is on (secrets are redacted, each body capped at logging.max_body_bytes).
    </p>
  );
}
