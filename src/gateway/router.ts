/**
 * Model resolution and the plan of one request: alias -> model group or
 * `provider/model` or bare name -> the primary tier, then one tier per
 * fallback (the request's `fallbacks`, else the configured ones). A tier is
 * the set of targets that may serve one step of the chain: one target, or
 * every deployment of a model group; picker.ts chooses within a tier.
 *
 * Plans do not depend on the request beyond its model and operation, so the
 * plan of a request without its own fallbacks is built once per routing
 * state and reused (the common case costs one map lookup).
 */
import type { ResolvedModelGroup } from '../config/load.js';
import { GatewayError } from '../errors/gateway-error.js';
import { getProviderDefinition } from '../providers/registry.js';
import type { Operation } from '../providers/types.js';
import type { GatewayState, ProviderRuntime } from './provider-runtime.js';
import { checkModelName } from './model-name.js';

export interface Target {
  provider: ProviderRuntime;
  /** The provider's own model id. */
  model: string;
  /** `provider/model`, as logged; x-heimdall-model reports `model` (the provider's own id). */
  label: string;
  /** The deployment's weight within its tier (1 outside model groups). */
  weight: number;
  /** The summed weight of the provider's keys that may serve `model` (0: none may). */
  keyWeight: number;
  /** 0 for the primary (every deployment of a model group), then 1, 2... per fallback. */
  tier: number;
}

export interface Plan {
  /** Every target, tier by tier (the `admit` hook sees them all). */
  targets: readonly Target[];
  /** Where each tier starts in `targets`, then `targets.length`: tier i is [tierStarts[i], tierStarts[i + 1]). */
  tierStarts: readonly number[];
  /** The requested model after alias resolution (a model group's name, or `provider/model`). */
  name: string;
}

/** Cached plans per operation; past this many distinct names the cache starts over. */
const PLAN_CACHE_LIMIT = 1024;

const OPERATION_NAMES: Record<Operation, string> = {
  chat: 'chat completions',
  completions: 'text completions',
  embeddings: 'embeddings',
  responses: 'the Responses API',
  models: 'model listing',
  images: 'image generation',
  image_edits: 'image edits',
  speech: 'text to speech',
  transcriptions: 'audio transcriptions',
  translations: 'audio translations',
  rerank: 'reranking',
  moderations: 'moderations',
};

/** A record entry that is the record's own (never Object.prototype's "constructor"). */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function availableHint(state: GatewayState): string {
  const names = [...state.providers.keys()];
  if (names.length === 0) return ' No provider is enabled: set a provider API key such as OPENAI_API_KEY, or add one in the config file.';
  return ` Use "provider/model" with an enabled provider (${names.join(', ')}); GET /v1/models lists known models.`;
}

function checkOperation(target: Target, operation: Operation, param: string): Target {
  if (!target.provider.serves(operation)) {
    throw new GatewayError(
      'HD_ERR_PROVIDER_UNSUPPORTED_OPERATION',
      `Provider "${target.provider.name}" does not support ${OPERATION_NAMES[operation]}.`,
      { param },
    );
  }
  return target;
}

function makeTarget(provider: ProviderRuntime, model: string, label: string, weight: number, tier: number): Target {
  return { provider, model, label, weight, keyWeight: provider.keyWeightFor(model), tier };
}

/** One `provider/model` or bare model name (not a model group) to a target. */
function resolveSingle(state: GatewayState, name: string, operation: Operation, param: string, tier: number): Target {
  const slash = name.indexOf('/');
  if (slash > 0) {
    const prefix = name.slice(0, slash);
    const model = name.slice(slash + 1);
    const provider = state.providers.get(prefix);
    if (provider !== undefined) {
      if (model === '') throw new GatewayError('HD_ERR_REQUEST_INVALID_FIELD', `Model "${name}" names no model after "${prefix}/".`, { param });
      return checkOperation(makeTarget(provider, model, name, 1, tier), operation, param);
    }
    const known = state.known.get(prefix);
    const definition = getProviderDefinition(prefix);
    if (known !== undefined || definition !== undefined) {
      // A provider id, not enabled: unless the whole name is a model some provider serves (groq's "openai/gpt-oss-20b").
      const servers = state.modelIndex.get(name);
      if (servers === undefined || servers.length === 0) {
        const reason = known?.disabledReason ?? (definition !== undefined && definition.apiKeyEnv.length > 0
          ? `set ${definition.apiKeyEnv[0]}${definition.baseUrlEnv ? ` (and optionally ${definition.baseUrlEnv})` : ''} or add it to the config file`
          : 'add it to the config file');
        throw new GatewayError('HD_ERR_PROVIDER_NOT_CONFIGURED', `Provider "${prefix}" is not configured: ${reason}.`, { param });
      }
    }
  }
  const servers = state.modelIndex.get(name);
  if (servers !== undefined) {
    for (const provider of servers) {
      if (provider.serves(operation) && provider.servesWithKey(name)) return makeTarget(provider, name, `${provider.name}/${name}`, 1, tier);
    }
  }
  const fallbackProvider = state.routing.defaultProvider !== undefined
    ? state.providers.get(state.routing.defaultProvider)
    : state.providers.size === 1 ? state.providers.values().next().value : undefined;
  if (fallbackProvider !== undefined) {
    return checkOperation(makeTarget(fallbackProvider, name, `${fallbackProvider.name}/${name}`, 1, tier), operation, param);
  }
  if (slash > 0) {
    throw new GatewayError('HD_ERR_PROVIDER_UNKNOWN', `Unknown provider "${name.slice(0, slash)}" in model "${name}".${availableHint(state)}`, { param });
  }
  throw new GatewayError('HD_ERR_MODEL_NOT_FOUND', `The model "${name}" is not served by any enabled provider.${availableHint(state)}`, { param });
}

/** The deployments of a model group that can take this operation now (provider enabled, a key for the model). */
function groupTargets(state: GatewayState, name: string, group: ResolvedModelGroup, operation: Operation, param: string, tier: number): Target[] {
  const targets: Target[] = [];
  const problems: string[] = [];
  for (const deployment of group.deployments) {
    const label = `${deployment.provider}/${deployment.model}`;
    const provider = state.providers.get(deployment.provider);
    if (provider === undefined) problems.push(`${label}: provider not enabled`);
    else if (!provider.serves(operation)) problems.push(`${label}: no ${OPERATION_NAMES[operation]}`);
    else if (deployment.weight <= 0) continue;
    else {
      const target = makeTarget(provider, deployment.model, label, deployment.weight, tier);
      if (target.keyWeight > 0) targets.push(target);
      else problems.push(`${label}: no key may serve this model`);
    }
  }
  if (targets.length === 0) {
    throw new GatewayError(
      'HD_ERR_PROVIDER_NOT_CONFIGURED',
      `Model group "${name}" has no deployment that can serve ${OPERATION_NAMES[operation]}${problems.length > 0 ? ` (${problems.join('; ')})` : ''}.`,
      { param },
    );
  }
  return targets;
}

/** One step of a chain: a model group's deployments, or one target. */
function resolveTier(state: GatewayState, requested: string, operation: Operation, param: string, tier: number): Target[] {
  // Every name a plan holds (the request's model and fallbacks) is checked before it can reach a URL.
  checkModelName(requested, param);
  const name = own(state.routing.aliases, requested) ?? requested;
  const group = own(state.routing.modelGroups, name);
  if (group !== undefined) return groupTargets(state, name, group, operation, param, tier);
  return [resolveSingle(state, name, operation, param, tier)];
}

/**
 * The provider and model a request names, for the logs and metrics of a request that never
 * reached routing (refused, malformed, unknown model): `provider/model` as written when the
 * prefix is a provider id (enabled or not), a bare name with the provider that would serve it
 * (a model group: its first deployment), undefined when nothing is known. Never throws.
 */
export function attributeModel(state: GatewayState, requested: string): { provider: string; model: string } | undefined {
  const name = own(state.routing.aliases, requested) ?? requested;
  const group = own(state.routing.modelGroups, name);
  if (group !== undefined) {
    const first = group.deployments[0];
    return first === undefined ? undefined : { provider: first.provider, model: first.model };
  }
  const slash = name.indexOf('/');
  if (slash > 0) {
    const prefix = name.slice(0, slash);
    if (state.providers.has(prefix) || state.known.has(prefix) || getProviderDefinition(prefix) !== undefined) {
      return { provider: prefix, model: name.slice(slash + 1) };
    }
  }
  const server = state.modelIndex.get(name)?.[0];
  if (server !== undefined) return { provider: server.name, model: name };
  const fallback = state.routing.defaultProvider !== undefined
    ? state.providers.get(state.routing.defaultProvider)
    : state.providers.size === 1 ? state.providers.values().next().value : undefined;
  return fallback === undefined ? undefined : { provider: fallback.name, model: name };
}

/**
 * Resolves one model name to a single target (a model group: its first usable
 * deployment); throws a coded error with a hint when it cannot.
 */
export function resolveTarget(state: GatewayState, requested: string, operation: Operation, param = 'model'): Target {
  return resolveTier(state, requested, operation, param, 0)[0];
}

/** Builds a plan from a primary tier and fallback names; unresolvable configured fallbacks are skipped. */
function buildPlan(state: GatewayState, name: string, primary: Target[], fallbacks: readonly string[] | undefined, operation: Operation, strict: boolean): Plan {
  const targets = primary;
  const tierStarts = [0];
  if (fallbacks !== undefined) {
    for (let i = 0; i < fallbacks.length; i++) {
      try {
        const tier = resolveTier(state, fallbacks[i], operation, `fallbacks[${i}]`, tierStarts.length);
        tierStarts.push(targets.length);
        for (const target of tier) targets.push(target);
      } catch (error) {
        if (strict) throw error;
        // A configured fallback to a provider that is off is skipped, not fatal.
      }
    }
  }
  tierStarts.push(targets.length);
  return { targets, tierStarts, name };
}

/**
 * The plan of a request. A fallback that cannot be resolved is an error only
 * when it comes from the request.
 */
export function planRequest(
  state: GatewayState,
  requested: string,
  requestFallbacks: readonly string[] | undefined,
  operation: Operation,
): Plan {
  const cache = requestFallbacks === undefined ? state.plans[operation] : undefined;
  const cached = cache?.get(requested);
  if (cached !== undefined) return cached;
  const routing = state.routing;
  const name = own(routing.aliases, requested) ?? requested;
  const primary = resolveTier(state, requested, operation, 'model', 0);
  const fallbacks = requestFallbacks
    ?? own(routing.fallbacks, requested)
    ?? own(routing.fallbacks, name)
    ?? own(routing.modelGroups, name)?.fallbacks
    ?? (primary.length === 1 ? own(routing.fallbacks, primary[0].label) : undefined);
  const plan = buildPlan(state, name, primary, fallbacks, operation, requestFallbacks !== undefined);
  if (cache !== undefined) {
    if (cache.size >= PLAN_CACHE_LIMIT) cache.clear();
    cache.set(requested, plan);
  }
  return plan;
}

/**
 * The plan a named fallback list (context-window or content-policy) gives,
 * looked up by the requested name, its alias target, then the failed target's
 * label. Undefined when none is configured or none resolves.
 */
export function specialFallbackPlan(
  state: GatewayState,
  table: Readonly<Record<string, readonly string[]>>,
  requested: string,
  plan: Plan,
  failed: Target,
  operation: Operation,
): Plan | undefined {
  const names = own(table, requested) ?? own(table, plan.name) ?? own(table, failed.label);
  if (names === undefined || names.length === 0) return undefined;
  const first: Target[] = [];
  let rest = names;
  // The first resolvable name is tier 0 of the new plan.
  while (rest.length > 0 && first.length === 0) {
    try {
      first.push(...resolveTier(state, rest[0], operation, 'model', 0));
    } catch {
      // skipped like any configured fallback that is off
    }
    rest = rest.slice(1);
  }
  if (first.length === 0) return undefined;
  return buildPlan(state, plan.name, first, rest, operation, false);
}

/**
 * The plan without the targets `allow` refuses (governance: models or providers a
 * virtual key may not use); tiers left empty are dropped. Returns `plan` itself
 * when nothing is refused, so cached plans stay shared and untouched.
 */
export function filterPlan(plan: Plan, allow: (target: Target) => boolean): Plan {
  if (plan.targets.every(allow)) return plan;
  const targets: Target[] = [];
  const tierStarts: number[] = [];
  for (let tier = 0; tier < plan.tierStarts.length - 1; tier++) {
    const before = targets.length;
    for (let i = plan.tierStarts[tier]; i < plan.tierStarts[tier + 1]; i++) {
      if (allow(plan.targets[i])) targets.push(plan.targets[i]);
    }
    if (targets.length > before) tierStarts.push(before);
  }
  tierStarts.push(targets.length);
  return { ...plan, targets, tierStarts };
}
