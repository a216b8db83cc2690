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

export type Role = 'admin' | 'operator' | 'viewer' | 'member';

export interface User {
  id: string;
  username: string;
  display_name: string | null;
  email: string | null;
  role: Role;
  team_id: string | null;
  view_bodies: boolean;
  disabled: boolean;
  source: string;
  sso: boolean;
  has_password: boolean;
  locked_until: number | null;
  last_login_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface AuthStatus {
  auth_required: boolean;
  authenticated: boolean;
  /** No admin token and no user: only loopback clients may use the API. */
  loopback_only?: boolean;
  /** No user and no admin token yet: the first admin is made with the setup token. */
  setup_required?: boolean;
  /** Users exist: sign in with a username and password. */
  password_login?: boolean;
  /** An admin token is configured: it signs in too. */
  token_login?: boolean;
  kind?: 'none' | 'loopback' | 'admin_token' | 'session' | 'api_token';
  role?: Role | null;
  team_id?: string | null;
  view_bodies?: boolean;
  user?: User | null;
  sso?: { oidc: string | null; github: boolean };
  /** The routes ("METHOD /api/route") this caller may call. Absent: everything. */
  access?: string[];
  /** Those of them limited to a member's own team. */
  team_only?: string[];
}

export interface Session {
  id: string;
  user_id: string | null;
  username?: string | null;
  method: string;
  address: string | null;
  user_agent: string | null;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  current: boolean;
}

export interface ApiToken {
  id: string;
  user_id: string;
  username?: string | null;
  name: string;
  prefix: string;
  scopes: string[];
  expires_at: number | null;
  last_used_at: number | null;
  created_at: number;
  expired: boolean;
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

/** One key's live routing state (GET /api/routing/health; src/gateway/key-health.ts KeyHealthView). */
export interface KeyHealth {
  provider: string;
  key_id: string;
  key_name: string;
  /** Circuit breaker state. */
  state: 'closed' | 'open' | 'half_open';
  /** Takes traffic: circuit closed and the last health check (if any) passed. */
  healthy: boolean;
  /** Configured weight. */
  weight: number;
  /** Weight after adaptive balancing; 0 while the breaker holds the key back. */
  effective_weight: number;
  /** Decaying error rate, 0..1. */
  error_rate: number;
  /** Decaying average time to the first byte; null before the first answer. */
  latency_ms: number | null;
  requests: number;
  failures: number;
  consecutive_failures: number;
  /** Times the circuit opened. */
  opens: number;
  last_error: string | null;
  last_error_at: number | null;
  /** When an open circuit lets a probe through (epoch ms); null unless open. */
  open_until: number | null;
  last_check_at: number | null;
  last_check_ok: boolean | null;
}

/** A provider's concurrency queue (GET /api/routing/health `providers`). */
export interface ProviderLoad {
  provider: string;
  /** null: no limit. */
  max_in_flight: number | null;
  in_flight: number;
  queued: number;
  max_queue: number;
}

export interface RoutingHealth {
  data: KeyHealth[];
  providers: ProviderLoad[];
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
  user_id?: string | null;
  address?: string | null;
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
  /** The bodies were kept but this user's role may not read them. */
  bodies_hidden?: boolean;
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
  /** `approximate`: from a latency histogram, within 5% (cluster mode, ranges over 24 hours). */
  percentiles: 'exact' | 'approximate';
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

export type * from './governance-types.js';

/** GET /api/cache/stats (docs/caching.md). */
export interface CacheStats {
  enabled: boolean;
  scope: string;
  ttl_ms: number;
  semantic: { enabled: boolean; mode: 'serve' | 'shadow'; threshold: number; embedding_model: string };
  requests: { hit: number; 'semantic-hit': number; miss: number; bypass: number };
  hit_rate: number | null;
  saved_usd: number;
  saved_tokens: number;
  store: { entries: number; bytes: number; semantic_entries: number; evictions: number; expirations: number; max_entries: number; max_bytes: number };
  savings: Array<{ hour: number; hits: number; semantic_hits: number; misses: number; saved_usd: number; saved_tokens: number }>;
  largest: Array<{ id: string; scope: string; model: string; provider: string | null; bytes: number; hits: number; created_at: number; expires_at: number; used_at: number; cost_usd: number | null; semantic: boolean; question: string | null }>;
}

/** One row of GET /api/cache/shadow. */
export interface CacheShadowMatch {
  time: number;
  request_id: string;
  scope: string;
  model: string;
  entry_id: string;
  similarity: number;
  threshold: number;
  guard: string | null;
  question: string;
  cached_question: string;
  cached_answer: string;
  real_answer: string | null;
}
