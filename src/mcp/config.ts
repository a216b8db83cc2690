/** The resolved `mcp` configuration: "env.NAME" values read, defaults filled. */
import type { McpFile, McpServerFile } from './config-schema.js';

export type McpTransport = 'http' | 'sse' | 'stdio';

export interface McpOAuthConfig {
  grant: 'client_credentials' | 'authorization_code';
  /** Always set for client_credentials; authorization_code without one registers dynamically. */
  clientId?: string;
  clientSecret?: string;
  scope?: string;
  issuer?: string;
}

export interface McpServerConfig {
  name: string;
  transport: McpTransport;
  enabled: boolean;
  description: string | null;
  url?: string;
  headers: Record<string, string>;
  oauth?: McpOAuthConfig;
  command?: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** Tool patterns exposed; undefined: all. */
  tools?: string[];
  pricePerCall: number;
  toolPrices: Record<string, number>;
  toolTimeoutMs?: number;
  /** Where it is declared: the config file or the store (management API). */
  source: 'file' | 'store';
}

export interface McpConfig {
  enabled: boolean;
  requireKey: boolean;
  servers: McpServerConfig[];
  toolTimeoutMs: number;
  connectTimeoutMs: number;
  restartMinMs: number;
  restartMaxMs: number;
  sessionIdleMs: number;
  maxSessions: number;
  /** The public URL of the OAuth callback, when set. */
  oauthRedirectUrl?: string;
  toolLoop: { maxTurns: number; timeoutMs: number };
}

type ResolveSecret = (value: string, path: string, env: NodeJS.ProcessEnv) => string;

function resolveRecord(record: Record<string, string> | undefined, path: string, env: NodeJS.ProcessEnv, resolve: ResolveSecret): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(record ?? {})) out[name] = resolve(value, `${path}.${name}`, env);
  return out;
}

/** One server entry (file or store shape) resolved; `path` names it in errors. */
export function resolveMcpServer(name: string, entry: McpServerFile, path: string, env: NodeJS.ProcessEnv, resolve: ResolveSecret, source: 'file' | 'store'): McpServerConfig {
  return {
    name,
    transport: entry.transport,
    enabled: entry.enabled,
    description: entry.description ?? null,
    url: entry.url,
    headers: resolveRecord(entry.headers, `${path}.headers`, env, resolve),
    oauth: entry.oauth === undefined ? undefined : {
      grant: entry.oauth.grant,
      clientId: entry.oauth.client_id,
      clientSecret: entry.oauth.client_secret === undefined ? undefined : resolve(entry.oauth.client_secret, `${path}.oauth.client_secret`, env),
      scope: entry.oauth.scope,
      issuer: entry.oauth.issuer,
    },
    command: entry.command,
    args: entry.args ?? [],
    env: resolveRecord(entry.env, `${path}.env`, env, resolve),
    cwd: entry.cwd,
    tools: entry.tools,
    pricePerCall: entry.price_per_call ?? 0,
    toolPrices: entry.tool_prices ?? {},
    toolTimeoutMs: entry.tool_timeout_ms,
    source,
  };
}

export function resolveMcp(file: McpFile, env: NodeJS.ProcessEnv, resolve: ResolveSecret): McpConfig {
  return {
    enabled: file.enabled,
    requireKey: file.require_key,
    servers: Object.entries(file.servers).map(([name, entry]) => resolveMcpServer(name, entry, `mcp.servers.${name}`, env, resolve, 'file')),
    toolTimeoutMs: file.tool_timeout_ms,
    connectTimeoutMs: file.connect_timeout_ms,
    restartMinMs: file.restart_min_ms,
    restartMaxMs: file.restart_max_ms,
    sessionIdleMs: file.session_idle_ms,
    maxSessions: file.max_sessions,
    oauthRedirectUrl: file.oauth_redirect_url,
    toolLoop: { maxTurns: file.tool_loop.max_turns, timeoutMs: file.tool_loop.timeout_ms },
  };
}
