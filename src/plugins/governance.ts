/**
 * Built-in plugin `governance`: virtual keys at `received`, access, rate
 * limits and the budget reservation at `beforeRouting` (over the targets the
 * router planned), spend settled at `afterResponse`. The rules themselves
 * live in src/governance/; this file only puts them on the lifecycle.
 */
import type { FinishedRequest, GatewayHooks } from '../gateway/gateway.js';
import type { RequestContext } from '../gateway/request-context.js';
import type { BuiltinPlugin } from './lifecycle.js';
import { contextOf } from './request-view.js';
import type { RoutingStageImpl } from './stages.js';

export interface GovernanceLike {
  readonly hooks: GatewayHooks;
  costOf(ctx: RequestContext): number | null;
}

export function governancePlugin(governance: GovernanceLike): BuiltinPlugin {
  const hooks = governance.hooks;
  return {
    name: 'governance',
    begin: hooks.begin === undefined ? undefined : (ctx, request, body, response) => hooks.begin!(ctx, request, body, response),
    received(request) {
      const ctx = contextOf(request);
      hooks.authenticate?.(ctx, request.headers);
    },
    beforeRouting(request, routing) {
      const stage = routing as RoutingStageImpl;
      const targets = stage.plan().targets;
      // A raw call may name more models than it is sent to (a batch's requests): each is admitted too.
      const named = stage.input.raw?.alsoNamed;
      return hooks.admit?.(contextOf(request), stage.input, named === undefined ? targets : [...targets, ...named]);
    },
    afterResponse(request, completed) {
      const finished: FinishedRequest = { ctx: contextOf(request), totalMs: completed.timings.totalMs, overheadMs: completed.timings.overheadMs };
      hooks.settle?.(finished);
    },
  };
}
