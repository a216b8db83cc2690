/**
 * Virtual keys: what apps send as their API key. Create (the secret is shown
 * once, with a copy button), budgets and limits with usage bars, edit, rotate,
 * revoke and delete.
 */
import { useCan } from '../lib/access.js';
import { useMemo, useState } from 'react';
import { budgetOf, customers as customersApi, isRevoked, keyHint, limitsOf, settings as settingsApi, teams as teamsApi, virtualKeys } from '../api/endpoints.js';
import type { RateLimitRule, VirtualKey, VirtualKeyCreated } from '../api/types.js';
import { ConfirmDialog, Dialog } from '../components/dialog.js';
import { EditIcon, PlusIcon, RefreshIcon, TrashIcon } from '../components/icons.js';
import { toast } from '../components/toast.js';
import { Async, Badge, Button, CopyButton, EmptyState, PageHeader, UsageBar, errorMessage } from '../components/ui.js';
import { formatCompact, formatRelative, formatUsd } from '../lib/format.js';
import { Link, useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';
import { EntityForm } from './governance-form.js';
import { KeyDetail } from './key-detail.js';

type Confirm = { kind: 'rotate' | 'revoke' | 'delete'; key: VirtualKey } | null;

export function periodLabel(period: string | null): string {
  if (period === null || period === '') return '';
  return { daily: '/ day', weekly: '/ week', monthly: '/ month' }[period] ?? `/ ${period}`;
}

/** Rate limit rules in short: "600 req / 1m", "openai/*: 100K tok / 1h". */
export function LimitList({ rules }: { rules: RateLimitRule[] }) {
  if (rules.length === 0) return <span className="muted">none</span>;
  return (
    <>
      {rules.map((rule, index) => {
        const parts = [rule.requests == null ? null : `${formatCompact(rule.requests)} req`, rule.tokens == null ? null : `${formatCompact(rule.tokens)} tok`].filter(Boolean);
        return (
          <div key={index}>
            {rule.model !== '*' ? <span className="mono">{rule.model}: </span> : null}
            {parts.join(' · ')} / {rule.window}
          </div>
        );
      })}
    </>
  );
}

export function SecretOnce({ secret, name, onDone }: { secret: string; name: string; onDone(): void }) {
  return (
    <div className="form" data-testid="secret-once">
      <p>
        This is the secret of <strong>{name}</strong>. <strong>Copy it now: it is not shown again.</strong> Apps send it as their API key (
        <code>Authorization: Bearer …</code>, <code>x-api-key</code> or <code>x-goog-api-key</code>).
      </p>
      <div className="secret">
        <code data-testid="secret-value">{secret}</code>
        <CopyButton text={secret} label="Copy key" />
      </div>
      <div className="form-actions">
        <Button variant="primary" onClick={onDone}>
          I have copied it
        </Button>
      </div>
    </div>
  );
}

export function VirtualKeysPage() {
  const can = useCan();
  useTitle('Virtual keys');
  const keys = useResource((signal) => virtualKeys.list(signal), [], { pollMs: 10_000 });
  const teams = useResource((signal) => teamsApi.list(signal).catch(() => ({ data: [] })), []);
  const customers = useResource((signal) => customersApi.list(signal).catch(() => ({ data: [] })), []);
  const enforced = useResource(
    (signal) =>
      settingsApi.get(signal).then(
        (value) => (value.governance as { enforce?: boolean } | undefined)?.enforce,
        () => undefined,
      ),
    [],
  );
  const teamById = useMemo(() => new Map((teams.data?.data ?? []).map((team) => [team.id, team])), [teams.data]);
  const customerById = useMemo(() => new Map((customers.data?.data ?? []).map((customer) => [customer.id, customer])), [customers.data]);
  const [editing, setEditing] = useState<VirtualKey | 'new' | null>(null);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [busy, setBusy] = useState(false);
  const [viewing, setViewing] = useState<VirtualKey | null>(null);

  const showSecret = (result: VirtualKeyCreated, fallbackName: string): void => {
    if (typeof result.key !== 'string' || result.key === '') toast('The gateway did not return the secret.', 'error');
    else setCreated({ name: result.name || fallbackName, secret: result.key });
  };

  const confirmAction = async (): Promise<void> => {
    if (confirm === null) return;
    setBusy(true);
    const { kind, key } = confirm;
    try {
      if (kind === 'rotate') showSecret(await virtualKeys.rotate(key.id), key.name);
      else if (kind === 'revoke') {
        await virtualKeys.revoke(key.id);
        toast(`${key.name} revoked`);
      } else {
        await virtualKeys.remove(key.id);
        toast(`${key.name} deleted`);
      }
      keys.reload();
    } catch (error) {
      toast(errorMessage(error), 'error');
    } finally {
      setBusy(false);
      setConfirm(null);
    }
  };

  return (
    <>
      <PageHeader
        title="Virtual keys"
        description="Keys your apps use instead of provider keys: each with its own budget, rate limits, allowed models and spend."
        actions={
          can('POST /api/virtual-keys') ? (
            <Button variant="primary" onClick={() => setEditing('new')}>
              <PlusIcon width={16} height={16} /> Create key
            </Button>
          ) : undefined
        }
      />
      {enforced.data === false && (keys.data?.data.length ?? 0) > 0 ? (
        <p className="notice small" style={{ marginBottom: 16 }}>
          Calls without a virtual key are accepted too. Once every app sends one, turn on <Link to="/settings">Require a virtual key on every call</Link>.
        </p>
      ) : null}
      <Async resource={keys} rows={5}>
        {(data) =>
          data.data.length === 0 ? (
            <div className="card">
              <EmptyState
                title="No virtual key yet"
                action={
                  can('POST /api/virtual-keys') ? (
                    <Button variant="primary" onClick={() => setEditing('new')}>
                      <PlusIcon width={16} height={16} /> Create key
                    </Button>
                  ) : undefined
                }
              >
                An app that sends a virtual key as its API key gets that key&apos;s budget, rate limits and allowed models, and its spend is tracked. Calls without one pass until{' '}
                <Link to="/settings">Require a virtual key on every call</Link> is on.
              </EmptyState>
            </div>
          ) : (
            <div className="card flush">
              <div className="table-wrap">
                <table className="table" data-testid="key-table">
                  <thead>
                    <tr>
                      <th className="col-name">Name</th>
                      <th>Key</th>
                      <th>Status</th>
                      <th>Budget</th>
                      <th>Limits</th>
                      <th>Last used</th>
                      <th />
                    </tr>
                  </thead>
                  <tbody>
                    {data.data.map((key) => (
                      <KeyRow
                        key={key.id}
                        vkey={key}
                        team={key.team_id === null ? null : (teamById.get(key.team_id) ?? { name: key.team_id, status: 'active' })}
                        customer={key.customer_id === null ? null : (customerById.get(key.customer_id) ?? { name: key.customer_id, status: 'active' })}
                        onEdit={() => setEditing(key)}
                        onView={() => setViewing(key)}
                        onConfirm={(kind) => setConfirm({ kind, key })}
                      />
                    ))}
                  </tbody>
                </table>
              </div>
            </div>
          )
        }
      </Async>
      <Dialog open={editing !== null} title={editing === 'new' ? 'Create a virtual key' : `Edit ${editing?.name ?? ''}`} onClose={() => setEditing(null)} wide>
        {editing === null ? null : (
          <EntityForm
            options={{ kind: 'virtual key', teams: teams.data?.data ?? [], customers: customers.data?.data ?? [] }}
            entity={editing === 'new' ? undefined : editing}
            onCancel={() => setEditing(null)}
            onSubmit={async (input) => {
              if (editing === 'new') {
                const result = await virtualKeys.create<VirtualKeyCreated>(input);
                setEditing(null);
                showSecret(result, input.name ?? '');
              } else {
                await virtualKeys.update(editing.id, input);
                setEditing(null);
                toast(`${input.name ?? 'Key'} saved`);
              }
              keys.reload();
            }}
          />
        )}
      </Dialog>
      <Dialog open={viewing !== null} title={viewing?.name ?? ''} onClose={() => setViewing(null)}>
        {viewing === null ? null : <KeyDetail id={viewing.id} />}
      </Dialog>
      <Dialog open={created !== null} title="Your new virtual key" onClose={() => setCreated(null)}>
        {created === null ? null : <SecretOnce secret={created.secret} name={created.name} onDone={() => setCreated(null)} />}
      </Dialog>
      <ConfirmDialog
        open={confirm !== null}
        busy={busy}
        title={confirm === null ? '' : `${confirm.kind === 'rotate' ? 'Rotate' : confirm.kind === 'revoke' ? 'Revoke' : 'Delete'} ${confirm.key.name}?`}
        message={
          confirm?.kind === 'rotate'
            ? 'A new secret replaces the current one, which stops working at once. Budget, limits and spend stay.'
            : confirm?.kind === 'revoke'
              ? 'Calls with this key are refused (401) from now on. Its history and spend stay visible.'
              : 'The key and its settings are deleted. Calls with it are refused from now on; its request logs stay.'
        }
        confirmLabel={confirm?.kind === 'rotate' ? 'Rotate' : confirm?.kind === 'revoke' ? 'Revoke' : 'Delete'}
        onClose={() => setConfirm(null)}
        onConfirm={() => void confirmAction()}
      />
    </>
  );
}

type Owner = { name: string; status: 'active' | 'disabled' } | null;

function KeyRow({
  vkey,
  team,
  customer,
  onEdit,
  onView,
  onConfirm,
}: {
  vkey: VirtualKey;
  team: Owner;
  customer: Owner;
  onEdit(): void;
  onView(): void;
  onConfirm(kind: 'rotate' | 'revoke' | 'delete'): void;
}) {
  const budget = budgetOf(vkey);
  const limits = limitsOf(vkey);
  const models = vkey.allowed_models;
  const revoked = isRevoked(vkey);
  const editable = useCan()('PATCH /api/virtual-keys/:id');
  const expired = vkey.status === 'expired' || (vkey.expires_at != null && vkey.expires_at < Date.now());
  return (
    <tr data-key-id={vkey.id} data-key-name={vkey.name}>
      <td>
        <button type="button" className="link-button" onClick={onView} aria-label={`Details of ${vkey.name}`}>
          <strong>{vkey.name}</strong>
        </button>
        <div className="muted small">
          {team === null ? null : (
            <>
              team <Link to="/teams">{team.name}</Link>
              {' · '}
            </>
          )}
          {customer === null ? null : (
            <>
              customer <Link to="/customers">{customer.name}</Link>
              {' · '}
            </>
          )}
          {models === null || models.length === 0 ? 'all models' : models.join(', ')}
        </div>
      </td>
      <td className="mono nowrap">{keyHint(vkey)}</td>
      <td>
        {revoked ? (
          <Badge tone="error">revoked</Badge>
        ) : expired ? (
          <Badge tone="warn">expired</Badge>
        ) : team?.status === 'disabled' || customer?.status === 'disabled' ? (
          <Badge tone="warn" title={`Its ${team?.status === 'disabled' ? `team ${team.name}` : `customer ${customer?.name ?? ''}`} is disabled: its calls are refused (403 ${team?.status === 'disabled' ? 'team_disabled' : 'customer_disabled'}).`}>
            {team?.status === 'disabled' ? 'team disabled' : 'customer disabled'}
          </Badge>
        ) : (
          <Badge tone="ok">active</Badge>
        )}
      </td>
      <td style={{ minWidth: 180 }} data-testid="key-spend">
        <UsageBar value={budget.spend} max={budget.max} label={`Budget of ${vkey.name}`} format={(value) => formatUsd(value)} suffix={periodLabel(budget.period)} />
      </td>
      <td className="small nowrap">
        <LimitList rules={limits} />
      </td>
      <td className="small nowrap muted">{vkey.last_used_at == null ? 'never' : formatRelative(vkey.last_used_at)}</td>
      <td className="right nowrap">
        {!editable ? null : vkey.source === 'file' ? (
          <>
            <Badge title="Declared in the config file: change it there">config file</Badge>{' '}
            <Button size="sm" variant="ghost" onClick={() => onConfirm('revoke')} disabled={revoked} aria-label={`Revoke ${vkey.name}`}>
              Revoke
            </Button>
          </>
        ) : (
          <>
            <Button size="sm" variant="ghost" onClick={onEdit} aria-label={`Edit ${vkey.name}`} title="Edit" disabled={revoked}>
              <EditIcon width={14} height={14} />
            </Button>
            <Button size="sm" variant="ghost" onClick={() => onConfirm('rotate')} aria-label={`Rotate ${vkey.name}`} title="Rotate: a new secret" disabled={revoked}>
              <RefreshIcon width={14} height={14} />
            </Button>
            <Button size="sm" variant="ghost" onClick={() => onConfirm('revoke')} disabled={revoked} aria-label={`Revoke ${vkey.name}`}>
              Revoke
            </Button>
            <Button size="sm" variant="ghost" onClick={() => onConfirm('delete')} aria-label={`Delete ${vkey.name}`} title="Delete">
              <TrashIcon width={14} height={14} />
            </Button>
          </>
        )}
      </td>
    </tr>
  );
}
