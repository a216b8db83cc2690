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

/** The deployment that serves a model (options.deployments), else the model's own name. */
export function deploymentFor(model: string, options: Readonly<Record<string, unknown>>): string {
  const deployments = options.deployments as Record<string, string> | undefined;
  return deployments?.[model] ?? model;
}

/** The api-version a call sends: options.api_version, else AZURE_DEFAULT_API_VERSION. */
export function azureApiVersion(options: Readonly<Record<string, unknown>>): string {
  // The environment reaches here through optionsEnv (resolved with the config), never process.env directly.
  return typeof options.api_version === 'string' && options.api_version !== '' ? options.api_version : AZURE_DEFAULT_API_VERSION;
}

/** The key as `api-key`, or an Entra ID token as `Authorization: Bearer` (options.auth = "entra"). */
export function azureAuthHeaders(apiKey: string | undefined, options: Readonly<Record<string, unknown>>): Record<string, string> {
  if (apiKey === undefined) return {};
  return options.auth === 'entra' ? { authorization: `Bearer ${apiKey}` } : { 'api-key': apiKey };
}

/** The resource's root (`https://{resource}.openai.azure.com`), whether or not the base URL ends in `/openai`. */
export function azureResourceUrl(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/openai$/, '');
}

function azureEndpoint(operation: Operation, context: EndpointContext): Endpoint {
  const options = context.options;
  const apiVersion = azureApiVersion(options);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...azureAuthHeaders(context.apiKey, options) };
  const base = azureResourceUrl(context.baseUrl);
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
