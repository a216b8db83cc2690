/**
 * The store's configuration rows in config-file shape (the "store patch"), and
 * the merge that lays it over the config file: the running configuration is
 * `loadConfig({ config: deepMerge(fileRaw, storePatch) })` (src/config/effective.ts).
 *
 * What the store holds, and how it renders:
 *  - providers rows: `options` holds `{ entry, sealed }`, the provider entry fields
 *    the API set (config-file names); `headers` and `options` (which may carry
 *    credentials) are encrypted in `sealed`. A row for a provider that the file or
 *    the environment also declares overrides only the fields it sets.
 *  - provider_keys rows: appended after the provider's file/env keys, with their
 *    decrypted secret and the row id as the key id.
 *  - aliases and model_groups rows: `routing.aliases` / `routing.model_groups` entries.
 *  - settings rows: `routing` (default model, fallbacks, ... in config-file shape)
 *    and one row per settings section (`logging`, `limits`, `timeouts`, ...).
 */
import { getProviderDefinition } from '../providers/registry.js';
import type { ProviderRecord } from '../store/config-types.js';
import type { SecretBox } from '../store/secret-box.js';
import type { Store } from '../store/store.js';
import { configSchema } from './schema.js';

export type JsonObject = Record<string, unknown>;

/** The settings row that holds routing fields (aliases and model groups have their own tables). */
export const ROUTING_SETTING = 'routing';

/** The settings row that holds the plugin list PUT /api/plugins saved (src/api/admin/plugins.ts). */
export const PLUGINS_SETTING = 'plugins';

/** Sections that are not live settings: start-only, or managed through their own endpoints. */
const NOT_SETTINGS = new Set(['$schema', 'server', 'providers', 'routing', 'admin', 'telemetry', 'redis', 'database', 'auth', 'mcp', PLUGINS_SETTING]);

/** Top-level config sections PATCH /api/settings may write: logging, limits, timeouts, and any later one. */
export function settingsSections(): string[] {
  return Object.keys(configSchema.shape).filter((name) => !NOT_SETTINGS.has(name));
}

/** Provider entry fields that may hold credentials: encrypted at rest. */
const SEALED_FIELDS = ['headers', 'options'] as const;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Objects merge key by key; arrays and scalars in the patch replace; undefined
 * in the patch changes nothing.
 */
export function deepMerge(base: unknown, patch: unknown): unknown {
  if (patch === undefined) return base;
  if (!isObject(base) || !isObject(patch)) return patch;
  const merged: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value !== undefined) merged[key] = deepMerge(base[key], value);
  }
  return merged;
}

/** Applies a patch where null removes a key; returns a new object. */
export function applyNullablePatch(current: JsonObject, patch: JsonObject): JsonObject {
  const next: JsonObject = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}

// ── provider rows ─────────────────────────────────────────────────────────────

/** The provider entry fields a store row sets, secrets decrypted. */
export function readProviderEntry(row: ProviderRecord, box: SecretBox): JsonObject {
  const data = isObject(row.options) ? row.options : {};
  const entry: JsonObject = isObject(data.entry) ? { ...data.entry } : {};
  if (typeof data.sealed === 'string') Object.assign(entry, JSON.parse(box.decrypt(data.sealed)) as JsonObject);
  return entry;
}

/** A provider row's `options` column for an entry: the credential-bearing fields sealed. */
export function providerRowOptions(entry: JsonObject, box: SecretBox): JsonObject {
  const open: JsonObject = {};
  const secret: JsonObject = {};
  for (const [key, value] of Object.entries(entry)) {
    if (value === undefined) continue;
    if ((SEALED_FIELDS as readonly string[]).includes(key)) secret[key] = value;
    else open[key] = value;
  }
  const options: JsonObject = { entry: open };
  if (Object.keys(secret).length > 0) options.sealed = box.encrypt(JSON.stringify(secret));
  return options;
}

/**
 * The keys a provider has without the store, as config-file key entries: the
 * file's `keys`, its single `api_key`, or the SDK environment variable (as an
 * `env.NAME` reference, so the secret is read from the environment at load).
 */
export function baseKeyEntries(name: string, fileEntry: JsonObject | undefined, env: NodeJS.ProcessEnv): JsonObject[] {
  if (Array.isArray(fileEntry?.keys) && fileEntry.keys.length > 0) return fileEntry.keys as JsonObject[];
  if (typeof fileEntry?.api_key === 'string') return [{ id: `${name}#0`, name: 'default', api_key: fileEntry.api_key }];
  const type = typeof fileEntry?.type === 'string' ? fileEntry.type : name;
  const definition = getProviderDefinition(type);
  if (definition === undefined || definition.id !== name) return [];
  const variable = definition.apiKeyEnv.find((candidate) => env[candidate] !== undefined && env[candidate] !== '');
  return variable === undefined ? [] : [{ id: `${name}#0`, name: 'default', api_key: `env.${variable}` }];
}

/** Which parts of the effective configuration the store supplied, for sources and the API. */
export interface StoreOrigins {
  /** Provider name -> its store row. */
  providers: Map<string, ProviderRecord>;
  /** Ids of the provider keys held in the store. */
  keyIds: Set<string>;
  aliases: Set<string>;
  /** Model group name -> row id. */
  modelGroups: Map<string, string>;
  /** Settings rows present, by key (section name or 'routing'). */
  settings: Record<string, unknown>;
}

export interface RenderedPatch {
  patch: JsonObject;
  origins: StoreOrigins;
  /** Rows left out because their secrets cannot be decrypted (another encryption key). */
  problems: string[];
}

/** The row's provider entry, or its non-secret part when the sealed part does not decrypt. */
function entryOrOpenPart(row: ProviderRecord, box: SecretBox, problems: string[]): JsonObject {
  try {
    return readProviderEntry(row, box);
  } catch {
    problems.push(`provider ${row.name}: its stored headers and options cannot be decrypted with the current encryption key; set them again with PATCH /api/providers/${row.name}`);
    const data = isObject(row.options) ? row.options : {};
    return isObject(data.entry) ? { ...data.entry } : {};
  }
}

/** Renders every configuration row of the store as a config-file patch over `fileRaw`. */
export function renderStorePatch(store: Store, fileRaw: unknown, env: NodeJS.ProcessEnv): RenderedPatch {
  const repo = store.config;
  const fileProviders = isObject(fileRaw) && isObject(fileRaw.providers) ? fileRaw.providers : {};
  const origins: StoreOrigins = {
    providers: new Map(), keyIds: new Set(), aliases: new Set(), modelGroups: new Map(), settings: repo.listSettings(),
  };
  const patch: JsonObject = {};

  const problems: string[] = [];
  const providers: JsonObject = {};
  const keysByProvider = new Map<string, JsonObject[]>();
  const names = new Map(repo.listProviders().map((row) => [row.id, row.name]));
  for (const listed of repo.listProviderKeys()) {
    let key: typeof listed | undefined;
    try {
      key = repo.getProviderKey(listed.id, { withSecret: true });
    } catch {
      const provider = names.get(listed.provider_id) ?? listed.provider_id;
      problems.push(`provider ${provider}: key "${listed.name}" (${listed.id}) cannot be decrypted with the current encryption key and is left out; enter it again (PATCH /api/providers/${provider}/keys/${listed.id} with api_key) or delete it`);
    }
    if (key === undefined) continue;
    origins.keyIds.add(key.id);
    const entry: JsonObject = { id: key.id, name: key.name, api_key: key.secret, weight: key.weight, enabled: key.enabled };
    if (key.models !== null) entry.models = key.models;
    const list = keysByProvider.get(key.provider_id);
    if (list === undefined) keysByProvider.set(key.provider_id, [entry]);
    else list.push(entry);
  }
  for (const row of repo.listProviders()) {
    origins.providers.set(row.name, row);
    const fileEntry = isObject(fileProviders[row.name]) ? (fileProviders[row.name] as JsonObject) : undefined;
    const entry = entryOrOpenPart(row, store.secrets, problems);
    const storeKeys = keysByProvider.get(row.id);
    if (storeKeys !== undefined) entry.keys = [...baseKeyEntries(row.name, fileEntry, env), ...storeKeys];
    providers[row.name] = entry;
  }
  if (Object.keys(providers).length > 0) patch.providers = providers;

  const routing: JsonObject = isObject(origins.settings[ROUTING_SETTING]) ? { ...(origins.settings[ROUTING_SETTING] as JsonObject) } : {};
  const aliases: JsonObject = {};
  for (const alias of repo.listAliases()) {
    origins.aliases.add(alias.alias);
    aliases[alias.alias] = alias.target;
  }
  if (Object.keys(aliases).length > 0) routing.aliases = aliases;
  const groups: JsonObject = {};
  for (const group of repo.listModelGroups()) {
    origins.modelGroups.set(group.name, group.id);
    groups[group.name] = {
      deployments: group.deployments.map((d) => ({ provider: d.provider, model: d.model, weight: d.weight ?? 1 })),
      fallbacks: group.fallbacks,
      enabled: group.enabled,
    };
  }
  if (Object.keys(groups).length > 0) routing.model_groups = groups;
  if (Object.keys(routing).length > 0) patch.routing = routing;

  for (const section of settingsSections()) {
    const value = origins.settings[section];
    if (value !== undefined) patch[section] = value;
  }
  if (origins.settings[PLUGINS_SETTING] !== undefined) patch.plugins = origins.settings[PLUGINS_SETTING];
  return { patch, origins, problems };
}
