import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { anthropicProvider } from '../../src/providers/anthropic.js';
import { AZURE_DEFAULT_API_VERSION, azureProvider } from '../../src/providers/azure.js';
import { bedrockProvider } from '../../src/providers/bedrock.js';
import { cohereProvider } from '../../src/providers/cohere.js';
import { geminiProvider } from '../../src/providers/gemini.js';
import { providerDefinitions } from '../../src/providers/registry.js';
import type { EndpointContext } from '../../src/providers/types.js';
import { vertexAnthropicProvider, vertexProvider } from '../../src/providers/vertex.js';

const ctx = (over: Partial<EndpointContext> = {}): EndpointContext => ({
  baseUrl: 'https://my-resource.openai.azure.com',
  apiKey: 'azure-key',
  model: 'gpt-4o',
  stream: false,
  options: {},
  ...over,
});

describe('azureProvider', () => {
  it('maps a model to its deployment, with the api-version and the api-key header', () => {
    const endpoint = azureProvider.endpoint('chat', ctx({ options: { deployments: { 'gpt-4o': 'prod 4o' }, api_version: '2025-01-01-preview' } }));
    expect(endpoint).toEqual({
      url: 'https://my-resource.openai.azure.com/openai/deployments/prod%204o/chat/completions?api-version=2025-01-01-preview',
      headers: { 'content-type': 'application/json', 'api-key': 'azure-key' },
    });
  });

  it('defaults the deployment to the model and the api-version to a GA version; a base ending in /openai is fine', () => {
    expect(azureProvider.endpoint('embeddings', ctx({ baseUrl: 'https://r.openai.azure.com/openai', model: 'text-embedding-3-small' })).url)
      .toBe(`https://r.openai.azure.com/openai/deployments/text-embedding-3-small/embeddings?api-version=${AZURE_DEFAULT_API_VERSION}`);
    expect(azureProvider.endpoint('responses', ctx()).url).toBe('https://my-resource.openai.azure.com/openai/v1/responses');
  });

  it('sends an Entra ID token as a bearer token', () => {
    expect(azureProvider.endpoint('chat', ctx({ apiKey: 'entra', options: { auth: 'entra' } })).headers).toEqual({
      'content-type': 'application/json',
      authorization: 'Bearer entra',
    });
  });

  it('reads OPENAI_API_VERSION from the configured environment (not the process), the config option winning', () => {
    const env = { AZURE_OPENAI_API_KEY: 'k', AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', OPENAI_API_VERSION: '2024-06-01' };
    const fromEnv = loadConfig({ env, config: {} }).providers.find((p) => p.name === 'azure');
    expect(fromEnv?.options.api_version).toBe('2024-06-01');
    const fromFile = loadConfig({ env, config: { providers: { azure: { options: { api_version: '2025-03-01-preview' } } } } }).providers.find((p) => p.name === 'azure');
    expect(fromFile?.options.api_version).toBe('2025-03-01-preview');
    expect(azureProvider.endpoint('chat', { ...ctx(), options: fromEnv?.options ?? {} }).url).toContain('api-version=2024-06-01');
  });
});

describe('azure models from the deployment map', () => {
  const env = { AZURE_OPENAI_API_KEY: 'k', AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com' };
  const azure = (entry: Record<string, unknown>) =>
    loadConfig({ env, config: { providers: { azure: entry } } }).providers.find((p) => p.name === 'azure');
  const deployments = { 'gpt-4o': 'prod-4o', 'gpt-4o-mini': 'prod-mini', 'text-embedding-3-small': 'embed-prod' };

  it('lists the deployment map\'s models when the entry lists none (names with "embed" as embedding models)', () => {
    const resolved = azure({ options: { deployments } });
    expect(resolved?.models).toEqual(['gpt-4o', 'gpt-4o-mini']);
    expect(resolved?.embeddingModels).toEqual(['text-embedding-3-small']);
  });

  it('an explicit list wins; the other list still comes from the map, without the names listed explicitly', () => {
    expect(azure({ models: ['gpt-4o'], options: { deployments } })).toMatchObject({ models: ['gpt-4o'], embeddingModels: ['text-embedding-3-small'] });
    expect(azure({ embedding_models: ['gpt-4o-mini'], options: { deployments } })).toMatchObject({ models: ['gpt-4o'], embeddingModels: ['gpt-4o-mini'] });
    expect(azure({ models: [], embedding_models: [], options: { deployments } })).toMatchObject({ models: [], embeddingModels: [] });
  });

  it('no map (or an empty one): nothing listed, as before', () => {
    expect(azure({})).toMatchObject({ models: [], embeddingModels: [] });
    expect(azure({ options: { deployments: {} } })).toMatchObject({ models: [], embeddingModels: [] });
    expect(azureProvider.modelsFromOptions?.({ deployments: 'prod' })).toBeUndefined();
  });
});

describe('token-count endpoints', () => {
  const vertex = (model: string): EndpointContext => ({
    baseUrl: 'https://{location}-aiplatform.googleapis.com', apiKey: undefined, model, stream: false, options: { project: 'p1', location: 'us-east5' },
  });

  it('Anthropic: /v1/messages/count_tokens with the Anthropic headers', () => {
    expect(anthropicProvider.countTokens?.({ ...ctx(), baseUrl: 'https://api.anthropic.com', apiKey: 'sk-ant' })).toEqual({
      url: 'https://api.anthropic.com/v1/messages/count_tokens',
      headers: { 'x-api-key': 'sk-ant', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      format: 'anthropic',
    });
  });

  it('Gemini: models/{model}:countTokens with the key header', () => {
    expect(geminiProvider.countTokens?.({ ...ctx(), baseUrl: 'https://generativelanguage.googleapis.com', apiKey: 'AIza', model: 'gemini-2.5-pro' })).toEqual({
      url: 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:countTokens',
      headers: { 'x-goog-api-key': 'AIza', 'content-type': 'application/json' },
      format: 'gemini',
    });
  });

  it('Vertex: the publisher model for Gemini, the count-tokens model for Claude', () => {
    expect(vertexProvider.countTokens?.(vertex('gemini-2.5-pro'))).toEqual({
      url: 'https://us-east5-aiplatform.googleapis.com/v1/projects/p1/locations/us-east5/publishers/google/models/gemini-2.5-pro:countTokens',
      headers: { 'content-type': 'application/json' },
      format: 'gemini',
    });
    expect(vertexAnthropicProvider.countTokens?.(vertex('claude-sonnet-4-5@20250929'))?.url)
      .toBe('https://us-east5-aiplatform.googleapis.com/v1/projects/p1/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict');
  });

  it('only the providers with a count of their own have one', () => {
    const counting = providerDefinitions().filter((d) => d.countTokens !== undefined).map((d) => d.id);
    expect(counting).toEqual(['anthropic', 'gemini', 'vertex', 'vertex-anthropic']);
    expect(bedrockProvider.countTokens).toBeUndefined();
    expect(cohereProvider.countTokens).toBeUndefined();
  });
});
