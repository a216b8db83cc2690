/**
 * Every management API call the dashboard makes, in one place (routes from the
 * contract in docs/api.md and docs/governance.md), plus readers that accept the
 * few field spellings the contract leaves open (budget as an object or flat).
 */
import { api, seg, withQuery, type Query } from './client.js';
import type {
  ApiToken,
  AuditEntry,
  AuthStatus,
  Role,
  Session,
  User,
  Budget,
  BudgetSpec,
  CacheShadowMatch,
  CacheStats,
  Customer,
  ListResponse,
  LogDetail,
  LogStats,
  LogSummary,
  ModelGroup,
  Provider,
  ProviderKey,
  ProviderTestResult,
  ProviderType,
  RateLimitRule,
  Routing,
  RoutingHealth,
  PricingTable,
  Settings,
  Team,
  UsageGroup,
  UsagePeriod,
  UsageReport,
  VirtualKey,
  VirtualKeyCreated,
  VirtualKeyDetail,
} from './types.js';
import type { ClusterView } from './cluster-types.js';

export const cache = {
  stats: (signal?: AbortSignal) => api.get<CacheStats>('/api/cache/stats', undefined, signal),
  shadow: (limit: number, signal?: AbortSignal) => api.get<{ data: CacheShadowMatch[] }>('/api/cache/shadow', { limit }, signal),
  invalidate: (filter: { virtual_key?: string; model?: string; id?: string }) => api.delete<{ deleted: number }>(withQuery('/api/cache', filter)),
};

export const cluster = {
  view: (signal?: AbortSignal) => api.get<ClusterView>('/api/cluster', undefined, signal),
};

export const auth = {
  status: () => api.get<AuthStatus>('/api/auth/status'),
  login: (token: string) => api.post<unknown>('/api/auth/login', { token }),
  loginPassword: (username: string, password: string) => api.post<unknown>('/api/auth/login', { username, password }),
  setup: (input: { setup_token: string; username: string; password: string }) => api.post<unknown>('/api/auth/setup', input),
  logout: () => api.post<{ end_session_url?: string }>('/api/auth/logout'),
  me: (signal?: AbortSignal) => api.get<{ user: User | null; role: Role | null; sessions: Session[] }>('/api/auth/me', undefined, signal),
  changePassword: (current_password: string, new_password: string) => api.post<unknown>('/api/auth/password', { current_password, new_password }),
  tokens: (signal?: AbortSignal) => api.get<{ data: ApiToken[] }>('/api/auth/tokens', undefined, signal),
  createToken: (input: { name: string; scopes: string[]; expires_in_days?: number; expires_at?: null }) => api.post<ApiToken & { token: string }>('/api/auth/tokens', input),
  deleteToken: (id: string) => api.delete<unknown>(`/api/auth/tokens/${seg(id)}`),
};

export interface UserInput {
  username?: string;
  password?: string;
  role?: Role;
  team_id?: string | null;
  view_bodies?: boolean;
  disabled?: boolean;
  unlock?: true;
  display_name?: string | null;
  email?: string | null;
}

export const users = {
  list: (signal?: AbortSignal) => api.get<{ data: User[] }>('/api/users', undefined, signal),
  create: (input: UserInput) => api.post<User>('/api/users', input),
  update: (id: string, input: UserInput) => api.patch<User>(`/api/users/${seg(id)}`, input),
  remove: (id: string) => api.delete<unknown>(`/api/users/${seg(id)}`),
  sessions: (signal?: AbortSignal) => api.get<{ data: Session[] }>('/api/sessions', undefined, signal),
  revokeSession: (id: string) => api.delete<unknown>(`/api/sessions/${seg(id)}`),
};

export interface ProviderInput {
  name: string;
  type: string;
  base_url?: string | null;
  enabled?: boolean;
  models?: string[] | null;
  /** Creates the provider with one key named "default" (POST only). */
  api_key?: string;
}

export interface ProviderKeyInput {
  name?: string;
  api_key?: string;
  weight?: number;
  models?: string[] | null;
  enabled?: boolean;
}

export const providers = {
  list: (signal?: AbortSignal) => api.get<ListResponse<Provider>>('/api/providers', undefined, signal),
  types: (signal?: AbortSignal) => api.get<ListResponse<ProviderType>>('/api/provider-types', undefined, signal),
  create: (input: ProviderInput) => api.post<Provider>('/api/providers', input),
  update: (name: string, patch: Partial<ProviderInput>) => api.patch<Provider>(`/api/providers/${seg(name)}`, patch),
  remove: (name: string) => api.delete<unknown>(`/api/providers/${seg(name)}`),
  addKey: (name: string, key: ProviderKeyInput) => api.post<ProviderKey>(`/api/providers/${seg(name)}/keys`, key),
  updateKey: (name: string, id: string, patch: ProviderKeyInput) => api.patch<ProviderKey>(`/api/providers/${seg(name)}/keys/${seg(id)}`, patch),
  removeKey: (name: string, id: string) => api.delete<unknown>(`/api/providers/${seg(name)}/keys/${seg(id)}`),
  test: (name: string, body: { model?: string } = {}) => api.post<ProviderTestResult>(`/api/providers/${seg(name)}/test`, body),
  health: (signal?: AbortSignal) => api.get<RoutingHealth>('/api/routing/health', undefined, signal),
};

export const routing = {
  get: (signal?: AbortSignal) => api.get<Routing>('/api/routing', undefined, signal),
  patch: (patch: Partial<Pick<Routing, 'default_provider' | 'default_model' | 'strict_params'>>) => api.patch<Routing>('/api/routing', patch),
  setAlias: (alias: string, target: string) => api.put<unknown>(`/api/routing/aliases/${seg(alias)}`, { target }),
  removeAlias: (alias: string) => api.delete<unknown>(`/api/routing/aliases/${seg(alias)}`),
  setFallbacks: (model: string, fallbacks: string[]) => api.put<unknown>(`/api/routing/fallbacks/${seg(model)}`, { fallbacks }),
  removeFallbacks: (model: string) => api.delete<unknown>(`/api/routing/fallbacks/${seg(model)}`),
  createGroup: (group: Omit<ModelGroup, 'id' | 'source'>) => api.post<ModelGroup>('/api/routing/model-groups', group),
  updateGroup: (name: string, patch: Partial<Omit<ModelGroup, 'id' | 'source'>>) => api.patch<ModelGroup>(`/api/routing/model-groups/${seg(name)}`, patch),
  removeGroup: (name: string) => api.delete<unknown>(`/api/routing/model-groups/${seg(name)}`),
};

export interface LogQuery extends Query {
  from?: number;
  to?: number;
  provider?: string;
  model?: string;
  status_class?: string;
  virtual_key_id?: string;
  q?: string;
  limit?: number;
  cursor?: string;
}

export const logs = {
  list: (query: LogQuery, signal?: AbortSignal) => api.get<ListResponse<LogSummary>>('/api/logs', query, signal),
  get: (id: string, signal?: AbortSignal) => api.get<LogDetail>(`/api/logs/${seg(id)}`, undefined, signal),
  stats: (query: { from: number; to: number; bucket_ms?: number; top?: number }, signal?: AbortSignal) => api.get<LogStats>('/api/logs/stats', query, signal),
};

export const settings = {
  get: (signal?: AbortSignal) => api.get<Settings>('/api/settings', undefined, signal),
  patch: (patch: Record<string, unknown>) => api.patch<Settings>('/api/settings', patch),
};

export const audit = {
  list: (query: Query, signal?: AbortSignal) => api.get<ListResponse<AuditEntry>>('/api/audit', query, signal),
};

/** A batch job made through the gateway (GET /api/batches). */
/** GET /api/batches rows: the server's declaration (types only). */
export type { BatchJob } from '../../../src/store/batch-view.js';
import type { BatchJob } from '../../../src/store/batch-view.js';

export const batches = {
  list: (query: Query, signal?: AbortSignal) => api.get<ListResponse<BatchJob>>('/api/batches', query, signal),
};

export interface UsageQuery {
  period: UsagePeriod;
  group_by: UsageGroup;
  key?: string;
  team?: string;
  customer?: string;
}

export const usage = {
  get: (query: UsageQuery, signal?: AbortSignal): Promise<UsageReport> => api.get<UsageReport>('/api/usage', { ...query }, signal),
};

export const pricing = {
  get: (signal?: AbortSignal) => api.get<PricingTable>('/api/pricing', undefined, signal),
};

/** Fields the create/edit forms send for keys, teams and customers. */
export interface GovernanceInput {
  name?: string;
  description?: string | null;
  team_id?: string | null;
  customer_id?: string | null;
  budget?: Omit<BudgetSpec, 'refuse_unpriced'> & { refuse_unpriced?: boolean } | null;
  /** algorithm and per_model take the server's defaults when left out. */
  rate_limits?: Array<Omit<RateLimitRule, 'algorithm' | 'per_model'> & Partial<Pick<RateLimitRule, 'algorithm' | 'per_model'>>>;
  allowed_models?: string[] | null;
  expires_at?: number | null;
  /** Teams and customers: "disabled" refuses the calls of all their keys. */
  status?: 'active' | 'disabled';
}

/**
 * Every item of a cursor-paged list (GET ?limit=&cursor=, `next_cursor` until the last page),
 * up to `max` items: the tables and pickers show them all.
 */
async function listAll<T>(path: string, signal?: AbortSignal, max = 20_000): Promise<ListResponse<T>> {
  const data: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await api.get<ListResponse<T>>(path, { limit: 1000, cursor }, signal);
    data.push(...page.data);
    if (page.next_cursor === undefined || page.next_cursor === null || page.data.length === 0 || data.length >= max) return { data, next_cursor: page.next_cursor ?? null };
    cursor = page.next_cursor;
  }
}

function crud<T>(path: string) {
  return {
    list: (signal?: AbortSignal) => listAll<T>(path, signal),
    get: (id: string, signal?: AbortSignal) => api.get<T>(`${path}/${seg(id)}`, undefined, signal),
    create: <R = T>(input: GovernanceInput) => api.post<R>(path, input),
    update: (id: string, patch: GovernanceInput) => api.patch<T>(`${path}/${seg(id)}`, patch),
    remove: (id: string) => api.delete<unknown>(`${path}/${seg(id)}`),
  };
}

export const virtualKeys = {
  ...crud<VirtualKey>('/api/virtual-keys'),
  detail: (id: string, signal?: AbortSignal) => api.get<VirtualKeyDetail>(`/api/virtual-keys/${seg(id)}`, undefined, signal),
  rotate: (id: string) => api.post<VirtualKeyCreated>(`/api/virtual-keys/${seg(id)}/rotate`),
  revoke: (id: string) => api.post<VirtualKey>(`/api/virtual-keys/${seg(id)}/revoke`),
};
export const teams = crud<Team>('/api/teams');
export type GroupApi = ReturnType<typeof crud<Team | Customer>>;
export const customers = crud<Customer>('/api/customers');

/* Readers for the governance entities. */

export function budgetOf(entity: { budget: Budget | null; spend_usd: number }): { max: number | null; spend: number; period: string | null } {
  const budget = entity.budget;
  return { max: budget?.max_usd ?? null, spend: budget?.spend_usd ?? entity.spend_usd ?? 0, period: budget?.period ?? null };
}

export function limitsOf(entity: { rate_limits?: RateLimitRule[] | null }): RateLimitRule[] {
  return entity.rate_limits ?? [];
}

/** The rule the form edits: every model, one minute, sliding window. */
export function isSimpleRule(rule: RateLimitRule): boolean {
  return rule.model === '*' && rule.window === '1m' && !rule.per_model && rule.algorithm === 'sliding';
}

export function isRevoked(key: VirtualKey): boolean {
  return key.status === 'revoked';
}

export function keyHint(key: VirtualKey): string {
  return key.key_prefix || '—';
}

export function typeName(type: ProviderType): string {
  return type.type ?? type.name ?? '';
}

export function typeLabel(type: ProviderType): string {
  return type.label ?? type.name ?? type.type;
}

export function typeBaseUrl(type: ProviderType): string | null {
  return type.default_base_url ?? type.base_url ?? null;
}

export function typeNeedsKey(type: ProviderType): boolean {
  return type.needs_key ?? type.requires_api_key ?? true;
}
