/**
 * The management API as the dashboard reads it (JSON, snake_case).
 * Optional fields are ones the server may leave out; the UI shows "—" for them.
 * @see ../../../docs/api.md and ../../../docs/governance.md
 */

export interface ListResponse<T> {
  data: T[];
  next_cursor?: string | null;
}

export type ConfigSource = 'store' | 'file' | 'env';

export interface AuthStatus {
  auth_required: boolean;
  authenticated: boolean;
  /** No admin token is configured: only loopback clients may use the API. */
  loopback_only?: boolean;
}

export interface ProviderKey {
  id: string;
  name: string;
  last4: string;
  weight: number;
  models: string[] | null;
  enabled: boolean;
  source?: ConfigSource;
}

export interface Provider {
  name: string;
  type: string;
  enabled: boolean;
  base_url: string | null;
  source?: ConfigSource;
  models?: string[] | null;
  embedding_models?: string[] | null;
  keys: ProviderKey[];
  disabled_reason?: string | null;
  /** A file/env provider that the store changes in part. */
  store_override?: boolean;
}

export interface ProviderType {
  type: string;
  name?: string;
  label?: string;
  default_base_url?: string | null;
  base_url?: string | null;
  format?: string;
  env?: string | null;
  api_key_env?: string | null;
  needs_key?: boolean;
  requires_api_key?: boolean;
  base_url_env?: string | null;
  models?: string[];
  docs?: string | null;
}

export interface ProviderTestResult {
  ok: boolean;
  status?: number | null;
  latency_ms?: number | null;
  error?: string | null;
  model?: string | null;
  /** "models" (GET /models, no tokens) or "chat" (a 1-token completion). */
  method?: 'models' | 'chat';
  key_id?: string | null;
}

export interface KeyHealth {
  provider: string;
  key_id?: string | null;
  key_name?: string | null;
  /** Circuit breaker state: closed, open, half_open. */
  state?: string;
  healthy?: boolean;
  weight?: number;
  effective_weight?: number;
  error_rate?: number;
  latency_ms?: number | null;
  last_check_ok?: boolean | null;
  failures?: number;
  consecutive_failures?: number;
  last_error?: string | null;
  open_until?: number | null;
}

export interface Deployment {
  provider: string;
  model: string;
  weight?: number;
}

export interface ModelGroup {
  id?: string;
  name: string;
  deployments: Deployment[];
  fallbacks: string[];
  enabled?: boolean;
  source?: ConfigSource;
}

export interface Routing {
  default_provider: string | null;
  default_model: string | null;
  aliases: Record<string, string>;
  fallbacks: Record<string, string[]>;
  model_groups: ModelGroup[];
  strict_params?: boolean;
  /** Where each entry comes from, by path: "aliases.fast" -> "file". */
  sources?: Record<string, ConfigSource>;
}

export interface Settings {
  logging: {
    bodies: boolean;
    max_body_bytes: number;
    retention_days: number;
    max_db_bytes: number;
  };
  limits: { max_body_bytes: number; [key: string]: unknown };
  timeouts: { connect_ms?: number; first_byte_ms?: number; idle_ms?: number; total_ms?: number };
  [section: string]: unknown;
}

export interface AuditEntry {
  id: number | string;
  time: number;
  actor: string;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
}

export interface LogAttempt {
  provider: string;
  model: string;
  key_id?: string;
  key_name?: string;
  status?: number;
  error?: string;
  latency_ms: number;
}

export interface LogSummary {
  id: string;
  time: number;
  surface: string;
  route: string;
  method: string;
  virtual_key_id: string | null;
  team_id?: string | null;
  customer_id?: string | null;
  provider: string | null;
  model: string | null;
  requested_model: string | null;
  status: number;
  latency_ms: number;
  upstream_ms: number | null;
  ttft_ms: number | null;
  overhead_us: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_tokens: number | null;
  reasoning_tokens?: number | null;
  cost_usd: number | null;
  cost_known?: boolean;
  stream: boolean;
  cache?: 'hit' | 'miss' | null;
  error_code: string | null;
  error_message: string | null;
  attempt_count?: number;
}

export interface LogDetail extends LogSummary {
  attempts: LogAttempt[];
  metadata: Record<string, unknown> | null;
  request_body: string | null;
  response_body: string | null;
}

export interface StatsTop {
  requests: number;
  errors: number;
  tokens: number;
  cost_usd: number;
}

export interface StatsBucket {
  start: number;
  requests: number;
  errors: number;
  p50_ms: number | null;
  p95_ms: number | null;
  tokens: number;
  cost_usd: number;
}

export interface LogStats {
  from: number;
  to: number;
  bucket_ms: number;
  totals: {
    requests: number;
    errors: number;
    input_tokens: number;
    output_tokens: number;
    cached_tokens?: number;
    cost_usd: number;
    unknown_cost_requests: number;
    p50_ms: number | null;
    p95_ms: number | null;
    p99_ms: number | null;
  };
  buckets: StatsBucket[];
  top_models: Array<StatsTop & { provider: string | null; model: string }>;
  top_providers: Array<StatsTop & { provider: string }>;
  top_keys: Array<StatsTop & { virtual_key_id: string; name?: string | null }>;
}

/* ── Governance (docs/governance.md; the server's shapes are src/governance/views.ts) ── */

/** "daily" | "weekly" | "monthly" (UTC) | a duration such as "30m", "1h", "7d"; null: never resets. */
export type BudgetPeriod = string | null;

/** A budget as configured (what create/update bodies send). */
export interface BudgetSpec {
  max_usd: number;
  period: BudgetPeriod;
  /** Refuse (403 model_price_unknown) models without a known price. */
  refuse_unpriced: boolean;
}

/** A budget as read: its spec and the live state of the current window. */
export interface Budget extends BudgetSpec {
  spend_usd: number;
  /** Held by requests in flight (their upper-bound cost). */
  reserved_usd: number;
  remaining_usd: number;
  /** Start of the current window, ms; 0 when the budget never resets. */
  period_start: number;
  /** When the current window ends, ms; null: never. */
  resets_at: number | null;
}

/** One rate limit rule of a key, team or customer. */
export interface RateLimitRule {
  /** "*" or a model pattern ("openai/*", "gpt-4o"). */
  model: string;
  requests: number | null;
  tokens: number | null;
  /** "1s", "1m", "1h", "1d"... */
  window: string;
  algorithm: 'sliding' | 'token_bucket';
  /** One counter per model matched. */
  per_model: boolean;
}

export interface LimitState {
  limit: number;
  remaining: number;
  /** ms until the counter is full again. */
  reset_ms: number;
}

/** A rule with its live state (GET /api/virtual-keys/:id); state is null for per_model rules. */
export interface RateLimitState extends RateLimitRule {
  scope: 'virtual_key' | 'team' | 'customer';
  requests_state: LimitState | null;
  tokens_state: LimitState | null;
}

interface GovernanceEntity {
  id: string;
  name: string;
  description: string | null;
  budget: Budget | null;
  /** Spend of the current budget window (the entity's whole life when it has no budget). */
  spend_usd: number;
  tokens: number;
  requests: number;
  rate_limits: RateLimitRule[];
  metadata: Record<string, unknown>;
  /** "file": declared in the config file (read-only here, except revoking a key). */
  source: 'store' | 'file';
  created_at: number;
  updated_at: number;
}

export interface VirtualKey extends GovernanceEntity {
  /** Non-secret display form of the key, "hk-AbCd…wxyz". */
  key_prefix: string;
  team_id: string | null;
  customer_id: string | null;
  /** Provider name patterns; null: any. */
  allowed_providers: string[] | null;
  /** Model patterns, names or aliases; null: any. */
  allowed_models: string[] | null;
  status: 'active' | 'revoked' | 'expired';
  expires_at: number | null;
  last_used_at: number | null;
  rotated_at: number | null;
}

/** GET /api/virtual-keys/:id: also the team's and customer's budgets and every limit's state. */
export interface VirtualKeyDetail extends VirtualKey {
  team_budget: Budget | null;
  customer_budget: Budget | null;
  limits: RateLimitState[];
}

/** POST /api/virtual-keys and .../rotate: the secret, shown once. */
export interface VirtualKeyCreated extends VirtualKey {
  key: string;
}

export interface Team extends GovernanceEntity {
  customer_id: string | null;
  status: 'active' | 'disabled';
  key_count: number;
}

export interface Customer extends GovernanceEntity {
  status: 'active' | 'disabled';
  team_count: number;
  key_count: number;
}

/** One group of GET /api/usage (group: "provider/model", provider, key id, or "YYYY-MM-DD"). */
export interface UsageRow {
  group: string | null;
  /** group_by=key: the key's name. */
  name?: string | null;
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  tokens: number;
  /** Known costs only; unknown_cost_requests counts the requests whose price is unknown. */
  cost_usd: number;
  unknown_cost_requests: number;
}

export interface UsageReport {
  period: 'today' | '7d' | '30d' | 'month';
  group_by: 'model' | 'provider' | 'key' | 'day';
  from: number;
  to: number;
  data: UsageRow[];
  totals: Omit<UsageRow, 'group' | 'name'>;
}

/** One row of GET /api/pricing: USD per million tokens. */
export interface ModelPrice {
  /** "provider/model" (or "provider/*"). */
  model: string;
  provider: string;
  name: string;
  input?: number;
  cached_input?: number;
  cache_write?: number;
  output?: number;
  reasoning?: number;
  embedding?: number;
  long_context?: { threshold: number; input?: number; cached_input?: number; cache_write?: number; output?: number; reasoning?: number };
  source: 'table' | 'config';
}

export interface PricingTable {
  as_of: string;
  currency: string;
  unit: string;
  sources: Record<string, string>;
  provider_aliases: Record<string, string>;
  data: ModelPrice[];
}
