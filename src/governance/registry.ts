/**
 * The in-memory registry the request path reads: keys by secret hash (and by
 * the secrets seen since the last change, so a known key's secret is hashed
 * once, not per request), teams and customers by id, and for each key what a
 * request needs precompiled (access patterns, the levels it is charged to,
 * its rate-limit specs). Rebuilt in full on every change: changes are rare
 * and come through the management API or the config file, never a request.
 */
import { parseDuration } from './durations.js';
import { hashKey } from './key-secret.js';
import type { LimitSpec, SpendAccount } from './ledger.js';
import { compilePatterns, type PatternSet } from './patterns.js';
import type { CustomerRecord, EntityType, RateLimit, TeamRecord, VirtualKeyRecord } from './types.js';

/** One rate-limit rule of one level, compiled. */
export interface CompiledLimit {
  scope: EntityType;
  ownerId: string;
  index: number;
  rule: RateLimit;
  windowMs: number;
  models: PatternSet;
}

/** A budget-carrying level of a key, as the ledger sees it. */
export interface Level {
  account: SpendAccount;
  refuseUnpriced: boolean;
  hasBudget: boolean;
}

export interface KeyState {
  record: VirtualKeyRecord;
  team: TeamRecord | undefined;
  customer: CustomerRecord | undefined;
  providers: PatternSet | undefined;
  models: PatternSet | undefined;
  /** Key, then team, then customer. */
  levels: Level[];
  limits: CompiledLimit[];
  /** Some level refuses models without a price. */
  refuseUnpriced: boolean;
}

export function accountOf(type: EntityType, record: VirtualKeyRecord | TeamRecord | CustomerRecord): SpendAccount {
  return {
    type,
    id: record.id,
    period: record.budget?.period ?? null,
    anchor: record.created_at,
    limitUsd: record.budget === null ? undefined : record.budget.max_usd,
    ...(record.budget?.fail_mode === undefined ? {} : { failMode: record.budget.fail_mode }),
  };
}

function compileLimits(scope: EntityType, record: VirtualKeyRecord | TeamRecord | CustomerRecord): CompiledLimit[] {
  return record.rate_limits.flatMap((rule, index) => {
    const windowMs = parseDuration(rule.window);
    if (windowMs === undefined) return [];
    return [{ scope, ownerId: record.id, index, rule, windowMs, models: compilePatterns([rule.model]) }];
  });
}

/** The specs of the counters a request for `model` goes through. */
export function limitSpecs(limits: readonly CompiledLimit[], names: readonly string[], counted: string): LimitSpec[] {
  const specs: LimitSpec[] = [];
  for (const limit of limits) {
    if (!names.some((name) => limit.models.matches(name))) continue;
    const base = `${limit.scope}:${limit.ownerId}:${limit.index}`;
    const suffix = limit.rule.per_model ? `:${counted}` : '';
    const common = { scope: limit.scope, windowMs: limit.windowMs, algorithm: limit.rule.algorithm, ...(limit.rule.fail_mode === undefined ? {} : { failMode: limit.rule.fail_mode }) };
    if (limit.rule.requests !== null) specs.push({ ...common, id: `${base}:requests${suffix}`, kind: 'requests', limit: limit.rule.requests });
    if (limit.rule.tokens !== null) specs.push({ ...common, id: `${base}:tokens${suffix}`, kind: 'tokens', limit: limit.rule.tokens });
  }
  return specs;
}

/** Most secrets the registry remembers with their key (see bySecret). */
export const SECRET_CACHE_SIZE = 10_000;

export class Registry {
  readonly keys = new Map<string, VirtualKeyRecord>();
  readonly teams = new Map<string, TeamRecord>();
  readonly customers = new Map<string, CustomerRecord>();
  private byHash = new Map<string, KeyState>();
  private states = new Map<string, KeyState>();
  /** Secrets seen, with their key: only secrets of existing keys, emptied by every rebuild. */
  private secrets = new Map<string, KeyState>();

  /** Number of virtual keys (the request path skips hashing when there are none and enforcement is off). */
  get keyCount(): number {
    return this.keys.size;
  }

  load(customers: readonly CustomerRecord[], teams: readonly TeamRecord[], keys: readonly VirtualKeyRecord[]): void {
    this.customers.clear();
    this.teams.clear();
    this.keys.clear();
    for (const customer of customers) this.customers.set(customer.id, customer);
    for (const team of teams) this.teams.set(team.id, team);
    for (const key of keys) this.keys.set(key.id, key);
    this.rebuild();
  }

  /** Recompiles every key's state; call after any change. */
  rebuild(): void {
    const byHash = new Map<string, KeyState>();
    const states = new Map<string, KeyState>();
    for (const record of this.keys.values()) {
      const state = this.compile(record);
      states.set(record.id, state);
      byHash.set(record.key_hash, state);
    }
    this.byHash = byHash;
    this.states = states;
    // A revoked, rotated, deleted or edited key is looked up by its hash again, at once.
    this.secrets = new Map();
  }

  private compile(record: VirtualKeyRecord): KeyState {
    const team = record.team_id === null ? undefined : this.teams.get(record.team_id);
    const customerId = record.customer_id ?? team?.customer_id ?? null;
    const customer = customerId === null ? undefined : this.customers.get(customerId);
    const levels: Level[] = [{ account: accountOf('key', record), refuseUnpriced: record.budget?.refuse_unpriced === true, hasBudget: record.budget !== null }];
    if (team !== undefined) levels.push({ account: accountOf('team', team), refuseUnpriced: team.budget?.refuse_unpriced === true, hasBudget: team.budget !== null });
    if (customer !== undefined) levels.push({ account: accountOf('customer', customer), refuseUnpriced: customer.budget?.refuse_unpriced === true, hasBudget: customer.budget !== null });
    const limits = [...compileLimits('key', record)];
    if (team !== undefined) limits.push(...compileLimits('team', team));
    if (customer !== undefined) limits.push(...compileLimits('customer', customer));
    return {
      record,
      team,
      customer,
      providers: record.allowed_providers === null ? undefined : compilePatterns(record.allowed_providers),
      models: record.allowed_models === null ? undefined : compilePatterns(record.allowed_models),
      levels,
      limits,
      refuseUnpriced: levels.some((level) => level.refuseUnpriced),
    };
  }

  byKeyHash(hash: string): KeyState | undefined {
    return this.byHash.get(hash);
  }

  /**
   * The key whose secret this is (the secret as sent). A secret seen since the last rebuild is found
   * without hashing it again (perf profile: the SHA-256 was most of authenticating a request). Only the
   * secrets of existing keys are remembered, so unknown ones cannot crowd them out; at most
   * SECRET_CACHE_SIZE, the oldest dropped first.
   */
  bySecret(secret: string): KeyState | undefined {
    const known = this.secrets.get(secret);
    if (known !== undefined) return known;
    const state = this.byHash.get(hashKey(secret));
    if (state === undefined) return undefined;
    if (this.secrets.size >= SECRET_CACHE_SIZE) this.secrets.delete(this.secrets.keys().next().value!);
    this.secrets.set(secret, state);
    return state;
  }

  /** Secrets remembered by bySecret (tests). */
  get rememberedSecrets(): number {
    return this.secrets.size;
  }

  state(id: string): KeyState | undefined {
    return this.states.get(id);
  }

  /** Every budget level known (for the reset sweep and the spend load at start). */
  accounts(): SpendAccount[] {
    const accounts: SpendAccount[] = [];
    for (const record of this.keys.values()) accounts.push(accountOf('key', record));
    for (const record of this.teams.values()) accounts.push(accountOf('team', record));
    for (const record of this.customers.values()) accounts.push(accountOf('customer', record));
    return accounts;
  }
}
