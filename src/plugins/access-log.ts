/**
 * Built-in plugin `access-log`: one `request` line per finished request in
 * the gateway's log (model, provider, status, latency, overhead, tokens,
 * cost). After governance, which prices it.
 */
import { logRequestLine, safeLine, type Logger } from '../telemetry/logger.js';
import { redactText } from '../telemetry/secrets.js';
import type { BuiltinPlugin } from './lifecycle.js';
import { contextOf } from './request-view.js';

export function accessLogPlugin(logger: Logger): BuiltinPlugin {
  return {
    name: 'access-log',
    after: ['governance'],
    afterResponse(request, completed) {
      if (!logger.isLevelEnabled('info')) return;
      const ctx = contextOf(request);
      const usage = ctx.usage;
      const { totalMs, overheadMs } = completed.timings;
      const error = ctx.error?.message ?? ctx.errorMessage;
      // Built from fields that hold no secret: the error is masked here, the route has no query,
      // the request id was refused at read time if it had a key's shape (request-id.ts).
      logRequestLine(logger, safeLine({
        msg: 'request',
        request_id: ctx.id,
        trace_id: ctx.traceId,
        method: ctx.method,
        route: ctx.route,
        surface: ctx.surface,
        model: ctx.requestedModel,
        provider: ctx.countedProvider(),
        upstream_model: ctx.countedModel(),
        status: ctx.status,
        stream: ctx.stream,
        answered_by: ctx.answeredBy,
        latency_ms: Math.round(totalMs * 100) / 100,
        overhead_ms: Math.round(overheadMs * 1000) / 1000,
        ttft_ms: ctx.ttftMs === undefined ? undefined : Math.round(ctx.ttftMs),
        attempts: ctx.attempts.length,
        input_tokens: usage?.prompt_tokens,
        output_tokens: usage?.completion_tokens,
        // null: the model has no known price (never a silent 0).
        cost_usd: ctx.costUsd,
        error: error === undefined ? undefined : redactText(error),
      }));
    },
  };
}
