/**
 * Builds the effective configuration from, in order of precedence:
 * CLI flags > environment variables > config file > defaults. Providers are
 * enabled from their official SDK environment variables (zero config) and
 * from the config file, whose entries win field by field.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { getProviderDefinition, providerDefinitions } from '../providers/registry.js';
import type { ProviderDefinition } from '../providers/types.js';
import { resolveTelemetry, type TelemetryConfig } from '../telemetry/settings.js';
import { resolveGovernance, type GovernanceConfig } from '../governance/config.js';
import { resolveAuth, type AuthConfig } from '../auth/config.js';
import type { AdaptiveSettings } from '../gateway/adaptive-weight.js';
import type { BreakerSettings } from '../gateway/circuit-breaker.js';
import { configSchema, type ConfigFile, type ModelGroupEntry, type ProviderEntry, type TimeoutsConfig } from './schema.js';
import type { CatalogOverride } from '../catalog/catalog.js';
import { resolveResponses, type ResponsesSettings } from './responses-schema.js';
import { resolveCache, type CacheConfig } from '../cache/config-schema.js';
import type { PluginEntry } from '../plugins/config-schema.js';
import type { OverloadSettings } from '../gateway/admission.js';
import { resolveOverload } from '../gateway/admission-schema.js';
import { resolveRedis, type RedisConfig } from '../cluster/redis-config.js';
import { resolveDatabase, type DatabaseConfig } from '../store/pg/database-config.js';
import { resolveMcp, type McpConfig } from '../mcp/config.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Source = 'default' | 'env' | 'file' | 'cli' | 'store';

export interface ResolvedTimeouts {
  connectMs: number;
  firstByteMs: number;
  idleMs: number;
  totalMs: number;
}

export const DEFAULT_TIMEOUTS: ResolvedTimeouts = {
  connectMs: 10_000,
  // A non-streaming completion sends its headers only when the whole answer is ready.
  firstByteMs: 300_000,
  idleMs: 120_000,
  totalMs: 600_000,
};

export interface ResolvedKey {
  /** Stable id within the provider (`<provider>#<index>` or the key's name). */
  id: string;
  name: string;
  secret: string | undefined;
  weight: number;
  models: readonly string[] | undefined;
  enabled: boolean;
}

export interface ResolvedProvider {
  name: string;
  definition: ProviderDefinition;
  enabled: boolean;
  /** Why a provider is not enabled (no key...), for the banner and errors. */
  disabledReason?: string;
  /** Enabled without a key although its type takes one: OPENAI_BASE_URL set alone (a local server). */
  keyless?: boolean;
  baseUrl: string;
  keys: ResolvedKey[];
  models: readonly string[];
  embeddingModels: readonly string[];
  headers: Readonly<Record<string, string>>;
  /** The caller headers this provider gets on a same-format call (providers/forward-headers.ts). */
  forwardHeaders: { allow: readonly string[]; deny: readonly string[] };
  timeouts: ResolvedTimeouts;
  maxRetries: number;
  /** A retry may start only this long after the target's first attempt (waits included). */
  retryBudgetMs: number;
  /** Concurrency limit with a bounded queue; undefined = no limit. */
  concurrency: { maxInFlight: number; maxQueue: number; queueTimeoutMs: number } | undefined;
  /** Active health checks; undefined = off. */
  healthCheck: { intervalMs: number; timeoutMs: number } | undefined;
  options: Readonly<Record<string, unknown>>;
  source: Source;
}

export interface ResolvedDeployment {
  provider: string;
  model: string;
  weight: number;
}

export interface ResolvedModelGroup {
  deployments: ResolvedDeployment[];
  fallbacks: string[];
}

export interface CorsSettings {
  origins: readonly string[];
  methods: readonly string[];
  headers: readonly string[] | undefined;
  credentials: boolean;
  maxAgeSeconds: number;
}

/** How the server treats client connections (server.*_timeout_ms, server.max_connections_per_client). */
export interface ConnectionSettings {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** 0: no cap. */
  maxPerClient: number;
}

/** server.websocket: the Responses API WebSocket mode. */
export interface WebSocketSettings {
  enabled: boolean;
  idleTimeoutMs: number;
  /** 0: no cap. */
  maxConnections: number;
}

export interface ResolvedConfig {
  server: {
    port: number;
    host: string;
    dataDir: string;
    logLevel: ConfigFile['server']['log_level'];
    shutdownTimeoutMs: number;
    /** server.allowed_hosts (undefined: the default of the listen address). */
    allowedHosts?: readonly string[];
    /** server.cors (undefined: no cross-origin browser access). */
    cors?: CorsSettings;
    /** Receiving a request from a client (slow clients are cut off); applied at start. */
    connections: ConnectionSettings;
    /** The Responses API WebSocket mode; applied at start. */
    websocket: WebSocketSettings;
  };
  limits: { maxBodyBytes: number; overload: OverloadSettings };
  providers: ResolvedProvider[];
  routing: {
    defaultProvider: string | undefined;
    defaultModel: string | undefined;
    aliases: Readonly<Record<string, string>>;
    fallbacks: Readonly<Record<string, readonly string[]>>;
    strictParams: boolean;
    /** Enabled model groups by public name (docs/routing.md). */
    modelGroups: Record<string, ResolvedModelGroup>;
    contextWindowFallbacks: Readonly<Record<string, readonly string[]>>;
    contentPolicyFallbacks: Readonly<Record<string, readonly string[]>>;
    breaker: BreakerSettings;
    adaptive: AdaptiveSettings;
  };
  configPath: string | undefined;
  /** Where each top-level part came from, for GET /api/config. */
  sources: Record<string, Source>;
  /** Problems worth a log line at start (never fatal). */
  warnings: string[];
  /** Metrics, tracing and log settings (docs/observability.md); applied at start, not on reload. */
  telemetry: TelemetryConfig;
  /** Virtual keys, teams, customers, enforcement and price overrides (docs/governance.md). */
  governance: GovernanceConfig;
  /** Users, lockout and single sign-on (docs/auth.md). */
  auth: AuthConfig;
  /** Default upstream timeouts (each provider may override them). */
  timeouts: ResolvedTimeouts;
  /** Request logs in the store (live setting). */
  logging: { bodies: boolean; maxBodyBytes: number; retentionDays: number; maxDbBytes: number };
  /** Management API access: token from HEIMDALL_ADMIN_TOKEN or admin.token. */
  admin: { token: string | undefined; tokenSource: 'env' | 'file' | undefined; sessionTtlHours: number };
  /**
   * What was resolved: the config object as written (before defaults) and the environment,
   * so the store (src/config/effective.ts) and the file watch can resolve it again. Never serialised.
   */
  input: { raw: unknown; env: NodeJS.ProcessEnv; capacityTargetDelayMs?: number };
  /** Per-model facts over the shipped catalog (docs/catalog.md). */
  catalog: { overrides: Readonly<Record<string, CatalogOverride>> };
  /** The Responses API bridge's background mode (src/config/responses-schema.ts). */
  responses: ResponsesSettings;
  /** The response cache (docs/caching.md); live. */
  cache: CacheConfig;
  /** Configured plugins, loaded by src/plugins/loader.ts (docs/plugins.md). */
  plugins: readonly PluginEntry[];
  /** Cluster mode's shared counters (HEIMDALL_REDIS_URL / redis.url); undefined: the embedded ledger. */
  redis: RedisConfig | undefined;
  /** Cluster mode's shared configuration store (HEIMDALL_DATABASE_URL / database.url); undefined: SQLite only. */
  database: DatabaseConfig | undefined;
  /** Upstream MCP servers and the /mcp endpoint (docs/mcp.md). */
  mcp: McpConfig;
}

export interface LoadOptions {
  /** Path of the JSON config file (--config / HEIMDALL_CONFIG). */
  configPath?: string;
  /** An already-parsed config object (tests, the store). */
  config?: unknown;
  env?: NodeJS.ProcessEnv;
  /** CLI flags; they win over everything. */
  overrides?: Partial<{ port: number; host: string; dataDir: string; logLevel: string }>;
  /**
   * `limits.capacity_target_delay_ms` where the config sets none: the server's default
   * (DEFAULT_CAPACITY_TARGET_DELAY_MS) unless given; the library gives 0 (docs/performance.md).
   */
  capacityTargetDelayMs?: number;
}

/** The config with `limits.capacity_target_delay_ms` set to `ms` where it sets none (an embedding's own default). */
export function withCapacityDefault(raw: unknown, ms: number | undefined): unknown {
  if (ms === undefined || typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const limits: unknown = (raw as { limits?: unknown }).limits;
  if (limits === undefined) return { ...raw, limits: { capacity_target_delay_ms: ms } };
  // Not an object: the schema refuses it, naming it.
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits) || 'capacity_target_delay_ms' in limits) return raw;
  return { ...raw, limits: { ...limits, capacity_target_delay_ms: ms } };
}

function formatZodPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function zodErrorMessage(error: z.ZodError, where: string): string {
  const lines = error.issues.slice(0, 8).map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : undefined;
    const path = formatZodPath(issue.path);
    if (keys !== undefined) {
      const at = path === '' ? '' : `${path}.`;
      return `  ${keys.map((k) => at + k).join(', ')}: unknown key`;
    }
    return `  ${path || '(root)'}: ${issue.message}`;
  });
  return `Invalid configuration in ${where}:\n${lines.join('\n')}`;
}

/** Parses and validates a config object; throws ConfigError naming the bad field. */
export function parseConfigFile(value: unknown, where: string): ConfigFile {
  const result = configSchema.safeParse(value);
  if (!result.success) throw new ConfigError(zodErrorMessage(result.error, where));
  return result.data;
}

export function readConfigFile(path: string): ConfigFile {
  return parseConfigFile(readConfigJson(path), path);
}

/** The config file's JSON as written (before validation and defaults). */
export function readConfigJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read config file ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return value;
}

/** Resolves `"env.NAME"` to the variable's value; a missing variable is an error naming the field. */
function resolveSecret(value: string, path: string, env: NodeJS.ProcessEnv): string {
  if (!value.startsWith('env.')) return value;
  const name = value.slice(4);
  const resolved = env[name];
  if (resolved === undefined || resolved === '') {
    throw new ConfigError(`Invalid configuration: ${path}: environment variable ${name} is not set`);
  }
  return resolved;
}

function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return resolve(path);
}

function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

function resolveTimeouts(global: TimeoutsConfig | undefined, own: TimeoutsConfig | undefined): ResolvedTimeouts {
  return {
    connectMs: own?.connect_ms ?? global?.connect_ms ?? DEFAULT_TIMEOUTS.connectMs,
    firstByteMs: own?.first_byte_ms ?? global?.first_byte_ms ?? DEFAULT_TIMEOUTS.firstByteMs,
    idleMs: own?.idle_ms ?? global?.idle_ms ?? DEFAULT_TIMEOUTS.idleMs,
    totalMs: own?.total_ms ?? global?.total_ms ?? DEFAULT_TIMEOUTS.totalMs,
  };
}

/** The key and base URL a provider's official SDK variables give, if any. */
function fromEnvironment(definition: ProviderDefinition, env: NodeJS.ProcessEnv): { key?: string; keyVar?: string; baseUrl?: string } {
  const found: { key?: string; keyVar?: string; baseUrl?: string } = {};
  for (const name of definition.apiKeyEnv) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      found.key = value;
      found.keyVar = name;
      break;
    }
  }
  if (definition.baseUrlEnv !== undefined) {
    const value = env[definition.baseUrlEnv];
    if (value !== undefined && value !== '') found.baseUrl = providerBaseUrl(definition, value, definition.baseUrlEnv);
  }
  return found;
}

/**
 * A base URL as the provider's official SDK reads it, the same from every source (environment
 * variable, config file, dashboard): no scheme means http:// (OLLAMA_HOST is often host:port), and a
 * host root (no path) gets the SDK's API path (`baseUrlEnvPath`); a URL with a path is the API base
 * as it is (a proxy's or a local server's `/v1`). A value that is not an http(s) URL is refused,
 * naming where it came from (`where`).
 */
export function providerBaseUrl(definition: Pick<ProviderDefinition, 'baseUrlEnvPath'>, value: string, where: string): string {
  let url = value.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (scheme === null) url = `http://${url}`;
  else if (!/^https?$/i.test(scheme[1])) throw new ConfigError(`Invalid ${where}: "${value}" must be an http:// or https:// URL`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`Invalid ${where}: "${value}" is not a valid URL`);
  }
  if (parsed.hostname === '') throw new ConfigError(`Invalid ${where}: "${value}" has no host`);
  if (parsed.search !== '' || parsed.hash !== '') throw new ConfigError(`Invalid ${where}: "${value}" must not have a query or a fragment`);
  url = trimSlash(url);
  const path = definition.baseUrlEnvPath;
  const hostRoot = parsed.pathname === '' || parsed.pathname === '/';
  return path === undefined || !hostRoot ? url : url + path;
}

function knownTypes(): string {
  return providerDefinitions()
    .map((d) => d.id)
    .join(', ');
}

function resolveProvider(
  name: string,
  entry: ProviderEntry | undefined,
  file: ConfigFile,
  env: NodeJS.ProcessEnv,
): ResolvedProvider | undefined {
  const type = entry?.type ?? name;
  const definition = getProviderDefinition(type);
  if (definition === undefined) {
    throw new ConfigError(
      `Invalid configuration: providers.${name}${entry?.type === undefined ? '' : '.type'}: unknown provider type "${type}" (known: ${knownTypes()}; use "type": "openai-compatible" with a base_url for any OpenAI-compatible server)`,
    );
  }
  // Environment variables apply to the provider entry named like the definition only.
  const fromEnv = name === definition.id ? fromEnvironment(definition, env) : {};
  // OPENAI_BASE_URL alone: a local OpenAI-compatible server that takes no key (vLLM, LM Studio, Ollama).
  const keylessByEnv = definition.keylessWithBaseUrlEnv === true && fromEnv.baseUrl !== undefined && fromEnv.key === undefined;
  if (entry === undefined && fromEnv.key === undefined && !((definition.keyRequired === false || keylessByEnv) && fromEnv.baseUrl !== undefined)) {
    return undefined; // not mentioned anywhere: stays off
  }
  const path = `providers.${name}`;
  const options: Record<string, unknown> = { ...entry?.options };
  if (fromEnv.keyVar === 'AZURE_OPENAI_AD_TOKEN' && options.auth === undefined) options.auth = 'entra';
  for (const [option, variables] of Object.entries(definition.optionsEnv ?? {})) {
    if (options[option] !== undefined) continue;
    const variable = variables.find((v) => env[v] !== undefined && env[v] !== '');
    if (variable !== undefined) options[option] = env[variable];
  }

  let keys: ResolvedKey[];
  if (entry?.keys !== undefined && entry.keys.length > 0) {
    keys = entry.keys.map((k, i) => ({
      id: k.id ?? k.name ?? `${name}#${i}`,
      name: k.name ?? `key ${i + 1}`,
      secret: resolveSecret(k.api_key, `${path}.keys[${i}].api_key`, env),
      weight: k.weight,
      models: k.models,
      enabled: k.enabled,
    }));
  } else {
    const secret = entry?.api_key !== undefined ? resolveSecret(entry.api_key, `${path}.api_key`, env) : fromEnv.key;
    keys = [{ id: `${name}#0`, name: secret === undefined ? 'no key' : 'default', secret, weight: 1, models: undefined, enabled: true }];
  }

  const baseUrl = entry?.base_url !== undefined
    ? providerBaseUrl(definition, entry.base_url, `${path}.base_url`)
    : fromEnv.baseUrl ?? trimSlash(definition.defaultBaseUrl);
  let enabled = entry?.enabled ?? true;
  let disabledReason: string | undefined;
  if (!enabled) disabledReason = 'disabled in config';
  const hasKey = keys.some((k) => k.secret !== undefined && k.enabled);
  const keyless = keylessByEnv && entry?.api_key === undefined && entry?.keys === undefined;
  if (enabled && definition.keyRequired && !hasKey && !keyless) {
    enabled = false;
    const vars = definition.apiKeyEnv.length > 0 ? ` (or set ${definition.apiKeyEnv[0]})` : '';
    disabledReason = `no API key: add ${path}.api_key${vars}`;
  }
  if (enabled && baseUrl === '') {
    enabled = false;
    disabledReason = `no base URL: add ${path}.base_url${definition.baseUrlEnv ? ` (or set ${definition.baseUrlEnv})` : ''}`;
  }
  if (type === 'openai-compatible' && entry?.base_url === undefined) {
    throw new ConfigError(`Invalid configuration: ${path}.base_url: required for an "openai-compatible" provider`);
  }

  // Azure: the deployment map names the models the entry does not list.
  const fromOptions = entry?.models === undefined || entry?.embedding_models === undefined ? definition.modelsFromOptions?.(options) : undefined;
  const headers: Record<string, string> = {};
  for (const [header, value] of Object.entries(entry?.headers ?? {})) {
    headers[header.toLowerCase()] = resolveSecret(value, `${path}.headers.${header}`, env);
  }
  return {
    name,
    definition,
    enabled,
    disabledReason,
    ...(keyless ? { keyless: true } : {}),
    baseUrl,
    keys,
    models: entry?.models ?? fromOptions?.models.filter((m) => !entry?.embedding_models?.includes(m)) ?? definition.models,
    embeddingModels: entry?.embedding_models ?? fromOptions?.embeddingModels.filter((m) => !entry?.models?.includes(m)) ?? definition.embeddingModels ?? [],
    headers,
    forwardHeaders: { allow: entry?.forward_headers?.allow ?? [], deny: entry?.forward_headers?.deny ?? [] },
    timeouts: resolveTimeouts(file.timeouts, entry?.timeouts),
    maxRetries: entry?.max_retries ?? file.routing.retry.max_retries,
    retryBudgetMs: entry?.retry_budget_ms ?? file.routing.retry.budget_ms,
    concurrency: entry?.concurrency === undefined ? undefined : {
      maxInFlight: entry.concurrency.max_in_flight,
      maxQueue: entry.concurrency.max_queue,
      queueTimeoutMs: entry.concurrency.queue_timeout_ms,
    },
    healthCheck: entry?.health_check === undefined || !entry.health_check.enabled ? undefined : {
      intervalMs: entry.health_check.interval_ms,
      timeoutMs: entry.health_check.timeout_ms,
    },
    options,
    source: entry === undefined ? 'env' : 'file',
  };
}

function resolveModelGroups(groups: Record<string, ModelGroupEntry>, providers: readonly ResolvedProvider[], warnings: string[]): Record<string, ResolvedModelGroup> {
  const resolved: Record<string, ResolvedModelGroup> = {};
  for (const [name, group] of Object.entries(groups)) {
    if (!group.enabled) continue;
    for (const deployment of group.deployments) {
      if (!providers.some((p) => p.name === deployment.provider)) {
        warnings.push(`routing.model_groups.${name}: provider "${deployment.provider}" is not configured; that deployment is skipped`);
      }
    }
    resolved[name] = {
      deployments: group.deployments.map((d) => ({ provider: d.provider, model: d.model, weight: d.weight })),
      fallbacks: [...group.fallbacks],
    };
  }
  return resolved;
}

function resolveAdmin(file: ConfigFile, env: NodeJS.ProcessEnv): ResolvedConfig['admin'] {
  const sessionTtlHours = file.admin.session_ttl_hours;
  const fromEnv = env.HEIMDALL_ADMIN_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') return { token: fromEnv, tokenSource: 'env', sessionTtlHours };
  if (file.admin.token === undefined) return { token: undefined, tokenSource: undefined, sessionTtlHours };
  return { token: resolveSecret(file.admin.token, 'admin.token', env), tokenSource: 'file', sessionTtlHours };
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const LOG_FORMATS = new Set(['auto', 'json', 'pretty']);

/** The number of worker processes HEIMDALL_WORKERS / --workers may ask for. */
export const MAX_WORKERS = 256;

/** Parses a worker count (HEIMDALL_WORKERS, --workers); undefined when it is not an integer 1..MAX_WORKERS. */
export function parseWorkerCount(value: string): number | undefined {
  const workers = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  return Number.isInteger(workers) && workers >= 1 && workers <= MAX_WORKERS ? workers : undefined;
}

/** Process-level variables read outside the config file: a bad value stops start-up, naming the variable. */
function checkProcessEnvironment(env: NodeJS.ProcessEnv): void {
  const workers = env.HEIMDALL_WORKERS;
  if (workers !== undefined && workers !== '' && parseWorkerCount(workers) === undefined) {
    throw new ConfigError(`Invalid HEIMDALL_WORKERS environment variable: "${workers}" (an integer from 1 to ${MAX_WORKERS}: the number of worker processes)`);
  }
  const format = env.LOG_FORMAT;
  if (format !== undefined && format.trim() !== '' && !LOG_FORMATS.has(format.trim().toLowerCase())) {
    throw new ConfigError(`Invalid LOG_FORMAT environment variable: "${format}" (one of ${[...LOG_FORMATS].join(', ')})`);
  }
}

export function loadConfig(options: LoadOptions = {}): ResolvedConfig {
  const env = options.env ?? process.env;
  const configPath = options.configPath ?? (env.HEIMDALL_CONFIG || undefined);
  let file: ConfigFile;
  let raw: unknown = {};
  const sources: Record<string, Source> = { server: 'default', providers: 'env', routing: 'default', limits: 'default' };
  const capacity = options.capacityTargetDelayMs;
  if (options.config !== undefined) {
    raw = options.config;
    file = parseConfigFile(withCapacityDefault(options.config, capacity), 'config');
  } else if (configPath !== undefined) {
    raw = readConfigJson(configPath);
    file = parseConfigFile(withCapacityDefault(raw, capacity), configPath);
    sources.server = sources.routing = sources.limits = 'file';
  } else {
    file = parseConfigFile(withCapacityDefault({}, capacity), 'defaults');
  }

  const overrides = options.overrides ?? {};
  const envPort = env.PORT !== undefined && env.PORT !== '' ? Number(env.PORT) : undefined;
  if (envPort !== undefined && (!Number.isInteger(envPort) || envPort < 0 || envPort > 65535)) {
    throw new ConfigError(`Invalid PORT environment variable: "${env.PORT}" (an integer 0-65535)`);
  }
  checkProcessEnvironment(env);
  const logLevel = overrides.logLevel ?? (env.LOG_LEVEL || undefined) ?? file.server.log_level;
  if (!LOG_LEVELS.has(logLevel)) {
    throw new ConfigError(`Invalid log level "${logLevel}" (one of ${[...LOG_LEVELS].join(', ')})`);
  }

  const providers: ResolvedProvider[] = [];
  const names = new Set<string>([...providerDefinitions().map((d) => d.id), ...Object.keys(file.providers)]);
  for (const name of names) {
    const resolved = resolveProvider(name, file.providers[name], file, env);
    if (resolved !== undefined) providers.push(resolved);
  }
  if (Object.keys(file.providers).length > 0) sources.providers = 'file';

  const warnings: string[] = [];
  for (const provider of providers) {
    if (!provider.enabled && provider.disabledReason !== undefined) {
      warnings.push(`provider ${provider.name} is not enabled: ${provider.disabledReason}`);
    }
  }
  const routing = file.routing;
  if (routing.default_provider !== undefined && !providers.some((p) => p.name === routing.default_provider)) {
    warnings.push(`routing.default_provider "${routing.default_provider}" is not a configured provider`);
  }

  return {
    server: {
      port: overrides.port ?? envPort ?? file.server.port,
      host: overrides.host ?? (env.HOST || undefined) ?? file.server.host,
      dataDir: expandHome(overrides.dataDir ?? (env.HEIMDALL_DATA_DIR || undefined) ?? file.server.data_dir ?? '~/.heimdall'),
      logLevel: logLevel as ResolvedConfig['server']['logLevel'],
      shutdownTimeoutMs: file.server.shutdown_timeout_ms,
      allowedHosts: file.server.allowed_hosts,
      cors: file.server.cors === undefined ? undefined : {
        origins: file.server.cors.origins,
        methods: file.server.cors.methods,
        headers: file.server.cors.headers,
        credentials: file.server.cors.credentials,
        maxAgeSeconds: file.server.cors.max_age_seconds,
      },
      connections: {
        headersTimeoutMs: file.server.headers_timeout_ms,
        requestTimeoutMs: file.server.request_timeout_ms,
        keepAliveTimeoutMs: file.server.keep_alive_timeout_ms,
        maxPerClient: file.server.max_connections_per_client,
      },
      websocket: {
        enabled: file.server.websocket.enabled,
        idleTimeoutMs: file.server.websocket.idle_timeout_ms,
        maxConnections: file.server.websocket.max_connections,
      },
    },
    limits: { maxBodyBytes: file.limits.max_body_bytes, overload: resolveOverload(file.limits) },
    providers,
    routing: {
      defaultProvider: routing.default_provider,
      defaultModel: routing.default_model,
      aliases: routing.aliases,
      fallbacks: routing.fallbacks,
      strictParams: routing.strict_params,
      modelGroups: resolveModelGroups(routing.model_groups, providers, warnings),
      contextWindowFallbacks: routing.context_window_fallbacks,
      contentPolicyFallbacks: routing.content_policy_fallbacks,
      breaker: {
        enabled: routing.circuit_breaker.enabled,
        failureThreshold: routing.circuit_breaker.failure_threshold,
        cooldownMs: routing.circuit_breaker.cooldown_ms,
        probeIntervalMs: routing.circuit_breaker.probe_interval_ms,
        errorRateThreshold: routing.circuit_breaker.error_rate_threshold,
        minRequests: routing.circuit_breaker.min_requests,
        windowMs: routing.circuit_breaker.window_ms,
      },
      adaptive: {
        enabled: routing.adaptive.enabled,
        halfLifeMs: routing.adaptive.half_life_ms,
        minShare: routing.adaptive.min_share,
      },
    },
    configPath,
    sources,
    warnings,
    telemetry: resolveTelemetry(file.telemetry, env, resolveSecret),
    governance: resolveGovernance(file.governance, env, resolveSecret, (message) => { throw new ConfigError(message); }),
    timeouts: resolveTimeouts(file.timeouts, undefined),
    logging: {
      bodies: file.logging.bodies,
      maxBodyBytes: file.logging.max_body_bytes,
      retentionDays: file.logging.retention_days,
      maxDbBytes: file.logging.max_db_bytes,
    },
    admin: resolveAdmin(file, env),
    auth: resolveAuth(file.auth, env, resolveSecret),
    input: { raw, env, capacityTargetDelayMs: capacity },
    catalog: { overrides: file.catalog.overrides },
    responses: resolveResponses(file.responses),
    cache: resolveCache(file.cache),
    plugins: file.plugins,
    redis: resolveRedis(file.redis, env, resolveSecret),
    database: resolveDatabase(file.database, env, resolveSecret),
    mcp: resolveMcp(file.mcp, env, resolveSecret),
  };
}
