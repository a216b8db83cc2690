/** GET /v1/models: the union of the enabled providers' models, ids `provider/model`. */
import type { GatewayState } from '../gateway/provider-runtime.js';

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export function listModels(state: GatewayState): { object: 'list'; data: ModelObject[] } {
  const data: ModelObject[] = [];
  for (const provider of state.providers.values()) {
    for (const model of [...provider.models, ...provider.embeddingModels]) {
      data.push({ id: `${provider.name}/${model}`, object: 'model', created: 0, owned_by: provider.name });
    }
  }
  for (const alias of Object.keys(state.routing.aliases)) {
    data.push({ id: alias, object: 'model', created: 0, owned_by: 'heimdall' });
  }
  for (const group of Object.keys(state.routing.modelGroups)) {
    data.push({ id: group, object: 'model', created: 0, owned_by: 'heimdall' });
  }
  return { object: 'list', data };
}

export function getModel(state: GatewayState, id: string): ModelObject | undefined {
  if (Object.hasOwn(state.routing.aliases, id) || Object.hasOwn(state.routing.modelGroups, id)) return { id, object: 'model', created: 0, owned_by: 'heimdall' };
  const slash = id.indexOf('/');
  if (slash > 0) {
    const provider = state.providers.get(id.slice(0, slash));
    const model = id.slice(slash + 1);
    if (provider !== undefined && (provider.models.has(model) || provider.embeddingModels.has(model))) {
      return { id, object: 'model', created: 0, owned_by: provider.name };
    }
  }
  const servers = state.modelIndex.get(id);
  if (servers !== undefined && servers.length > 0) return { id, object: 'model', created: 0, owned_by: servers[0].name };
  return undefined;
}
