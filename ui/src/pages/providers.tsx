/**
 * Providers: each configured provider with its keys (masked), weights, models
 * and health; add, edit, disable, delete, and test the connection. Every change
 * goes through /api/providers and applies to the next request.
 */
import { useCan } from '../lib/access.js';
import { useMemo, useState } from 'react';
import { providers as providersApi } from '../api/endpoints.js';
import type { KeyHealth, Provider, ProviderKey, ProviderLoad, ProviderTestResult } from '../api/types.js';
import { ConfirmDialog, Dialog } from '../components/dialog.js';
import { BoltIcon, EditIcon, PlusIcon, TrashIcon } from '../components/icons.js';
import { toast } from '../components/toast.js';
import { Async, Badge, Button, EmptyState, PageHeader, Switch, errorMessage } from '../components/ui.js';
import { formatMs } from '../lib/format.js';
import { setSearch, useLocation, useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';
import { KeyForm, ProviderForm } from './provider-forms.js';
import { KeyHealthDetails, ProviderLoadLine, healthBadge, providerTone, trafficShare } from './provider-health.js';

export function sourceBadge(source: string | undefined) {
  if (source === 'file') return <Badge title="Declared in the config file">config file</Badge>;
  if (source === 'env') return <Badge title="Enabled from an environment variable">environment</Badge>;
  return null;
}

type Editing = { kind: 'add' } | { kind: 'edit'; provider: Provider } | { kind: 'key'; provider: Provider; key?: ProviderKey } | null;

export function ProvidersPage() {
  const can = useCan();
  useTitle('Providers');
  const { search } = useLocation();
  const list = useResource((signal) => providersApi.list(signal), []);
  // Live breaker state, weights, error rates and latency: refreshed every few seconds (an older gateway without the route shows none).
  const health = useResource((signal) => providersApi.health(signal).catch(() => ({ data: [] as KeyHealth[], providers: [] as ProviderLoad[] })), [], { pollMs: 5_000 });
  const [editing, setEditing] = useState<Editing>(null);
  const adding = search.get('add') === '1';
  const close = (): void => {
    setEditing(null);
    if (adding) setSearch({});
  };
  const saved = (message: string): void => {
    toast(message);
    close();
    list.reload();
    health.reload();
  };
  const current = adding ? { kind: 'add' as const } : editing;

  return (
    <>
      <PageHeader
        title="Providers"
        description="The LLM providers this gateway calls, with their API keys. Changes apply to the next request."
        actions={
          can('POST /api/providers') ? (
            <Button variant="primary" onClick={() => setEditing({ kind: 'add' })}>
              <PlusIcon width={16} height={16} /> Add provider
            </Button>
          ) : undefined
        }
      />
      <Async resource={list} rows={5}>
        {(data) =>
          data.data.length === 0 ? (
            <div className="card">
              <EmptyState
                title="No provider yet"
                action={
                  can('POST /api/providers') ? (
                    <Button variant="primary" onClick={() => setEditing({ kind: 'add' })}>
                      <PlusIcon width={16} height={16} /> Add provider
                    </Button>
                  ) : undefined
                }
              >
                Add one here with its API key, or start the gateway with a key variable such as <code>OPENAI_API_KEY</code> set.
              </EmptyState>
            </div>
          ) : (
            <div className="grid grid-2">
              {data.data.map((provider) => (
                <ProviderCard
                  key={provider.name}
                  provider={provider}
                  health={(health.data?.data ?? []).filter((item) => item.provider === provider.name)}
                  load={health.data?.providers?.find((item) => item.provider === provider.name)}
                  onEdit={() => setEditing({ kind: 'edit', provider })}
                  onKey={(key) => setEditing({ kind: 'key', provider, key })}
                  onChanged={() => {
                    list.reload();
                    health.reload();
                  }}
                />
              ))}
            </div>
          )
        }
      </Async>
      <Dialog open={current !== null && current.kind !== 'key'} title={current?.kind === 'edit' ? `Edit ${current.provider.name}` : 'Add a provider'} onClose={close}>
        {current === null || current.kind === 'key' ? null : (
          <ProviderForm provider={current.kind === 'edit' ? current.provider : undefined} existing={list.data?.data.map((item) => item.name) ?? []} onSaved={saved} onCancel={close} />
        )}
      </Dialog>
      <Dialog open={current?.kind === 'key'} title={current?.kind === 'key' ? (current.key === undefined ? `Add a key to ${current.provider.name}` : `Edit key ${current.key.name}`) : ''} onClose={close}>
        {current?.kind === 'key' ? <KeyForm provider={current.provider} keyRecord={current.key} onSaved={saved} onCancel={close} /> : null}
      </Dialog>
    </>
  );
}

function ProviderCard({
  provider,
  health,
  load,
  onEdit,
  onKey,
  onChanged,
}: {
  provider: Provider;
  health: KeyHealth[];
  load: ProviderLoad | undefined;
  onEdit(): void;
  onKey(key?: ProviderKey): void;
  onChanged(): void;
}) {
  const can = useCan();
  const editable = can('PATCH /api/providers/:name');
  const [allModels, setAllModels] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [test, setTest] = useState<ProviderTestResult | { error: string } | null>(null);
  const [confirm, setConfirm] = useState<{ kind: 'provider' } | { kind: 'key'; key: ProviderKey } | null>(null);

  const act = async (label: string, action: () => Promise<unknown>, done: string): Promise<void> => {
    setBusy(label);
    try {
      await action();
      toast(done);
      onChanged();
    } catch (error) {
      toast(errorMessage(error), 'error');
    } finally {
      setBusy(null);
      setConfirm(null);
    }
  };
  const runTest = async (): Promise<void> => {
    setBusy('test');
    setTest(null);
    try {
      setTest(await providersApi.test(provider.name));
    } catch (error) {
      setTest({ error: errorMessage(error) });
    } finally {
      setBusy(null);
    }
  };
  const models = useMemo(() => [...(provider.models ?? []), ...(provider.embedding_models ?? [])], [provider]);
  const overall = providerTone(health);
  const shown = allModels ? models : models.slice(0, 12);

  return (
    <section className="card provider-card" aria-label={`Provider ${provider.name}`} data-provider={provider.name}>
      <header className="card-header">
        <h2>
          <span className={`dot ${!provider.enabled ? '' : overall === null ? 'dot-ok' : `dot-${overall}`}`} aria-hidden="true" />
          {provider.name}
          {provider.type !== provider.name ? <span className="muted small">({provider.type})</span> : null}
        </h2>
        <div className="card-actions">
          {sourceBadge(provider.source)}
          {editable ? <Switch
            label={`${provider.enabled ? 'Disable' : 'Enable'} ${provider.name}`}
            checked={provider.enabled}
            disabled={busy !== null}
            onChange={(enabled) => void act('enable', () => providersApi.update(provider.name, { enabled }), `${provider.name} ${enabled ? 'enabled' : 'disabled'}`)}
          /> : null}
        </div>
      </header>
      {provider.disabled_reason ? <p className="notice notice-warn small">{provider.disabled_reason}</p> : null}
      <dl className="kv small">
        <dt>Base URL</dt>
        <dd className="mono">{provider.base_url ?? <span className="muted">default</span>}</dd>
        <dt>Models</dt>
        <dd>
          {models.length === 0 ? (
            <span className="muted">any (the provider&apos;s own list)</span>
          ) : (
            <div className="chips">
              {shown.map((model) => (
                <span key={model} className="chip">
                  {model}
                </span>
              ))}
              {models.length > 12 ? (
                <button type="button" className="link-button chip-more" aria-expanded={allModels} onClick={() => setAllModels((value) => !value)}>
                  {allModels ? 'Show fewer' : `+${models.length - 12} more`}
                </button>
              ) : null}
            </div>
          )}
        </dd>
        <ProviderLoadLine load={load} />
      </dl>
      <div style={{ marginTop: 12 }}>
        <div className="spread" style={{ marginBottom: 4 }}>
          <strong className="small">API keys</strong>
          {can('POST /api/providers/:name/keys') ? (
            <Button size="sm" variant="ghost" onClick={() => onKey()} aria-label={`Add key to ${provider.name}`}>
              <PlusIcon width={14} height={14} /> Add key
            </Button>
          ) : null}
        </div>
        {provider.keys.length === 0 ? <p className="muted small">No key stored{provider.source === 'env' ? ' (read from the environment)' : ''}.</p> : null}
        {provider.keys.map((key) => {
          const item = health.find((entry) => entry.key_id === key.id);
          const state = healthBadge(item);
          return (
            <div key={key.id} className="key-row" data-key-name={key.name}>
              <div className="key-row-head">
                <div style={{ minWidth: 0 }}>
                  <div className="row" style={{ gap: 6 }}>
                    <strong>{key.name}</strong>
                    <code className="muted">{key.last4 === '' ? '••••••••' : `••••${key.last4}`}</code>
                    {key.enabled ? null : <Badge>disabled</Badge>}
                    {state === null || !key.enabled || !provider.enabled ? null : (
                      <Badge tone={state.tone} title={state.title}>
                        {state.text}
                      </Badge>
                    )}
                  </div>
                  <div className="muted small">{key.models === null || key.models.length === 0 ? 'all models' : key.models.join(', ')}</div>
                </div>
                {key.source !== undefined && key.source !== 'store' ? (
                  sourceBadge(key.source)
                ) : !editable ? null : (
                  <div className="row" style={{ gap: 2, flexWrap: 'nowrap' }}>
                    <Switch
                      label={`${key.enabled ? 'Disable' : 'Enable'} key ${key.name}`}
                      checked={key.enabled}
                      disabled={busy !== null}
                      onChange={(enabled) => void act('key', () => providersApi.updateKey(provider.name, key.id, { enabled }), `Key ${key.name} ${enabled ? 'enabled' : 'disabled'}`)}
                    />
                    <Button size="sm" variant="ghost" onClick={() => onKey(key)} aria-label={`Edit key ${key.name}`}>
                      <EditIcon width={14} height={14} />
                    </Button>
                    <Button size="sm" variant="ghost" onClick={() => setConfirm({ kind: 'key', key })} aria-label={`Delete key ${key.name}`}>
                      <TrashIcon width={14} height={14} />
                    </Button>
                  </div>
                )}
              </div>
              <KeyHealthDetails item={item} share={provider.enabled ? trafficShare(key.id, provider.keys, health) : 0} enabled={key.enabled && provider.enabled} weight={key.weight} />
            </div>
          );
        })}
      </div>
      <div className="spread" style={{ marginTop: 12, paddingTop: 12, borderTop: '1px solid var(--border)' }}>
        <div className="row">
          {can('POST /api/providers/:name/test') ? <Button size="sm" onClick={() => void runTest()} busy={busy === 'test'} aria-label={`Test connection to ${provider.name}`}>
            <BoltIcon width={14} height={14} /> Test connection
          </Button> : null}
          <TestResult result={test} />
        </div>
        <div className="row" style={{ gap: 4 }}>
          {editable ? <Button size="sm" variant="ghost" onClick={onEdit} aria-label={`Edit ${provider.name}`}>
            <EditIcon width={14} height={14} /> Edit
          </Button> : null}
          {editable && (provider.source === 'store' || provider.source === undefined) ? (
            <Button size="sm" variant="ghost" onClick={() => setConfirm({ kind: 'provider' })} aria-label={`Delete ${provider.name}`}>
              <TrashIcon width={14} height={14} /> Delete
            </Button>
          ) : null}
        </div>
      </div>
      <ConfirmDialog
        open={confirm !== null}
        title={confirm?.kind === 'key' ? `Delete key ${confirm.key.name}?` : `Delete ${provider.name}?`}
        message={
          confirm?.kind === 'key'
            ? 'Requests stop using this key at once. The secret cannot be shown again.'
            : `Requests for ${provider.name}/… fail from the next call on, and its keys are deleted.`
        }
        confirmLabel="Delete"
        busy={busy === 'delete'}
        onClose={() => setConfirm(null)}
        onConfirm={() => {
          const target = confirm;
          if (target?.kind === 'key') void act('delete', () => providersApi.removeKey(provider.name, target.key.id), `Key ${target.key.name} deleted`);
          else void act('delete', () => providersApi.remove(provider.name), `${provider.name} deleted`);
        }}
      />
    </section>
  );
}

function TestResult({ result }: { result: ProviderTestResult | { error: string } | null }) {
  if (result === null) return null;
  if ('ok' in result && result.ok) {
    return (
      <span role="status" data-testid="test-result">
        <Badge tone="ok">Connected</Badge> <span className="muted small">{formatMs(result.latency_ms)}</span>
      </span>
    );
  }
  const message = 'ok' in result ? (result.error ?? `status ${result.status ?? '?'}`) : result.error;
  return (
    <span role="status" data-testid="test-result" className="small" style={{ color: 'var(--error)' }}>
      <Badge tone="error">Failed</Badge> {message}
    </span>
  );
}
