/**
 * Model resolution and the plan of targets for one request:
 * alias -> `provider/model` or bare name -> primary target, then fallbacks
 * (the request's `fallbacks`, else the configured ones for the model).
 */
import { GatewayError } from '../errors/gateway-error.js';
import { getProviderDefinition } from '../providers/registry.js';
import type { Operation } from '../providers/types.js';
import type { GatewayState, ProviderRuntime } from './provider-runtime.js';

export interface Target {
  provider: ProviderRuntime;
  /** The provider's own model id. */
  model: string;
  /** `provider/model`, as logged; x-heimdall-model reports `model` (the provider's own id). */
  label: string;
}

const OPERATION_NAMES: Record<Operation, string> = {
  chat: 'chat completions',
  completions: 'text completions',
  embeddings: 'embeddings',
  responses: 'the Responses API',
  models: 'model listing',
};

function availableHint(state: GatewayState): string {
  const names = [...state.providers.keys()];
  if (names.length === 0) return ' No provider is enabled: set a provider API key such as OPENAI_API_KEY, or add one in the config file.';
  return ` Use "provider/model" with an enabled provider (${names.join(', ')}); GET /v1/models lists known models.`;
}

function checkOperation(target: Target, operation: Operation, param: string): Target {
  if (!target.provider.supports(operation)) {
    throw new GatewayError(
      'HD_ERR_PROVIDER_UNSUPPORTED_OPERATION',
      `Provider "${target.provider.name}" does not support ${OPERATION_NAMES[operation]}.`,
      { param },
    );
  }
  return target;
}

/** Resolves one model name to a target; throws a coded error with a hint when it cannot. */
export function resolveTarget(state: GatewayState, requested: string, operation: Operation, param = 'model'): Target {
  const name = state.routing.aliases[requested] ?? requested;
  const slash = name.indexOf('/');
  if (slash > 0) {
    const prefix = name.slice(0, slash);
    const model = name.slice(slash + 1);
    const provider = state.providers.get(prefix);
    if (provider !== undefined) {
      if (model === '') throw new GatewayError('HD_ERR_REQUEST_INVALID_FIELD', `Model "${name}" names no model after "${prefix}/".`, { param });
      return checkOperation({ provider, model, label: name }, operation, param);
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
      if (provider.supports(operation) && provider.servesWithKey(name)) return { provider, model: name, label: `${provider.name}/${name}` };
    }
  }
  const fallbackProvider = state.routing.defaultProvider !== undefined
    ? state.providers.get(state.routing.defaultProvider)
    : state.providers.size === 1 ? state.providers.values().next().value : undefined;
  if (fallbackProvider !== undefined) {
    return checkOperation({ provider: fallbackProvider, model: name, label: `${fallbackProvider.name}/${name}` }, operation, param);
  }
  if (slash > 0) {
    throw new GatewayError('HD_ERR_PROVIDER_UNKNOWN', `Unknown provider "${name.slice(0, slash)}" in model "${name}".${availableHint(state)}`, { param });
  }
  throw new GatewayError('HD_ERR_MODEL_NOT_FOUND', `The model "${name}" is not served by any enabled provider.${availableHint(state)}`, { param });
}

/**
 * The ordered list of targets to try. A fallback that cannot be resolved is
 * a configuration or request error only when it comes from the request.
 */
export function planTargets(
  state: GatewayState,
  requested: string,
  requestFallbacks: readonly string[] | undefined,
  operation: Operation,
): Target[] {
  const primary = resolveTarget(state, requested, operation);
  const names = requestFallbacks ?? state.routing.fallbacks[requested] ?? state.routing.fallbacks[primary.label];
  if (names === undefined || names.length === 0) return [primary];
  const targets = [primary];
  names.forEach((fallback, i) => {
    try {
      targets.push(resolveTarget(state, fallback, operation, `fallbacks[${i}]`));
    } catch (error) {
      if (requestFallbacks !== undefined) throw error;
      // A configured fallback to a provider that is off is skipped, not fatal.
    }
  });
  return targets;
}
