/** Audit log: every configuration change (who, what, which, before and after; secrets redacted), newest first. */
import { Fragment, useEffect, useState } from 'react';
import { audit, users as usersApi } from '../api/endpoints.js';
import { useCan } from '../lib/access.js';
import type { AuditEntry } from '../api/types.js';
import { ChevronIcon } from '../components/icons.js';
import { CodeBlock, EmptyState, Field, PageHeader } from '../components/ui.js';
import { formatDateTime } from '../lib/format.js';
import { setSearch, useLocation, useTitle } from '../lib/router.js';
import { usePagedList } from '../lib/use-paged-list.js';
import { PagedListCard } from '../components/paged-list.js';
import { useResource } from '../lib/use-resource.js';

/** The name inside a before/after value, so a target id ("vk_…") reads as what it is. */
function nameOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const name = (value as { name?: unknown }).name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

export function AuditPage() {
  useTitle('Audit log');
  const { search } = useLocation();
  const action = search.get('action') ?? '';
  const actor = search.get('actor') ?? '';
  const userId = search.get('user_id') ?? '';
  const can = useCan();
  const people = useResource((signal) => (can('GET /api/users') ? usersApi.list(signal) : Promise.resolve({ data: [] })), []);
  const userName = new Map((people.data?.data ?? []).map((user) => [user.id, user.username]));
  const [actionText, setActionText] = useState(action);
  const [actorText, setActorText] = useState(actor);
  useEffect(() => {
    const timer = window.setTimeout(() => {
      if (actionText !== action || actorText !== actor) setSearch({ action: actionText.trim(), actor: actorText.trim(), user_id: userId || undefined });
    }, 300);
    return () => window.clearTimeout(timer);
  }, [actionText, actorText]); // eslint-disable-line react-hooks/exhaustive-deps

  const list = usePagedList<AuditEntry>(
    (cursor, signal) => audit.list({ action, actor, user_id: userId, limit: 50, cursor }, signal),
    [action, actor, userId],
    { pollMs: 15_000 },
  );
  const [open, setOpen] = useState<Set<string>>(new Set());

  const toggle = (id: string): void =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <>
      <PageHeader title="Audit log" description="Every change to providers, keys, routing and settings, from the dashboard, the API or the config file." />
      <div className="card" style={{ marginBottom: 16 }}>
        <form className="filters" role="search" onSubmit={(event) => event.preventDefault()}>
          <Field label="Action" htmlFor="a-action">
            <input id="a-action" placeholder="e.g. provider.create" value={actionText} onChange={(event) => setActionText(event.target.value)} />
          </Field>
          <Field label="Actor" htmlFor="a-actor">
            <input id="a-actor" placeholder="e.g. admin" value={actorText} onChange={(event) => setActorText(event.target.value)} />
          </Field>
          {(people.data?.data.length ?? 0) === 0 ? null : (
            <Field label="User" htmlFor="a-user">
              <select id="a-user" value={userId} onChange={(event) => setSearch({ action, actor, user_id: event.target.value || undefined })}>
                <option value="">Anyone</option>
                {people.data!.data.map((user) => (
                  <option key={user.id} value={user.id}>
                    {user.username}
                  </option>
                ))}
              </select>
            </Field>
          )}
        </form>
      </div>
      <PagedListCard
        list={list}
        errorTitle="Could not load the audit log"
        loadingRows={5}
        moreLabel="Load older entries"
        empty={
          <EmptyState title={action || actor ? 'No entry matches' : 'No change recorded yet'}>Changes made in the dashboard or through /api appear here.</EmptyState>
        }
      >
        {(rows) => (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th style={{ width: 36 }} />
                  <th>Time</th>
                  <th>Actor</th>
                  <th>From</th>
                  <th>Action</th>
                  <th>Target</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((row) => {
                  const id = String(row.id);
                  const expanded = open.has(id);
                  const name = nameOf(row.after) ?? nameOf(row.before);
                  return (
                    <Fragment key={id}>
                      <tr className="clickable-soft" onClick={(event) => (event.target as HTMLElement).closest('button') === null && toggle(id)}>
                        <td>
                          <button type="button" className="btn btn-ghost btn-sm icon-btn" aria-expanded={expanded} aria-label={`${expanded ? 'Hide' : 'Show'} the change ${row.action}`} onClick={() => toggle(id)}>
                            <ChevronIcon width={14} height={14} style={{ transform: expanded ? 'rotate(90deg)' : undefined, transition: 'transform .15s' }} />
                          </button>
                        </td>
                        <td className="nowrap">{formatDateTime(row.time)}</td>
                        <td title={row.user_id ? `user ${userName.get(row.user_id) ?? row.user_id}` : undefined}>{row.actor}</td>
                        <td className="mono small">{row.address ?? '—'}</td>
                        <td className="mono">{row.action}</td>
                        <td className="truncate" title={row.target ?? undefined}>
                          {name !== undefined && name !== row.target ? (
                            <>
                              {name} <span className="mono muted small">{row.target}</span>
                            </>
                          ) : (
                            <span className="mono">{row.target ?? '—'}</span>
                          )}
                        </td>
                      </tr>
                      {expanded ? (
                        <tr>
                          <td />
                          <td colSpan={5}>
                            <div className="grid grid-2" style={{ padding: '4px 0 8px' }}>
                              <CodeBlock label="before" code={row.before === null || row.before === undefined ? '(none)' : JSON.stringify(row.before, null, 2)} maxHeight={320} />
                              <CodeBlock label="after" code={row.after === null || row.after === undefined ? '(none)' : JSON.stringify(row.after, null, 2)} maxHeight={320} />
                            </div>
                          </td>
                        </tr>
                      ) : null}
                    </Fragment>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </PagedListCard>
    </>
  );
}
