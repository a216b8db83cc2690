/** Records of the configuration tables, as ConfigRepo reads and writes them (snake_case, API-ready). */

/** Who wrote a row last: the management API/UI, the config file, or the environment. */
export type ConfigSource = 'store' | 'file' | 'env';

export interface ProviderRecord {
  id: string;
  /** The `provider/` prefix clients use; unique. */
  name: string;
  /** Provider definition id (openai, anthropic, groq, ...). */
  type: string;
  /** null: the definition's default base URL. */
  base_url: string | null;
  enabled: boolean;
  options: Record<string, unknown>;
  source: ConfigSource;
  created_at: number;
  updated_at: number;
}

export interface ProviderInput {
  /** Default: a random UUID. */
  id?: string;
  name: string;
  type: string;
  base_url?: string | null;
  enabled?: boolean;
  options?: Record<string, unknown>;
  source?: ConfigSource;
}

export type ProviderPatch = Partial<Omit<ProviderInput, 'id'>>;

export interface ProviderKeyRecord {
  id: string;
  provider_id: string;
  name: string;
  /** Last 4 characters of the secret ('' for secrets under 8 characters). */
  last4: string;
  weight: number;
  /** Models this key may serve; null: all. */
  models: string[] | null;
  enabled: boolean;
  source: ConfigSource;
  created_at: number;
  updated_at: number;
  /** Only when read with `withSecret: true` (the router, never an API response). */
  secret?: string;
}

export interface ProviderKeyInput {
  id?: string;
  provider_id: string;
  name: string;
  secret: string;
  weight?: number;
  models?: string[] | null;
  enabled?: boolean;
  source?: ConfigSource;
}

export type ProviderKeyPatch = Partial<Omit<ProviderKeyInput, 'id' | 'provider_id'>>;

export interface ReadOptions {
  /** Decrypt and include the secret. */
  withSecret?: boolean;
}

export interface Deployment {
  /** Provider name (the `provider/` prefix). */
  provider: string;
  model: string;
  /** Relative share of traffic; default 1. */
  weight?: number;
}

export interface ModelGroupRecord {
  id: string;
  /** The public model name clients send; unique. */
  name: string;
  deployments: Deployment[];
  /** Tried in order when every deployment fails: `provider/model` or another group's name. */
  fallbacks: string[];
  options: Record<string, unknown>;
  enabled: boolean;
  source: ConfigSource;
  created_at: number;
  updated_at: number;
}

export interface ModelGroupInput {
  id?: string;
  name: string;
  deployments?: Deployment[];
  fallbacks?: string[];
  options?: Record<string, unknown>;
  enabled?: boolean;
  source?: ConfigSource;
}

export type ModelGroupPatch = Partial<Omit<ModelGroupInput, 'id'>>;

export interface AliasRecord {
  alias: string;
  /** `provider/model` or a model group name. */
  target: string;
  source: ConfigSource;
  created_at: number;
  updated_at: number;
}

export interface AuditInput {
  /** Who: "admin", "api:<token id>", "config-file", ... */
  actor: string;
  /** What: "provider.create", "provider_key.update", "settings.set", ... */
  action: string;
  /** Which: an id or name. */
  target?: string | null;
  before?: unknown;
  after?: unknown;
  /** Default: now. */
  time?: number;
  /** The acting user's id; default: the management API request's (audit-log.ts auditContext). */
  user_id?: string | null;
  /** The caller's source address; default: the management API request's. */
  address?: string | null;
}

export interface AuditEntry {
  id: number;
  time: number;
  actor: string;
  action: string;
  target: string | null;
  /** The acting user (null: the admin token, loopback, the config file). */
  user_id: string | null;
  /** The caller's source address (null: not a management API call). */
  address: string | null;
  /** Secrets redacted. */
  before: unknown;
  after: unknown;
}

export interface ListAuditParams {
  actor?: string;
  /** The acting user's id. */
  user_id?: string;
  action?: string;
  target?: string;
  /** Inclusive, ms epoch. */
  from?: number;
  /** Exclusive, ms epoch. */
  to?: number;
  /** Default 50; clamped to 1..500. */
  limit?: number;
  cursor?: string | null;
}

export interface AuditPage {
  /** Newest first. */
  items: AuditEntry[];
  next_cursor: string | null;
}
