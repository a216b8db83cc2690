import { describe, expect, it } from 'vitest';
import {
  ANTHROPIC_COUNT_TOKENS_PATH,
  anthropicCountTokensEndpoint,
  anthropicProvider,
} from '../../../src/providers/anthropic.js';
import { GatewayError } from '../../../src/errors/gateway-error.js';
import type { EndpointContext } from '../../../src/providers/types.js';

const ctx: EndpointContext = { baseUrl: 'https://api.anthropic.com', apiKey: 'sk-ant-test', model: 'claude-sonnet-4-5', stream: false, options: {} };

describe('anthropicProvider', () => {
  it('declares identity, env variables and operations', () => {
    expect(anthropicProvider).toMatchObject({
      id: 'anthropic',
      format: 'anthropic',
      defaultBaseUrl: 'https://api.anthropic.com',
      apiKeyEnv: ['ANTHROPIC_API_KEY'],
      baseUrlEnv: 'ANTHROPIC_BASE_URL',
      keyRequired: true,
      operations: { chat: true, models: true },
    });
    for (const model of ['claude-opus-4-5', 'claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-4-1', 'claude-sonnet-4-0']) {
      expect(anthropicProvider.models).toContain(model);
    }
  });

  it('addresses chat at /v1/messages with the API key and version headers', () => {
    expect(anthropicProvider.endpoint('chat', ctx)).toEqual({
      url: 'https://api.anthropic.com/v1/messages',
      headers: { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    });
    expect(anthropicProvider.endpoint('chat', { ...ctx, stream: true }).streamFraming).toBe('sse');
  });

  it('sends configured beta flags and version, and no key header without a key', () => {
    const endpoint = anthropicProvider.endpoint('chat', {
      ...ctx, apiKey: undefined, options: { beta: ['context-1m-2025-08-07', 'files-api-2025-04-14'], anthropic_version: '2023-01-01' },
    });
    expect(endpoint.headers).toEqual({
      'anthropic-version': '2023-01-01',
      'anthropic-beta': 'context-1m-2025-08-07,files-api-2025-04-14',
      'content-type': 'application/json',
    });
  });

  it('addresses models and count_tokens, and refuses other operations', () => {
    expect(anthropicProvider.endpoint('models', ctx)).toEqual({
      url: 'https://api.anthropic.com/v1/models',
      headers: { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' },
    });
    expect(ANTHROPIC_COUNT_TOKENS_PATH).toBe('/v1/messages/count_tokens');
    expect(anthropicCountTokensEndpoint({ ...ctx, baseUrl: 'http://127.0.0.1:9999' }).url).toBe('http://127.0.0.1:9999/v1/messages/count_tokens');
    try {
      anthropicProvider.endpoint('embeddings', ctx);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).code).toBe('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION');
    }
  });
});
