/** Add or edit a model group: its public name, weighted deployments and ordered fallbacks. */
import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/client.js';
import { providers as providersApi, routing as routingApi } from '../api/endpoints.js';
import type { Deployment, ModelGroup } from '../api/types.js';
import { PlusIcon, TrashIcon } from '../components/icons.js';
import { Button, Field, Switch, errorMessage } from '../components/ui.js';
import { parseList } from '../lib/format.js';
import { useResource } from '../lib/use-resource.js';

interface Row {
  provider: string;
  model: string;
  weight: string;
}

export function GroupForm({ group, onSaved, onCancel }: { group?: ModelGroup; onSaved(name: string): void; onCancel(): void }) {
  const editing = group !== undefined;
  const providers = useResource((signal) => providersApi.list(signal).catch(() => ({ data: [] })), []);
  const [name, setName] = useState(group?.name ?? '');
  const [rows, setRows] = useState<Row[]>(() =>
    group === undefined || group.deployments.length === 0 ? [{ provider: '', model: '', weight: '1' }] : group.deployments.map((item) => ({ provider: item.provider, model: item.model, weight: String(item.weight ?? 1) })),
  );
  const [fallbacks, setFallbacks] = useState((group?.fallbacks ?? []).join(', '));
  const [enabled, setEnabled] = useState(group?.enabled !== false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const setRow = (index: number, patch: Partial<Row>): void => setRows((list) => list.map((row, at) => (at === index ? { ...row, ...patch } : row)));
  const providerNames = (providers.data?.data ?? []).map((provider) => provider.name);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const deployments: Deployment[] = [];
    for (const row of rows) {
      if (row.provider.trim() === '' && row.model.trim() === '') continue;
      const weight = Number(row.weight);
      if (row.provider.trim() === '' || row.model.trim() === '' || !Number.isFinite(weight) || weight < 0) {
        setError('Each deployment needs a provider, a model and a weight of 0 or more.');
        return;
      }
      deployments.push({ provider: row.provider.trim(), model: row.model.trim(), weight });
    }
    if (name.trim() === '') return setError('Give the group the model name clients will send.');
    if (deployments.length === 0) return setError('Add at least one deployment.');
    setBusy(true);
    setError(null);
    const body = { name: name.trim(), deployments, fallbacks: parseList(fallbacks) ?? [], enabled };
    try {
      if (editing) await routingApi.updateGroup(group.name, body);
      else await routingApi.createGroup(body);
      onSaved(body.name);
    } catch (reason) {
      setError(reason instanceof ApiError && reason.param !== null ? `${reason.message} (${reason.param})` : errorMessage(reason));
      setBusy(false);
    }
  };

  return (
    <form className="form" onSubmit={(event) => void submit(event)} noValidate aria-label="Model group">
      <div className="form-grid">
        <Field label="Public model name" htmlFor="g-name" hint="What clients send as model, e.g. smart or gpt-4o.">
          <input id="g-name" value={name} onChange={(event) => setName(event.target.value)} disabled={editing} autoFocus={!editing} />
        </Field>
        <div className="field">
          <span className="field-label small muted">Enabled</span>
          <Switch label="Group enabled" checked={enabled} onChange={setEnabled} />
        </div>
      </div>
      <fieldset style={{ border: 'none', padding: 0, margin: 0 }}>
        <legend className="small" style={{ fontWeight: 500, color: 'var(--text-2)', marginBottom: 6 }}>
          Deployments
        </legend>
        <datalist id="g-providers">
          {providerNames.map((item) => (
            <option key={item} value={item} />
          ))}
        </datalist>
        <div className="stack" style={{ gap: 8 }}>
          {rows.map((row, index) => (
            <div key={index} className="row" style={{ flexWrap: 'nowrap' }}>
              <input aria-label={`Deployment ${index + 1} provider`} list="g-providers" placeholder="provider" value={row.provider} onChange={(event) => setRow(index, { provider: event.target.value })} />
              <input aria-label={`Deployment ${index + 1} model`} placeholder="model" value={row.model} onChange={(event) => setRow(index, { model: event.target.value })} />
              <input aria-label={`Deployment ${index + 1} weight`} type="number" min={0} step="any" style={{ width: 90 }} value={row.weight} onChange={(event) => setRow(index, { weight: event.target.value })} />
              <Button size="sm" variant="ghost" aria-label={`Remove deployment ${index + 1}`} disabled={rows.length === 1} onClick={() => setRows((list) => list.filter((_, at) => at !== index))}>
                <TrashIcon width={14} height={14} />
              </Button>
            </div>
          ))}
        </div>
        <Button size="sm" variant="ghost" style={{ marginTop: 6 }} onClick={() => setRows((list) => [...list, { provider: '', model: '', weight: '1' }])}>
          <PlusIcon width={14} height={14} /> Add deployment
        </Button>
      </fieldset>
      <Field label="Fallbacks" htmlFor="g-fallbacks" hint="Comma-separated provider/model or group names, tried in order when every deployment failed.">
        <input id="g-fallbacks" value={fallbacks} onChange={(event) => setFallbacks(event.target.value)} />
      </Field>
      {error === null ? null : (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <div className="form-actions">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" busy={busy}>
          {editing ? 'Save group' : 'Add group'}
        </Button>
      </div>
    </form>
  );
}
