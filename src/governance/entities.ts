/**
 * Changes to customers, teams and virtual keys: validated against each other,
 * written to the database (when there is one) with their audit entry in one
 * transaction, then applied to the in-memory registry. The request path never
 * comes here.
 */
import { GatewayError, invalidField } from '../errors/gateway-error.js';
import type { AuditInput } from '../store/config-types.js';
import { budgetWindow } from './durations.js';
import { displayKey, generateKeySecret, hashKey, newId } from './key-secret.js';
import type { AccountState, SpendLedger, SpendRow } from './ledger.js';
import { accountOf, type Registry } from './registry.js';
import type { GovernanceRepo, Table } from './repo.js';
import type { AnyRecord, Budget, CustomerRecord, EntitySource, EntityType, RateLimit, TeamRecord, VirtualKeyRecord } from './types.js';

export interface EntityInput {
  name?: string;
  description?: string | null;
  budget?: Budget | null;
  rate_limits?: RateLimit[] | null;
  metadata?: Record<string, unknown> | null;
  status?: 'active' | 'disabled';
}

/** MCP allow-lists of a key or team (docs/mcp.md). */
export interface McpAccessInput {
  allowed_mcp_servers?: string[] | null;
  allowed_mcp_tools?: string[] | null;
}

export interface TeamInput extends EntityInput, McpAccessInput {
  customer_id?: string | null;
}

export interface KeyInput extends Omit<EntityInput, 'status'>, McpAccessInput {
  team_id?: string | null;
  customer_id?: string | null;
  allowed_providers?: string[] | null;
  allowed_models?: string[] | null;
  expires_at?: number | null;
}

export interface EntityDeps {
  registry: Registry;
  ledger: SpendLedger;
  repo: GovernanceRepo | undefined;
  audit: ((entry: AuditInput) => void) | undefined;
  now(): number;
}

const TABLE: Record<EntityType, Table> = { key: 'virtual_keys', team: 'teams', customer: 'customers' };
const AUDIT_NAME: Record<EntityType, string> = { key: 'virtual_key', team: 'team', customer: 'customer' };

/** A record as it goes into the audit log: never the key hash. */
export function auditable(record: AnyRecord | undefined): unknown {
  if (record === undefined) return undefined;
  if ('key_hash' in record) {
    const { key_hash: _hash, ...rest } = record;
    return rest;
  }
  return record;
}

/** The MCP allow-lists after an input: what it sets, else what was there. */
function mcpAccess(input: McpAccessInput, before: { allowed_mcp_servers?: string[] | null; allowed_mcp_tools?: string[] | null } | undefined) {
  return {
    allowed_mcp_servers: input.allowed_mcp_servers !== undefined ? input.allowed_mcp_servers : (before?.allowed_mcp_servers ?? null),
    allowed_mcp_tools: input.allowed_mcp_tools !== undefined ? input.allowed_mcp_tools : (before?.allowed_mcp_tools ?? null),
  };
}

function notFound(what: string, id: string): GatewayError {
  return new GatewayError('HD_ERR_ADMIN_NOT_FOUND', `No ${what} with id "${id}".`, { param: 'id' });
}

export class Entities {
  constructor(private readonly deps: EntityDeps) {}

  private get registry(): Registry {
    return this.deps.registry;
  }

  /** Writes, audits and applies one change; the database part is one transaction. */
  private commit(type: EntityType, action: string, actor: string, before: AnyRecord | undefined, after: AnyRecord | undefined, extra?: () => void): void {
    const { repo, audit } = this.deps;
    const id = (after ?? before)!.id;
    // The spend of the window in force before the change (read before the registry moves on).
    const previous = before === undefined ? undefined : this.deps.ledger.account(accountOf(type, before), this.deps.now());
    const write = (): void => {
      if (repo !== undefined) {
        if (after === undefined) repo.delete(TABLE[type], id);
        else repo.put(TABLE[type], after);
      }
      extra?.();
      audit?.({ actor, action: `${AUDIT_NAME[type]}.${action}`, target: id, before: auditable(before), after: auditable(after) });
    };
    if (repo !== undefined) repo.transaction(write);
    else write();
    const map = (type === 'key' ? this.registry.keys : type === 'team' ? this.registry.teams : this.registry.customers) as Map<string, AnyRecord>;
    if (after === undefined) {
      map.delete(id);
      this.deps.ledger.forget(type, id);
    } else map.set(id, after);
    this.registry.rebuild();
    if (after !== undefined && before !== undefined && before.budget?.period !== after.budget?.period) this.reseed(type, after, previous);
  }

  /**
   * A budget's period changed: the new window's spend is the old window's (in memory,
   * exact) plus or minus what the request logs hold between the two window starts.
   */
  private reseed(type: EntityType, after: AnyRecord, previous: AccountState | undefined): void {
    const { repo, ledger } = this.deps;
    if (previous === undefined) return;
    const now = this.deps.now();
    const from = previous.window.start;
    const to = budgetWindow(after.budget?.period ?? null, now, after.created_at).start;
    if (from === to) return;
    // Without a database (tests) the old window's spend carries over as it is.
    const between = repo === undefined
      ? { spend_usd: 0, tokens: 0, requests: 0 }
      : repo.loggedSpend(type, after.id, Math.min(from, to), Math.max(from, to));
    const sign = to < from ? 1 : -1;
    const row: SpendRow = {
      entity_type: type, entity_id: after.id, period_start: to, updated_at: now,
      spend_usd: Math.max(0, previous.spendUsd + sign * between.spend_usd),
      tokens: Math.max(0, previous.tokens + sign * between.tokens),
      requests: Math.max(0, previous.requests + sign * between.requests),
    };
    ledger.load([row]);
  }

  private checkName(type: 'team' | 'customer', name: string, id: string | undefined): void {
    const map: Map<string, TeamRecord | CustomerRecord> = type === 'team' ? this.registry.teams : this.registry.customers;
    for (const other of map.values()) {
      if (other.name === name && other.id !== id) {
        throw new GatewayError('HD_ERR_ADMIN_CONFLICT', `A ${type} named "${name}" already exists.`, { param: 'name' });
      }
    }
  }

  private checkRefs(input: { team_id?: string | null; customer_id?: string | null }): void {
    if (input.team_id != null && !this.registry.teams.has(input.team_id)) throw invalidField('team_id', `team_id: no team with id "${input.team_id}".`);
    if (input.customer_id != null && !this.registry.customers.has(input.customer_id)) {
      throw invalidField('customer_id', `customer_id: no customer with id "${input.customer_id}".`);
    }
  }

  private base(input: EntityInput, previous: AnyRecord | undefined, now: number, source: EntitySource) {
    return {
      name: input.name ?? previous?.name ?? '',
      description: input.description !== undefined ? input.description : (previous?.description ?? null),
      budget: input.budget !== undefined ? input.budget : (previous?.budget ?? null),
      rate_limits: input.rate_limits !== undefined ? (input.rate_limits ?? []) : (previous?.rate_limits ?? []),
      metadata: input.metadata !== undefined ? (input.metadata ?? {}) : (previous?.metadata ?? {}),
      source,
      created_at: previous?.created_at ?? now,
      updated_at: now,
    };
  }

  // ── customers ──────────────────────────────────────────────────────────────

  putCustomer(id: string | undefined, input: EntityInput, actor: string, source: EntitySource = 'store'): CustomerRecord {
    const before = id === undefined ? undefined : this.registry.customers.get(id);
    if (id !== undefined && before === undefined && source === 'store') throw notFound('customer', id);
    const name = input.name ?? before?.name;
    if (name === undefined || name === '') throw invalidField('name', 'name: required.');
    this.checkName('customer', name, id);
    const now = this.deps.now();
    const after: CustomerRecord = {
      id: id ?? newId('cus'),
      ...this.base({ ...input, name }, before, now, source),
      status: input.status ?? before?.status ?? 'active',
    };
    this.commit('customer', before === undefined ? 'create' : 'update', actor, before, after);
    return after;
  }

  deleteCustomer(id: string, actor: string): void {
    const before = this.registry.customers.get(id);
    if (before === undefined) throw notFound('customer', id);
    // The database sets the references to NULL (ON DELETE SET NULL); memory follows.
    const orphans = (): void => {
      for (const team of this.registry.teams.values()) if (team.customer_id === id) team.customer_id = null;
      for (const key of this.registry.keys.values()) if (key.customer_id === id) key.customer_id = null;
    };
    this.commit('customer', 'delete', actor, before, undefined, orphans);
  }

  // ── teams ──────────────────────────────────────────────────────────────────

  putTeam(id: string | undefined, input: TeamInput, actor: string, source: EntitySource = 'store'): TeamRecord {
    const before = id === undefined ? undefined : this.registry.teams.get(id);
    if (id !== undefined && before === undefined && source === 'store') throw notFound('team', id);
    const name = input.name ?? before?.name;
    if (name === undefined || name === '') throw invalidField('name', 'name: required.');
    this.checkName('team', name, id);
    this.checkRefs({ customer_id: input.customer_id });
    const now = this.deps.now();
    const after: TeamRecord = {
      id: id ?? newId('team'),
      ...this.base({ ...input, name }, before, now, source),
      customer_id: input.customer_id !== undefined ? input.customer_id : (before?.customer_id ?? null),
      status: input.status ?? before?.status ?? 'active',
      ...mcpAccess(input, before),
    };
    this.commit('team', before === undefined ? 'create' : 'update', actor, before, after);
    return after;
  }

  deleteTeam(id: string, actor: string): void {
    const before = this.registry.teams.get(id);
    if (before === undefined) throw notFound('team', id);
    const orphans = (): void => {
      for (const key of this.registry.keys.values()) if (key.team_id === id) key.team_id = null;
    };
    this.commit('team', 'delete', actor, before, undefined, orphans);
  }

  // ── virtual keys ───────────────────────────────────────────────────────────

  /** Creates a key; the secret is returned once and only its hash is kept. */
  createKey(input: KeyInput, actor: string, options: { id?: string; secret?: string; source?: EntitySource } = {}): { record: VirtualKeyRecord; secret: string } {
    if (input.name === undefined || input.name === '') throw invalidField('name', 'name: required.');
    this.checkRefs(input);
    const secret = options.secret ?? generateKeySecret();
    const hash = hashKey(secret);
    if (this.registry.byKeyHash(hash) !== undefined) throw new GatewayError('HD_ERR_ADMIN_CONFLICT', 'Another virtual key already has this secret.', { param: 'key' });
    const now = this.deps.now();
    const record: VirtualKeyRecord = {
      id: options.id ?? newId('vk'),
      ...this.base(input, undefined, now, options.source ?? 'store'),
      key_hash: hash,
      key_prefix: displayKey(secret),
      team_id: input.team_id ?? null,
      customer_id: input.customer_id ?? null,
      allowed_providers: input.allowed_providers ?? null,
      allowed_models: input.allowed_models ?? null,
      ...mcpAccess(input, undefined),
      status: 'active',
      expires_at: input.expires_at ?? null,
      last_used_at: null,
      rotated_at: null,
    };
    this.commit('key', 'create', actor, undefined, record);
    return { record, secret };
  }

  updateKey(id: string, input: KeyInput, actor: string, source?: EntitySource): VirtualKeyRecord {
    const before = this.registry.keys.get(id);
    if (before === undefined) throw notFound('virtual key', id);
    this.checkRefs(input);
    const now = this.deps.now();
    const after: VirtualKeyRecord = {
      ...before,
      ...this.base(input, before, now, source ?? before.source),
      team_id: input.team_id !== undefined ? input.team_id : before.team_id,
      customer_id: input.customer_id !== undefined ? input.customer_id : before.customer_id,
      allowed_providers: input.allowed_providers !== undefined ? input.allowed_providers : before.allowed_providers,
      allowed_models: input.allowed_models !== undefined ? input.allowed_models : before.allowed_models,
      expires_at: input.expires_at !== undefined ? input.expires_at : before.expires_at,
      ...mcpAccess(input, before),
    };
    this.commit('key', 'update', actor, before, after);
    return after;
  }

  /** A new secret for the same key (same id, budget, spend); the old secret stops working at once. */
  rotateKey(id: string, actor: string, secret?: string): { record: VirtualKeyRecord; secret: string } {
    const before = this.registry.keys.get(id);
    if (before === undefined) throw notFound('virtual key', id);
    const next = secret ?? generateKeySecret();
    const now = this.deps.now();
    const after: VirtualKeyRecord = { ...before, key_hash: hashKey(next), key_prefix: displayKey(next), status: 'active', rotated_at: now, updated_at: now };
    this.commit('key', 'rotate', actor, before, after);
    return { record: after, secret: next };
  }

  revokeKey(id: string, actor: string): VirtualKeyRecord {
    const before = this.registry.keys.get(id);
    if (before === undefined) throw notFound('virtual key', id);
    const after: VirtualKeyRecord = { ...before, status: 'revoked', updated_at: this.deps.now() };
    this.commit('key', 'revoke', actor, before, after);
    return after;
  }

  deleteKey(id: string, actor: string): void {
    const before = this.registry.keys.get(id);
    if (before === undefined) throw notFound('virtual key', id);
    this.commit('key', 'delete', actor, before, undefined);
  }
}
