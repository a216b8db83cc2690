/**
 * One upstream call a route makes outside the pipeline (a token count, a stored response at its
 * provider), recorded like a routed attempt: an attempt entry on the request (logs, x-heimdall-attempts),
 * the upstream time, the `afterAttempt` hooks (metrics, tracing), and a failure without an answer
 * as the caller's GatewayError.
 */
import { performance } from 'node:perf_hooks';
import type { Gateway } from '../gateway/gateway.js';
import type { KeyRuntime } from '../gateway/provider-runtime.js';
import type { RequestContext } from '../gateway/request-context.js';
import type { Target } from '../gateway/router.js';
import { callUpstream, type UpstreamCall, type UpstreamCallResult } from '../gateway/upstream-call.js';
import { UpstreamFailure } from '../gateway/upstream-failure.js';

export async function recordedCall(
  gateway: Gateway,
  ctx: RequestContext,
  target: Target,
  key: KeyRuntime | undefined,
  call: Pick<UpstreamCall, 'endpoint' | 'method' | 'body'>,
): Promise<UpstreamCallResult> {
  const provider = target.provider;
  const record = { provider: provider.name, model: target.model, key: key?.name, key_id: key?.id, status: undefined as number | undefined, error: undefined as string | undefined, latency_ms: 0 };
  ctx.attempts.push(record);
  const started = performance.now();
  try {
    const answer = await callUpstream({ upstream: gateway.upstream, lifecycle: gateway.lifecycle, routing: gateway.state.routing }, {
      ...call, provider, key, model: target.model, ctx, target, slot: true, judge: true, json: true,
    });
    record.status = answer.status;
    // A 2xx that is not JSON is the provider's failure (502); an error status goes back as the provider sent it.
    if (answer.failure?.kind === 'bad_response') throw answer.failure.toGatewayError(provider.name);
    return answer;
  } catch (error) {
    record.error ??= (error as Error).message;
    throw error instanceof UpstreamFailure ? error.toGatewayError(provider.name) : error;
  } finally {
    const spent = performance.now() - started;
    ctx.upstreamMs += spent;
    record.latency_ms = Math.round(spent);
    gateway.lifecycle.runAfterAttempt(ctx, target, record);
  }
}
