/**
 * Google Vertex AI: Gemini models (`vertex`, Gemini wire format) and Claude
 * models (`vertex-anthropic`, Anthropic Messages format via rawPredict).
 *
 * Settings (provider options first, then the Google SDKs' environment):
 * - project: options.project, GOOGLE_CLOUD_PROJECT, else the credentials' project_id;
 * - location: options.location, GOOGLE_CLOUD_LOCATION, else us-central1
 *   (`global` uses the global host `aiplatform.googleapis.com`);
 * - credentials: the provider key (GOOGLE_APPLICATION_CREDENTIALS: a path to a
 *   service-account or authorized_user JSON file, or the JSON itself), else
 *   options.credentials. `authorize` turns them into an OAuth access token.
 * A configured base URL (VERTEX_BASE_URL, a private endpoint or proxy) replaces
 * the regional host; `{location}` in it is filled in.
 *
 * Claude on Vertex takes the Anthropic body with `anthropic_version:
 * "vertex-2023-10-16"` and without `model` (the model is in the URL): the
 * endpoint says so in `bodyPatch`, which the pipeline applies to the encoded body.
 *
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/use-claude
 * @see https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.publishers.models/countTokens
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/count-tokens
 */
import { GatewayError } from '../errors/gateway-error.js';
import { isImagenModel } from './gemini.js';
import { loadGoogleCredentials, tokenSourceFor } from './google-auth.js';
import type { Authorizer, CountTokensEndpoint, Endpoint, EndpointContext, Operation, ProviderDefinition } from './types.js';

export const VERTEX_DEFAULT_BASE_URL = 'https://{location}-aiplatform.googleapis.com';
export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';
const DEFAULT_LOCATION = 'us-central1';

type Env = Readonly<Record<string, string | undefined>>;

/** Gemini models on Vertex AI. @see https://cloud.google.com/vertex-ai/generative-ai/docs/models */
export const VERTEX_GEMINI_MODELS: readonly string[] = [
  'gemini-3.1-pro-preview',
  'gemini-3-pro-preview',
  'gemini-3-flash-preview',
  'gemini-2.5-pro',
  'gemini-2.5-flash',
  'gemini-2.5-flash-lite',
  'gemini-2.0-flash-001',
  'gemini-2.0-flash-lite-001',
];

/** Embedding models on Vertex AI (`:predict`). @see https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/get-text-embeddings */
export const VERTEX_EMBEDDING_MODELS: readonly string[] = ['gemini-embedding-001', 'text-embedding-005', 'text-multilingual-embedding-002'];

/** Claude model ids on Vertex AI (`@` version suffixes). @see https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude */
export const VERTEX_ANTHROPIC_MODELS: readonly string[] = [
  'claude-opus-4-5@20251101',
  'claude-sonnet-4-5@20250929',
  'claude-haiku-4-5@20251001',
  'claude-opus-4-1@20250805',
  'claude-opus-4@20250514',
  'claude-sonnet-4@20250514',
  'claude-3-7-sonnet@20250219',
  'claude-3-5-haiku@20241022',
];

function option(options: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function envValue(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** Where the credentials come from: the attempt's key, else options.credentials, else the env path. */
export function vertexCredentialsSource(context: Pick<EndpointContext, 'apiKey' | 'options'>, env: Env = process.env): string {
  const inlineOption = context.options.credentials;
  const source = context.apiKey
    ?? (typeof inlineOption === 'object' && inlineOption !== null ? JSON.stringify(inlineOption) : option(context.options, 'credentials'))
    ?? envValue(env, 'GOOGLE_APPLICATION_CREDENTIALS');
  if (source === undefined || source === '') {
    throw new GatewayError('HD_ERR_PROVIDER_NOT_CONFIGURED', 'Vertex AI needs Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file.');
  }
  return source;
}

export interface VertexSettings {
  project: string;
  location: string;
}

export function vertexSettings(context: Pick<EndpointContext, 'apiKey' | 'options'>, env: Env = process.env): VertexSettings {
  const location = option(context.options, 'location') ?? envValue(env, 'GOOGLE_CLOUD_LOCATION') ?? DEFAULT_LOCATION;
  if (!/^[a-z0-9-]+$/.test(location)) {
    throw new GatewayError('HD_ERR_PROVIDER_NOT_CONFIGURED', `Vertex AI location "${location}" is not a valid location name.`);
  }
  let project = option(context.options, 'project') ?? envValue(env, 'GOOGLE_CLOUD_PROJECT');
  if (project === undefined) {
    const credentials = loadGoogleCredentials(vertexCredentialsSource(context, env));
    project = credentials.type === 'service_account' ? credentials.project_id : credentials.quota_project_id;
  }
  if (project === undefined) {
    throw new GatewayError('HD_ERR_PROVIDER_NOT_CONFIGURED', 'Vertex AI needs a project: set GOOGLE_CLOUD_PROJECT or the provider option "project".');
  }
  // Project ids are [a-z0-9-]; domain-scoped ones add "." and ":" (example.com:my-project).
  if (!/^[A-Za-z0-9.:-]+$/.test(project)) {
    throw new GatewayError('HD_ERR_PROVIDER_NOT_CONFIGURED', `Vertex AI project "${project}" is not a valid project id.`);
  }
  return { project, location };
}

/** The host of the call: the configured base, or the regional (or global) Vertex host. */
export function vertexBaseUrl(baseUrl: string, location: string): string {
  const base = (baseUrl || VERTEX_DEFAULT_BASE_URL).replace(/\/+$/, '');
  return base.replace('{location}-', location === 'global' ? '' : `${location}-`).replace('{location}', location);
}

function modelSegment(model: string): string {
  return encodeURIComponent(model).replace(/%40/g, '@');
}

/** `.../v1/projects/{p}/locations/{l}/publishers/{publisher}/models/{model}` */
export function vertexModelUrl(context: EndpointContext, publisher: 'google' | 'anthropic', env: Env = process.env): string {
  const { project, location } = vertexSettings(context, env);
  return `${vertexBaseUrl(context.baseUrl, location)}/v1/projects/${encodeURIComponent(project).replace(/%3A/gi, ':')}`
    + `/locations/${location}/publishers/${publisher}/models/${modelSegment(context.model)}`;
}

const JSON_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json' };

/** Adds `Authorization: Bearer <token>` from the credentials of the attempt. */
export const vertexAuthorize: Authorizer = async ({ context }) => {
  const credentials = loadGoogleCredentials(vertexCredentialsSource(context));
  const token = await tokenSourceFor(credentials).getToken();
  return { authorization: `Bearer ${token}` };
};

export const vertexProvider: ProviderDefinition = {
  optionsEnv: { project: ['GOOGLE_CLOUD_PROJECT'], location: ['GOOGLE_CLOUD_LOCATION'] },
  id: 'vertex',
  name: 'Google Vertex AI (Gemini)',
  format: 'gemini',
  defaultBaseUrl: VERTEX_DEFAULT_BASE_URL,
  apiKeyEnv: ['GOOGLE_APPLICATION_CREDENTIALS'],
  baseUrlEnv: 'VERTEX_BASE_URL',
  keyRequired: true,
  operations: { chat: true, embeddings: true, images: true, speech: true, transcriptions: true, translations: true },
  models: VERTEX_GEMINI_MODELS,
  embeddingModels: VERTEX_EMBEDDING_MODELS,
  docs: 'https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference',
  countTokens(context: EndpointContext): CountTokensEndpoint {
    return { url: `${vertexModelUrl(context, 'google')}:countTokens`, headers: { ...JSON_HEADERS }, format: 'gemini' };
  },
  endpoint(operation: Operation, context: EndpointContext): Endpoint {
    if (operation === 'embeddings') return { url: `${vertexModelUrl(context, 'google')}:predict`, headers: { ...JSON_HEADERS } };
    if (operation === 'images') return { url: `${vertexModelUrl(context, 'google')}:${isImagenModel(context.model) ? 'predict' : 'generateContent'}`, headers: { ...JSON_HEADERS } };
    if (operation === 'speech' || operation === 'transcriptions' || operation === 'translations') return { url: `${vertexModelUrl(context, 'google')}:generateContent`, headers: { ...JSON_HEADERS } };
    if (operation !== 'chat') {
      throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Heimdall's Vertex AI provider does not offer the '${operation}' operation.`);
    }
    const url = vertexModelUrl(context, 'google');
    return context.stream
      ? { url: `${url}:streamGenerateContent?alt=sse`, headers: { ...JSON_HEADERS }, streamFraming: 'sse' }
      : { url: `${url}:generateContent`, headers: { ...JSON_HEADERS } };
  },
  authorize: vertexAuthorize,
};

const ANTHROPIC_BODY_PATCH: Readonly<Record<string, unknown>> = Object.freeze({
  anthropic_version: VERTEX_ANTHROPIC_VERSION,
  model: undefined,
});

export const vertexAnthropicProvider: ProviderDefinition = {
  optionsEnv: { project: ['GOOGLE_CLOUD_PROJECT'], location: ['GOOGLE_CLOUD_LOCATION'] },
  id: 'vertex-anthropic',
  name: 'Google Vertex AI (Claude)',
  format: 'anthropic',
  defaultBaseUrl: VERTEX_DEFAULT_BASE_URL,
  apiKeyEnv: ['GOOGLE_APPLICATION_CREDENTIALS'],
  baseUrlEnv: 'VERTEX_BASE_URL',
  keyRequired: true,
  operations: { chat: true },
  models: VERTEX_ANTHROPIC_MODELS,
  docs: 'https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/use-claude',
  // Vertex takes the API version in the body (`anthropic_version`), betas as the header.
  forwardHeaders: ['anthropic-beta'],
  // Claude's token count on Vertex is a model of its own, `count-tokens`; the body names the model.
  countTokens(context: EndpointContext): CountTokensEndpoint {
    return { url: `${vertexModelUrl({ ...context, model: 'count-tokens' }, 'anthropic')}:rawPredict`, headers: { ...JSON_HEADERS }, format: 'anthropic' };
  },
  endpoint(operation: Operation, context: EndpointContext): Endpoint {
    if (operation !== 'chat') {
      throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Claude on Vertex AI does not offer the '${operation}' operation.`);
    }
    const url = vertexModelUrl(context, 'anthropic');
    return context.stream
      ? { url: `${url}:streamRawPredict`, headers: { ...JSON_HEADERS }, streamFraming: 'sse', bodyPatch: ANTHROPIC_BODY_PATCH }
      : { url: `${url}:rawPredict`, headers: { ...JSON_HEADERS }, bodyPatch: ANTHROPIC_BODY_PATCH };
  },
  authorize: vertexAuthorize,
};
