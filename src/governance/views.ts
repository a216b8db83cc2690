/**
 * The management API's shapes (JSON, snake_case; ui/src/api/types.ts mirrors
 * them): records with their live spend, remaining budget and, for one key,
 * the state of each rate limit.
 */
import type { SpendLedger } from './ledger.js';
import { accountOf, limitSpecs, type Registry } from './registry.js';
import { parseDuration } from './durations.js';
import type { Budget, CustomerRecord, EntityType, RateLimit, TeamRecord, VirtualKeyRecord } from './types.js';

export interface BudgetView extends Budget {
  spend_usd: number;
  /** Reserved by requests in flight. */
  reserved_usd: number;
  remaining_usd: number;
  /** Start of the current window (0: the budget never resets). */
  period_start: number;
  /** When the current window ends; null: never. */
  resets_at: number | null;
}

export interface SpendView {
  budget: BudgetView | null;
  /** Spend of the current budget window (the whole life of the entity when it has no budget). */
  spend_usd: number;
  tokens: number;
  requests: number;
}

export interface LimitStateView {
  limit: number;
  remaining: number;
  reset_ms: number;
}

export interface RateLimitView extends RateLimit {
  scope: 'virtual_key' | 'team' | 'customer';
  /** Current state; null for per_model limits (one counter per model). */
  requests_state: LimitStateView | null;
  tokens_state: LimitStateView | null;
}

type Entity = VirtualKeyRecord | TeamRecord | CustomerRecord;

export function spendView(ledger: SpendLedger, type: EntityType, record: Entity, now: number): SpendView {
  const account = accountOf(type, record);
  const state = ledger.account(account, now);
  const round = (value: number): number => Math.round(value * 1e8) / 1e8;
  const budget: BudgetView | null = record.budget === null
    ? null
    : {
        ...record.budget,
        spend_usd: round(state.spendUsd),
        reserved_usd: round(state.reservedUsd),
        remaining_usd: round(Math.max(0, record.budget.max_usd - state.spendUsd)),
        period_start: state.window.start,
        resets_at: Number.isFinite(state.window.end) ? state.window.end : null,
      };
  return { budget, spend_usd: round(state.spendUsd), tokens: state.tokens, requests: state.requests };
}

function status(record: VirtualKeyRecord, now: number): 'active' | 'revoked' | 'expired' {
  if (record.status === 'revoked') return 'revoked';
  if (record.expires_at !== null && record.expires_at <= now) return 'expired';
  return 'active';
}

export function keyView(record: VirtualKeyRecord, ledger: SpendLedger, now: number) {
  const { key_hash: _hash, status: _status, ...rest } = record;
  const spend = spendView(ledger, 'key', record, now);
  return {
    ...rest,
    status: status(record, now),
    budget: spend.budget,
    spend_usd: spend.spend_usd,
    tokens: spend.tokens,
    requests: spend.requests,
  };
}

/** One key with the state of every rate limit it goes through (its own, its team's, its customer's). */
export function keyDetailView(record: VirtualKeyRecord, registry: Registry, ledger: SpendLedger, now: number) {
  const state = registry.state(record.id);
  const limits: RateLimitView[] = [];
  for (const compiled of state?.limits ?? []) {
    const rule = compiled.rule;
    const scope = compiled.scope === 'key' ? 'virtual_key' : compiled.scope;
    let requests: LimitStateView | null = null;
    let tokens: LimitStateView | null = null;
    if (!rule.per_model) {
      for (const spec of limitSpecs([compiled], ['*', rule.model], '')) {
        const reading = ledger.limitState(spec, now);
        const view = { limit: reading.limit, remaining: reading.remaining, reset_ms: reading.resetMs };
        if (spec.kind === 'requests') requests = view;
        else tokens = view;
      }
    }
    limits.push({ ...rule, scope, requests_state: requests, tokens_state: tokens });
  }
  return {
    ...keyView(record, ledger, now),
    team_budget: state?.team === undefined ? null : spendView(ledger, 'team', state.team, now).budget,
    customer_budget: state?.customer === undefined ? null : spendView(ledger, 'customer', state.customer, now).budget,
    limits,
  };
}

export function teamView(record: TeamRecord, registry: Registry, ledger: SpendLedger, now: number) {
  const spend = spendView(ledger, 'team', record, now);
  let keyCount = 0;
  for (const key of registry.keys.values()) if (key.team_id === record.id) keyCount++;
  return { ...record, budget: spend.budget, spend_usd: spend.spend_usd, tokens: spend.tokens, requests: spend.requests, key_count: keyCount };
}

export function customerView(record: CustomerRecord, registry: Registry, ledger: SpendLedger, now: number) {
  const spend = spendView(ledger, 'customer', record, now);
  let teamCount = 0;
  let keyCount = 0;
  for (const team of registry.teams.values()) if (team.customer_id === record.id) teamCount++;
  for (const id of registry.keys.keys()) if (registry.state(id)?.customer?.id === record.id) keyCount++;
  return { ...record, budget: spend.budget, spend_usd: spend.spend_usd, tokens: spend.tokens, requests: spend.requests, team_count: teamCount, key_count: keyCount };
}

/** Window length in ms of a rate limit (for display). */
export function windowMs(rule: RateLimit): number {
  return parseDuration(rule.window) ?? 0;
}
