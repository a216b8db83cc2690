/**
 * "Test connection": one tiny real call through the provider definition, with
 * one of its keys. Providers that list models get GET /models (spends no
 * tokens); the others, or when a model is named, get a 1-token chat.
 * The answer says ok, the upstream status, the latency and the error, never a key.
 */
import { performance } from 'node:perf_hooks';
import type { ResolvedKey, ResolvedProvider } from '../../config/load.js';
import type { ChatRequest } from '../../formats/openai/types.js';
import { chatCodecFor } from '../../formats/registry.js';
import type { Gateway } from '../../gateway/gateway.js';
import { ProviderRuntime } from '../../gateway/provider-runtime.js';
import { callUpstream } from '../../gateway/upstream-call.js';
import type { UpstreamFailure } from '../../gateway/upstream-failure.js';
import type { Endpoint, EndpointContext } from '../../providers/types.js';
import { redactText } from '../../telemetry/secrets.js';

export interface ProviderTestResult {
  ok: boolean;
  /** Upstream HTTP status; null when no answer came (refused, timeout). */
  status: number | null;
  latency_ms: number | null;
  error: string | null;
  /** "models" (GET /models) or "chat" (a 1-token completion). */
  method: 'models' | 'chat';
  model: string | null;
  key_id: string | null;
}

export interface ProviderTestOptions {
  keyId?: string;
  model?: string;
  /** Default 10 s. */
  timeoutMs?: number;
}

function pickKey(provider: ResolvedProvider, keyId: string | undefined): ResolvedKey | undefined {
  if (keyId !== undefined) return provider.keys.find((key) => key.id === keyId);
  return provider.keys.find((key) => key.enabled && key.secret !== undefined) ?? provider.keys.find((key) => key.secret !== undefined);
}

export async function testProvider(gateway: Gateway, provider: ResolvedProvider, options: ProviderTestOptions = {}): Promise<ProviderTestResult> {
  const definition = provider.definition;
  const key = pickKey(provider, options.keyId);
  const useModels = options.model === undefined && definition.operations.models === true;
  const model = options.model ?? provider.models[0] ?? definition.models[0] ?? null;
  const result: ProviderTestResult = {
    ok: false, status: null, latency_ms: null, error: null, method: useModels ? 'models' : 'chat', model: useModels ? null : model, key_id: key?.id ?? null,
  };
  if (definition.keyRequired && key?.secret === undefined) {
    result.error = provider.disabledReason ?? 'the provider has no API key';
    return result;
  }
  if (!useModels && model === null) {
    result.error = 'name a model to test with: {"model": "..."}';
    return result;
  }
  const context: EndpointContext = {
    baseUrl: provider.baseUrl, apiKey: key?.secret, model: model ?? '', stream: false, options: provider.options,
  };
  const timeoutMs = options.timeoutMs ?? 10_000;
  let endpoint: Endpoint;
  let body: string | undefined;
  if (useModels) {
    endpoint = definition.endpoint('models', context);
  } else {
    endpoint = definition.endpoint('chat', context);
    const request: ChatRequest = { model: model as string, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 };
    const codec = definition.format === 'openai' ? undefined : chatCodecFor(definition.format);
    let encoded = codec === undefined ? (request as unknown as Record<string, unknown>) : (codec.encodeRequest(request, { model: model as string, stream: false }).body as Record<string, unknown>);
    if (endpoint.bodyPatch !== undefined) encoded = { ...encoded, ...endpoint.bodyPatch };
    body = JSON.stringify(encoded);
  }
  // The same builder and classification as every upstream call (upstream-call.ts), on a runtime of
  // the configuration under test: the live keys' breakers and concurrency slots are not touched.
  const runtime = new ProviderRuntime(provider);
  const runtimeKey = runtime.keys.find((k) => k.id === key?.id);
  const started = performance.now();
  try {
    const answer = await callUpstream({ upstream: gateway.upstream, routing: gateway.state.routing }, {
      provider: runtime, key: runtimeKey, endpoint, method: useModels ? 'GET' : 'POST', body, model: model ?? '', timeoutMs,
      timeouts: { ...provider.timeouts, firstByteMs: timeoutMs, idleMs: timeoutMs }, json: true,
    });
    result.status = answer.status;
    result.latency_ms = Math.round(answer.latencyMs);
    result.ok = answer.failure === undefined;
    if (answer.failure !== undefined) {
      result.error = redactText(answer.failure.message);
    }
  } catch (error) {
    result.latency_ms = Math.round(performance.now() - started);
    const failure = error as UpstreamFailure;
    result.error = redactText(failure.kind === 'timeout' ? `no answer within ${timeoutMs} ms` : failure.message);
  }
  return result;
}
