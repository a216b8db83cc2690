/**
 * The governance part of the management API as the dashboard reads it: virtual
 * keys, teams, customers, budgets, rate limits, usage and pricing.
 * @see ../../../docs/governance.md (the server's shapes are src/governance/views.ts)
 */

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

/**
 * One group of GET /api/usage (group: "provider/model", provider, key, team or customer id, or "YYYY-MM-DD");
 * group null: the requests without one (no model, no key, no team, no customer), in one row.
 */
export interface UsageRow {
  group: string | null;
  /** group_by=key, team or customer: the key's, team's or customer's name (null for the null row and once deleted). */
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

export type UsagePeriod = 'today' | '7d' | '30d' | 'month';
/** What GET /api/usage groups by. */
export type UsageGroup = 'model' | 'provider' | 'key' | 'team' | 'customer' | 'day';

export interface UsageReport {
  period: UsagePeriod;
  group_by: UsageGroup;
  from: number;
  to: number;
  data: UsageRow[];
  /** More groups than the server returns (1000); the totals still count them all. */
  truncated?: boolean;
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
  context_window?: number;
  source: 'catalog' | 'config';
}

/** A package the model catalog is derived from (docs/catalog.md). */
export interface CatalogSource {
  package: string;
  version: string;
  /** When that version was published: the data's date. */
  published: string;
  provides: string;
  homepage: string;
}

export interface PricingTable {
  /** The oldest publication date of the catalog's sources. */
  as_of: string;
  currency: string;
  unit: string;
  catalog: { sources: CatalogSource[] };
  sources: Record<string, string>;
  provider_aliases: Record<string, string>;
  data: ModelPrice[];
}
