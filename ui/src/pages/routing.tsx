/** Routing: defaults, model groups (weighted deployments with fallbacks), aliases and per-model fallbacks. */
import { useCan } from '../lib/access.js';
import { useState, type FormEvent } from 'react';
import { routing as routingApi } from '../api/endpoints.js';
import type { ModelGroup, Routing } from '../api/types.js';
import { ConfirmDialog, Dialog } from '../components/dialog.js';
import { EditIcon, PlusIcon, TrashIcon } from '../components/icons.js';
import { toast } from '../components/toast.js';
import { Async, Badge, Button, Card, EmptyState, Field, PageHeader, Switch, errorMessage } from '../components/ui.js';
import { parseList } from '../lib/format.js';
import { useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';
import { sourceBadge } from './providers.js';
import { GroupForm } from './routing-group-form.js';

export function RoutingPage() {
  useTitle('Routing');
  const routing = useResource((signal) => routingApi.get(signal), []);
  return (
    <>
      <PageHeader title="Routing" description="How model names map to providers: groups balance traffic by weight, aliases rename, fallbacks take over on failure." />
      <Async resource={routing} rows={6}>
        {(data) => (
          <div className="stack">
            <Defaults routing={data} onChanged={routing.reload} />
            <Groups groups={data.model_groups} onChanged={routing.reload} />
            <div className="grid grid-2">
              <Aliases aliases={data.aliases} sources={data.sources ?? {}} onChanged={routing.reload} />
              <Fallbacks fallbacks={data.fallbacks} sources={data.sources ?? {}} onChanged={routing.reload} />
            </div>
          </div>
        )}
      </Async>
    </>
  );
}

async function run(action: () => Promise<unknown>, done: string, after: () => void): Promise<boolean> {
  try {
    await action();
    toast(done);
    after();
    return true;
  } catch (error) {
    toast(errorMessage(error), 'error');
    return false;
  }
}

function Defaults({ routing, onChanged }: { routing: Routing; onChanged(): void }) {
  const editable = useCan()('PATCH /api/routing');
  const [provider, setProvider] = useState(routing.default_provider ?? '');
  const [model, setModel] = useState(routing.default_model ?? '');
  const [busy, setBusy] = useState(false);
  const dirty = provider !== (routing.default_provider ?? '') || model !== (routing.default_model ?? '');
  const save = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    await run(() => routingApi.patch({ default_provider: provider.trim() || null, default_model: model.trim() || null }), 'Routing defaults saved', onChanged);
    setBusy(false);
  };
  return (
    <Card title="Defaults">
      <form className="form" onSubmit={(event) => void save(event)}>
        <div className="form-grid">
          <Field label="Default provider" htmlFor="r-provider" hint="For a bare model name that no provider lists.">
            <input id="r-provider" value={provider} onChange={(event) => setProvider(event.target.value)} placeholder="none" />
          </Field>
          <Field label="Default model" htmlFor="r-model" hint="Used when a request names no model.">
            <input id="r-model" value={model} onChange={(event) => setModel(event.target.value)} placeholder="none" />
          </Field>
        </div>
        <div className="spread">
          <label className="check">
            <Switch
              disabled={!editable}
              label="Strict parameters"
              checked={routing.strict_params === true}
              onChange={(value) => void run(() => routingApi.patch({ strict_params: value }), `Strict parameters ${value ? 'on' : 'off'}`, onChanged)}
            />
            <span>
              Strict parameters <span className="muted small">(refuse with 400 a parameter the target cannot take, instead of dropping it with a warning)</span>
            </span>
          </label>
          {editable ? (
            <Button type="submit" variant="primary" disabled={!dirty} busy={busy}>
              Save defaults
            </Button>
          ) : null}
        </div>
      </form>
    </Card>
  );
}

function Groups({ groups, onChanged }: { groups: ModelGroup[]; onChanged(): void }) {
  const editable = useCan()('PATCH /api/routing');
  const [editing, setEditing] = useState<ModelGroup | 'new' | null>(null);
  const [removing, setRemoving] = useState<ModelGroup | null>(null);
  return (
    <Card
      title="Model groups"
      className="flush"
      actions={
        !editable ? undefined : <Button size="sm" variant="primary" onClick={() => setEditing('new')}>
          <PlusIcon width={14} height={14} /> Add group
        </Button>
      }
    >
      {groups.length === 0 ? (
        <EmptyState title="No model group">
          A group is one public model name served by several (provider, model) deployments, chosen by weight, with fallbacks when all fail.
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Deployments (weight)</th>
                <th>Fallbacks</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {groups.map((group) => {
                const total = group.deployments.reduce((sum, item) => sum + (item.weight ?? 1), 0);
                return (
                  <tr key={group.name}>
                    <td>
                      <strong className="mono">{group.name}</strong> {group.enabled === false ? <Badge>disabled</Badge> : null} {sourceBadge(group.source)}
                    </td>
                    <td>
                      {group.deployments.map((item) => (
                        <div key={`${item.provider}/${item.model}`} className="mono small">
                          {item.provider}/{item.model} <span className="muted">({item.weight ?? 1}{total > 0 ? `, ${Math.round(((item.weight ?? 1) / total) * 100)}%` : ''})</span>
                        </div>
                      ))}
                    </td>
                    <td className="mono small">{group.fallbacks.length === 0 ? <span className="muted">none</span> : group.fallbacks.join(' → ')}</td>
                    <td className="right nowrap">
                      {editable ? <Button size="sm" variant="ghost" onClick={() => setEditing(group)} aria-label={`Edit group ${group.name}`}>
                        <EditIcon width={14} height={14} />
                      </Button> : null}
                      {group.source === 'file' || !editable ? null : (
                        <Button size="sm" variant="ghost" onClick={() => setRemoving(group)} aria-label={`Delete group ${group.name}`}>
                          <TrashIcon width={14} height={14} />
                        </Button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <Dialog open={editing !== null} wide title={editing === 'new' ? 'Add a model group' : `Edit ${editing?.name ?? ''}`} onClose={() => setEditing(null)}>
        {editing === null ? null : (
          <GroupForm
            group={editing === 'new' ? undefined : editing}
            onCancel={() => setEditing(null)}
            onSaved={(name) => {
              toast(`Group ${name} saved`);
              setEditing(null);
              onChanged();
            }}
          />
        )}
      </Dialog>
      <ConfirmDialog
        open={removing !== null}
        title={`Delete group ${removing?.name ?? ''}?`}
        message="Requests for this name fail from the next call on, unless a provider serves a model of that name."
        confirmLabel="Delete"
        onClose={() => setRemoving(null)}
        onConfirm={() => {
          const target = removing;
          setRemoving(null);
          if (target !== null) void run(() => routingApi.removeGroup(target.name), `Group ${target.name} deleted`, onChanged);
        }}
      />
    </Card>
  );
}

function PairForm({ idPrefix, leftLabel, rightLabel, leftPlaceholder, rightPlaceholder, onSubmit }: { idPrefix: string; leftLabel: string; rightLabel: string; leftPlaceholder?: string; rightPlaceholder?: string; onSubmit(left: string, right: string): Promise<boolean> }) {
  const [left, setLeft] = useState('');
  const [right, setRight] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (left.trim() === '' || right.trim() === '') return;
    setBusy(true);
    if (await onSubmit(left.trim(), right.trim())) {
      setLeft('');
      setRight('');
    }
    setBusy(false);
  };
  return (
    <form className="form-grid" style={{ alignItems: 'end', padding: 16, borderTop: '1px solid var(--border)' }} onSubmit={(event) => void submit(event)}>
      <Field label={leftLabel} htmlFor={`${idPrefix}-left`}>
        <input id={`${idPrefix}-left`} value={left} placeholder={leftPlaceholder} onChange={(event) => setLeft(event.target.value)} />
      </Field>
      <Field label={rightLabel} htmlFor={`${idPrefix}-right`}>
        <input id={`${idPrefix}-right`} value={right} placeholder={rightPlaceholder} onChange={(event) => setRight(event.target.value)} />
      </Field>
      <div>
        <Button type="submit" variant="primary" busy={busy} disabled={left.trim() === '' || right.trim() === ''}>
          Save
        </Button>
      </div>
    </form>
  );
}

function Aliases({ aliases, sources, onChanged }: { aliases: Record<string, string>; sources: Record<string, string>; onChanged(): void }) {
  const editable = useCan()('PATCH /api/routing');
  const entries = Object.entries(aliases);
  return (
    <Card title="Aliases" className="flush">
      {entries.length === 0 ? (
        <p className="muted" style={{ padding: '0 16px 12px' }}>
          No alias. An alias gives a public name to a provider/model or a group (e.g. <code>fast</code> → <code>groq/llama-3.1-8b-instant</code>).
        </p>
      ) : (
        <table className="table table-compact">
          <thead>
            <tr>
              <th>Alias</th>
              <th>Target</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {entries.map(([alias, target]) => (
              <tr key={alias}>
                <td className="mono">{alias}</td>
                <td className="mono">{target}</td>
                <td className="right">
                  {sources[`aliases.${alias}`] === 'file' ? sourceBadge('file') : !editable ? null : (
                  <Button size="sm" variant="ghost" aria-label={`Delete alias ${alias}`} onClick={() => void run(() => routingApi.removeAlias(alias), `Alias ${alias} deleted`, onChanged)}>
                    <TrashIcon width={14} height={14} />
                  </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editable ? <PairForm idPrefix="alias" leftLabel="New alias" rightLabel="Target" leftPlaceholder="fast" rightPlaceholder="provider/model or a group" onSubmit={(alias, target) => run(() => routingApi.setAlias(alias, target), `Alias ${alias} saved`, onChanged)} /> : null}
    </Card>
  );
}

function Fallbacks({ fallbacks, sources, onChanged }: { fallbacks: Record<string, string[]>; sources: Record<string, string>; onChanged(): void }) {
  const editable = useCan()('PATCH /api/routing');
  const entries = Object.entries(fallbacks);
  return (
    <Card title="Fallbacks" className="flush">
      {entries.length === 0 ? (
        <p className="muted" style={{ padding: '0 16px 12px' }}>
          No fallback. When a model fails (after retries), its fallbacks are tried in order.
        </p>
      ) : (
        <table className="table table-compact">
          <thead>
            <tr>
              <th>Model</th>
              <th>Then try</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {entries.map(([model, targets]) => (
              <tr key={model}>
                <td className="mono">{model}</td>
                <td className="mono small">{targets.join(' → ')}</td>
                <td className="right">
                  {sources[`fallbacks.${model}`] === 'file' ? sourceBadge('file') : !editable ? null : (
                  <Button size="sm" variant="ghost" aria-label={`Delete fallbacks of ${model}`} onClick={() => void run(() => routingApi.removeFallbacks(model), `Fallbacks of ${model} deleted`, onChanged)}>
                    <TrashIcon width={14} height={14} />
                  </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editable ? <PairForm
        idPrefix="fallback"
        leftLabel="Model"
        rightLabel="Fallbacks, in order"
        leftPlaceholder="openai/gpt-4o"
        rightPlaceholder="anthropic/claude-sonnet-4-5, groq/…"
        onSubmit={(model, list) => run(() => routingApi.setFallbacks(model, parseList(list) ?? []), `Fallbacks of ${model} saved`, onChanged)}
      /> : null}
    </Card>
  );
}
