/**
 * Cohere: its own v2 API (`/v2/chat`, `/v2/embed`), Bearer key.
 * CO_API_URL is the base URL variable of Cohere's SDKs (the host root).
 * @see https://docs.cohere.com/v2/reference/chat
 */
import { GatewayError } from '../errors/gateway-error.js';
import type { Endpoint, EndpointContext, Operation, ProviderDefinition } from './types.js';

function cohereEndpoint(operation: Operation, context: EndpointContext): Endpoint {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (context.apiKey !== undefined) headers.authorization = `Bearer ${context.apiKey}`;
  switch (operation) {
    case 'chat':
      if (context.stream) headers.accept = 'text/event-stream';
      return { url: `${context.baseUrl}/v2/chat`, headers, streamFraming: 'sse' };
    case 'embeddings':
      return { url: `${context.baseUrl}/v2/embed`, headers };
    case 'rerank':
      return { url: `${context.baseUrl}/v2/rerank`, headers };
    default:
      throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Cohere does not offer the ${operation} operation through Heimdall.`);
  }
}

export const cohereProvider: ProviderDefinition = {
  id: 'cohere',
  name: 'Cohere',
  format: 'cohere',
  defaultBaseUrl: 'https://api.cohere.com',
  apiKeyEnv: ['CO_API_KEY', 'COHERE_API_KEY'],
  baseUrlEnv: 'CO_API_URL',
  keyRequired: true,
  operations: { chat: true, embeddings: true, rerank: true },
  // @see https://docs.cohere.com/v2/docs/models
  models: ['command-a-03-2025', 'command-a-reasoning-08-2025', 'command-a-vision-07-2025', 'command-r-plus-08-2024', 'command-r-08-2024', 'command-r7b-12-2024'],
  embeddingModels: ['embed-v4.0', 'embed-english-v3.0', 'embed-multilingual-v3.0'],
  endpoint: cohereEndpoint,
  docs: 'https://docs.cohere.com/v2/reference/about',
};
