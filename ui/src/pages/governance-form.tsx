/**
 * One form for virtual keys, teams and customers: name, owner, budget (amount
 * and period), rate limits, allowed models and expiry, as each kind takes them.
 */
import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/client.js';
import { budgetOf, isSimpleRule, limitsOf, type GovernanceInput } from '../api/endpoints.js';
import type { Customer, Team, VirtualKey } from '../api/types.js';
import { Button, Field, errorMessage } from '../components/ui.js';
import { parseList } from '../lib/format.js';

export const PERIODS = [
  { value: '', label: 'Total (never resets)' },
  { value: 'daily', label: 'Per day' },
  { value: 'weekly', label: 'Per week' },
  { value: 'monthly', label: 'Per month' },
];

export interface EntityFormOptions {
  kind: 'virtual key' | 'team' | 'customer';
  teams?: Team[];
  customers?: Customer[];
}

type Entity = VirtualKey | Team | Customer;

function numberOrNull(text: string): number | null | 'invalid' {
  if (text.trim() === '') return null;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : 'invalid';
}

export function EntityForm({ options, entity, onSubmit, onCancel }: { options: EntityFormOptions; entity?: Entity; onSubmit(input: GovernanceInput): Promise<void>; onCancel(): void }) {
  const isKey = options.kind === 'virtual key';
  const key = isKey ? (entity as VirtualKey | undefined) : undefined;
  const budget = entity === undefined ? null : { ...budgetOf(entity), refuseUnpriced: entity.budget?.refuse_unpriced ?? false };
  const rules = entity === undefined ? [] : limitsOf(entity);
  const simple = rules.find(isSimpleRule);
  const otherRules = rules.filter((rule) => rule !== simple);
  const [name, setName] = useState(entity?.name ?? '');
  const [description, setDescription] = useState(entity?.description ?? '');
  const [teamId, setTeamId] = useState((entity as VirtualKey | undefined)?.team_id ?? '');
  const [customerId, setCustomerId] = useState((entity !== undefined && 'customer_id' in entity ? entity.customer_id : null) ?? '');
  const [maxUsd, setMaxUsd] = useState(budget?.max === null || budget === null ? '' : String(budget.max));
  const [period, setPeriod] = useState(budget?.period ?? '');
  const [rpm, setRpm] = useState(simple?.requests == null ? '' : String(simple.requests));
  const [tpm, setTpm] = useState(simple?.tokens == null ? '' : String(simple.tokens));
  const [models, setModels] = useState((key?.allowed_models ?? []).join(', '));
  const [expires, setExpires] = useState(key?.expires_at == null ? '' : new Date(key.expires_at).toISOString().slice(0, 10));
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const found: Record<string, string> = {};
    if (name.trim() === '') found.name = 'Give it a name.';
    const max = numberOrNull(maxUsd);
    if (max === 'invalid') found.budget = 'A dollar amount, 0 or more.';
    const requests = numberOrNull(rpm);
    if (requests === 'invalid' || (requests !== null && (requests < 1 || !Number.isInteger(requests)))) found.rpm = 'A whole number, 1 or more.';
    const tokens = numberOrNull(tpm);
    if (tokens === 'invalid' || (tokens !== null && (tokens < 1 || !Number.isInteger(tokens)))) found.tpm = 'A whole number, 1 or more.';
    setErrors(found);
    setFormError(null);
    if (Object.keys(found).length > 0) return;
    const input: GovernanceInput = {
      name: name.trim(),
      description: description.trim() === '' ? null : description.trim(),
      budget: max === null || max === 'invalid' ? null : { max_usd: max, period: period === '' ? null : period, refuse_unpriced: budget?.refuseUnpriced ?? false },
    };
    if (options.teams !== undefined) input.team_id = teamId === '' ? null : teamId;
    if (options.customers !== undefined) input.customer_id = customerId === '' ? null : customerId;
    // The per-minute fields edit one rule (every model, 1 minute); other rules set through the API stay as they are.
    const rule = requests === null && tokens === null ? [] : [{ model: '*', window: '1m', requests: requests === 'invalid' ? null : requests, tokens: tokens === 'invalid' ? null : tokens }];
    input.rate_limits = [...otherRules, ...rule];
    if (isKey) {
      input.allowed_models = parseList(models);
      input.expires_at = expires === '' ? null : new Date(`${expires}T23:59:59`).getTime();
    }
    setBusy(true);
    try {
      await onSubmit(input);
    } catch (error) {
      const param = error instanceof ApiError ? (error.param ?? '') : '';
      const field = param.startsWith('budget') ? 'budget' : param.startsWith('rate_limits') ? 'rpm' : param === 'name' ? 'name' : null;
      if (field !== null) setErrors({ [field]: (error as ApiError).message });
      else setFormError(errorMessage(error));
      setBusy(false);
    }
  };

  const id = options.kind.replace(' ', '-');
  return (
    <form className="form" onSubmit={(event) => void submit(event)} noValidate aria-label={`${entity === undefined ? 'Create' : 'Edit'} ${options.kind}`}>
      <div className="form-grid">
        <Field label="Name" htmlFor={`${id}-name`} error={errors.name}>
          <input id={`${id}-name`} value={name} onChange={(event) => setName(event.target.value)} autoFocus autoComplete="off" />
        </Field>
        {options.teams === undefined ? null : (
          <Field label="Team" htmlFor={`${id}-team`}>
            <select id={`${id}-team`} value={teamId} onChange={(event) => setTeamId(event.target.value)}>
              <option value="">No team</option>
              {options.teams.map((team) => (
                <option key={team.id} value={team.id}>
                  {team.name}
                </option>
              ))}
            </select>
          </Field>
        )}
        {options.customers === undefined ? null : (
          <Field label="Customer" htmlFor={`${id}-customer`}>
            <select id={`${id}-customer`} value={customerId} onChange={(event) => setCustomerId(event.target.value)}>
              <option value="">No customer</option>
              {options.customers.map((customer) => (
                <option key={customer.id} value={customer.id}>
                  {customer.name}
                </option>
              ))}
            </select>
          </Field>
        )}
      </div>
      <Field label="Description" htmlFor={`${id}-description`}>
        <input id={`${id}-description`} value={description} onChange={(event) => setDescription(event.target.value)} placeholder="Optional" />
      </Field>
      <div className="form-grid">
        <Field label="Budget (USD)" htmlFor={`${id}-budget`} error={errors.budget} hint="Requests are refused (402) once it is spent. Empty: no budget.">
          <input id={`${id}-budget`} type="number" min={0} step="any" inputMode="decimal" value={maxUsd} onChange={(event) => setMaxUsd(event.target.value)} placeholder="No budget" />
        </Field>
        <Field label="Budget period" htmlFor={`${id}-period`}>
          <select id={`${id}-period`} value={period} onChange={(event) => setPeriod(event.target.value)} disabled={maxUsd.trim() === ''}>
            {PERIODS.map((item) => (
              <option key={item.value} value={item.value}>
                {item.label}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <div className="form-grid">
        <Field label="Requests per minute" htmlFor={`${id}-rpm`} error={errors.rpm} hint="Empty: no limit (429 above it).">
          <input id={`${id}-rpm`} type="number" min={1} step={1} value={rpm} onChange={(event) => setRpm(event.target.value)} placeholder="No limit" />
        </Field>
        <Field label="Tokens per minute" htmlFor={`${id}-tpm`} error={errors.tpm} hint={otherRules.length > 0 ? `${otherRules.length} more rule(s) set through the API are kept.` : undefined}>
          <input id={`${id}-tpm`} type="number" min={1} step={1} value={tpm} onChange={(event) => setTpm(event.target.value)} placeholder="No limit" />
        </Field>
      </div>
      {isKey ? (
        <>
          <div className="form-grid">
            <Field label="Allowed models" htmlFor={`${id}-models`} hint="Comma-separated provider/model names. Empty: all.">
              <input id={`${id}-models`} value={models} onChange={(event) => setModels(event.target.value)} placeholder="All models" />
            </Field>
            <Field label="Expires" htmlFor={`${id}-expires`} hint="Empty: never.">
              <input id={`${id}-expires`} type="date" value={expires} onChange={(event) => setExpires(event.target.value)} />
            </Field>
          </div>
        </>
      ) : null}
      {formError === null ? null : (
        <p className="field-error" role="alert">
          {formError}
        </p>
      )}
      <div className="form-actions">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" busy={busy}>
          {entity === undefined ? `Create ${options.kind}` : 'Save'}
        </Button>
      </div>
    </form>
  );
}
