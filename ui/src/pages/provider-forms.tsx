/** The add/edit forms of the Providers page: a provider (type, name, base URL, models, first key) and one API key. */
import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/client.js';
import { providers as providersApi, typeBaseUrl, typeLabel, typeName, typeNeedsKey, type ProviderKeyInput } from '../api/endpoints.js';
import type { Provider, ProviderKey } from '../api/types.js';
import { Button, Field, errorMessage } from '../components/ui.js';
import { parseList } from '../lib/format.js';
import { useResource } from '../lib/use-resource.js';

const NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** Field errors from the API's `param`, the rest as a form error. */
function apiErrors(error: unknown, fields: string[]): { field: Record<string, string>; form: string | null } {
  if (error instanceof ApiError && error.param !== null) {
    const name = fields.find((field) => error.param === field || error.param?.endsWith(`.${field}`) || error.param?.startsWith(`${field}.`) || error.param?.startsWith(`${field}[`));
    if (name !== undefined) return { field: { [name]: error.message }, form: null };
  }
  return { field: {}, form: errorMessage(error) };
}

export function ProviderForm({ provider, existing, onSaved, onCancel }: { provider?: Provider; existing: string[]; onSaved(message: string): void; onCancel(): void }) {
  const editing = provider !== undefined;
  const types = useResource((signal) => providersApi.types(signal), []);
  const [type, setType] = useState(provider?.type ?? '');
  const [name, setName] = useState(provider?.name ?? '');
  const [nameTouched, setNameTouched] = useState(editing);
  const [baseUrl, setBaseUrl] = useState(provider?.base_url ?? '');
  const [models, setModels] = useState((provider?.models ?? []).join(', '));
  const [apiKey, setApiKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);

  const typeList = types.data?.data ?? [];
  const selected = typeList.find((item) => typeName(item) === type);
  const needsKey = selected === undefined ? true : typeNeedsKey(selected);

  const chooseType = (value: string): void => {
    setType(value);
    if (!nameTouched) {
      let candidate = value;
      for (let n = 2; existing.includes(candidate); n += 1) candidate = `${value}-${n}`;
      setName(candidate);
    }
  };

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const found: Record<string, string> = {};
    if (type.trim() === '') found.type = 'Choose the kind of provider.';
    if (!NAME.test(name)) found.name = 'Lowercase letters, digits, ".", "_" and "-", starting with a letter or digit.';
    else if (!editing && existing.includes(name)) found.name = 'A provider with this name exists.';
    if (baseUrl.trim() !== '') {
      try {
        new URL(baseUrl.trim());
      } catch {
        found.base_url = 'Enter a full URL, such as http://127.0.0.1:8000/v1.';
      }
    }
    if (type === 'openai-compatible' && baseUrl.trim() === '') found.base_url = 'An OpenAI-compatible server needs its base URL.';
    setErrors(found);
    setFormError(null);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    const body = { type: type.trim(), base_url: baseUrl.trim() === '' ? null : baseUrl.trim(), models: parseList(models) };
    try {
      if (editing) {
        await providersApi.update(provider.name, body);
        onSaved(`${provider.name} saved`);
        return;
      }
      await providersApi.create({ name, ...body, enabled: true, ...(apiKey.trim() === '' ? {} : { api_key: apiKey.trim() }) });
      onSaved(`${name} added`);
    } catch (error) {
      const mapped = apiErrors(error, ['name', 'type', 'base_url', 'models', 'api_key']);
      setErrors(mapped.field);
      setFormError(mapped.form);
      setBusy(false);
    }
  };

  return (
    <form className="form" onSubmit={(event) => void submit(event)} noValidate aria-label={editing ? 'Edit provider' : 'Add provider'}>
      <div className="form-grid">
        <Field label="Provider type" htmlFor="p-type" error={errors.type} hint={selected?.api_key_env ? `Environment variable: ${selected.api_key_env}` : undefined}>
          {typeList.length > 0 ? (
            <select id="p-type" value={type} onChange={(event) => chooseType(event.target.value)} disabled={editing} autoFocus={!editing}>
              <option value="">Choose…</option>
              {typeList.map((item) => (
                <option key={typeName(item)} value={typeName(item)}>
                  {typeLabel(item)}
                </option>
              ))}
            </select>
          ) : (
            <input id="p-type" value={type} placeholder={types.loading ? 'Loading types…' : 'openai, anthropic, openai-compatible…'} onChange={(event) => chooseType(event.target.value.trim())} disabled={editing} autoFocus={!editing} />
          )}
        </Field>
        <Field label="Name" htmlFor="p-name" error={errors.name} hint="Clients call models as name/model.">
          <input
            id="p-name"
            value={name}
            disabled={editing}
            autoComplete="off"
            onChange={(event) => {
              setName(event.target.value.trim());
              setNameTouched(true);
            }}
          />
        </Field>
      </div>
      <Field label="Base URL" htmlFor="p-base" error={errors.base_url} hint="Leave empty for the provider's default; same meaning as the official SDK's base URL.">
        <input id="p-base" type="url" value={baseUrl} placeholder={(selected === undefined ? null : typeBaseUrl(selected)) ?? 'https://…'} onChange={(event) => setBaseUrl(event.target.value)} />
      </Field>
      {editing ? null : (
        <Field label={needsKey ? 'API key' : 'API key (optional)'} htmlFor="p-key" error={errors.api_key} hint="Stored encrypted; only its last 4 characters are ever shown again.">
          <input id="p-key" type="password" autoComplete="off" value={apiKey} onChange={(event) => setApiKey(event.target.value)} />
        </Field>
      )}
      <Field label="Models" htmlFor="p-models" error={errors.models} hint="Comma-separated. Listed in /v1/models and used to route bare model names; empty: any.">
        <input id="p-models" value={models} placeholder="gpt-4o-mini, gpt-4o" onChange={(event) => setModels(event.target.value)} />
      </Field>
      {formError === null ? null : (
        <p className="field-error" role="alert">
          {formError}
        </p>
      )}
      <div className="form-actions">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" busy={busy}>
          {editing ? 'Save' : 'Add provider'}
        </Button>
      </div>
    </form>
  );
}

export function KeyForm({ provider, keyRecord, onSaved, onCancel }: { provider: Provider; keyRecord?: ProviderKey; onSaved(message: string): void; onCancel(): void }) {
  const editing = keyRecord !== undefined;
  const [name, setName] = useState(keyRecord?.name ?? (provider.keys.length === 0 ? 'default' : `key-${provider.keys.length + 1}`));
  const [apiKey, setApiKey] = useState('');
  const [weight, setWeight] = useState(String(keyRecord?.weight ?? 1));
  const [models, setModels] = useState((keyRecord?.models ?? []).join(', '));
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const found: Record<string, string> = {};
    if (name.trim() === '') found.name = 'Give the key a name.';
    if (!editing && apiKey.trim() === '') found.api_key = 'Paste the API key.';
    const weightValue = Number(weight);
    if (weight.trim() === '' || !Number.isFinite(weightValue) || weightValue < 0) found.weight = 'A number, 0 or more.';
    setErrors(found);
    setFormError(null);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    const body: ProviderKeyInput = { name: name.trim(), weight: weightValue, models: parseList(models) };
    if (apiKey.trim() !== '') body.api_key = apiKey.trim();
    try {
      if (editing) await providersApi.updateKey(provider.name, keyRecord.id, body);
      else await providersApi.addKey(provider.name, body);
      onSaved(editing ? `Key ${body.name} saved` : `Key ${body.name} added to ${provider.name}`);
    } catch (error) {
      const mapped = apiErrors(error, ['name', 'api_key', 'weight', 'models']);
      setErrors(mapped.field);
      setFormError(mapped.form);
      setBusy(false);
    }
  };

  return (
    <form className="form" onSubmit={(event) => void submit(event)} noValidate aria-label={editing ? 'Edit key' : 'Add key'}>
      <div className="form-grid">
        <Field label="Name" htmlFor="k-name" error={errors.name}>
          <input id="k-name" value={name} onChange={(event) => setName(event.target.value)} autoFocus />
        </Field>
        <Field label="Weight" htmlFor="k-weight" error={errors.weight} hint="Share of traffic among this provider's keys.">
          <input id="k-weight" type="number" min={0} step="any" value={weight} onChange={(event) => setWeight(event.target.value)} />
        </Field>
      </div>
      <Field label="API key" htmlFor="k-secret" error={errors.api_key} hint={editing ? 'Leave empty to keep the current secret.' : 'Stored encrypted; only its last 4 characters are shown again.'}>
        <input id="k-secret" type="password" autoComplete="off" value={apiKey} onChange={(event) => setApiKey(event.target.value)} placeholder={editing ? `••••${keyRecord.last4}` : ''} />
      </Field>
      <Field label="Models" htmlFor="k-models" error={errors.models} hint="Comma-separated; only these models use this key. Empty: all.">
        <input id="k-models" value={models} onChange={(event) => setModels(event.target.value)} />
      </Field>
      {formError === null ? null : (
        <p className="field-error" role="alert">
          {formError}
        </p>
      )}
      <div className="form-actions">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" busy={busy}>
          {editing ? 'Save key' : 'Add key'}
        </Button>
      </div>
    </form>
  );
}
