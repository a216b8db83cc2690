/**
 * OpenTelemetry attribute names and values for the gateway's spans: the
 * GenAI semantic conventions (still "development" status, so the names are
 * written here rather than imported from the incubating entry point, which
 * may rename them between releases), the HTTP ones, and Heimdall's own.
 * @see https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/
 * @see https://opentelemetry.io/docs/specs/semconv/registry/attributes/gen-ai/
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/
 */
import type { Operation } from '../providers/types.js';

export const ATTR = {
  genAiOperation: 'gen_ai.operation.name',
  /** Current name of the provider attribute. */
  genAiProvider: 'gen_ai.provider.name',
  /** Its older name (semconv < 1.37), still read by many backends: both are set. */
  genAiSystem: 'gen_ai.system',
  genAiRequestModel: 'gen_ai.request.model',
  genAiResponseModel: 'gen_ai.response.model',
  genAiFinishReasons: 'gen_ai.response.finish_reasons',
  genAiInputTokens: 'gen_ai.usage.input_tokens',
  genAiOutputTokens: 'gen_ai.usage.output_tokens',
  httpMethod: 'http.request.method',
  httpRoute: 'http.route',
  httpStatus: 'http.response.status_code',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  requestId: 'heimdall.request_id',
  surface: 'heimdall.surface',
  provider: 'heimdall.provider',
  key: 'heimdall.key',
  attempt: 'heimdall.attempt',
  attempts: 'heimdall.attempts',
  virtualKey: 'heimdall.virtual_key.id',
  cache: 'heimdall.cache',
  stream: 'heimdall.stream',
  overheadMs: 'heimdall.overhead_ms',
  ttftMs: 'heimdall.ttft_ms',
  costUsd: 'heimdall.cost_usd',
  cachedTokens: 'heimdall.usage.cached_tokens',
} as const;

/** gen_ai.operation.name for each upstream operation. */
export const OPERATION_NAME: Readonly<Record<Exclude<Operation, 'models'>, string>> = {
  chat: 'chat',
  completions: 'text_completion',
  embeddings: 'embeddings',
  responses: 'chat',
  // Media operations have no name of their own in the conventions: they generate content.
  images: 'generate_content',
  image_edits: 'generate_content',
  speech: 'generate_content',
  transcriptions: 'generate_content',
  translations: 'generate_content',
  rerank: 'rerank',
  moderations: 'moderations',
};

/**
 * Provider definition id -> gen_ai.provider.name well-known value; other
 * providers report their own id (the conventions allow custom values).
 */
const PROVIDER_NAMES: Readonly<Record<string, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  azure: 'azure.ai.openai',
  bedrock: 'aws.bedrock',
  cohere: 'cohere',
  deepseek: 'deepseek',
  gemini: 'gcp.gemini',
  vertex: 'gcp.vertex_ai',
  'vertex-anthropic': 'gcp.vertex_ai',
  groq: 'groq',
  mistral: 'mistral_ai',
  perplexity: 'perplexity',
  xai: 'x_ai',
};

export function genAiProviderName(definitionId: string): string {
  return PROVIDER_NAMES[definitionId] ?? definitionId;
}

/** server.address and server.port of a base URL (undefined when it does not parse). */
export function serverOf(baseUrl: string): { address: string; port: number } | undefined {
  try {
    const url = new URL(baseUrl);
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    return { address: url.hostname, port };
  } catch {
    return undefined;
  }
}
