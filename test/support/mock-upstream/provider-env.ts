/**
 * Every native provider of a gateway pointed at one mock upstream, with real
 * credentials checked for real: a freshly generated service-account key whose
 * JWT the mock's token endpoint verifies (Vertex), and AWS keys whose SigV4
 * signature the mock recomputes (Bedrock).
 *
 *   const { mock, env, config } = await startMockProviders();
 *   const gateway = await startGateway({ env, config });
 *   ... 'anthropic/claude-sonnet-4-5', 'bedrock/anthropic.claude-...', 'vertex/gemini-2.5-flash' ...
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { startMockUpstream, type MockUpstream, type MockUpstreamOptions } from './index.js';

/** AWS credentials the gateway signs with and the mock checks (AWS's documented example pair). */
export const MOCK_AWS_CREDENTIALS: Readonly<{ accessKeyId: string; secretAccessKey: string }> = Object.freeze({
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
});

export const MOCK_SERVICE_ACCOUNT_EMAIL = 'heimdall-test@mock-project.iam.gserviceaccount.com';
export const MOCK_VERTEX_PROJECT = 'mock-project';
export const MOCK_VERTEX_LOCATION = 'us-east5';

/** The Azure deployments the mock knows: deployment -> model. */
export const MOCK_AZURE_DEPLOYMENTS: Readonly<Record<string, string>> = Object.freeze({ 'chat-prod': 'gpt-4o-mini', 'embed-prod': 'text-embedding-3-small' });
export const MOCK_AZURE_API_VERSION = '2024-10-21';

/** One model per native provider, as a client names it. */
export const NATIVE_MODELS = Object.freeze({
  openai: 'openai/gpt-4o-mini',
  anthropic: 'anthropic/claude-sonnet-4-5',
  gemini: 'gemini/gemini-2.5-flash',
  vertex: 'vertex/gemini-2.5-flash',
  'vertex-anthropic': 'vertex-anthropic/claude-sonnet-4-5@20250929',
  bedrock: 'bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0',
  azure: 'azure/gpt-4o-mini',
  cohere: 'cohere/command-a-03-2025',
});

export type NativeProvider = keyof typeof NATIVE_MODELS;

let keyPair: { publicKey: KeyObject; privatePem: string } | undefined;

/** An RSA key for the test service account, generated once per process (it takes ~100 ms). */
function serviceAccountKey(): { publicKey: KeyObject; privatePem: string } {
  if (keyPair === undefined) {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    keyPair = { publicKey: pair.publicKey, privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  }
  return keyPair;
}

/** A service-account key file whose token_uri is the mock's token endpoint. */
export function mockServiceAccount(mock: MockUpstream): Record<string, string> {
  return {
    type: 'service_account',
    project_id: MOCK_VERTEX_PROJECT,
    private_key_id: 'mock-key-1',
    private_key: serviceAccountKey().privatePem,
    client_email: MOCK_SERVICE_ACCOUNT_EMAIL,
    token_uri: `${mock.url}/token`,
  };
}

/** The official SDK environment variables of every native provider, pointed at the mock. */
export function mockProviderEnv(mock: MockUpstream): Record<string, string> {
  return {
    OPENAI_API_KEY: 'sk-mock-openai',
    OPENAI_BASE_URL: mock.openaiBaseUrl,
    ANTHROPIC_API_KEY: 'sk-ant-mock',
    ANTHROPIC_BASE_URL: mock.url,
    GEMINI_API_KEY: 'gemini-mock-key',
    GEMINI_BASE_URL: mock.url,
    GOOGLE_APPLICATION_CREDENTIALS: JSON.stringify(mockServiceAccount(mock)),
    GOOGLE_CLOUD_LOCATION: MOCK_VERTEX_LOCATION,
    VERTEX_BASE_URL: mock.url,
    AWS_ACCESS_KEY_ID: MOCK_AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOCK_AWS_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'eu-west-1',
    BEDROCK_BASE_URL: mock.url,
    AZURE_OPENAI_API_KEY: 'azure-mock-key',
    AZURE_OPENAI_ENDPOINT: mock.url,
    CO_API_KEY: 'cohere-mock-key',
    CO_API_URL: mock.url,
  };
}

/** The config entries env variables cannot express: Azure's deployments and api_version. */
export function mockProviderConfig(): Record<string, unknown> {
  return {
    providers: {
      azure: {
        models: ['gpt-4o-mini'],
        embedding_models: ['text-embedding-3-small'],
        options: {
          api_version: MOCK_AZURE_API_VERSION,
          deployments: { 'gpt-4o-mini': 'chat-prod', 'text-embedding-3-small': 'embed-prod' },
        },
      },
    },
  };
}

export interface MockProviders {
  mock: MockUpstream;
  env: Record<string, string>;
  config: Record<string, unknown>;
}

/** A mock that checks SigV4 signatures, JWT assertions and Azure deployments, and the gateway settings for it. */
export async function startMockProviders(options: MockUpstreamOptions = {}): Promise<MockProviders> {
  const mock = await startMockUpstream({
    bedrock: { credentials: { ...MOCK_AWS_CREDENTIALS } },
    azure: { deployments: MOCK_AZURE_DEPLOYMENTS },
    vertex: { serviceAccounts: { [MOCK_SERVICE_ACCOUNT_EMAIL]: serviceAccountKey().publicKey } },
    ...options,
  });
  return { mock, env: mockProviderEnv(mock), config: mockProviderConfig() };
}
