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
}

export interface ProviderTestResult {
  ok: boolean;
  status?: number | null;
  latency_ms?: number | null;
  error?: string | null;
  model?: string | null;
}

export interface KeyHealth {
  provider: string;
  key_id?: string | null;
  key_name?: string | null;
  state?: string;
  healthy?: boolean;
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

export type BudgetPeriod = string | null;

export interface Budget {
  max_usd?: number | null;
  amount_usd?: number | null;
  period?: BudgetPeriod;
  spend_usd?: number;
  remaining_usd?: number | null;
  resets_at?: number | null;
}

export interface RateLimits {
  requests_per_minute?: number | null;
  tokens_per_minute?: number | null;
  [key: string]: unknown;
}

export interface VirtualKey {
  id: string;
  name: string;
  description?: string | null;
  /** A short, non-secret form of the key for display, e.g. "hk-…a1b2". */
  prefix?: string | null;
  last4?: string | null;
  team_id?: string | null;
  customer_id?: string | null;
  models?: string[] | null;
  allowed_models?: string[] | null;
  providers?: string[] | null;
  allowed_providers?: string[] | null;
  budget?: Budget | null;
  budget_usd?: number | null;
  budget_period?: BudgetPeriod;
  spend_usd?: number;
  remaining_usd?: number | null;
  rate_limit?: RateLimits | null;
  rate_limits?: RateLimits | null;
  limits?: RateLimits | null;
  metadata?: Record<string, unknown> | null;
  status?: string;
  revoked?: boolean;
  revoked_at?: number | null;
  expires_at?: number | null;
  created_at?: number;
  last_used_at?: number | null;
}

export interface VirtualKeyCreated extends VirtualKey {
  /** The secret, shown once. */
  key?: string;
  secret?: string;
}

export interface Team {
  id: string;
  name: string;
  description?: string | null;
  budget?: Budget | null;
  budget_usd?: number | null;
  budget_period?: BudgetPeriod;
  spend_usd?: number;
  remaining_usd?: number | null;
  customer_id?: string | null;
  created_at?: number;
  metadata?: Record<string, unknown> | null;
}

export type Customer = Team;

export interface UsageRow {
  key?: string;
  group?: string;
  model?: string;
  provider?: string;
  day?: string;
  requests: number;
  input_tokens?: number;
  output_tokens?: number;
  tokens?: number;
  cost_usd: number;
}
