/**
 * What the management API returns for configuration: providers and their keys
 * (the last 4 characters of a secret, never more), routing, model groups,
 * settings, and the whole effective configuration. Every string that could
 * hold a credential is masked here, once, for every route and the audit log.
 */
import { redisView } from '../../cluster/redis-config.js';
import { databaseView } from '../../store/pg/database-config.js';
import type { ConfigSnapshot } from '../../config/effective.js';
import type { ResolvedConfig, ResolvedProvider, Source } from '../../config/load.js';
import { isObject, settingsSections } from '../../config/store-patch.js';
import { DEFAULT_FORWARD_HEADERS } from '../../providers/forward-headers.js';
import { REDACTED, isSecretKey, last4 } from '../../store/index.js';
import { redactText } from '../../telemetry/secrets.js';

/** Header names whose values are credentials. */
const SECRET_HEADER = /auth|key|token|secret|cookie|signature|password|credential/i;

export interface ProviderKeyView {
  id: string;
  name: string;
  last4: string;
  weight: number;
  models: string[] | null;
  enabled: boolean;
  source: Source;
}

export interface ProviderView {
  name: string;
  type: string;
  enabled: boolean;
  disabled_reason: string | null;
  /** The effective base URL. */
  base_url: string | null;
  /** Where the provider is declared: file, env, or store (created through the API). */
  source: Source;
  /** True when the store overrides some of a file/env provider's fields or adds keys. */
  store_override: boolean;
  models: string[];
  embedding_models: string[];
  keys: ProviderKeyView[];
  headers: Record<string, string>;
  timeouts: { connect_ms: number; first_byte_ms: number; idle_ms: number; total_ms: number };
  max_retries: number;
  /** Routing settings of the provider (docs/routing.md); null: not set (no limit, no checks). */
  retry_budget_ms: number;
  concurrency: { max_in_flight: number; max_queue: number; queue_timeout_ms: number } | null;
  health_check: { interval_ms: number; timeout_ms: number } | null;
  options: unknown;
  /** Caller headers forwarded on a same-format call: the configured lists and the names that result (no wildcards). */
  forward_headers: { allow: string[]; deny: string[]; defaults: string[] };
}

/** Field names holding a secret in configuration (a virtual key's `key`, every `*_key`, `token`, ...). */
function isSecretField(name: string): boolean {
  return name === 'key' || isSecretKey(name);
}

/**
 * A deep copy with secret-named fields and credential-shaped strings masked.
 * An `"env.NAME"` reference is kept: it names a variable, not its value.
 */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 32) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value)) {
    if (isSecretField(name) && item !== null && item !== undefined && item !== '') {
      out[name] = typeof item === 'string' && /^env\.[A-Za-z_][A-Za-z0-9_]*$/.test(item) ? item : REDACTED;
    } else {
      out[name] = redactDeep(item, depth + 1);
    }
  }
  return out;
}

export function maskHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const masked: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) masked[name] = SECRET_HEADER.test(name) ? REDACTED : redactText(value);
  return masked;
}

export function sourceOf(config: ResolvedConfig, path: string, fallback: Source = 'file'): Source {
  return config.sources[path] ?? fallback;
}

export function keyView(snapshot: ConfigSnapshot, provider: ResolvedProvider): ProviderKeyView[] {
  return provider.keys
    .filter((key) => key.secret !== undefined)
    .map((key) => ({
      id: key.id,
      name: key.name,
      last4: last4(key.secret ?? ''),
      weight: key.weight,
      models: key.models === undefined ? null : [...key.models],
      enabled: key.enabled,
      source: sourceOf(snapshot.config, `providers.${provider.name}.keys.${key.id}`, provider.source),
    }));
}

export function providerView(snapshot: ConfigSnapshot, provider: ResolvedProvider): ProviderView {
  const source = sourceOf(snapshot.config, `providers.${provider.name}`, provider.source);
  const t = provider.timeouts;
  return {
    name: provider.name,
    type: provider.definition.id,
    enabled: provider.enabled,
    disabled_reason: provider.disabledReason ?? null,
    base_url: provider.baseUrl === '' ? null : provider.baseUrl,
    source,
    store_override: source !== 'store' && snapshot.origins.providers.has(provider.name),
    models: [...provider.models],
    embedding_models: [...provider.embeddingModels],
    keys: keyView(snapshot, provider),
    headers: maskHeaders(provider.headers),
    timeouts: { connect_ms: t.connectMs, first_byte_ms: t.firstByteMs, idle_ms: t.idleMs, total_ms: t.totalMs },
    max_retries: provider.maxRetries,
    retry_budget_ms: provider.retryBudgetMs,
    concurrency: provider.concurrency === undefined
      ? null
      : { max_in_flight: provider.concurrency.maxInFlight, max_queue: provider.concurrency.maxQueue, queue_timeout_ms: provider.concurrency.queueTimeoutMs },
    health_check: provider.healthCheck === undefined ? null : { interval_ms: provider.healthCheck.intervalMs, timeout_ms: provider.healthCheck.timeoutMs },
    options: redactDeep(provider.options),
    forward_headers: {
      allow: [...provider.forwardHeaders.allow],
      deny: [...provider.forwardHeaders.deny],
      defaults: [...(provider.definition.forwardHeaders ?? DEFAULT_FORWARD_HEADERS[provider.definition.format])],
    },
  };
}

export function findProvider(snapshot: ConfigSnapshot, name: string): ResolvedProvider | undefined {
  return snapshot.config.providers.find((provider) => provider.name === name);
}

export interface ModelGroupView {
  /** The store row id, or the name for a group declared in the config file. */
  id: string;
  name: string;
  deployments: Array<{ provider: string; model: string; weight: number }>;
  fallbacks: string[];
  enabled: boolean;
  source: Source;
}

export function modelGroupViews(snapshot: ConfigSnapshot): ModelGroupView[] {
  const groups = snapshot.file.routing.model_groups;
  return Object.keys(groups).sort().map((name) => {
    const group = groups[name];
    return {
      id: snapshot.origins.modelGroups.get(name) ?? name,
      name,
      deployments: group.deployments.map((d) => ({ provider: d.provider, model: d.model, weight: d.weight })),
      fallbacks: [...group.fallbacks],
      enabled: group.enabled,
      source: sourceOf(snapshot.config, `routing.model_groups.${name}`),
    };
  });
}

/** GET /api/routing: the effective routing section, model groups as a list, with the source of each entry. */
export function routingView(snapshot: ConfigSnapshot): Record<string, unknown> {
  const { model_groups: _groups, ...routing } = snapshot.file.routing;
  const sources: Record<string, Source> = {};
  for (const [path, source] of Object.entries(snapshot.config.sources)) {
    if (path.startsWith('routing.')) sources[path.slice('routing.'.length)] = source;
  }
  return {
    ...routing,
    default_provider: routing.default_provider ?? null,
    default_model: routing.default_model ?? null,
    model_groups: modelGroupViews(snapshot),
    sources,
  };
}

/**
 * Fields of a settings section that are not settings but collections with
 * their own API (declared in the config file, managed at run time there).
 */
export const MANAGED_ELSEWHERE: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  governance: {
    virtual_keys: '/api/virtual-keys',
    teams: '/api/teams',
    customers: '/api/customers',
  },
};

/** GET /api/settings: every live settings section, effective values (defaults filled). */
export function settingsView(snapshot: ConfigSnapshot): Record<string, unknown> {
  const file = snapshot.file as unknown as Record<string, unknown>;
  const settings: Record<string, unknown> = {};
  for (const section of settingsSections()) {
    const value = redactDeep(file[section]);
    const skip = MANAGED_ELSEWHERE[section];
    settings[section] = skip !== undefined && isObject(value)
      ? Object.fromEntries(Object.entries(value).filter(([field]) => !(field in skip)))
      : value;
  }
  const t = snapshot.config.timeouts;
  settings.timeouts = { connect_ms: t.connectMs, first_byte_ms: t.firstByteMs, idle_ms: t.idleMs, total_ms: t.totalMs };
  return settings;
}

/**
 * GET /api/config: the whole effective configuration in config-file shape,
 * secrets masked (provider keys as last4), and where each part came from.
 */
export function configView(snapshot: ConfigSnapshot): Record<string, unknown> {
  const config = snapshot.config;
  const file = snapshot.file as unknown as Record<string, unknown>;
  const providers: Record<string, unknown> = {};
  for (const provider of config.providers) {
    const { name: _name, ...view } = providerView(snapshot, provider);
    providers[provider.name] = view;
  }
  const telemetry = config.telemetry;
  const effective: Record<string, unknown> = {
    ...(redactDeep(file) as Record<string, unknown>),
    server: {
      port: config.server.port,
      host: config.server.host,
      data_dir: config.server.dataDir,
      log_level: config.server.logLevel,
      shutdown_timeout_ms: config.server.shutdownTimeoutMs,
      headers_timeout_ms: config.server.connections.headersTimeoutMs,
      request_timeout_ms: config.server.connections.requestTimeoutMs,
      keep_alive_timeout_ms: config.server.connections.keepAliveTimeoutMs,
      max_connections_per_client: config.server.connections.maxPerClient,
    },
    timeouts: settingsView(snapshot).timeouts,
    providers,
    routing: routingView(snapshot),
    admin: { token: config.admin.token === undefined ? null : REDACTED, session_ttl_hours: config.admin.sessionTtlHours },
    redis: redisView(config.redis),
    database: databaseView(config.database),
    telemetry: {
      ...(redactDeep(file.telemetry) as Record<string, unknown>),
      otlp: isObject(file.telemetry) && isObject(file.telemetry.otlp)
        ? { ...file.telemetry.otlp, headers: maskAll(file.telemetry.otlp.headers) }
        : undefined,
      tracing_endpoint: telemetry.tracing?.endpoint ?? null,
      metrics_endpoint: telemetry.metrics.otlp?.endpoint ?? null,
    },
  };
  delete effective.$schema;
  const { routing: _routing, ...routingless } = effective;
  return {
    config_path: config.configPath ?? null,
    config: { ...routingless, routing: withoutSources(effective.routing) },
    sources: config.sources,
    admin_token_source: config.admin.tokenSource ?? null,
    warnings: config.warnings.map(redactText),
  };
}

function maskAll(headers: unknown): Record<string, string> | undefined {
  if (!isObject(headers)) return undefined;
  return Object.fromEntries(Object.keys(headers).map((name) => [name, REDACTED]));
}

function withoutSources(routing: unknown): unknown {
  if (!isObject(routing)) return routing;
  const { sources: _sources, ...rest } = routing;
  return rest;
}
