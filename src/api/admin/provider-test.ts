/**
 * "Test connection": one tiny real call through the provider definition, with
 * one of its keys. Providers that list models get GET /models (spends no
 * tokens); the others, or when a model is named, get a 1-token chat.
 * The answer says ok, the upstream status, the latency and the error, never a key.
 */
import { performance } from 'node:perf_hooks';
import type { ResolvedKey, ResolvedProvider } from '../../config/load.js';
import { decodeOpenAIError } from '../../formats/openai/codec.js';
import type { ChatRequest } from '../../formats/openai/types.js';
import { chatCodecFor } from '../../formats/registry.js';
import type { Gateway } from '../../gateway/gateway.js';
import { readBody } from '../../gateway/upstream.js';
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

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

function errorMessage(provider: ResolvedProvider, status: number, raw: Buffer): string {
  const body = parseJson(raw);
  if (body === undefined) {
    const text = raw.toString('utf8').trim().slice(0, 300);
    return text === '' ? `HTTP ${status}` : `HTTP ${status}: ${text}`;
  }
  const format = provider.definition.format;
  const codec = format === 'openai' ? undefined : chatCodecFor(format);
  return (codec === undefined ? decodeOpenAIError(status, body) : codec.decodeError(status, body)).message;
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
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const started = performance.now();
  try {
    let endpoint: Endpoint;
    let body: string | undefined;
    if (useModels) {
      endpoint = definition.endpoint('models', context);
      delete endpoint.headers['content-type'];
    } else {
      endpoint = definition.endpoint('chat', context);
      const request: ChatRequest = { model: model as string, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 };
      const codec = definition.format === 'openai' ? undefined : chatCodecFor(definition.format);
      let encoded = codec === undefined ? (request as unknown as Record<string, unknown>) : (codec.encodeRequest(request, { model: model as string, stream: false }).body as Record<string, unknown>);
      if (endpoint.bodyPatch !== undefined) encoded = { ...encoded, ...endpoint.bodyPatch };
      body = JSON.stringify(encoded);
    }
    let headers: Record<string, string> = { ...endpoint.headers, ...provider.headers };
    if (definition.authorize !== undefined) {
      const method = useModels ? 'GET' : 'POST';
      headers = { ...headers, ...(await definition.authorize({ method, url: endpoint.url, headers, body: body ?? '', context })) };
    }
    const timeouts = { ...provider.timeouts, firstByteMs: timeoutMs, idleMs: timeoutMs, totalMs: timeoutMs };
    const response = await gateway.upstream.request({
      url: endpoint.url, method: useModels ? 'GET' : 'POST', headers, body, timeouts, signal: controller.signal,
    });
    const raw = await readBody(response.body, controller.signal);
    result.status = response.status;
    result.latency_ms = Math.round(performance.now() - started);
    result.ok = response.status < 400;
    if (!result.ok) result.error = redactText(errorMessage(provider, response.status, raw));
  } catch (error) {
    result.latency_ms = Math.round(performance.now() - started);
    const message = controller.signal.aborted ? `no answer within ${timeoutMs} ms` : (error as Error).message;
    result.error = redactText(message);
  } finally {
    clearTimeout(timer);
  }
  return result;
}
