/** Teams and customers: groups of virtual keys that share a budget and whose spend adds up. */
import { useCan } from '../lib/access.js';
import { useState } from 'react';
import { budgetOf, customers as customersApi, limitsOf, teams as teamsApi, type GroupApi } from '../api/endpoints.js';
import type { Customer, Team } from '../api/types.js';
import { ConfirmDialog, Dialog } from '../components/dialog.js';
import { EditIcon, PlusIcon, TrashIcon } from '../components/icons.js';
import { toast } from '../components/toast.js';
import { Async, Badge, Button, EmptyState, PageHeader, Switch, UsageBar, errorMessage } from '../components/ui.js';
import { formatDate, formatDateTime, formatInteger, formatUsd } from '../lib/format.js';
import { useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';
import { EntityForm } from './governance-form.js';
import { LimitList, periodLabel } from './virtual-keys.js';


function GroupsPage({ title, noun, description, emptyText, api, withCustomer }: { title: string; noun: 'team' | 'customer'; description: string; emptyText: string; api: GroupApi; withCustomer: boolean }) {
  useTitle(title);
  const list = useResource((signal) => api.list(signal), [api], { pollMs: 15_000 });
  const customers = useResource((signal) => (withCustomer ? customersApi.list(signal).catch(() => ({ data: [] })) : Promise.resolve({ data: [] })), [withCustomer]);
  const [editing, setEditing] = useState<Team | Customer | 'new' | null>(null);
  const [removing, setRemoving] = useState<Team | Customer | null>(null);
  const [disabling, setDisabling] = useState<Team | Customer | null>(null);
  const [busy, setBusy] = useState(false);
  const [switching, setSwitching] = useState<string | null>(null);
  const can = useCan();
  const creatable = can(`POST /api/${noun}s`);
  const editable = can(`PATCH /api/${noun}s/:id`);
  const customerName = new Map((customers.data?.data ?? []).map((customer) => [customer.id, customer.name]));

  const remove = async (): Promise<void> => {
    if (removing === null) return;
    setBusy(true);
    try {
      await api.remove(removing.id);
      toast(`${removing.name} deleted`);
      list.reload();
    } catch (error) {
      toast(errorMessage(error), 'error');
    } finally {
      setBusy(false);
      setRemoving(null);
    }
  };

  const setStatus = async (item: Team | Customer, status: 'active' | 'disabled'): Promise<void> => {
    setSwitching(item.id);
    try {
      await api.update(item.id, { status });
      toast(`${item.name} ${status === 'active' ? 'enabled' : 'disabled'}`);
      list.reload();
    } catch (error) {
      toast(errorMessage(error), 'error');
    } finally {
      setSwitching(null);
      setDisabling(null);
    }
  };

  const create = creatable ? (
    <Button variant="primary" onClick={() => setEditing('new')}>
      <PlusIcon width={16} height={16} /> Create {noun}
    </Button>
  ) : undefined;

  return (
    <>
      <PageHeader title={title} description={description} actions={create} />
      <Async resource={list} rows={4}>
        {(data) =>
          data.data.length === 0 ? (
            <div className="card">
              <EmptyState title={`No ${noun} yet`} action={create}>
                {emptyText}
              </EmptyState>
            </div>
          ) : (
            <div className="card flush">
              <div className="table-wrap">
                <table className="table">
                  <thead>
                    <tr>
                      <th className="col-name">Name</th>
                      {withCustomer ? <th>Customer</th> : null}
                      <th>Status</th>
                      {withCustomer ? null : <th className="num">Teams</th>}
                      <th className="num">Keys</th>
                      <th>Budget</th>
                      <th>Limits</th>
                      <th>Created</th>
                      <th />
                    </tr>
                  </thead>
                  <tbody>
                    {data.data.map((item) => {
                      const budget = budgetOf(item);
                      return (
                        <tr key={item.id} data-name={item.name} className={item.status === 'disabled' ? 'row-disabled' : undefined}>
                          <td>
                            <strong>{item.name}</strong>
                            {item.description ? <div className="muted small">{item.description}</div> : null}
                          </td>
                          {withCustomer ? <td>{'customer_id' in item && item.customer_id ? (customerName.get(item.customer_id) ?? item.customer_id) : <span className="muted">—</span>}</td> : null}
                          <td>
                            {item.status === 'disabled' ? (
                              <Badge tone="warn" title={`Calls with the keys of this ${noun} are refused (403 ${noun}_disabled).`}>
                                disabled
                              </Badge>
                            ) : (
                              <Badge tone="ok">active</Badge>
                            )}
                          </td>
                          {withCustomer ? null : <td className="num">{formatInteger('team_count' in item ? item.team_count : 0)}</td>}
                          <td className="num">{formatInteger(item.key_count)}</td>
                          <td style={{ minWidth: 200 }}>
                            <UsageBar value={budget.spend} max={budget.max} label={`Budget of ${item.name}`} format={(value) => formatUsd(value)} suffix={periodLabel(budget.period)} />
                          </td>
                          <td className="small nowrap">
                            <LimitList rules={limitsOf(item)} />
                          </td>
                          <td className="small muted nowrap" title={formatDateTime(item.created_at)}>
                            {formatDate(item.created_at)}
                          </td>
                          <td className="right nowrap">
                            {item.source === 'file' ? (
                              <Badge title="Declared in the config file: change it there">config file</Badge>
                            ) : !editable ? null : (
                              <span className="row" style={{ gap: 2, flexWrap: 'nowrap', justifyContent: 'flex-end' }}>
                                <Switch
                                  label={`${item.status === 'disabled' ? 'Enable' : 'Disable'} ${item.name}`}
                                  checked={item.status !== 'disabled'}
                                  disabled={switching !== null}
                                  onChange={(on) => (on ? void setStatus(item, 'active') : setDisabling(item))}
                                />
                                <Button size="sm" variant="ghost" onClick={() => setEditing(item)} aria-label={`Edit ${item.name}`}>
                                  <EditIcon width={14} height={14} />
                                </Button>
                                <Button size="sm" variant="ghost" onClick={() => setRemoving(item)} aria-label={`Delete ${item.name}`}>
                                  <TrashIcon width={14} height={14} />
                                </Button>
                              </span>
                            )}
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            </div>
          )
        }
      </Async>
      <Dialog open={editing !== null} title={editing === 'new' ? `Create a ${noun}` : `Edit ${editing?.name ?? ''}`} onClose={() => setEditing(null)}>
        {editing === null ? null : (
          <EntityForm
            options={{ kind: noun, customers: withCustomer ? (customers.data?.data ?? []) : undefined }}
            entity={editing === 'new' ? undefined : editing}
            onCancel={() => setEditing(null)}
            onSubmit={async (input) => {
              if (editing === 'new') await api.create(input);
              else await api.update(editing.id, input);
              toast(`${input.name ?? noun} saved`);
              setEditing(null);
              list.reload();
            }}
          />
        )}
      </Dialog>
      <ConfirmDialog
        open={disabling !== null}
        busy={switching !== null}
        title={`Disable ${disabling?.name ?? ''}?`}
        message={`Calls with its ${disabling === null ? '' : formatInteger(disabling.key_count)} ${disabling?.key_count === 1 ? 'key' : 'keys'} are refused (403) until you enable it again. Its budget, limits and spend stay.`}
        confirmLabel="Disable"
        onClose={() => setDisabling(null)}
        onConfirm={() => disabling !== null && void setStatus(disabling, 'disabled')}
      />
      <ConfirmDialog
        open={removing !== null}
        busy={busy}
        title={`Delete ${removing?.name ?? ''}?`}
        message={`Its keys stay, without a ${noun}; its budget no longer applies.`}
        confirmLabel="Delete"
        onClose={() => setRemoving(null)}
        onConfirm={() => void remove()}
      />
    </>
  );
}

export function TeamsPage() {
  return (
    <GroupsPage
      title="Teams"
      noun="team"
      api={teamsApi}
      withCustomer
      description="A team groups virtual keys under one budget: the keys' spend adds up to the team's."
      emptyText="Create a team, then pick it when you create or edit a virtual key."
    />
  );
}

export function CustomersPage() {
  return (
    <GroupsPage
      title="Customers"
      noun="customer"
      api={customersApi}
      withCustomer={false}
      description="A customer is an end user or client account with its own budget, over its teams and keys."
      emptyText="Create a customer to track and cap the spend of one client account across its keys."
    />
  );
}
