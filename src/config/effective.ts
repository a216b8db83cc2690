/**
 * The running configuration, one source of truth: the config file's JSON
 * (and the environment) with the store's rows laid over it,
 *
 *   config = loadConfig({ config: deepMerge(fileRaw, storePatch), env })
 *
 * rebuilt on every change, from the management API (`change()`, one
 * transaction with its audit entry, rolled back when the result does not
 * load) or from the config file (`reloadFileText()`, kept when it does not).
 * Each rebuild is applied with `gateway.reload()` to the next request, and
 * `onChange` listeners (governance, live settings) hear about it.
 */
import { invalidField, type GatewayError } from '../errors/gateway-error.js';
import type { Gateway } from '../gateway/gateway.js';
import type { Store } from '../store/store.js';
import type { StoreLogger } from '../store/store-logger.js';
import { configSecrets, redactText, registerSecrets } from '../telemetry/secrets.js';
import { ConfigError, loadConfig, parseConfigFile, withCapacityDefault, type ResolvedConfig, type Source } from './load.js';
import type { ConfigFile } from './schema.js';
import { deepMerge, isObject, renderStorePatch, settingsSections, ROUTING_SETTING, type StoreOrigins } from './store-patch.js';

/** Everything one build produced: the resolved config and what the API needs to describe it. */
export interface ConfigSnapshot {
  config: ResolvedConfig;
  /** The effective configuration in config-file shape, defaults filled (env-only providers are not in it). */
  file: ConfigFile;
  /** What the config file and the environment give without the store. */
  base: ResolvedConfig;
  origins: StoreOrigins;
}

export type ConfigChangeListener = (config: ResolvedConfig, previous: ResolvedConfig) => void;

export interface ChangeMeta {
  /** Who: "token", "session:ab12cd34", "loopback", "config-file". */
  actor: string;
  /** What: "provider.create", "settings.update", ... */
  action: string;
  target?: string | null;
}

export interface ConfigServiceOptions {
  store: Store;
  gateway: Gateway;
  logger: StoreLogger;
}

/** The first `path: message` of a ConfigError, as an error naming the field (400). */
export function configErrorToGateway(error: ConfigError, strip?: RegExp): GatewayError {
  const text = error.message.replace(/^Invalid configuration( in [^:\n]*)?:\s*/, '');
  const first = text.split('\n').map((line) => line.trim()).find((line) => line !== '') ?? text;
  const match = /^([^\s:]+):\s*(.*)$/.exec(first);
  const path = match?.[1] ?? '';
  const param = strip === undefined ? path : path.replace(strip, '');
  return invalidField(param === '' ? path : param, redactText(match ? `${param || path}: ${match[2]}` : first));
}

export class ConfigService {
  readonly #store: Store;
  readonly #gateway: Gateway;
  readonly #logger: StoreLogger;
  readonly #env: NodeJS.ProcessEnv;
  readonly #configPath: string | undefined;
  readonly #overrides: { port: number; host: string; dataDir: string; logLevel: string };
  readonly #initialSources: Record<string, Source>;
  /** The embedding's default for limits.capacity_target_delay_ms (the library's 0), kept for every rebuild. */
  readonly #capacityTargetDelayMs: number | undefined;
  readonly #listeners: ConfigChangeListener[] = [];
  #fileRaw: unknown;
  #snapshot: ConfigSnapshot;

  constructor(initial: ResolvedConfig, options: ConfigServiceOptions) {
    this.#store = options.store;
    this.#gateway = options.gateway;
    this.#logger = options.logger;
    this.#env = initial.input.env;
    this.#capacityTargetDelayMs = initial.input.capacityTargetDelayMs;
    this.#configPath = initial.configPath;
    this.#fileRaw = initial.input.raw ?? {};
    this.#initialSources = { ...initial.sources };
    // Server settings apply at start only: a rebuild keeps what the CLI, env and file gave then.
    this.#overrides = {
      port: initial.server.port, host: initial.server.host, dataDir: initial.server.dataDir, logLevel: initial.server.logLevel,
    };
    let snapshot: ConfigSnapshot;
    try {
      snapshot = this.#build(this.#fileRaw);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // A store row that no longer loads (a provider type removed by a downgrade...) must not stop the gateway.
      this.#logger.error(
        { error: redactText(error.message) },
        'the configuration saved in the store does not load: running on the config file and environment only (fix or delete the offending entry through /api)',
      );
      snapshot = this.#build(this.#fileRaw, false);
    }
    this.#snapshot = snapshot;
    this.#install(snapshot, initial);
  }

  /** The configuration requests use now. */
  get config(): ResolvedConfig {
    return this.#snapshot.config;
  }

  get snapshot(): ConfigSnapshot {
    return this.#snapshot;
  }

  /** The config file's JSON as written (or the config object the app was built with). */
  get fileRaw(): unknown {
    return this.#fileRaw;
  }

  get configPath(): string | undefined {
    return this.#configPath;
  }

  /** Called after every applied change with the new and the previous configuration. Returns an unsubscribe. */
  onChange(listener: ConfigChangeListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const index = this.#listeners.indexOf(listener);
      if (index >= 0) this.#listeners.splice(index, 1);
    };
  }

  /**
   * Runs an API change: `mutate` writes store rows; the configuration is rebuilt
   * from them and the audit entry written, all in one transaction. When the
   * result does not load, the transaction is rolled back and a 400 naming the
   * field is thrown. `describe` renders the changed thing before and after.
   */
  change<T>(meta: ChangeMeta, mutate: () => T, describe?: (snapshot: ConfigSnapshot) => unknown, strip?: RegExp): T {
    const before = describe?.(this.#snapshot);
    let result!: T;
    let next!: ConfigSnapshot;
    try {
      this.#store.config.transaction(() => {
        result = mutate();
        next = this.#build(this.#fileRaw);
        this.#store.config.appendAudit({
          actor: meta.actor, action: meta.action, target: meta.target ?? null, before, after: describe?.(next),
        });
      });
    } catch (error) {
      if (error instanceof ConfigError) throw configErrorToGateway(error, strip);
      throw error;
    }
    this.#apply(next);
    return result;
  }

  /**
   * New config file text (the watcher): applied when it parses and loads;
   * otherwise a log line says why and the running configuration stays.
   */
  reloadFileText(text: string): boolean {
    const where = this.#configPath ?? 'the config file';
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      // V8 quotes the text around the error: keep it out of the log, it may hold a key.
      const reason = (error as Error).message.replace(/,?\s*"[\s\S]*"\s*is not valid JSON$/, ' (not valid JSON)');
      this.#logger.error({ path: where, error: redactText(reason) }, 'config file change rejected: the file is not valid JSON; the running configuration stays');
      return false;
    }
    let next: ConfigSnapshot;
    try {
      next = this.#build(raw);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.#logger.error({ path: where, error: redactText(error.message) }, 'config file change rejected; the running configuration stays');
      return false;
    }
    const changed = changedSections(this.#fileRaw, raw);
    this.#fileRaw = raw;
    this.#store.config.appendAudit({ actor: 'config-file', action: 'config.reload', target: where, after: { changed_sections: changed } });
    this.#apply(next);
    this.#logger.info({ path: where, changed_sections: changed }, 'configuration reloaded from the config file');
    return true;
  }

  /**
   * Another process changed the store (`--workers N`: another worker's management API):
   * rebuild from the rows and apply. A rebuild that does not load keeps the running configuration.
   */
  reloadFromStore(): boolean {
    try {
      this.#apply(this.#build(this.#fileRaw));
      return true;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.#logger.error({ error: redactText(error.message) }, 'the configuration another worker saved does not load here; the running configuration stays');
      return false;
    }
  }

  #build(fileRaw: unknown, withStore = true): ConfigSnapshot {
    const load = (config: unknown): ResolvedConfig => loadConfig({
      config, env: this.#env, configPath: this.#configPath, overrides: this.#overrides, capacityTargetDelayMs: this.#capacityTargetDelayMs,
    });
    const base = load(fileRaw);
    const rendered = withStore
      ? renderStorePatch(this.#store, fileRaw, this.#env)
      : { patch: {}, origins: { providers: new Map(), keyIds: new Set<string>(), aliases: new Set<string>(), modelGroups: new Map(), settings: {} }, problems: [] };
    const merged = deepMerge(fileRaw, rendered.patch);
    const config = withStore ? load(merged) : base;
    config.warnings.push(...rendered.problems);
    const file = parseConfigFile(withCapacityDefault(merged, this.#capacityTargetDelayMs), 'config');
    config.sources = computeSources(fileRaw, base, config, rendered.origins, this.#initialSources);
    for (const provider of config.providers) {
      provider.source = (config.sources[`providers.${provider.name}`] ?? provider.source) as Source;
    }
    return { config, file, base, origins: rendered.origins };
  }

  #apply(next: ConfigSnapshot): void {
    const previous = this.#snapshot.config;
    this.#snapshot = next;
    this.#install(next, previous);
  }

  #install(snapshot: ConfigSnapshot, previous: ResolvedConfig): void {
    const config = snapshot.config;
    registerSecrets([...configSecrets(config), config.admin.token]);
    this.#gateway.reload(config);
    this.#applyLogging(config);
    for (const warning of config.warnings) {
      if (previous === config || !previous.warnings.includes(warning)) this.#logger.warn({ warning }, 'configuration warning');
    }
    if (previous === config) return;
    for (const listener of this.#listeners) {
      try {
        listener(config, previous);
      } catch (error) {
        this.#logger.error({ err: error }, 'configuration change listener failed');
      }
    }
  }

  /** Request-log settings are live: bodies, body cap, retention by age and size (0 = no limit). */
  #applyLogging(config: ResolvedConfig): void {
    const logging = config.logging;
    this.#store.logs.setBodyOptions({ enabled: logging.bodies, maxBytes: logging.maxBodyBytes });
    this.#store.retention.setLimits({
      maxAgeMs: logging.retentionDays > 0 ? logging.retentionDays * 24 * 60 * 60 * 1000 : null,
      maxBytes: logging.maxDbBytes > 0 ? logging.maxDbBytes : null,
    });
  }
}

function changedSections(before: unknown, after: unknown): string[] {
  const a = isObject(before) ? before : {};
  const b = isObject(after) ? after : {};
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key])).sort();
}

function has(value: unknown, key: string): boolean {
  return isObject(value) && value[key] !== undefined;
}

/**
 * Where each part of the configuration comes from: top-level sections, each
 * provider and key, each alias, fallback and model group, each settings field.
 */
function computeSources(
  fileRaw: unknown,
  base: ResolvedConfig,
  config: ResolvedConfig,
  origins: StoreOrigins,
  initial: Record<string, Source>,
): Record<string, Source> {
  const file = isObject(fileRaw) ? fileRaw : {};
  const sources: Record<string, Source> = { server: initial.server ?? (has(file, 'server') ? 'file' : 'default') };
  const fileOrDefault = (section: string): Source => (has(file, section) ? 'file' : 'default');

  const baseProviders = new Map(base.providers.map((provider) => [provider.name, provider.source]));
  sources.providers = has(file, 'providers') ? 'file' : 'env';
  for (const provider of config.providers) {
    const declared = baseProviders.get(provider.name);
    const source: Source = declared ?? (origins.providers.has(provider.name) ? 'store' : provider.source);
    sources[`providers.${provider.name}`] = source;
    for (const key of provider.keys) {
      if (key.secret === undefined) continue;
      sources[`providers.${provider.name}.keys.${key.id}`] = origins.keyIds.has(key.id) ? 'store' : source;
    }
  }
  if (origins.providers.size > 0) sources.providers = 'store';

  const fileRouting = isObject(file.routing) ? file.routing : {};
  const storeRouting = isObject(origins.settings[ROUTING_SETTING]) ? (origins.settings[ROUTING_SETTING] as Record<string, unknown>) : {};
  sources.routing = Object.keys(storeRouting).length > 0 || origins.aliases.size > 0 || origins.modelGroups.size > 0
    ? 'store'
    : fileOrDefault('routing');
  for (const alias of Object.keys(config.routing.aliases)) {
    sources[`routing.aliases.${alias}`] = origins.aliases.has(alias) ? 'store' : 'file';
  }
  for (const model of Object.keys(config.routing.fallbacks)) {
    sources[`routing.fallbacks.${model}`] = has(storeRouting.fallbacks, model) ? 'store' : 'file';
  }
  const fileGroups = isObject(fileRouting.model_groups) ? fileRouting.model_groups : {};
  for (const group of new Set([...Object.keys(fileGroups), ...origins.modelGroups.keys()])) {
    sources[`routing.model_groups.${group}`] = origins.modelGroups.has(group) ? 'store' : 'file';
  }
  for (const field of Object.keys(storeRouting)) {
    if (field !== 'fallbacks') sources[`routing.${field}`] = 'store';
  }

  for (const section of settingsSections()) {
    const stored = origins.settings[section];
    sources[section] = stored !== undefined ? 'store' : fileOrDefault(section);
    const fileSection = isObject(file[section]) ? (file[section] as Record<string, unknown>) : {};
    const storeSection = isObject(stored) ? stored : {};
    for (const field of new Set([...Object.keys(fileSection), ...Object.keys(storeSection)])) {
      sources[`${section}.${field}`] = field in storeSection ? 'store' : 'file';
    }
  }
  sources.telemetry = fileOrDefault('telemetry');
  sources.admin = config.admin.tokenSource ?? fileOrDefault('admin');
  return sources;
}
