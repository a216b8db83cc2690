/**
 * One upstream call outside a routed attempt (a token count, a health check, a
 * provider test), prepared and judged the way runAttempt prepares and judges
 * its own: the endpoint's headers with the provider's extra headers, the
 * provider's request signing, the request id, the `beforeAttempt` stage
 * (tracing, plugins) when the call belongs to a request, the provider's concurrency
 * slot, a total timeout, transport errors and HTTP answers classified by
 * upstream-failure.ts, and the key's health verdict from failure-class.ts.
 */
import { performance } from 'node:perf_hooks';
import type { ResolvedConfig, ResolvedTimeouts } from '../config/load.js';
import { decodeOpenAIError } from '../formats/openai/codec.js';
import { chatCodecFor } from '../formats/registry.js';
import type { UpstreamErrorInfo, WireFormat } from '../formats/types.js';
import type { Endpoint } from '../providers/types.js';
import { keyVerdict } from './failure-class.js';
import type { Lifecycle } from '../plugins/lifecycle.js';
import { AttemptStageImpl } from '../plugins/stages.js';
import type { KeyRuntime, ProviderRuntime } from './provider-runtime.js';
import type { RequestContext } from './request-context.js';
import type { Target } from './router.js';
import { readBody, TOTAL_TIMEOUT, type UpstreamClient, type UpstreamResponse } from './upstream.js';
import { parseRetryAfter, passthroughJsonProblem, UpstreamFailure } from './upstream-failure.js';

export interface UpstreamCall {
  provider: ProviderRuntime;
  key: KeyRuntime | undefined;
  endpoint: Endpoint;
  method: 'GET' | 'POST' | 'DELETE';
  body?: string;
  /** The provider's model id (request signing). */
  model: string;
  /** The whole call, answer read; default the provider's total timeout. */
  timeoutMs?: number;
  /** Timeouts of the call (default the provider's, each cut to `timeoutMs`). */
  timeouts?: ResolvedTimeouts;
  /** The request the call belongs to: its id is sent, a client that goes away aborts it, hooks see it. */
  ctx?: RequestContext;
  target?: Target;
  /** Take a slot of the provider's concurrency limit (calls on a request's behalf). */
  slot?: boolean;
  /** Give the key's breaker and averages the verdict (calls on a request's behalf). */
  judge?: boolean;
  /** A 2xx must be JSON (content-type and first byte, as on a pass-through). */
  json?: boolean;
}

export interface UpstreamCallResult {
  status: number;
  headers: UpstreamResponse['headers'];
  raw: Buffer;
  latencyMs: number;
  /** The answer as a failure: an HTTP error status, or a 2xx that is not JSON when `json` was asked. */
  failure: UpstreamFailure | undefined;
}

export interface UpstreamCallHost {
  upstream: UpstreamClient;
  /** The request's plugins (calls on a request's behalf): their beforeAttempt stage. */
  lifecycle?: Lifecycle;
  routing: Pick<ResolvedConfig['routing'], 'breaker' | 'adaptive'>;
}

/** The headers of a call: the endpoint's, the provider's extra ones, the provider's signature, the request id. */
export async function signedHeaders(call: Pick<UpstreamCall, 'provider' | 'key' | 'endpoint' | 'method' | 'body' | 'model'>, requestId?: string): Promise<Record<string, string>> {
  const { provider, endpoint } = call;
  let headers: Record<string, string> = { ...endpoint.headers, ...provider.extraHeaders };
  if (call.method !== 'POST') delete headers['content-type'];
  if (provider.definition.authorize !== undefined) {
    const context = { baseUrl: provider.baseUrl, apiKey: call.key?.secret, model: call.model, stream: false, options: provider.options };
    headers = { ...headers, ...(await provider.definition.authorize({ method: call.method, url: endpoint.url, headers, body: call.body ?? '', context })) };
  }
  if (requestId !== undefined) headers['x-request-id'] ??= requestId;
  return headers;
}

/** The provider's error answer, decoded by its format's codec (OpenAI shape by default). */
export function upstreamErrorInfo(format: WireFormat, status: number, raw: Buffer): UpstreamErrorInfo {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    const text = raw.toString('utf8').trim().slice(0, 300);
    return { message: text === '' ? `upstream returned HTTP ${status}` : `upstream returned HTTP ${status}: ${text}` };
  }
  const codec = format === 'openai' ? undefined : chatCodecFor(format);
  return codec === undefined ? decodeOpenAIError(status, body) : codec.decodeError(status, body);
}

/** An answer with status >= 400 as the failure the pipeline and the breaker read. */
export function httpFailure(format: WireFormat, response: Pick<UpstreamResponse<unknown>, 'status' | 'headers'>, raw: Buffer): UpstreamFailure {
  const info = upstreamErrorInfo(format, response.status, raw);
  const header = response.headers['x-should-retry'];
  const shouldRetry = Array.isArray(header) ? header[0] : header;
  return new UpstreamFailure(
    'http',
    info.message,
    response.status,
    parseRetryAfter(response.headers, Date.now()),
    shouldRetry === 'true' ? true : shouldRetry === 'false' ? false : undefined,
    info.type,
    info.code,
    info.param,
  );
}

function abortCall(controller: AbortController): void {
  controller.abort(TOTAL_TIMEOUT);
}

/**
 * Sends the call and reads the whole answer. Resolves with the answer (an error status comes back
 * classified in `failure`, its body kept for the caller); rejects with an UpstreamFailure when no
 * answer came (refused, reset, timeout, aborted) or a GatewayError when the provider's queue is full.
 */
export async function callUpstream(host: UpstreamCallHost, call: UpstreamCall): Promise<UpstreamCallResult> {
  const { provider, key, ctx } = call;
  let extra: Record<string, string> | undefined;
  const lifecycle = host.lifecycle;
  if (ctx !== undefined && call.target !== undefined && lifecycle !== undefined && lifecycle.beforeAttempt.length > 0) {
    // The beforeAttempt stage (tracing's traceparent, user plugins): a changed body is signed as changed.
    extra = {};
    const stage = new AttemptStageImpl(call.target, key?.name ?? '', ctx.attempts.length, call.endpoint.url, extra, call.body ?? '');
    const ran = lifecycle.runBeforeAttempt(ctx, stage);
    if (ran !== undefined) await ran;
    if (call.body !== undefined && stage.body !== call.body) call = { ...call, body: stage.body };
  }
  const headers = await signedHeaders(call, ctx?.id);
  if (extra !== undefined) Object.assign(headers, extra);
  const timeoutMs = call.timeoutMs ?? provider.timeouts.totalMs;
  const base = call.timeouts ?? provider.timeouts;
  const timeouts: ResolvedTimeouts = {
    connectMs: Math.min(base.connectMs, timeoutMs),
    firstByteMs: Math.min(base.firstByteMs, timeoutMs),
    idleMs: Math.min(base.idleMs, timeoutMs),
    totalMs: timeoutMs,
  };
  if (call.slot === true && !provider.limiter.tryAcquire()) {
    try {
      await provider.limiter.acquire();
    } catch (error) {
      if (call.judge === true) key?.health.onCancel(); // nothing was sent: a probe slot is free again
      throw error;
    }
  }
  const controller = new AbortController();
  const timer = setTimeout(abortCall, timeoutMs, controller);
  ctx?.attachController(controller);
  const started = performance.now();
  let failure: UpstreamFailure | undefined;
  try {
    if (ctx?.clientGone === true) controller.abort();
    const response = await host.upstream.request({ url: call.endpoint.url, method: call.method, headers, body: call.body, timeouts, signal: controller.signal });
    const raw = await readBody(response.body, controller.signal);
    const latencyMs = performance.now() - started;
    if (response.status >= 400) failure = httpFailure(provider.definition.format, response, raw);
    else if (call.json === true) {
      const problem = passthroughJsonProblem(response.headers, raw);
      if (problem !== undefined) failure = new UpstreamFailure('bad_response', problem);
    }
    return { status: response.status, headers: response.headers, raw, latencyMs, failure };
  } catch (error) {
    failure = error instanceof UpstreamFailure ? error : new UpstreamFailure('network', (error as Error).message);
    throw failure;
  } finally {
    clearTimeout(timer);
    ctx?.attachController(undefined);
    if (call.slot === true) provider.limiter.release();
    if (call.judge === true && key !== undefined) judgeKey(host, key, failure, performance.now() - started);
  }
}

/** The key's health verdict on one call (the same rule as an attempt's). */
function judgeKey(host: UpstreamCallHost, key: KeyRuntime, failure: UpstreamFailure | undefined, latencyMs: number): void {
  const now = performance.now();
  const { breaker, adaptive } = host.routing;
  const verdict = failure === undefined ? 'success' : keyVerdict(failure);
  if (verdict === 'success') key.health.onSuccess(now, failure === undefined ? latencyMs : undefined, breaker, adaptive);
  else if (verdict === 'failure') key.health.onFailure(now, failure!.message, breaker, adaptive);
  else key.health.onCancel();
}

/**
 * A key of the provider for a call on a request's behalf: by weight, skipping keys whose circuit is
 * open (an open key past its cool-down is taken as the probe). Undefined when none may take it.
 */
export function pickAvailableKey(provider: ProviderRuntime, model: string, breaker: ResolvedConfig['routing']['breaker']): KeyRuntime | undefined {
  const now = performance.now();
  let excluded: Set<string> | undefined;
  for (let i = 0; i < provider.keys.length; i++) {
    const key = provider.pickKey(model, excluded);
    if (key === undefined) return undefined;
    if (key.health.available(now, breaker)) {
      key.health.breaker.onPick(now);
      return key;
    }
    (excluded ??= new Set()).add(key.id);
  }
  return undefined;
}
