/**
 * Azure OpenAI: the OpenAI wire format behind per-deployment URLs.
 * The key goes in `api-key`, or an Entra ID token in `Authorization: Bearer`
 * (options.auth = "entra", or AZURE_OPENAI_AD_TOKEN). `options.deployments`
 * maps model names to deployment names (default: the model name itself);
 * when the entry lists no `models`, the map's model names are the ones listed
 * in GET /v1/models and routed by bare name (names with "embed" as embedding models).
 * `options.api_version` (else OPENAI_API_VERSION, as the openai SDK's
 * AzureOpenAI client reads it, else AZURE_DEFAULT_API_VERSION) goes in the query.
 * @see https://learn.microsoft.com/azure/ai-foundry/openai/reference
 * @see https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle
 */
import type { Endpoint, EndpointContext, Operation, ProviderDefinition } from './types.js';

export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

const PATHS: Record<Operation, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  responses: '/responses',
  models: '/models',
  images: '/images/generations',
  image_edits: '/images/edits',
  speech: '/audio/speech',
  transcriptions: '/audio/transcriptions',
  translations: '/audio/translations',
  rerank: '/rerank',
  moderations: '/moderations',
};

/** Azure has no fixed catalogue: the deployment map says what an entry serves. */
function modelsFromDeployments(options: Readonly<Record<string, unknown>>): { models: string[]; embeddingModels: string[] } | undefined {
  const deployments = options.deployments;
  if (typeof deployments !== 'object' || deployments === null || Array.isArray(deployments)) return undefined;
  const names = Object.keys(deployments);
  if (names.length === 0) return undefined;
  const embedding = (name: string): boolean => /embed/i.test(name);
  return { models: names.filter((name) => !embedding(name)), embeddingModels: names.filter(embedding) };
}

function deploymentFor(model: string, options: Readonly<Record<string, unknown>>): string {
  const deployments = options.deployments as Record<string, string> | undefined;
  return deployments?.[model] ?? model;
}

function azureEndpoint(operation: Operation, context: EndpointContext): Endpoint {
  const options = context.options;
  // The environment reaches here through optionsEnv (resolved with the config), never process.env directly.
  const apiVersion = typeof options.api_version === 'string' && options.api_version !== '' ? options.api_version : AZURE_DEFAULT_API_VERSION;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (context.apiKey !== undefined) {
    if (options.auth === 'entra') headers.authorization = `Bearer ${context.apiKey}`;
    else headers['api-key'] = context.apiKey;
  }
  const base = context.baseUrl.replace(/\/openai$/, '');
  if (operation === 'models') return { url: `${base}/openai/models?api-version=${encodeURIComponent(apiVersion)}`, headers };
  if (operation === 'responses') return { url: `${base}/openai/v1/responses`, headers };
  const deployment = encodeURIComponent(deploymentFor(context.model, options));
  return { url: `${base}/openai/deployments/${deployment}${PATHS[operation]}?api-version=${encodeURIComponent(apiVersion)}`, headers };
}

export const azureProvider: ProviderDefinition = {
  optionsEnv: { api_version: ['OPENAI_API_VERSION'] },
  id: 'azure',
  name: 'Azure OpenAI',
  format: 'openai',
  defaultBaseUrl: '',
  apiKeyEnv: ['AZURE_OPENAI_API_KEY', 'AZURE_OPENAI_AD_TOKEN'],
  baseUrlEnv: 'AZURE_OPENAI_ENDPOINT',
  keyRequired: true,
  operations: { chat: true, completions: true, embeddings: true, responses: true, models: true, images: true, image_edits: true, speech: true, transcriptions: true, translations: true },
  models: [],
  modelsFromOptions: modelsFromDeployments,
  endpoint: azureEndpoint,
  docs: 'https://learn.microsoft.com/azure/ai-foundry/openai/reference',
};
