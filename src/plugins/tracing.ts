/**
 * Built-in plugin `tracing` (only when telemetry.tracing is configured): the
 * server span from `begin`, a client span per upstream attempt (its
 * traceparent on the outgoing headers), the spans ended at `afterResponse`,
 * after governance has priced the request. The OpenTelemetry work lives in
 * src/telemetry/tracing.ts.
 */
import type { PipelineInput } from '../gateway/pipeline.js';
import type { RequestContext } from '../gateway/request-context.js';
import type { Tracing } from '../telemetry/tracing.js';
import type { BuiltinPlugin } from './lifecycle.js';
import { contextOf } from './request-view.js';
import type { AttemptStageImpl } from './stages.js';

const NOTED = 'tracing.noted';

/** The request's operation, model and stream on the span, once (before the first attempt, or at the end). */
function noteRequest(tracing: Tracing, ctx: RequestContext): void {
  const input: PipelineInput | undefined = ctx.input;
  if (input === undefined || ctx.hookState.has(NOTED)) return;
  ctx.hookState.set(NOTED, true);
  tracing.hooks.admit?.(ctx, input, []);
}

export function tracingPlugin(tracing: Tracing): BuiltinPlugin {
  const hooks = tracing.hooks;
  return {
    name: 'tracing',
    after: ['governance'],
    begin: (ctx, request, body, response) => hooks.begin?.(ctx, request, body, response),
    beforeAttempt(request, attempt) {
      const ctx = contextOf(request);
      noteRequest(tracing, ctx);
      hooks.beforeAttempt?.(ctx, (attempt as AttemptStageImpl).runtime, attempt.headers);
    },
    afterAttempt: (ctx, target, record) => hooks.afterAttempt?.(ctx, target, record),
    afterResponse(request, completed) {
      const ctx = contextOf(request);
      noteRequest(tracing, ctx);
      tracing.onFinish({ ctx, totalMs: completed.timings.totalMs, overheadMs: completed.timings.overheadMs });
    },
  };
}
