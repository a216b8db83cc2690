/** Plans: model groups, aliases, fallbacks (configured, per group, per request), named fallbacks, caching. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { planRequest, resolveTarget, specialFallbackPlan, type Plan } from '../../src/gateway/router.js';
import { routingState } from './helpers.js';

const base = 'http://127.0.0.1:9/v1';
const providers = {
  openai: { api_key: 'sk-1', base_url: base },
  azure: { api_key: 'az-1', base_url: 'http://127.0.0.1:9', models: ['gpt-4o'] },
  groq: { api_key: 'gsk-1', base_url: base },
  local: { type: 'openai-compatible', base_url: base, models: ['llama'], keys: [{ name: 'l', api_key: 'x', models: ['llama'] }] },
};

function tiers(plan: Plan): string[][] {
  const out: string[][] = [];
  for (let i = 0; i + 1 < plan.tierStarts.length; i++) {
    out.push(plan.targets.slice(plan.tierStarts[i], plan.tierStarts[i + 1]).map((t) => `${t.label}*${t.weight}`));
  }
  return out;
}

describe('plans', () => {
  const state = routingState({
    providers,
    routing: {
      aliases: { smart: 'gpt-4o', fast: 'groq/llama-3.1-8b-instant' },
      fallbacks: { 'openai/gpt-4o-mini': ['groq/llama-3.1-8b-instant', 'mistral/mistral-small-latest'], fast: ['local/llama'] },
      model_groups: {
        'gpt-4o': {
          deployments: [{ provider: 'openai', model: 'gpt-4o', weight: 3 }, { provider: 'azure', model: 'gpt-4o', weight: 1 }, { provider: 'mistral', model: 'x' }],
          fallbacks: ['groq/llama-3.3-70b-versatile', 'fast'],
        },
        off: { deployments: [{ provider: 'openai', model: 'gpt-4o' }], enabled: false },
        nowhere: { deployments: [{ provider: 'mistral', model: 'x' }, { provider: 'local', model: 'not-llama' }] },
      },
    },
  });

  it('a model group is one tier of weighted deployments; its fallbacks follow (a fallback may be a group or alias)', () => {
    const plan = planRequest(state, 'gpt-4o', undefined, 'chat');
    expect(tiers(plan)).toEqual([['openai/gpt-4o*3', 'azure/gpt-4o*1'], ['groq/llama-3.3-70b-versatile*1'], ['groq/llama-3.1-8b-instant*1']]);
    expect(plan.targets.map((t) => t.tier)).toEqual([0, 0, 1, 2]);
    expect(plan.name).toBe('gpt-4o');
    // An alias naming the group resolves to the same group.
    expect(tiers(planRequest(state, 'smart', undefined, 'chat'))[0]).toEqual(['openai/gpt-4o*3', 'azure/gpt-4o*1']);
  });

  it('configured fallbacks: by requested name; unresolvable ones are skipped', () => {
    expect(tiers(planRequest(state, 'openai/gpt-4o-mini', undefined, 'chat'))).toEqual([['openai/gpt-4o-mini*1'], ['groq/llama-3.1-8b-instant*1']]);
    expect(tiers(planRequest(state, 'fast', undefined, 'chat'))).toEqual([['groq/llama-3.1-8b-instant*1'], ['local/llama*1']]);
  });

  it('request fallbacks replace the configured ones and must resolve', () => {
    expect(tiers(planRequest(state, 'gpt-4o', ['local/llama'], 'chat'))).toEqual([['openai/gpt-4o*3', 'azure/gpt-4o*1'], ['local/llama*1']]);
    const error = (() => {
      try {
        planRequest(state, 'gpt-4o', ['local/llama', 'mistral/x'], 'chat');
      } catch (caught) {
        return caught as GatewayError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(GatewayError);
    expect(error!.param).toBe('fallbacks[1]');
  });

  it('a disabled group is not a group; a group with no usable deployment is a clear error', () => {
    expect(() => planRequest(state, 'off', undefined, 'chat')).toThrow('The model "off" is not served by any enabled provider.');
    expect(() => planRequest(state, 'nowhere', undefined, 'chat')).toThrow(
      'Model group "nowhere" has no deployment that can serve chat completions (mistral/x: provider not enabled; local/not-llama: no key may serve this model).',
    );
  });

  it('plans without request fallbacks are cached per operation; names like "constructor" are plain names', () => {
    expect(planRequest(state, 'gpt-4o', undefined, 'chat')).toBe(planRequest(state, 'gpt-4o', undefined, 'chat'));
    expect(planRequest(state, 'gpt-4o', ['local/llama'], 'chat')).not.toBe(planRequest(state, 'gpt-4o', ['local/llama'], 'chat'));
    expect(planRequest(state, 'gpt-4o', undefined, 'embeddings')).not.toBe(planRequest(state, 'gpt-4o', undefined, 'chat'));
    expect(tiers(planRequest(state, 'openai/constructor', undefined, 'chat'))).toEqual([['openai/constructor*1']]);
  });

  it('resolveTarget of a group is its first usable deployment', () => {
    expect(resolveTarget(state, 'gpt-4o', 'chat').label).toBe('openai/gpt-4o');
  });

  it('named fallbacks (context window, content policy) by requested name, alias target, or failed target', () => {
    const named = routingState({
      providers,
      routing: {
        aliases: { small: 'openai/gpt-4o-mini' },
        context_window_fallbacks: { small: ['mistral/x', 'openai/gpt-4.1', 'groq/llama-3.3-70b-versatile'], 'azure/gpt-4o': ['openai/gpt-4.1'] },
      },
    });
    const plan = planRequest(named, 'small', undefined, 'chat');
    const next = specialFallbackPlan(named, named.routing.contextWindowFallbacks, 'small', plan, plan.targets[0], 'chat');
    expect(tiers(next!)).toEqual([['openai/gpt-4.1*1'], ['groq/llama-3.3-70b-versatile*1']]);
    const azure = planRequest(named, 'azure/gpt-4o', undefined, 'chat');
    expect(tiers(specialFallbackPlan(named, named.routing.contextWindowFallbacks, 'azure/gpt-4o', azure, azure.targets[0], 'chat')!)).toEqual([['openai/gpt-4.1*1']]);
    expect(specialFallbackPlan(named, named.routing.contentPolicyFallbacks, 'small', plan, plan.targets[0], 'chat')).toBeUndefined();
  });
});
