/** The resolved `governance` configuration: secrets read from the environment, names checked. */
import type { GovernanceFile } from './config-schema.js';
import type { ModelPrice } from './pricing.js';
import type { Budget, RateLimit } from './types.js';

export interface DeclaredEntity {
  name: string;
  description: string | null;
  budget: Budget | null;
  rate_limits: RateLimit[];
  metadata: Record<string, unknown>;
}

export interface DeclaredTeam extends DeclaredEntity {
  customer: string | null;
  allowed_mcp_servers: string[] | null;
  allowed_mcp_tools: string[] | null;
}

export interface DeclaredKey extends DeclaredEntity {
  /** The secret, resolved. */
  key: string;
  team: string | null;
  customer: string | null;
  allowed_providers: string[] | null;
  allowed_models: string[] | null;
  allowed_mcp_servers: string[] | null;
  allowed_mcp_tools: string[] | null;
  expires_at: number | null;
}

export interface GovernanceConfig {
  enforce: boolean;
  defaultMaxOutputTokens: number;
  flushIntervalMs: number;
  pricing: Readonly<Record<string, ModelPrice>>;
  customers: DeclaredEntity[];
  teams: DeclaredTeam[];
  virtualKeys: DeclaredKey[];
}

type ResolveSecret = (value: string, path: string, env: NodeJS.ProcessEnv) => string;
type Fail = (message: string) => never;

function entity(name: string, value: { description?: string; budget?: Budget; rate_limits?: GovernanceFile['teams'][string]['rate_limits']; metadata?: Record<string, unknown> }): DeclaredEntity {
  return {
    name,
    description: value.description ?? null,
    budget: value.budget ?? null,
    rate_limits: (value.rate_limits ?? []).map((limit) => ({ ...limit, requests: limit.requests ?? null, tokens: limit.tokens ?? null })),
    metadata: value.metadata ?? {},
  };
}

export function resolveGovernance(file: GovernanceFile, env: NodeJS.ProcessEnv, resolveSecret: ResolveSecret, fail: Fail): GovernanceConfig {
  const customers = Object.entries(file.customers).map(([name, value]) => entity(name, value));
  const teams = Object.entries(file.teams).map(([name, value]) => {
    if (value.customer !== undefined && file.customers[value.customer] === undefined) {
      fail(`Invalid configuration: governance.teams.${name}.customer: no customer "${value.customer}" in governance.customers`);
    }
    return { ...entity(name, value), customer: value.customer ?? null, allowed_mcp_servers: value.allowed_mcp_servers ?? null, allowed_mcp_tools: value.allowed_mcp_tools ?? null };
  });
  const seen = new Map<string, string>();
  const virtualKeys = Object.entries(file.virtual_keys).map(([name, value]) => {
    const path = `governance.virtual_keys.${name}`;
    if (value.team !== undefined && file.teams[value.team] === undefined) fail(`Invalid configuration: ${path}.team: no team "${value.team}" in governance.teams`);
    if (value.customer !== undefined && file.customers[value.customer] === undefined) fail(`Invalid configuration: ${path}.customer: no customer "${value.customer}" in governance.customers`);
    const key = resolveSecret(value.key, `${path}.key`, env);
    if (key.length < 16) fail(`Invalid configuration: ${path}.key: a virtual key must have at least 16 characters`);
    const other = seen.get(key);
    if (other !== undefined) fail(`Invalid configuration: ${path}.key: the same secret as governance.virtual_keys.${other}`);
    seen.set(key, name);
    return {
      ...entity(name, value),
      key,
      team: value.team ?? null,
      customer: value.customer ?? null,
      allowed_providers: value.allowed_providers ?? null,
      allowed_models: value.allowed_models ?? null,
      allowed_mcp_servers: value.allowed_mcp_servers ?? null,
      allowed_mcp_tools: value.allowed_mcp_tools ?? null,
      expires_at: value.expires_at === undefined ? null : Date.parse(value.expires_at),
    };
  });
  return {
    enforce: file.enforce,
    defaultMaxOutputTokens: file.default_max_output_tokens,
    flushIntervalMs: file.flush_interval_ms,
    pricing: file.pricing,
    customers,
    teams,
    virtualKeys,
  };
}
