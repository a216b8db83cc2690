/** Choosing (target, key) within a tier: weights, breakers, untried keys first, probes, full queues. */
import { describe, expect, it } from 'vitest';
import { Picker, Tried } from '../../src/gateway/picker.js';
import { planRequest } from '../../src/gateway/router.js';
import { routingState } from './helpers.js';

const base = 'http://127.0.0.1:9/v1';

function keysState(extra: Record<string, unknown> = {}) {
  return routingState({
    providers: {
      p: { type: 'openai-compatible', base_url: base, models: ['m', 'only-a'], keys: [
        { name: 'a', api_key: 'ka', weight: 3 },
        { name: 'b', api_key: 'kb', weight: 1, models: ['m'] },
      ] },
    },
    routing: { adaptive: { enabled: false }, circuit_breaker: { failure_threshold: 2, cooldown_ms: 1000 } },
    ...extra,
  });
}

/** How often each key is chosen over an even sweep of random numbers. */
function shares(pick: (random: number) => string, n = 1000): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const name = pick((i + 0.5) / n);
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

describe('picker', () => {
  it('chooses keys by weight, 3:1', () => {
    const state = keysState();
    const plan = planRequest(state, 'p/m', undefined, 'chat');
    const picker = new Picker();
    const counts = shares((r) => (picker.pick(plan.targets, 0, 1, undefined, false, 0, state.routing, r), picker.key!.name));
    expect(counts).toEqual({ a: 750, b: 250 });
  });

  it('a key limited to other models is never chosen', () => {
    const state = keysState();
    const plan = planRequest(state, 'p/only-a', undefined, 'chat');
    const picker = new Picker();
    const counts = shares((r) => (picker.pick(plan.targets, 0, 1, undefined, false, 0, state.routing, r), picker.key!.name), 100);
    expect(counts).toEqual({ a: 100 });
  });

  it('prefers keys not tried yet; with untriedOnly none left means nothing', () => {
    const state = keysState();
    const plan = planRequest(state, 'p/m', undefined, 'chat');
    const picker = new Picker();
    const tried = new Tried();
    tried.add(plan.targets[0], state.providers.get('p')!.keys[0]);
    expect(shares((r) => (picker.pick(plan.targets, 0, 1, tried, false, 0, state.routing, r), picker.key!.name), 100)).toEqual({ b: 100 });
    tried.add(plan.targets[0], state.providers.get('p')!.keys[1]);
    expect(picker.pick(plan.targets, 0, 1, tried, true, 0, state.routing)).toBe(false);
    // Without untriedOnly a tried key may be retried (by weight).
    expect(shares((r) => (picker.pick(plan.targets, 0, 1, tried, false, 0, state.routing, r), picker.key!.name), 100)).toEqual({ a: 75, b: 25 });
  });

  it('skips a key whose circuit is open; once cooled down it is the single probe', () => {
    const state = keysState();
    const plan = planRequest(state, 'p/m', undefined, 'chat');
    const [a, b] = state.providers.get('p')!.keys;
    a.health.onFailure(0, 'x', state.routing.breaker, state.routing.adaptive);
    a.health.onFailure(1, 'x', state.routing.breaker, state.routing.adaptive);
    expect(a.health.breaker.state).toBe('open');
    const picker = new Picker();
    expect(shares((r) => (picker.pick(plan.targets, 0, 1, undefined, false, 500, state.routing, r), picker.key!.name), 100)).toEqual({ b: 100 });
    // Past the cool-down the open key goes first, whatever the draw: that request probes it.
    expect(picker.pick(plan.targets, 0, 1, undefined, false, 1001, state.routing, 0.99)).toBe(true);
    expect(picker.key).toBe(a);
    a.health.breaker.onPick(1001);
    // While the probe is out, the others take the traffic.
    expect(shares((r) => (picker.pick(plan.targets, 0, 1, undefined, false, 1002, state.routing, r), picker.key!.name), 100)).toEqual({ b: 100 });
    b.health.onFailure(3, 'x', state.routing.breaker, state.routing.adaptive);
    b.health.onFailure(4, 'x', state.routing.breaker, state.routing.adaptive);
    expect(picker.pick(plan.targets, 0, 1, undefined, false, 1002, state.routing)).toBe(false);
    expect(picker.blockedByBreaker).toBe(true);
    expect(picker.retryAt).toBe(1004); // b's cool-down ends first
  });

  it('single key, single target: the fast path honours the breaker too', () => {
    const state = routingState({
      providers: { p: { type: 'openai-compatible', base_url: base, api_key: 'k', models: ['m'] } },
      routing: { circuit_breaker: { failure_threshold: 1, cooldown_ms: 100 } },
    });
    const plan = planRequest(state, 'p/m', undefined, 'chat');
    const key = state.providers.get('p')!.keys[0];
    const picker = new Picker();
    key.health.onFailure(0, 'x', state.routing.breaker, state.routing.adaptive);
    expect(picker.pick(plan.targets, 0, 1, undefined, false, 50, state.routing)).toBe(false);
    expect(picker.retryAt).toBe(100);
    expect(picker.pick(plan.targets, 0, 1, undefined, false, 100, state.routing)).toBe(true);
  });

  it('model group: deployment weight x key share', () => {
    const state = routingState({
      providers: {
        x: { type: 'openai-compatible', base_url: base, models: ['m'], keys: [{ name: 'x1', api_key: '1' }, { name: 'x2', api_key: '2' }] },
        y: { type: 'openai-compatible', base_url: base, models: ['n'], api_key: '3' },
      },
      routing: {
        adaptive: { enabled: false },
        model_groups: { g: { deployments: [{ provider: 'x', model: 'm', weight: 3 }, { provider: 'y', model: 'n', weight: 1 }] } },
      },
    });
    const plan = planRequest(state, 'g', undefined, 'chat');
    const picker = new Picker();
    const counts = shares((r) => (picker.pick(plan.targets, 0, 2, undefined, false, 0, state.routing, r), `${picker.target!.label}:${picker.key!.name}`));
    expect(counts).toEqual({ 'x/m:x1': 375, 'x/m:x2': 375, 'y/n:default': 250 });
  });

  it('adaptive: a slow key gets a smaller share, an erroring one a trickle', () => {
    const state = keysState({ routing: { adaptive: { enabled: true } } });
    const plan = planRequest(state, 'p/m', undefined, 'chat');
    const [a, b] = state.providers.get('p')!.keys;
    const { breaker, adaptive } = state.routing;
    a.health.onSuccess(0, 400, breaker, adaptive); // weight 3 but 4x slower
    b.health.onSuccess(0, 100, breaker, adaptive);
    const picker = new Picker();
    const counts = shares((r) => (picker.pick(plan.targets, 0, 1, undefined, false, 0, state.routing, r), picker.key!.name));
    expect(counts).toEqual({ a: 429, b: 571 }); // 3 * 1/4 : 1 = 0.75 : 1
    for (let t = 1; t < 20; t++) a.health.onFailure(t, 'HTTP 500', { ...breaker, enabled: false }, adaptive);
    const after = shares((r) => (picker.pick(plan.targets, 0, 1, undefined, false, 20, state.routing, r), picker.key!.name));
    // The floor: 0.05 of its weight 3 against b's 1 -> 0.15 / 1.15 of the traffic, enough to see it recover.
    expect(after).toEqual({ a: 130, b: 870 });
  });

  it('a provider whose slots and queue are full is skipped', () => {
    const state = routingState({
      providers: {
        p: { type: 'openai-compatible', base_url: base, api_key: 'k', models: ['m'], concurrency: { max_in_flight: 1, max_queue: 0 } },
      },
    });
    const plan = planRequest(state, 'p/m', undefined, 'chat');
    const limiter = state.providers.get('p')!.limiter;
    expect(limiter.tryAcquire()).toBe(true);
    const picker = new Picker();
    expect(picker.pick(plan.targets, 0, 1, undefined, false, 0, state.routing)).toBe(false);
    expect(picker.fullLimiter).toBe(limiter);
    limiter.release();
    expect(picker.pick(plan.targets, 0, 1, undefined, false, 0, state.routing)).toBe(true);
  });
});
