/** The signed-in user's own account: profile, password, personal API tokens (each shown once). */
import { useState } from 'react';
import { auth } from '../api/endpoints.js';
import type { ApiToken } from '../api/types.js';
import { ConfirmDialog, Dialog } from '../components/dialog.js';
import { PlusIcon } from '../components/icons.js';
import { toast } from '../components/toast.js';
import { Async, Badge, Button, Card, CopyButton, CodeBlock, EmptyState, Field, PageHeader, errorMessage } from '../components/ui.js';
import { formatDate, formatRelative } from '../lib/format.js';
import { useAuthStatus } from '../lib/access.js';
import { useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';
import { useSubmit } from '../lib/use-submit.js';

const SCOPES: Array<{ value: string; label: string }> = [
  { value: 'read', label: 'Read everything your role can read' },
  { value: 'write', label: 'Read and change everything your role can' },
  { value: 'logs:read', label: 'Read logs' },
  { value: 'keys:write', label: 'Manage virtual keys' },
  { value: 'providers:write', label: 'Manage providers' },
  { value: 'routing:write', label: 'Manage routing' },
  { value: 'usage:read', label: 'Read usage' },
];

function PasswordForm() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const { busy, error, onSubmit } = useSubmit(async () => {
    await auth.changePassword(current, next);
    toast('Password changed; your other sessions were ended');
    setCurrent('');
    setNext('');
  });
  return (
    <form className="form" onSubmit={onSubmit} noValidate style={{ maxWidth: 420 }}>
      <Field label="Current password" htmlFor="pw-current">
        <input id="pw-current" type="password" autoComplete="current-password" value={current} onChange={(event) => setCurrent(event.target.value)} />
      </Field>
      <Field label="New password" htmlFor="pw-new" hint="At least 10 characters." error={error}>
        <input id="pw-new" type="password" autoComplete="new-password" value={next} onChange={(event) => setNext(event.target.value)} />
      </Field>
      <div>
        <Button type="submit" busy={busy}>
          Change password
        </Button>
      </div>
    </form>
  );
}

function TokenForm({ onMade }: { onMade(token: ApiToken & { token: string }): void }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['read']);
  const [days, setDays] = useState('90');
  const { busy, error, onSubmit } = useSubmit(async () => {
    onMade(await auth.createToken({ name: name.trim(), scopes, ...(days === 'never' ? { expires_at: null } : { expires_in_days: Number(days) }) }));
  }, { keepBusy: true });
  return (
    <form className="form" onSubmit={onSubmit} noValidate>
      <Field label="Name" htmlFor="token-name" hint="What uses it: ci, a script, a notebook.">
        <input id="token-name" value={name} onChange={(event) => setName(event.target.value)} />
      </Field>
      <fieldset className="form" style={{ border: 0, padding: 0 }}>
        <legend className="small">Scopes (never more than your role allows)</legend>
        {SCOPES.map((scope) => (
          <label key={scope.value} className="row" style={{ gap: 8 }}>
            <input type="checkbox" checked={scopes.includes(scope.value)} onChange={(event) => setScopes(event.target.checked ? [...scopes, scope.value] : scopes.filter((value) => value !== scope.value))} />
            <span className="mono small">{scope.value}</span> {scope.label}
          </label>
        ))}
      </fieldset>
      <Field label="Expires" htmlFor="token-days" error={error}>
        <select id="token-days" value={days} onChange={(event) => setDays(event.target.value)}>
          <option value="7">in 7 days</option>
          <option value="30">in 30 days</option>
          <option value="90">in 90 days</option>
          <option value="365">in a year</option>
          <option value="never">never</option>
        </select>
      </Field>
      <div className="row" style={{ justifyContent: 'flex-end' }}>
        <Button type="submit" variant="primary" busy={busy}>
          Create token
        </Button>
      </div>
    </form>
  );
}

export function AccountPage() {
  useTitle('Account');
  const status = useAuthStatus();
  const user = status?.user ?? null;
  const tokens = useResource((signal) => (user === null ? Promise.resolve({ data: [] as ApiToken[] }) : auth.tokens(signal)), [user?.id]);
  const [creating, setCreating] = useState(false);
  const [made, setMade] = useState<(ApiToken & { token: string }) | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);

  if (user === null) {
    return (
      <>
        <PageHeader title="Account" />
        <div className="card">
          <EmptyState title="No user account">You are signed in with the admin token (or from loopback without accounts): there is no profile, password or personal token to manage.</EmptyState>
        </div>
      </>
    );
  }
  return (
    <>
      <PageHeader title="Account" description={`Signed in as ${user.username} (${user.role}).`} />
      {user.has_password && user.source !== 'file' ? (
        <Card title="Password">
          <PasswordForm />
        </Card>
      ) : null}
      <Card title="Personal API tokens" actions={status?.kind === 'api_token' ? null : <Button onClick={() => setCreating(true)}><PlusIcon width={14} height={14} /> New token</Button>}>
        <p className="muted small" style={{ marginBottom: 12 }}>
          For scripts and CI: send <code>Authorization: Bearer hdp_…</code> to <code>/api</code>. A token can do what your role allows, narrowed by its scopes.
        </p>
        <Async resource={tokens} rows={2}>
          {(data) =>
            data.data.length === 0 ? (
              <p className="muted">No token yet.</p>
            ) : (
              <div className="table-wrap">
                <table className="table" data-testid="tokens-table">
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>Scopes</th>
                      <th>Expires</th>
                      <th>Last used</th>
                      <th />
                    </tr>
                  </thead>
                  <tbody>
                    {data.data.map((token) => (
                      <tr key={token.id}>
                        <td>
                          <strong>{token.name}</strong> <span className="mono muted small">{token.prefix}…</span>
                        </td>
                        <td className="small mono">{token.scopes.join(' ')}</td>
                        <td className="small">{token.expired ? <Badge tone="warn">expired</Badge> : token.expires_at === null ? 'never' : formatDate(token.expires_at)}</td>
                        <td className="small muted">{token.last_used_at === null ? 'never' : formatRelative(token.last_used_at)}</td>
                        <td className="right">
                          <Button size="sm" onClick={() => setRevoking(token)}>
                            Revoke
                          </Button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Async>
      </Card>
      <Dialog open={creating || made !== null} title={made === null ? 'New API token' : 'Copy your token now'} onClose={() => { setCreating(false); setMade(null); tokens.reload(); }}>
        {made === null ? (
          <TokenForm onMade={(token) => { setCreating(false); setMade(token); }} />
        ) : (
          <div className="form">
            <p>This is the only time the token is shown: Heimdall keeps only its digest.</p>
            <CodeBlock code={made.token} label="token" />
            <CopyButton text={made.token} label="Copy token" />
          </div>
        )}
      </Dialog>
      <ConfirmDialog
        open={revoking !== null}
        busy={false}
        title={`Revoke ${revoking?.name ?? ''}?`}
        message="Scripts using it are refused from now on."
        confirmLabel="Revoke"
        onClose={() => setRevoking(null)}
        onConfirm={() => {
          const token = revoking;
          setRevoking(null);
          if (token !== null) void auth.deleteToken(token.id).then(() => { toast(`${token.name} revoked`); tokens.reload(); }, (error: unknown) => toast(errorMessage(error), 'error'));
        }}
      />
    </>
  );
}
