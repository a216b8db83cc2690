/**
 * Built-in plugin `metrics`: each finished request into the Prometheus
 * families (src/telemetry/metrics.ts). After governance, which prices it.
 */
import type { Metrics } from '../telemetry/metrics.js';
import type { BuiltinPlugin } from './lifecycle.js';
import { contextOf } from './request-view.js';

export function metricsPlugin(metrics: Metrics): BuiltinPlugin {
  return {
    name: 'metrics',
    after: ['governance'],
    afterResponse(request, completed) {
      const ctx = contextOf(request);
      const usage = ctx.usage;
      const timings = completed.timings;
      metrics.observe({
        surface: ctx.surface,
        provider: ctx.countedProvider(),
        model: ctx.countedModel(),
        status: ctx.status,
        cache: ctx.cache,
        virtualKey: ctx.virtualKeyId,
        totalSeconds: timings.totalMs / 1000,
        upstreamSeconds: ctx.upstreamMs / 1000,
        overheadSeconds: timings.overheadMs / 1000,
        ttftSeconds: ctx.ttftMs === undefined ? undefined : ctx.ttftMs / 1000,
        inputTokens: usage?.prompt_tokens,
        outputTokens: usage?.completion_tokens,
        cachedTokens: usage?.prompt_tokens_details?.cached_tokens,
        costUsd: ctx.costUsd,
        attempts: ctx.attempts,
        warnings: ctx.warnings,
      });
    },
  };
}
