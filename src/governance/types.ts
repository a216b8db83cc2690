/** Governance entities as kept in memory and returned (snake_case, like the API and the tables). */
import type { Algorithm } from './rate-limiter.js';

export type EntityType = 'key' | 'team' | 'customer';
export type EntitySource = 'store' | 'file';

export interface Budget {
  /** USD per period. */
  max_usd: number;
  /** "daily" | "weekly" | "monthly" | a duration ("30m", "1h", "7d"); null: never resets. */
  period: string | null;
  /** Refuse (403) models without a known price instead of letting their cost go uncounted. */
  refuse_unpriced: boolean;
  /** Cluster mode: while Redis is unreachable, keep counting locally ("open") or refuse ("closed"); unset: redis.fail_mode.budgets. */
  fail_mode?: 'open' | 'closed';
}

export interface RateLimit {
  /** Which requests the limit counts: "*" (all) or a model pattern ("openai/*", "gpt-4o"). */
  model: string;
  /** Requests per window. */
  requests: number | null;
  /** Tokens (input + output) per window. */
  tokens: number | null;
  /** "1m", "1h", "1d"... */
  window: string;
  algorithm: Algorithm;
  /** One counter per model matched (instead of one for every matched model together). */
  per_model: boolean;
  /** Cluster mode: as Budget.fail_mode (unset: redis.fail_mode.rate_limits). */
  fail_mode?: 'open' | 'closed';
}

interface EntityBase {
  id: string;
  name: string;
  description: string | null;
  budget: Budget | null;
  rate_limits: RateLimit[];
  metadata: Record<string, unknown>;
  source: EntitySource;
  created_at: number;
  updated_at: number;
}

/** MCP allow-lists (docs/mcp.md): upstream server name patterns, namespaced tool patterns ("github__*"); null: all. */
export interface McpAccess {
  allowed_mcp_servers: string[] | null;
  allowed_mcp_tools: string[] | null;
}

export interface CustomerRecord extends EntityBase {
  status: 'active' | 'disabled';
}

export interface TeamRecord extends EntityBase, McpAccess {
  customer_id: string | null;
  status: 'active' | 'disabled';
}

export interface VirtualKeyRecord extends EntityBase, McpAccess {
  key_hash: string;
  /** Non-secret display form, "hk-AbCd…wxyz". */
  key_prefix: string;
  team_id: string | null;
  customer_id: string | null;
  /** Provider name patterns; null: any. */
  allowed_providers: string[] | null;
  /** Model patterns ("openai/*", "gpt-4o", an alias or model group name); null: any. */
  allowed_models: string[] | null;
  status: 'active' | 'revoked';
  expires_at: number | null;
  last_used_at: number | null;
  rotated_at: number | null;
}

export type AnyRecord = VirtualKeyRecord | TeamRecord | CustomerRecord;
