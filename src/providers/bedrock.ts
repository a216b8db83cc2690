/**
 * Amazon Bedrock: Converse / ConverseStream for chat, InvokeModel for embeddings, rerank and images.
 *
 * Base URL: `https://bedrock-runtime.{region}.amazonaws.com`. BEDROCK_BASE_URL
 * (or a config base_url) replaces it; with neither, the AWS SDK's own
 * AWS_ENDPOINT_URL_BEDROCK_RUNTIME, then AWS_ENDPOINT_URL, are honoured.
 * Region: options.region, else AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1.
 *
 * Authentication, two ways; the key chosen for the attempt says which:
 * 1. Bedrock API key (AWS_BEARER_TOKEN_BEDROCK, as the AWS SDKs read it; it
 *    wins over SigV4 there too): sent as `Authorization: Bearer <key>`.
 * 2. IAM credentials, signed with SigV4 (service `bedrock`): the "key" is the
 *    access key id (AWS_ACCESS_KEY_ID); the secret comes from
 *    options.secret_access_key or AWS_SECRET_ACCESS_KEY; the session token from
 *    options.session_token, or AWS_SESSION_TOKEN when the key is the one in
 *    AWS_ACCESS_KEY_ID (a token belongs to one key).
 * A key that looks like an access key id (16-128 upper-case letters and digits,
 * `AKIA...`/`ASIA...`) is signed; anything else (`ABSK...`, `bedrock-api-key-...`)
 * is a bearer key. options.auth = "sigv4" | "bearer" overrides the guess.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-use.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html
 */
import type { SignatureV4 } from '@smithy/signature-v4';
import { GatewayError } from '../errors/gateway-error.js';
import type { Authorizer, Endpoint, EndpointContext, Operation, ProviderDefinition } from './types.js';

export const BEDROCK_DEFAULT_BASE_URL = 'https://bedrock-runtime.{region}.amazonaws.com';
const DEFAULT_REGION = 'us-east-1';
const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;

type Env = Readonly<Record<string, string | undefined>>;

function option(options: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function envValue(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

export function bedrockRegion(options: Readonly<Record<string, unknown>>, env: Env = process.env): string {
  const region = option(options, 'region') ?? envValue(env, 'AWS_REGION') ?? envValue(env, 'AWS_DEFAULT_REGION') ?? DEFAULT_REGION;
  if (!/^[a-z0-9-]+$/.test(region)) {
    throw new GatewayError('HD_ERR_PROVIDER_NOT_CONFIGURED', `Bedrock region "${region}" is not a valid AWS region name.`);
  }
  return region;
}

/** The base URL of the call: the configured one, or the regional default. */
export function bedrockBaseUrl(context: Pick<EndpointContext, 'baseUrl' | 'options'>, env: Env = process.env): string {
  if (context.baseUrl !== '' && !context.baseUrl.includes('{region}')) return context.baseUrl;
  const sdkEndpoint = envValue(env, 'AWS_ENDPOINT_URL_BEDROCK_RUNTIME') ?? envValue(env, 'AWS_ENDPOINT_URL');
  if (sdkEndpoint !== undefined) return sdkEndpoint.replace(/\/+$/, '');
  return (context.baseUrl || BEDROCK_DEFAULT_BASE_URL).replace('{region}', bedrockRegion(context.options, env));
}

export type BedrockAuthMode = 'sigv4' | 'bearer';

export function bedrockAuthMode(apiKey: string | undefined, options: Readonly<Record<string, unknown>>): BedrockAuthMode {
  const declared = options.auth;
  if (declared === 'sigv4' || declared === 'bearer') return declared;
  return apiKey !== undefined && ACCESS_KEY_ID.test(apiKey) ? 'sigv4' : 'bearer';
}

function bedrockEndpoint(operation: Operation, context: EndpointContext): Endpoint {
  const model = encodeURIComponent(context.model);
  const base = `${bedrockBaseUrl(context)}/model/${model}`;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (context.apiKey !== undefined && bedrockAuthMode(context.apiKey, context.options) === 'bearer') {
    headers.authorization = `Bearer ${context.apiKey}`;
  }
  switch (operation) {
    case 'chat':
      if (!context.stream) return { url: `${base}/converse`, headers };
      headers.accept = 'application/vnd.amazon.eventstream';
      return { url: `${base}/converse-stream`, headers, streamFraming: 'aws-eventstream' };
    case 'embeddings':
    case 'rerank':
    case 'images':
      return { url: `${base}/invoke`, headers };
    default:
      throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Bedrock does not offer the ${operation} operation through Heimdall.`);
  }
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export function bedrockCredentials(context: EndpointContext, env: Env = process.env): AwsCredentials {
  const accessKeyId = context.apiKey;
  if (accessKeyId === undefined) {
    throw new GatewayError('HD_ERR_PROVIDER_NOT_CONFIGURED', 'Bedrock: no AWS access key id (set AWS_ACCESS_KEY_ID or a provider key).');
  }
  const secretAccessKey = option(context.options, 'secret_access_key') ?? envValue(env, 'AWS_SECRET_ACCESS_KEY');
  if (secretAccessKey === undefined) {
    throw new GatewayError(
      'HD_ERR_PROVIDER_NOT_CONFIGURED',
      'Bedrock: the AWS secret access key is missing (set AWS_SECRET_ACCESS_KEY or providers.bedrock.options.secret_access_key).',
    );
  }
  const sessionToken = option(context.options, 'session_token')
    ?? (accessKeyId === envValue(env, 'AWS_ACCESS_KEY_ID') ? envValue(env, 'AWS_SESSION_TOKEN') : undefined);
  return sessionToken === undefined ? { accessKeyId, secretAccessKey } : { accessKeyId, secretAccessKey, sessionToken };
}

/** Signers keep a cache of derived signing keys, so one per credentials and region is reused. */
const signers = new Map<string, SignatureV4>();
const MAX_SIGNERS = 64;

/** The AWS signer, loaded at the first Bedrock call: a gateway without Bedrock never loads it. */
let loadingSigner: Promise<[typeof import('@smithy/signature-v4'), typeof import('@smithy/hash-node')]> | undefined;
function signerModules(): Promise<[typeof import('@smithy/signature-v4'), typeof import('@smithy/hash-node')]> {
  loadingSigner ??= Promise.all([import('@smithy/signature-v4'), import('@smithy/hash-node')]).catch((error: unknown) => {
    loadingSigner = undefined;
    throw error;
  });
  return loadingSigner;
}

async function signerFor(credentials: AwsCredentials, region: string): Promise<SignatureV4> {
  const cacheKey = `${region}\n${credentials.accessKeyId}\n${credentials.secretAccessKey}\n${credentials.sessionToken ?? ''}`;
  let signer = signers.get(cacheKey);
  if (signer === undefined) {
    const [{ SignatureV4 }, { Hash }] = await signerModules();
    if (signers.size >= MAX_SIGNERS) signers.clear();
    signer = new SignatureV4({ service: 'bedrock', region, credentials, sha256: Hash.bind(null, 'sha256') });
    signers.set(cacheKey, signer);
  }
  return signer;
}

/**
 * SigV4-signs one call and returns its headers with `authorization`,
 * `x-amz-date`, `x-amz-content-sha256` and (with a session token)
 * `x-amz-security-token` added. `signingDate` is for tests.
 */
export async function signBedrockRequest(
  call: { method: string; url: string; headers: Record<string, string>; body: string | Uint8Array },
  credentials: AwsCredentials,
  region: string,
  signingDate?: Date,
): Promise<Record<string, string>> {
  const url = new URL(call.url);
  const query: Record<string, string> = {};
  url.searchParams.forEach((value, name) => { query[name] = value; });
  const signed = await (await signerFor(credentials, region)).sign(
    {
      method: call.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: url.pathname,
      query,
      headers: { ...call.headers, host: url.host },
      body: call.body,
    },
    signingDate === undefined ? undefined : { signingDate },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) {
    if (name.toLowerCase() !== 'host') headers[name] = String(value); // the HTTP client sets Host from the URL
  }
  return headers;
}

const authorizeBedrock: Authorizer = async ({ method, url, headers, body, context }) => {
  if (bedrockAuthMode(context.apiKey, context.options) === 'bearer') return {};
  return signBedrockRequest({ method, url, headers, body }, bedrockCredentials(context), bedrockRegion(context.options));
};

export const bedrockProvider: ProviderDefinition = {
  optionsEnv: { region: ['AWS_REGION', 'AWS_DEFAULT_REGION'], secret_access_key: ['AWS_SECRET_ACCESS_KEY'] },
  id: 'bedrock',
  name: 'Amazon Bedrock',
  format: 'bedrock',
  defaultBaseUrl: BEDROCK_DEFAULT_BASE_URL,
  apiKeyEnv: ['AWS_BEARER_TOKEN_BEDROCK', 'AWS_ACCESS_KEY_ID'],
  baseUrlEnv: 'BEDROCK_BASE_URL',
  keyRequired: true,
  operations: { chat: true, embeddings: true, rerank: true, images: true },
  // Base model ids. Newer models (Claude 4.x, Llama 4, DeepSeek) are served on demand
  // only through a cross-region inference profile: prefix the id with us., eu., apac.
  // or global. (`bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0`).
  // @see https://docs.aws.amazon.com/bedrock/latest/userguide/models-supported.html
  models: [
    'anthropic.claude-sonnet-4-5-20250929-v1:0',
    'anthropic.claude-haiku-4-5-20251001-v1:0',
    'anthropic.claude-opus-4-1-20250805-v1:0',
    'anthropic.claude-sonnet-4-20250514-v1:0',
    'anthropic.claude-3-7-sonnet-20250219-v1:0',
    'anthropic.claude-3-5-haiku-20241022-v1:0',
    'amazon.nova-premier-v1:0',
    'amazon.nova-pro-v1:0',
    'amazon.nova-lite-v1:0',
    'amazon.nova-micro-v1:0',
    'meta.llama4-maverick-17b-instruct-v1:0',
    'meta.llama3-3-70b-instruct-v1:0',
    'mistral.mistral-large-2407-v1:0',
    'mistral.pixtral-large-2502-v1:0',
    'cohere.command-r-plus-v1:0',
    'deepseek.r1-v1:0',
  ],
  embeddingModels: [
    'amazon.titan-embed-text-v2:0',
    'amazon.titan-embed-text-v1',
    'cohere.embed-english-v3',
    'cohere.embed-multilingual-v3',
  ],
  endpoint: bedrockEndpoint,
  authorize: authorizeBedrock,
  docs: 'https://docs.aws.amazon.com/bedrock/latest/APIReference/API_Operations_Amazon_Bedrock_Runtime.html',
};
