/**
 * /api/providers: list, create, read, update, delete providers; add, update,
 * delete their keys; test a connection; /api/provider-types lists the
 * definitions a provider can use.
 *
 * A provider declared in the config file or the environment can be changed
 * (the store overrides the fields the API sets, and adds keys) but not
 * deleted: DELETE removes only what the API added. Key secrets are write-only.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ConfigSnapshot } from '../../config/effective.js';
import { forwardHeadersSchema } from '../../config/schema.js';
import { applyNullablePatch, providerRowOptions, readProviderEntry, type JsonObject } from '../../config/store-patch.js';
import { providerDefinitions } from '../../providers/registry.js';
import type { ProviderRecord } from '../../store/config-types.js';
import { conflict, notFound, parseBody } from './http.js';
import { testProvider } from './provider-test.js';
import { findProvider, keyView, providerView } from './views.js';

const providerName = z
  .string()
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'use lowercase letters, digits, ".", "_" and "-", starting with a letter or digit');
const modelList = z.array(z.string().min(1));
const timeouts = z.strictObject({
  connect_ms: z.number().int().positive().optional(),
  first_byte_ms: z.number().int().positive().optional(),
  idle_ms: z.number().int().positive().optional(),
  total_ms: z.number().int().positive().optional(),
});

/** Entry fields the API may set; other provider fields of the config schema pass through and are checked at load. */
const entryFields = {
  type: z.string().min(1).nullable().optional(),
  base_url: z.string().url().nullable().optional(),
  enabled: z.boolean().nullable().optional(),
  models: modelList.nullable().optional(),
  embedding_models: modelList.nullable().optional(),
  headers: z.record(z.string().min(1), z.string()).nullable().optional(),
  timeouts: timeouts.nullable().optional(),
  max_retries: z.number().int().min(0).max(10).nullable().optional(),
  options: z.record(z.string(), z.unknown()).nullable().optional(),
  forward_headers: forwardHeadersSchema.nullable().optional(),
};

const keyFields = {
  name: z.string().min(1).max(100),
  api_key: z.string().min(1).max(8192),
  weight: z.number().min(0).max(1_000_000).optional(),
  models: modelList.nullable().optional(),
  enabled: z.boolean().optional(),
};
const keyCreate = z.strictObject({ ...keyFields, name: keyFields.name.optional() });
const keyPatch = z.strictObject({
  name: keyFields.name.optional(),
  api_key: keyFields.api_key.optional(),
  weight: keyFields.weight,
  models: keyFields.models,
  enabled: keyFields.enabled,
});

const providerCreate = z
  .object({
    name: providerName,
    ...entryFields,
    api_key: z.string().min(1).max(8192).optional(),
    keys: z.array(z.strictObject(keyFields)).optional(),
  })
  .catchall(z.unknown());
const providerPatch = z.object(entryFields).catchall(z.unknown());
const testBody = z.strictObject({
  key_id: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  timeout_ms: z.number().int().min(100).max(60_000).optional(),
});

type Params = { name: string };
type KeyParams = { name: string; key_id: string };

/** Config errors about this provider name the API field: `providers.x.keys[2].api_key` -> `api_key`. */
function stripFor(name: string): RegExp {
  return new RegExp(`^providers\\.${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(keys\\[\\d+\\]\\.)?`);
}

function withoutNulls(entry: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(entry).filter(([, value]) => value !== null && value !== undefined));
}

export function registerProviderRoutes(api: FastifyInstance): void {
  const service = api.configService;
  const repo = api.store.config;
  const box = api.store.secrets;

  const requireProvider = (name: string) => {
    const provider = findProvider(service.snapshot, name);
    if (provider === undefined) throw notFound(`No provider is named "${name}".`, 'name');
    return provider;
  };
  const describe = (name: string) => (snapshot: ConfigSnapshot) => {
    const provider = findProvider(snapshot, name);
    return provider === undefined ? null : providerView(snapshot, provider);
  };
  /** The provider's store row, created empty (an override of nothing) when the provider comes from file/env. */
  const rowFor = (name: string, type: string): ProviderRecord =>
    repo.getProviderByName(name) ?? repo.createProvider({ name, type, options: providerRowOptions({}, box), source: 'store' });
  const writeEntry = (row: ProviderRecord, entry: JsonObject): void => {
    repo.updateProvider(row.id, {
      type: typeof entry.type === 'string' ? entry.type : row.type,
      base_url: typeof entry.base_url === 'string' ? entry.base_url : null,
      enabled: entry.enabled !== false,
      options: providerRowOptions(entry, box),
    });
  };
  /** An override row that overrides nothing any more goes away. */
  const dropIfEmpty = (name: string): void => {
    const row = repo.getProviderByName(name);
    if (row === undefined || findProvider({ ...service.snapshot, config: service.snapshot.base }, name) === undefined) return;
    if (Object.keys(readProviderEntry(row, box)).length === 0 && repo.listProviderKeys(row.id).length === 0) {
      repo.deleteProvider(row.id);
    }
  };

  api.get('/provider-types', async () => ({
    data: providerDefinitions().map((definition) => ({
      type: definition.id,
      name: definition.name,
      format: definition.format,
      default_base_url: definition.defaultBaseUrl === '' ? null : definition.defaultBaseUrl,
      api_key_env: definition.apiKeyEnv[0] ?? null,
      base_url_env: definition.baseUrlEnv ?? null,
      needs_key: definition.keyRequired,
      operations: Object.keys(definition.operations).filter((op) => definition.operations[op as keyof typeof definition.operations]),
      models: [...definition.models],
      embedding_models: [...(definition.embeddingModels ?? [])],
      docs: definition.docs ?? null,
    })),
  }));

  api.get('/providers', async () => {
    const snapshot = service.snapshot;
    return { data: snapshot.config.providers.map((provider) => providerView(snapshot, provider)) };
  });

  api.get<{ Params: Params }>('/providers/:name', async (request) => {
    return providerView(service.snapshot, requireProvider(request.params.name));
  });

  api.post('/providers', async (request, reply) => {
    const body = parseBody(providerCreate, request.body);
    const { name, api_key, keys, ...fields } = body;
    const existing = findProvider(service.snapshot, name);
    if (existing !== undefined || repo.getProviderByName(name) !== undefined) {
      throw conflict(`A provider named "${name}" already exists (${existing?.source ?? 'store'}); change it with PATCH /api/providers/${name}.`, 'name');
    }
    const entry = withoutNulls({ ...fields, type: fields.type ?? name });
    service.change({ actor: request.adminActor, action: 'provider.create', target: name }, () => {
      const row = repo.createProvider({ name, type: entry.type as string, options: providerRowOptions({}, box), source: 'store' });
      writeEntry(row, entry);
      const all = [...(api_key === undefined ? [] : [{ name: 'default', api_key }]), ...(keys ?? [])];
      for (const key of all) {
        repo.createProviderKey({
          provider_id: row.id, name: key.name, secret: key.api_key,
          weight: 'weight' in key ? key.weight : undefined, models: 'models' in key ? key.models : undefined,
          enabled: 'enabled' in key ? key.enabled : undefined,
        });
      }
    }, describe(name), stripFor(name));
    reply.code(201);
    return providerView(service.snapshot, requireProvider(name));
  });

  api.patch<{ Params: Params }>('/providers/:name', async (request) => {
    const name = request.params.name;
    const provider = requireProvider(name);
    const body = parseBody(providerPatch, request.body) as JsonObject;
    if ('name' in body) throw conflict('A provider cannot be renamed (its name is the "provider/" prefix of model names); create a new one.', 'name');
    if ('keys' in body || 'api_key' in body) {
      throw conflict(`Keys are managed at /api/providers/${name}/keys.`, 'keys' in body ? 'keys' : 'api_key');
    }
    service.change({ actor: request.adminActor, action: 'provider.update', target: name }, () => {
      const row = rowFor(name, provider.definition.id);
      writeEntry(row, applyNullablePatch(readProviderEntry(row, box), body));
      dropIfEmpty(name);
    }, describe(name), stripFor(name));
    return providerView(service.snapshot, requireProvider(name));
  });

  api.delete<{ Params: Params }>('/providers/:name', async (request) => {
    const name = request.params.name;
    const row = repo.getProviderByName(name);
    const provider = findProvider(service.snapshot, name);
    if (row === undefined) {
      if (provider === undefined) throw notFound(`No provider is named "${name}".`, 'name');
      throw conflict(`Provider "${name}" is declared in the ${provider.source === 'env' ? 'environment' : 'config file'}; remove it there, or PATCH {"enabled": false}.`, 'name');
    }
    service.change({ actor: request.adminActor, action: 'provider.delete', target: name }, () => {
      repo.deleteProvider(row.id);
    }, describe(name));
    const after = findProvider(service.snapshot, name);
    return { deleted: true, name, reverted_to: after === undefined ? null : after.source };
  });

  api.post<{ Params: Params }>('/providers/:name/keys', async (request, reply) => {
    const name = request.params.name;
    const provider = requireProvider(name);
    const body = parseBody(keyCreate, request.body);
    const taken = new Set(provider.keys.flatMap((key) => [key.name, key.id]));
    let keyName = body.name;
    if (keyName === undefined) {
      let n = provider.keys.length + 1;
      while (taken.has(`key-${n}`)) n++;
      keyName = `key-${n}`;
    } else if (taken.has(keyName)) {
      throw conflict(`Provider "${name}" already has a key named "${keyName}".`, 'name');
    }
    const id = service.change({ actor: request.adminActor, action: 'provider_key.create', target: name }, () => {
      const row = rowFor(name, provider.definition.id);
      return repo.createProviderKey({
        provider_id: row.id, name: keyName, secret: body.api_key, weight: body.weight, models: body.models, enabled: body.enabled,
      }).id;
    }, describe(name), stripFor(name));
    reply.code(201);
    return keyView(service.snapshot, requireProvider(name)).find((key) => key.id === id);
  });

  /** The store row of one of this provider's keys; 404 or 409 (a file/env key) otherwise. */
  const storeKey = (params: KeyParams) => {
    const provider = requireProvider(params.name);
    const row = repo.getProviderByName(params.name);
    const key = repo.getProviderKey(params.key_id);
    if (key !== undefined && row !== undefined && key.provider_id === row.id) return { provider, key };
    if (provider.keys.some((k) => k.id === params.key_id)) {
      throw conflict(`Key "${params.key_id}" of provider "${params.name}" is declared in the ${provider.source === 'env' ? 'environment' : 'config file'}; change it there.`, 'key_id');
    }
    throw notFound(`Provider "${params.name}" has no key with id "${params.key_id}".`, 'key_id');
  };

  api.patch<{ Params: KeyParams }>('/providers/:name/keys/:key_id', async (request) => {
    const { provider, key } = storeKey(request.params);
    const body = parseBody(keyPatch, request.body);
    if (body.name !== undefined && body.name !== key.name && provider.keys.some((k) => k.name === body.name || k.id === body.name)) {
      throw conflict(`Provider "${provider.name}" already has a key named "${body.name}".`, 'name');
    }
    service.change({ actor: request.adminActor, action: 'provider_key.update', target: `${provider.name}/${key.id}` }, () => {
      repo.updateProviderKey(key.id, { name: body.name, secret: body.api_key, weight: body.weight, models: body.models, enabled: body.enabled });
    }, describe(provider.name), stripFor(provider.name));
    return keyView(service.snapshot, requireProvider(provider.name)).find((view) => view.id === key.id);
  });

  api.delete<{ Params: KeyParams }>('/providers/:name/keys/:key_id', async (request) => {
    const { provider, key } = storeKey(request.params);
    service.change({ actor: request.adminActor, action: 'provider_key.delete', target: `${provider.name}/${key.id}` }, () => {
      repo.deleteProviderKey(key.id);
      dropIfEmpty(provider.name);
    }, describe(provider.name), stripFor(provider.name));
    return { deleted: true, id: key.id };
  });

  api.post<{ Params: Params }>('/providers/:name/test', async (request) => {
    const provider = requireProvider(request.params.name);
    const body = parseBody(testBody, request.body);
    if (body.key_id !== undefined && !provider.keys.some((key) => key.id === body.key_id)) {
      throw notFound(`Provider "${provider.name}" has no key with id "${body.key_id}".`, 'key_id');
    }
    return testProvider(api.gateway, provider, { keyId: body.key_id, model: body.model, timeoutMs: body.timeout_ms });
  });
}
