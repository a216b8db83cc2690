/**
 * /api/routing: default provider and model, aliases, fallbacks, model groups,
 * and the other routing fields of the config schema (retry, circuit breaker...).
 * Store entries override the config file's; DELETE removes only what the API
 * added (an entry declared in the file is changed there).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ConfigSnapshot } from '../../config/effective.js';
import { isObject, ROUTING_SETTING, type JsonObject } from '../../config/store-patch.js';
import type { Deployment } from '../../store/config-types.js';
import { conflict, mergePatch, notFound, parseBody } from './http.js';
import { modelGroupViews, routingView } from './views.js';

const modelName = z.string().min(1).max(256);
const target = z.string().min(1).max(256);
const targets = z.array(target);

const routingPatch = z
  .object({
    default_provider: z.string().min(1).nullable().optional(),
    default_model: modelName.nullable().optional(),
    strict_params: z.boolean().nullable().optional(),
    aliases: z.record(modelName, target.nullable()).optional(),
    fallbacks: z.record(modelName, targets.nullable()).optional(),
  })
  .catchall(z.unknown());

const deployment = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1),
  weight: z.number().min(0).max(1_000_000).optional(),
});
const groupFields = {
  deployments: z.array(deployment).min(1, 'a model group needs at least one deployment'),
  fallbacks: targets.optional(),
  enabled: z.boolean().optional(),
};
const groupCreate = z.strictObject({ name: modelName, ...groupFields });
const groupPatch = z.strictObject({
  name: modelName.optional(),
  deployments: groupFields.deployments.optional(),
  fallbacks: targets.optional(),
  enabled: z.boolean().optional(),
});

const aliasBody = z.strictObject({ target });
const fallbacksBody = z.strictObject({ fallbacks: targets });

const ROUTING_PREFIX = /^routing\./;
const GROUP_PREFIX = /^routing\.model_groups\.[^.]+\./;

function fileRouting(raw: unknown): JsonObject {
  return isObject(raw) && isObject(raw.routing) ? raw.routing : {};
}

function deployments(list: Array<{ provider: string; model: string; weight?: number }>): Deployment[] {
  return list.map((d) => ({ provider: d.provider, model: d.model, weight: d.weight ?? 1 }));
}

export function registerRoutingRoutes(api: FastifyInstance): void {
  const service = api.configService;
  const repo = api.store.config;

  const storedRouting = (): JsonObject => {
    const value = repo.getSetting(ROUTING_SETTING);
    return isObject(value) ? value : {};
  };
  const writeRouting = (value: JsonObject): void => {
    if (Object.keys(value).length === 0) repo.deleteSetting(ROUTING_SETTING);
    else repo.setSetting(ROUTING_SETTING, value);
  };
  const groupView = (name: string) => (snapshot: ConfigSnapshot) => modelGroupViews(snapshot).find((group) => group.name === name) ?? null;

  api.get('/routing', async () => routingView(service.snapshot));

  api.patch('/routing', async (request) => {
    const body = parseBody(routingPatch, request.body) as JsonObject;
    if ('model_groups' in body) throw conflict('Model groups are managed at /api/routing/model-groups.', 'model_groups');
    const { aliases, ...fields } = body as { aliases?: Record<string, string | null> } & JsonObject;
    const file = fileRouting(service.fileRaw);
    for (const [alias, value] of Object.entries(aliases ?? {})) {
      if (value === null && repo.getAlias(alias) === undefined && isObject(file.aliases) && alias in file.aliases) {
        throw conflict(`Alias "${alias}" is declared in the config file; remove it there.`, `aliases.${alias}`);
      }
    }
    const fallbacks = isObject(fields.fallbacks) ? fields.fallbacks : {};
    const stored = storedRouting();
    for (const [model, value] of Object.entries(fallbacks)) {
      if (value === null && !(isObject(stored.fallbacks) && model in stored.fallbacks) && isObject(file.fallbacks) && model in file.fallbacks) {
        throw conflict(`The fallbacks of "${model}" are declared in the config file; remove them there.`, `fallbacks.${model}`);
      }
    }
    service.change({ actor: request.adminActor, action: 'routing.update', target: 'routing' }, () => {
      for (const [alias, value] of Object.entries(aliases ?? {})) {
        if (value === null) repo.deleteAlias(alias);
        else repo.setAlias(alias, value);
      }
      writeRouting(mergePatch(storedRouting(), fields) as JsonObject);
    }, routingDescription, ROUTING_PREFIX);
    return routingView(service.snapshot);
  });

  api.put<{ Params: { alias: string } }>('/routing/aliases/:alias', async (request) => {
    const alias = request.params.alias;
    const body = parseBody(aliasBody, request.body);
    service.change({ actor: request.adminActor, action: 'alias.set', target: alias }, () => {
      repo.setAlias(alias, body.target);
    }, (snapshot) => snapshot.config.routing.aliases[alias] ?? null, ROUTING_PREFIX);
    return { alias, target: body.target, source: 'store' };
  });

  api.delete<{ Params: { alias: string } }>('/routing/aliases/:alias', async (request) => {
    const alias = request.params.alias;
    if (repo.getAlias(alias) === undefined) {
      if (alias in service.config.routing.aliases) throw conflict(`Alias "${alias}" is declared in the config file; remove it there.`, 'alias');
      throw notFound(`No alias "${alias}".`, 'alias');
    }
    service.change({ actor: request.adminActor, action: 'alias.delete', target: alias }, () => {
      repo.deleteAlias(alias);
    }, (snapshot) => snapshot.config.routing.aliases[alias] ?? null);
    return { deleted: true, alias, reverted_to: service.config.routing.aliases[alias] ?? null };
  });

  api.put<{ Params: { model: string } }>('/routing/fallbacks/:model', async (request) => {
    const model = request.params.model;
    const body = parseBody(fallbacksBody, request.body);
    service.change({ actor: request.adminActor, action: 'fallbacks.set', target: model }, () => {
      writeRouting(mergePatch(storedRouting(), { fallbacks: { [model]: body.fallbacks } }) as JsonObject);
    }, (snapshot) => snapshot.config.routing.fallbacks[model] ?? null, ROUTING_PREFIX);
    return { model, fallbacks: body.fallbacks, source: 'store' };
  });

  api.delete<{ Params: { model: string } }>('/routing/fallbacks/:model', async (request) => {
    const model = request.params.model;
    const stored = storedRouting();
    if (!(isObject(stored.fallbacks) && model in stored.fallbacks)) {
      if (model in service.config.routing.fallbacks) throw conflict(`The fallbacks of "${model}" are declared in the config file; remove them there.`, 'model');
      throw notFound(`No fallbacks are set for "${model}".`, 'model');
    }
    service.change({ actor: request.adminActor, action: 'fallbacks.delete', target: model }, () => {
      writeRouting(mergePatch(storedRouting(), { fallbacks: { [model]: null } }) as JsonObject);
    }, (snapshot) => snapshot.config.routing.fallbacks[model] ?? null);
    return { deleted: true, model, reverted_to: service.config.routing.fallbacks[model] ?? null };
  });

  api.get('/routing/model-groups', async () => ({ data: modelGroupViews(service.snapshot) }));

  api.get<{ Params: { name: string } }>('/routing/model-groups/:name', async (request) => {
    const group = groupView(request.params.name)(service.snapshot);
    if (group === null) throw notFound(`No model group is named "${request.params.name}".`, 'name');
    return group;
  });

  api.post('/routing/model-groups', async (request, reply) => {
    const body = parseBody(groupCreate, request.body);
    const existing = groupView(body.name)(service.snapshot);
    if (existing !== null) {
      throw conflict(`A model group named "${body.name}" already exists (${existing.source}); change it with PATCH /api/routing/model-groups/${body.name}.`, 'name');
    }
    service.change({ actor: request.adminActor, action: 'model_group.create', target: body.name }, () => {
      repo.createModelGroup({
        name: body.name, deployments: deployments(body.deployments), fallbacks: body.fallbacks ?? [], enabled: body.enabled ?? true, source: 'store',
      });
    }, groupView(body.name), GROUP_PREFIX);
    reply.code(201);
    return groupView(body.name)(service.snapshot);
  });

  api.patch<{ Params: { name: string } }>('/routing/model-groups/:name', async (request) => {
    const name = request.params.name;
    const current = groupView(name)(service.snapshot);
    if (current === null) throw notFound(`No model group is named "${name}".`, 'name');
    const body = parseBody(groupPatch, request.body);
    const rename = body.name !== undefined && body.name !== name ? body.name : undefined;
    if (rename !== undefined) {
      if (current.source !== 'store' || isObject(fileRouting(service.fileRaw).model_groups) && name in (fileRouting(service.fileRaw).model_groups as JsonObject)) {
        throw conflict(`Model group "${name}" is declared in the config file; rename it there.`, 'name');
      }
      if (groupView(rename)(service.snapshot) !== null) throw conflict(`A model group named "${rename}" already exists.`, 'name');
    }
    const finalName = rename ?? name;
    service.change({ actor: request.adminActor, action: 'model_group.update', target: name }, () => {
      const patch = {
        name: rename,
        deployments: body.deployments === undefined ? undefined : deployments(body.deployments),
        fallbacks: body.fallbacks,
        enabled: body.enabled,
      };
      const row = repo.getModelGroupByName(name);
      if (row !== undefined) {
        repo.updateModelGroup(row.id, patch);
      } else {
        // A file group: the store row starts as a copy of it and overrides it from now on.
        repo.createModelGroup({
          name,
          deployments: patch.deployments ?? deployments(current.deployments),
          fallbacks: patch.fallbacks ?? current.fallbacks,
          enabled: patch.enabled ?? current.enabled,
          source: 'store',
        });
      }
    }, (snapshot) => groupView(name)(snapshot) ?? groupView(finalName)(snapshot), GROUP_PREFIX);
    return groupView(finalName)(service.snapshot);
  });

  api.delete<{ Params: { name: string } }>('/routing/model-groups/:name', async (request) => {
    const name = request.params.name;
    const row = repo.getModelGroupByName(name);
    if (row === undefined) {
      if (groupView(name)(service.snapshot) !== null) throw conflict(`Model group "${name}" is declared in the config file; remove it there.`, 'name');
      throw notFound(`No model group is named "${name}".`, 'name');
    }
    service.change({ actor: request.adminActor, action: 'model_group.delete', target: name }, () => {
      repo.deleteModelGroup(row.id);
    }, groupView(name));
    return { deleted: true, name, reverted_to: groupView(name)(service.snapshot)?.source ?? null };
  });
}

function routingDescription(snapshot: ConfigSnapshot): unknown {
  const { sources: _sources, model_groups: _groups, ...routing } = routingView(snapshot);
  return routing;
}
