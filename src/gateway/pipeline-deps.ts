/**
 * What the pipeline and an upstream attempt need from the gateway, and nothing more: the live
 * routing state (swapped on reload), the upstream client, and the lifecycle's stages they run
 * (before routing, before and after each attempt). The gateway (gateway.ts) hands them these,
 * so the request's core depends on three small interfaces, not on the whole runtime.
 */
import type { Lifecycle } from '../plugins/lifecycle.js';
import type { GatewayState } from './provider-runtime.js';
import type { UpstreamClient } from './upstream.js';

/** The upstream calls of an attempt (undici pools per origin, timing and error capture). */
export type UpstreamCaller = Pick<UpstreamClient, 'request'>;

/** The stages an attempt runs: before each upstream attempt (may change the call), after it; whether a plugin reads streams. */
export type AttemptHooks = Pick<Lifecycle, 'beforeAttempt' | 'runBeforeAttempt' | 'afterAttempt' | 'runAfterAttempt' | 'readsStreams'>;

/** The stages the pipeline runs: before routing (admission, rerouting, early answers), and the attempt's. */
export type PipelineHooks = AttemptHooks & Pick<Lifecycle, 'beforeRouting' | 'runBeforeRouting'>;

/** What one attempt (attempt.ts, raw-attempt.ts, send-parts.ts) uses. */
export interface AttemptDeps {
  /** The routing state of the next request (read at each use: a reload swaps it). */
  readonly state: GatewayState;
  readonly upstream: UpstreamCaller;
  readonly hooks: AttemptHooks;
}

/** What the pipeline (pipeline.ts) uses. */
export interface PipelineDeps extends AttemptDeps {
  readonly hooks: PipelineHooks;
}
