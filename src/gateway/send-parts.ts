/**
 * The other calls of a request that goes upstream as several calls to one
 * endpoint (EncodedRequest.bodies: Bedrock Titan embeds one text per call).
 * The first call goes the usual way (attempt.ts); these follow on the same
 * target and key, PART_CONCURRENCY at a time, each body signed on its own
 * (SigV4 signs the body), under the attempt's abort signal and timeouts. The
 * first failure wins: calls not started yet are not sent, and the attempt
 * fails with it as one upstream failure (retried or reported as usual).
 */
import type { KeyRuntime, ProviderRuntime } from './provider-runtime.js';
import type { UpstreamCaller } from './pipeline-deps.js';
import { readBody, type UpstreamResponse } from './upstream.js';

/** Calls in flight at once for one request: enough to overlap latency, few enough not to burst a quota. */
export const PART_CONCURRENCY = 4;

export interface PartsCall {
  upstream: UpstreamCaller;
  provider: ProviderRuntime;
  key: KeyRuntime;
  /** The provider's own model id. */
  model: string;
  url: string;
  /** The endpoint's headers before signing. */
  unsigned: Record<string, string>;
  /** The first call's final headers (request id, trace context); each part's signature replaces its own. */
  headers: Record<string, string>;
  signal: AbortSignal;
  /** The failure for an answer with status >= 400. */
  fail(response: UpstreamResponse, raw: Buffer): Error;
}

/** Sends `bodies` (the parts after the first) and resolves with their answers' bodies, in order. */
export async function sendParts(call: PartsCall, bodies: readonly string[]): Promise<Buffer[]> {
  const { upstream, provider, signal } = call;
  const authorize = provider.definition.authorize;
  const context = { baseUrl: provider.baseUrl, apiKey: call.key.secret, model: call.model, stream: false, options: provider.options };
  const answers: Buffer[] = new Array<Buffer>(bodies.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < bodies.length) {
      const index = next++;
      const body = bodies[index];
      try {
        const headers = authorize === undefined
          ? call.headers
          : { ...call.headers, ...(await authorize({ method: 'POST', url: call.url, headers: call.unsigned, body, context })) };
        const response = await upstream.request({ url: call.url, method: 'POST', headers, body, timeouts: provider.timeouts, signal });
        const raw = await readBody(response.body, signal);
        if (response.status >= 400) throw call.fail(response, raw);
        answers[index] = raw;
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < Math.min(PART_CONCURRENCY, bodies.length); i++) workers.push(worker());
  const settled = await Promise.allSettled(workers);
  for (const result of settled) if (result.status === 'rejected') throw result.reason;
  return answers;
}
