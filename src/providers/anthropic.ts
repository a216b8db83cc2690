import { GatewayError } from '../errors/gateway-error.js';
import type { CountTokensEndpoint, Endpoint, EndpointContext, Operation, ProviderDefinition } from './types.js';

/**
 * Anthropic: Messages API at the host root (ANTHROPIC_BASE_URL has the
 * official SDK's meaning: `https://api.anthropic.com`, no `/v1`).
 * Optional provider settings: `anthropic_version` (header, default 2023-06-01)
 * and `beta` (string or list, sent as `anthropic-beta`). On a pass-through the
 * caller's own `anthropic-version` replaces it and its `anthropic-beta` joins
 * the list (forward-headers.ts).
 * @see https://docs.anthropic.com/en/api/overview
 * @see https://docs.anthropic.com/en/api/versioning
 */

export const ANTHROPIC_VERSION = '2023-06-01';
export const ANTHROPIC_MESSAGES_PATH = '/v1/messages';
export const ANTHROPIC_COUNT_TOKENS_PATH = '/v1/messages/count_tokens';
export const ANTHROPIC_MODELS_PATH = '/v1/models';

/** Current Claude API model ids and aliases (gated research models are left out). @see https://docs.anthropic.com/en/docs/about-claude/models/overview */
export const ANTHROPIC_MODELS: readonly string[] = [
  'claude-opus-5-5',
  'claude-sonnet-5-5',
  'claude-haiku-5-5',
  'claude-fable-5-1',
  'claude-fable-5',
  'claude-opus-5',
  'claude-sonnet-5',
  'claude-opus-4-8',
  'claude-opus-4-7',
  'claude-opus-4-6',
  'claude-sonnet-4-6',
  'claude-opus-4-5',
  'claude-opus-4-5-20251101',
  'claude-sonnet-4-5',
  'claude-sonnet-4-5-20250929',
  'claude-haiku-4-5',
  'claude-haiku-4-5-20251001',
  'claude-opus-4-1',
  'claude-opus-4-1-20250805',
  'claude-sonnet-4-0',
  'claude-sonnet-4-20250514',
];

/** The headers every Anthropic call carries. */
export function anthropicHeaders(context: EndpointContext, withBody: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  if (context.apiKey !== undefined) headers['x-api-key'] = context.apiKey;
  const version = context.options.anthropic_version;
  headers['anthropic-version'] = typeof version === 'string' && version !== '' ? version : ANTHROPIC_VERSION;
  const beta = context.options.beta;
  if (typeof beta === 'string' && beta !== '') headers['anthropic-beta'] = beta;
  else if (Array.isArray(beta) && beta.length > 0) headers['anthropic-beta'] = beta.map(String).join(',');
  if (withBody) headers['content-type'] = 'application/json';
  return headers;
}

/**
 * POST /v1/messages/count_tokens: same body as a message (without max_tokens), answers `{input_tokens}`.
 * @see https://docs.anthropic.com/en/api/messages-count-tokens
 */
export function anthropicCountTokensEndpoint(context: EndpointContext): CountTokensEndpoint {
  return { url: `${context.baseUrl}${ANTHROPIC_COUNT_TOKENS_PATH}`, headers: anthropicHeaders(context, true), format: 'anthropic' };
}

export const anthropicProvider: ProviderDefinition = {
  id: 'anthropic',
  name: 'Anthropic',
  format: 'anthropic',
  defaultBaseUrl: 'https://api.anthropic.com',
  apiKeyEnv: ['ANTHROPIC_API_KEY'],
  baseUrlEnv: 'ANTHROPIC_BASE_URL',
  keyRequired: true,
  operations: { chat: true, models: true },
  models: ANTHROPIC_MODELS,
  docs: 'https://docs.anthropic.com/en/api/messages',
  countTokens: anthropicCountTokensEndpoint,
  endpoint(operation: Operation, context: EndpointContext): Endpoint {
    switch (operation) {
      case 'chat':
        return {
          url: `${context.baseUrl}${ANTHROPIC_MESSAGES_PATH}`,
          headers: anthropicHeaders(context, true),
          ...(context.stream ? { streamFraming: 'sse' as const } : {}),
        };
      case 'models':
        return { url: `${context.baseUrl}${ANTHROPIC_MODELS_PATH}`, headers: anthropicHeaders(context, false) };
      default:
        throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Anthropic does not offer the '${operation}' operation.`);
    }
  },
};
