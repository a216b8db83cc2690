/**
 * Settings: every section GET /api/settings returns (logging, retention, limits,
 * timeouts, governance switches...), each edited on its own and saved with
 * PATCH /api/settings. Fields are typed from their values, with labels for the known ones.
 */
import { useCan } from '../lib/access.js';
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError } from '../api/client.js';
import { settings as settingsApi } from '../api/endpoints.js';
import { toast } from '../components/toast.js';
import { Async, Button, Card, CodeBlock, Field, PageHeader, Switch, errorMessage } from '../components/ui.js';
import { formatBytes } from '../lib/format.js';
import { useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';

type Value = boolean | number | string | null;

/** Labels and hints for known fields ("section.field"). */
const KNOWN: Record<string, { label: string; hint?: string; bytes?: boolean }> = {
  'logging.bodies': { label: 'Keep request and response bodies', hint: 'Secrets are redacted; each body is capped at the size below.' },
  'logging.max_body_bytes': { label: 'Largest logged body', hint: 'Bytes per body.', bytes: true },
  'logging.retention_days': { label: 'Retention (days)', hint: 'Request logs older than this are deleted; 0 keeps them.' },
  'logging.max_db_bytes': { label: 'Largest database size', hint: 'The oldest logs are deleted above it; 0: no cap.', bytes: true },
  'limits.max_body_bytes': { label: 'Largest request body', hint: 'Bytes; larger requests get 413.', bytes: true },
  'limits.max_in_flight': { label: 'Requests in flight', hint: 'Per process; past it new requests wait in the queue or get 503 with Retry-After. 0: no limit.' },
  'limits.max_queue': { label: 'Queue for a slot', hint: 'Requests that may wait once the limit is reached; 0: none.' },
  'limits.queue_timeout_ms': { label: 'Longest wait in the queue (ms)' },
  'limits.max_event_loop_delay_ms': { label: 'Largest event-loop delay (ms)', hint: 'New requests get 503 while the process runs this late (CPU saturated). 0: off.' },
  'timeouts.connect_ms': { label: 'Connect timeout (ms)' },
  'timeouts.first_byte_ms': { label: 'First byte timeout (ms)', hint: 'Until the response headers arrive.' },
  'timeouts.idle_ms': { label: 'Idle timeout (ms)', hint: 'Longest pause between two chunks of a stream.' },
  'timeouts.total_ms': { label: 'Total timeout (ms)', hint: 'Longest time for a whole upstream call.' },
  'governance.enforce': { label: 'Require a virtual key on every call', hint: 'Off: a call without a key passes; a key that is sent is still checked and its budget and limits apply.' },
  'governance.default_max_output_tokens': { label: 'Assumed output tokens', hint: 'Reserved against budgets when a request sets no max_tokens.' },
  'governance.flush_interval_ms': { label: 'Spend flush interval (ms)', hint: 'How often spend is written to the database.' },
};

/** Object fields edited on their own pages (or too large to show here). */
const ELSEWHERE = new Set(['governance.virtual_keys', 'governance.teams', 'governance.customers']);

const SECTION_TITLES: Record<string, { title: string; description?: string }> = {
  logging: { title: 'Logging and retention', description: 'What the request logs keep, and for how long.' },
  limits: { title: 'Limits' },
  timeouts: { title: 'Upstream timeouts', description: 'Defaults for every provider; empty: no timeout of that kind.' },
  governance: { title: 'Governance', description: 'Virtual keys, budgets and rate limits.' },
};

const ORDER = ['logging', 'limits', 'timeouts', 'governance'];

function humanize(name: string): string {
  const text = name.replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function SettingsPage() {
  useTitle('Settings');
  const settings = useResource((signal) => settingsApi.get(signal), []);
  return (
    <>
      <PageHeader title="Settings" description="Gateway-wide settings. Saved changes apply to the next request, without a restart." />
      <Async resource={settings} rows={6}>
        {(data) => {
          const sections = Object.entries(data as Record<string, unknown>)
            .filter(([, value]) => value !== null && typeof value === 'object' && !Array.isArray(value))
            .sort(([a], [b]) => (ORDER.indexOf(a) === -1 ? 99 : ORDER.indexOf(a)) - (ORDER.indexOf(b) === -1 ? 99 : ORDER.indexOf(b)));
          return (
            <div className="stack">
              {sections.map(([name, value]) => (
                <Section key={name} name={name} values={value as Record<string, unknown>} onSaved={settings.reload} />
              ))}
            </div>
          );
        }}
      </Async>
    </>
  );
}

function Section({ name, values, onSaved }: { name: string; values: Record<string, unknown>; onSaved(): void }) {
  // Read-only for every role but admin: the fields show the values, nothing offers to save them.
  const canSave = useCan()('PATCH /api/settings');
  const editable = Object.entries(values).filter(([, value]) => value === null || ['boolean', 'number', 'string'].includes(typeof value)) as Array<[string, Value]>;
  const other = Object.entries(values).filter(
    ([field, value]) => value !== null && typeof value === 'object' && !ELSEWHERE.has(`${name}.${field}`) && Object.keys(value as object).length > 0,
  );
  const [draft, setDraft] = useState<Record<string, string | boolean>>({});
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const reset = (): void =>
    setDraft(Object.fromEntries(editable.map(([field, value]) => [field, typeof value === 'boolean' ? value : value === null ? '' : String(value)])));
  useEffect(reset, [JSON.stringify(values)]); // eslint-disable-line react-hooks/exhaustive-deps

  const changed = editable.filter(([field, value]) => {
    const current = draft[field];
    if (typeof value === 'boolean') return current !== value;
    return current !== (value === null ? '' : String(value));
  });

  const save = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const patch: Record<string, Value> = {};
    const found: Record<string, string> = {};
    for (const [field, original] of changed) {
      const current = draft[field];
      if (typeof original === 'boolean') patch[field] = current as boolean;
      else if (typeof original === 'number' || original === null) {
        const text = String(current).trim();
        if (text === '') patch[field] = null;
        else if (!Number.isFinite(Number(text))) found[field] = 'Enter a number.';
        else patch[field] = Number(text);
      } else patch[field] = String(current);
    }
    setErrors(found);
    setFormError(null);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    try {
      await settingsApi.patch({ [name]: patch });
      toast(`${SECTION_TITLES[name]?.title ?? humanize(name)} saved`);
      onSaved();
    } catch (error) {
      const param = error instanceof ApiError ? (error.param ?? '') : '';
      const field = editable.find(([key]) => param.endsWith(key))?.[0];
      if (field !== undefined) setErrors({ [field]: (error as ApiError).message });
      else setFormError(errorMessage(error));
    } finally {
      setBusy(false);
    }
  };

  const meta = SECTION_TITLES[name];
  return (
    <Card title={meta?.title ?? humanize(name)} id={`settings-${name}`}>
      {meta?.description ? (
        <p className="muted" style={{ marginTop: -6, marginBottom: 12 }}>
          {meta.description}
        </p>
      ) : null}
      <form className="form" onSubmit={(event) => void save(event)} aria-label={meta?.title ?? humanize(name)}>
        <fieldset disabled={!canSave} style={{ border: 0, padding: 0, margin: 0, minWidth: 0 }}>
        <div className="form-grid">
          {editable.map(([field, original]) => {
            const known = KNOWN[`${name}.${field}`];
            const id = `s-${name}-${field}`;
            const label = known?.label ?? humanize(field);
            if (typeof original === 'boolean') {
              return (
                <div key={field} className="field" style={{ gridColumn: '1 / -1' }}>
                  <div className="check">
                    <Switch label={label} checked={draft[field] === true} onChange={(value) => setDraft((current) => ({ ...current, [field]: value }))} />
                    <span>
                      {label}
                      {known?.hint ? <span className="field-hint" style={{ display: 'block' }}>{known.hint}</span> : null}
                    </span>
                  </div>
                </div>
              );
            }
            const text = String(draft[field] ?? '');
            const bytesHint = known?.bytes && text !== '' && Number.isFinite(Number(text)) ? ` (${formatBytes(Number(text))})` : '';
            return (
              <Field key={field} label={label} htmlFor={id} error={errors[field]} hint={known?.hint === undefined && bytesHint === '' ? undefined : `${known?.hint ?? ''}${bytesHint}`}>
                <input
                  id={id}
                  type={typeof original === 'string' ? 'text' : 'number'}
                  min={0}
                  step="any"
                  value={text}
                  onChange={(event) => setDraft((current) => ({ ...current, [field]: event.target.value }))}
                />
              </Field>
            );
          })}
        </div>
        {other.map(([field, value]) => (
          <CodeBlock key={field} label={`${name}.${field} (edit through the API or the config file)`} code={JSON.stringify(value, null, 2)} maxHeight={200} />
        ))}
        </fieldset>
        {formError === null ? null : (
          <p className="field-error" role="alert">
            {formError}
          </p>
        )}
        {editable.length === 0 || !canSave ? null : (
          <div className="form-actions">
            <Button onClick={reset} disabled={changed.length === 0 || busy}>
              Reset
            </Button>
            <Button type="submit" variant="primary" disabled={changed.length === 0} busy={busy}>
              Save
            </Button>
          </div>
        )}
      </form>
    </Card>
  );
}
