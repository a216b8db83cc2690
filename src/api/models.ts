/**
 * GET /v1/models: the union of the enabled providers' models, ids
 * `provider/model`, in the OpenAI shape with the model catalog's facts added
 * (context window, output limit, reasoning, modalities, prices) and the
 * operations each serves (`capabilities`): extra fields that OpenAI clients ignore.
 */
import type { ModelFacts, PriceTier } from '../catalog/types.js';
import type { GatewayState, ProviderRuntime } from '../gateway/provider-runtime.js';
import { modelCapabilities, type Capability } from './model-capabilities.js';

/** USD per million tokens, from the catalog (or its config overrides). */
type ModelPricing = PriceTier;

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  context_window?: number;
  max_output_tokens?: number;
  reasoning?: boolean;
  responses_only?: boolean;
  modalities?: { input: readonly string[]; output: readonly string[] };
  pricing?: ModelPricing & { currency: 'USD'; unit: 'per 1M tokens' };
  /** The operations the model serves through the gateway (model-capabilities.ts). */
  capabilities?: Capability[];
}

const PRICE_FIELDS = ['input', 'cached_input', 'cache_write', 'output', 'reasoning', 'embedding'] as const;

/** The catalog's facts as the extra fields of a model object (only those known). */
function catalogFields(facts: ModelFacts): Partial<ModelObject> {
  const fields: Partial<ModelObject> = {};
  if (facts.contextWindow !== undefined) fields.context_window = facts.contextWindow;
  if (facts.maxOutputTokens !== undefined) fields.max_output_tokens = facts.maxOutputTokens;
  if (facts.matched.length > 0 || facts.rules.families.length > 0) fields.reasoning = facts.reasoning;
  if (facts.rules.responsesOnly) fields.responses_only = true;
  if (facts.modalities !== undefined) fields.modalities = facts.modalities;
  const price = facts.price;
  if (price !== undefined) {
    const pricing: ModelPricing = {};
    for (const field of PRICE_FIELDS) if (price[field] !== undefined) pricing[field] = price[field];
    fields.pricing = { ...pricing, currency: 'USD', unit: 'per 1M tokens' };
  }
  return fields;
}

function providerModel(state: GatewayState, provider: ProviderRuntime, model: string): ModelObject {
  const facts = state.catalog.facts({ provider: provider.name, type: provider.definition.id, model });
  const embedding = provider.embeddingModels.has(model) && !provider.models.has(model);
  const capabilities = modelCapabilities(provider, model, facts, embedding);
  return { id: `${provider.name}/${model}`, object: 'model', created: 0, owned_by: provider.name, ...catalogFields(facts), capabilities };
}

export function listModels(state: GatewayState): { object: 'list'; data: ModelObject[] } {
  const data: ModelObject[] = [];
  for (const provider of state.providers.values()) {
    for (const model of [...provider.models, ...provider.embeddingModels]) data.push(providerModel(state, provider, model));
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
    if (provider !== undefined && (provider.models.has(model) || provider.embeddingModels.has(model))) return providerModel(state, provider, model);
  }
  const servers = state.modelIndex.get(id);
  if (servers !== undefined && servers.length > 0) return { ...providerModel(state, servers[0], id), id };
  return undefined;
}
