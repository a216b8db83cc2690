/** One virtual key in full: its budget and its team's and customer's, and every rate limit it goes through with live usage. */
import { budgetOf, keyHint, virtualKeys } from '../api/endpoints.js';
import type { Budget, RateLimitState, VirtualKeyDetail } from '../api/types.js';
import { Async, Badge, UsageBar } from '../components/ui.js';
import { DASH, formatCompact, formatDateTime, formatInteger, formatRelative, formatUsd } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';

const money = (value: number): string => formatUsd(value);

function BudgetRow({ label, budget }: { label: string; budget: Budget | null }) {
  if (budget === null) return null;
  return (
    <div>
      <div className="small" style={{ marginBottom: 2 }}>
        {label}
        {budget.period === null ? '' : ` (${budget.period})`}
        {budget.resets_at === null ? null : <span className="muted"> · resets {formatRelative(budget.resets_at)}</span>}
      </div>
      <UsageBar value={budget.spend_usd} max={budget.max_usd} label={`${label} spent`} format={money} />
    </div>
  );
}

function LimitRow({ rule }: { rule: RateLimitState }) {
  const scope = rule.scope === 'virtual_key' ? 'key' : rule.scope;
  const title = `${rule.model === '*' ? 'all models' : rule.model} per ${rule.window} (${scope}${rule.per_model ? ', per model' : ''})`;
  return (
    <div>
      <div className="small" style={{ marginBottom: 2 }}>{title}</div>
      {rule.requests === null ? null : rule.requests_state === null ? (
        <div className="muted small">{formatCompact(rule.requests)} requests (counted per model)</div>
      ) : (
        <UsageBar value={rule.requests_state.limit - rule.requests_state.remaining} max={rule.requests_state.limit} label={`Requests, ${title}`} format={(value) => `${formatInteger(value)} req`} />
      )}
      {rule.tokens === null ? null : rule.tokens_state === null ? (
        <div className="muted small">{formatCompact(rule.tokens)} tokens (counted per model)</div>
      ) : (
        <UsageBar value={rule.tokens_state.limit - rule.tokens_state.remaining} max={rule.tokens_state.limit} label={`Tokens, ${title}`} format={(value) => `${formatCompact(value)} tok`} />
      )}
    </div>
  );
}

export function KeyDetail({ id }: { id: string }) {
  const detail = useResource((signal) => virtualKeys.detail(id, signal), [id], { pollMs: 5_000 });
  return <Async resource={detail}>{(key) => <Body vkey={key} />}</Async>;
}

function Body({ vkey }: { vkey: VirtualKeyDetail }) {
  const own = budgetOf(vkey);
  return (
    <div className="stack" data-testid="key-detail">
      <dl className="kv small">
        <dt>Key</dt>
        <dd className="mono">{keyHint(vkey)}</dd>
        <dt>Status</dt>
        <dd>
          <Badge tone={vkey.status === 'active' ? 'ok' : vkey.status === 'expired' ? 'warn' : 'error'}>{vkey.status}</Badge>
        </dd>
        <dt>Spend</dt>
        <dd>
          {formatUsd(vkey.spend_usd)} · {formatInteger(vkey.requests)} {vkey.requests === 1 ? 'request' : 'requests'} · {formatCompact(vkey.tokens)} tokens
        </dd>
        <dt>Models</dt>
        <dd>{vkey.allowed_models === null ? 'all' : vkey.allowed_models.join(', ')}</dd>
        <dt>Providers</dt>
        <dd>{vkey.allowed_providers === null ? 'all' : vkey.allowed_providers.join(', ')}</dd>
        <dt>Created</dt>
        <dd>{formatDateTime(vkey.created_at)}</dd>
        <dt>Last used</dt>
        <dd>{vkey.last_used_at === null ? 'never' : formatDateTime(vkey.last_used_at)}</dd>
        <dt>Rotated</dt>
        <dd>{vkey.rotated_at === null ? DASH : formatDateTime(vkey.rotated_at)}</dd>
        <dt>Expires</dt>
        <dd>{vkey.expires_at === null ? 'never' : formatDateTime(vkey.expires_at)}</dd>
      </dl>
      <section className="stack" style={{ gap: 10 }} aria-label="Budgets">
        <h3>Budgets</h3>
        {vkey.budget === null && vkey.team_budget === null && vkey.customer_budget === null ? <p className="muted small">No budget: {formatUsd(own.spend)} spent so far.</p> : null}
        <BudgetRow label="This key" budget={vkey.budget} />
        <BudgetRow label="Its team" budget={vkey.team_budget} />
        <BudgetRow label="Its customer" budget={vkey.customer_budget} />
      </section>
      <section className="stack" style={{ gap: 10 }} aria-label="Rate limits">
        <h3>Rate limits</h3>
        {vkey.limits.length === 0 ? <p className="muted small">No rate limit applies to this key.</p> : vkey.limits.map((rule, index) => <LimitRow key={index} rule={rule} />)}
      </section>
      <div className="row" style={{ gap: 16, paddingTop: 10, borderTop: '1px solid var(--border)' }}>
        <Link to={`/usage?key=${encodeURIComponent(vkey.id)}`}>Usage of this key →</Link>
        <Link to={`/logs?since=all&key=${encodeURIComponent(vkey.id)}`}>Its requests in the logs →</Link>
      </div>
    </div>
  );
}
