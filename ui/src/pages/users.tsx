/** Users (admin): who may sign in, with which role and team; their sessions, each revocable. */
import { useState } from 'react';
import { teams as teamsApi, users as usersApi, type UserInput } from '../api/endpoints.js';
import type { Role, User } from '../api/types.js';
import { ConfirmDialog, Dialog } from '../components/dialog.js';
import { EditIcon, PlusIcon, TrashIcon } from '../components/icons.js';
import { toast } from '../components/toast.js';
import { Async, Badge, Button, Card, EmptyState, Field, PageHeader, errorMessage } from '../components/ui.js';
import { formatDateTime, formatRelative } from '../lib/format.js';
import { useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';
import { useAuthStatus } from '../lib/access.js';
import { useSubmit } from '../lib/use-submit.js';

const ROLES: Array<{ value: Role; label: string }> = [
  { value: 'admin', label: 'Admin: everything' },
  { value: 'operator', label: 'Operator: providers, routing, keys' },
  { value: 'viewer', label: 'Viewer: read-only' },
  { value: 'member', label: 'Team member: their team\'s keys, usage, logs' },
];

function UserForm({ user, onDone, onCancel }: { user?: User; onDone(): void; onCancel(): void }) {
  const teams = useResource((signal) => teamsApi.list(signal), []);
  const [username, setUsername] = useState(user?.username ?? '');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>(user?.role ?? 'viewer');
  const [teamId, setTeamId] = useState(user?.team_id ?? '');
  const [viewBodies, setViewBodies] = useState(user?.view_bodies ?? false);
  const { busy, error, onSubmit } = useSubmit(async () => {
    const input: UserInput = { role, team_id: role === 'member' ? teamId || null : null, view_bodies: viewBodies };
    if (password !== '') input.password = password;
    if (user === undefined) await usersApi.create({ ...input, username: username.trim() });
    else await usersApi.update(user.id, input);
    toast(`${username} saved`);
    onDone();
  }, { keepBusy: true });

  return (
    <form className="form" onSubmit={onSubmit} noValidate>
      <Field label="Username" htmlFor="user-name">
        <input id="user-name" value={username} disabled={user !== undefined} autoComplete="off" onChange={(event) => setUsername(event.target.value)} />
      </Field>
      <Field label={user === undefined ? 'Password' : 'New password'} htmlFor="user-password" hint={user === undefined ? 'At least 10 characters; leave empty for a single-sign-on account.' : 'Leave empty to keep the current one.'}>
        <input id="user-password" type="password" autoComplete="new-password" value={password} onChange={(event) => setPassword(event.target.value)} />
      </Field>
      <Field label="Role" htmlFor="user-role">
        <select id="user-role" value={role} onChange={(event) => setRole(event.target.value as Role)}>
          {ROLES.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      </Field>
      {role === 'member' ? (
        <Field label="Team" htmlFor="user-team">
          <select id="user-team" value={teamId} onChange={(event) => setTeamId(event.target.value)}>
            <option value="">Choose a team</option>
            {(teams.data?.data ?? []).map((team) => (
              <option key={team.id} value={team.id}>
                {team.name}
              </option>
            ))}
          </select>
        </Field>
      ) : null}
      {role === 'viewer' || role === 'member' ? (
        <label className="row" style={{ gap: 8 }}>
          <input type="checkbox" checked={viewBodies} onChange={(event) => setViewBodies(event.target.checked)} /> May read request and response bodies in the logs
        </label>
      ) : null}
      {error === null ? null : <p className="field-error">{error}</p>}
      <div className="row" style={{ justifyContent: 'flex-end' }}>
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" busy={busy}>
          {user === undefined ? 'Create user' : 'Save'}
        </Button>
      </div>
    </form>
  );
}

export function UsersPage() {
  useTitle('Users');
  const list = useResource((signal) => usersApi.list(signal), [], { pollMs: 15_000 });
  const sessions = useResource((signal) => usersApi.sessions(signal), [], { pollMs: 15_000 });
  const [editing, setEditing] = useState<User | 'new' | null>(null);
  const [removing, setRemoving] = useState<User | null>(null);
  const [busy, setBusy] = useState(false);
  // Your own account: no Disable or Delete (an admin does not lock themself out here; another admin can).
  const me = useAuthStatus()?.user?.id;

  const act = async (what: () => Promise<unknown>, done: string): Promise<void> => {
    setBusy(true);
    try {
      await what();
      toast(done);
      list.reload();
      sessions.reload();
    } catch (error) {
      toast(errorMessage(error), 'error');
    } finally {
      setBusy(false);
    }
  };

  const create = (
    <Button variant="primary" onClick={() => setEditing('new')}>
      <PlusIcon width={16} height={16} /> Add user
    </Button>
  );
  const names = new Map((list.data?.data ?? []).map((user) => [user.id, user.username]));

  return (
    <>
      <PageHeader title="Users" description="Who may sign in to the dashboard and the management API, and what their role lets them do." actions={create} />
      <Async resource={list} rows={4}>
        {(data) =>
          data.data.length === 0 ? (
            <div className="card">
              <EmptyState title="No user yet" action={create}>
                The admin token signs in today. Add users to give each person their own account and role.
              </EmptyState>
            </div>
          ) : (
            <div className="card flush">
              <div className="table-wrap">
                <table className="table" data-testid="users-table">
                  <thead>
                    <tr>
                      <th className="col-name">Username</th>
                      <th>Role</th>
                      <th>Sign-in</th>
                      <th>Last sign-in</th>
                      <th />
                    </tr>
                  </thead>
                  <tbody>
                    {data.data.map((user) => (
                      <tr key={user.id} data-name={user.username} className={user.disabled ? 'row-disabled' : undefined}>
                        <td>
                          <strong>{user.username}</strong>
                          {user.display_name ? <div className="muted small">{user.display_name}</div> : null}
                        </td>
                        <td>
                          <Badge tone={user.role === 'admin' ? 'info' : 'neutral'}>{user.role}</Badge>
                          {user.disabled ? <Badge tone="warn">disabled</Badge> : null}
                          {user.locked_until !== null ? <Badge tone="error" title={`Until ${formatDateTime(user.locked_until)}`}>locked</Badge> : null}
                        </td>
                        <td className="small">{[user.has_password ? 'password' : null, user.sso ? 'single sign-on' : null].filter(Boolean).join(', ') || '—'}</td>
                        <td className="small muted">{user.last_login_at === null ? 'never' : formatRelative(user.last_login_at)}</td>
                        <td className="right nowrap">
                          {user.source === 'file' ? (
                            <Badge title="Declared in the config file (auth.users): change it there">config file</Badge>
                          ) : (
                            <span className="row" style={{ gap: 2, flexWrap: 'nowrap', justifyContent: 'flex-end' }}>
                              {user.locked_until !== null ? (
                                <Button size="sm" onClick={() => void act(() => usersApi.update(user.id, { unlock: true }), `${user.username} unlocked`)} disabled={busy}>
                                  Unlock
                                </Button>
                              ) : null}
                              {user.id === me ? null : (
                                <Button size="sm" variant="ghost" disabled={busy} onClick={() => void act(() => usersApi.update(user.id, { disabled: !user.disabled }), `${user.username} ${user.disabled ? 'enabled' : 'disabled'}`)}>
                                  {user.disabled ? 'Enable' : 'Disable'}
                                </Button>
                              )}
                              <Button size="sm" variant="ghost" onClick={() => setEditing(user)} aria-label={`Edit ${user.username}`}>
                                <EditIcon width={14} height={14} />
                              </Button>
                              {user.id === me ? null : (
                                <Button size="sm" variant="ghost" onClick={() => setRemoving(user)} aria-label={`Delete ${user.username}`}>
                                  <TrashIcon width={14} height={14} />
                                </Button>
                              )}
                            </span>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </div>
          )
        }
      </Async>
      <div style={{ height: 16 }} />
      <Card title="Signed-in sessions">
        <Async resource={sessions} rows={2}>
          {(data) =>
            data.data.length === 0 ? (
              <p className="muted">No session is open.</p>
            ) : (
              <div className="table-wrap">
                <table className="table" data-testid="sessions-table">
                  <thead>
                    <tr>
                      <th>User</th>
                      <th>How</th>
                      <th>From</th>
                      <th>Last seen</th>
                      <th>Expires</th>
                      <th />
                    </tr>
                  </thead>
                  <tbody>
                    {data.data.map((session) => (
                      <tr key={session.id}>
                        <td>{session.username ?? (session.user_id === null ? 'admin token' : names.get(session.user_id) ?? session.user_id)}</td>
                        <td className="small">{session.method}</td>
                        <td className="small mono">{session.address ?? '—'}</td>
                        <td className="small muted">{formatRelative(session.last_seen_at)}</td>
                        <td className="small muted">{formatDateTime(session.expires_at)}</td>
                        <td className="right">
                          {session.current ? (
                            <Badge>this session</Badge>
                          ) : (
                            <Button size="sm" disabled={busy} onClick={() => void act(() => usersApi.revokeSession(session.id), 'Session ended')}>
                              End session
                            </Button>
                          )}
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
      <Dialog open={editing !== null} title={editing === 'new' ? 'Add a user' : `Edit ${editing?.username ?? ''}`} onClose={() => setEditing(null)}>
        {editing === null ? null : (
          <UserForm
            user={editing === 'new' ? undefined : editing}
            onCancel={() => setEditing(null)}
            onDone={() => {
              setEditing(null);
              list.reload();
            }}
          />
        )}
      </Dialog>
      <ConfirmDialog
        open={removing !== null}
        busy={busy}
        title={`Delete ${removing?.username ?? ''}?`}
        message="Their sessions and API tokens end now. Their past changes stay in the audit log."
        confirmLabel="Delete"
        onClose={() => setRemoving(null)}
        onConfirm={() => {
          const user = removing;
          setRemoving(null);
          if (user !== null) void act(() => usersApi.remove(user.id), `${user.username} deleted`);
        }}
      />
    </>
  );
}
