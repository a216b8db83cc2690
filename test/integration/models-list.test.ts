/**
 * GET /v1/models with the official SDK environment variable of every provider
 * set: at least 15 providers reachable with chat, each listing its models as
 * `provider/model`; the openai SDK reads the list. Every OpenAI-compatible
 * provider is then called (plain and streamed) against the mock upstream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerDefinitions } from '../../src/providers/registry.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { get, sdk } from './helpers.js';

/** One key per provider, by the first variable its definition names (the official SDK's). */
const ENV: Record<string, string> = {
  OPENAI_API_KEY: 'k', GROQ_API_KEY: 'k', MISTRAL_API_KEY: 'k', DEEPSEEK_API_KEY: 'k', XAI_API_KEY: 'k',
  OPENROUTER_API_KEY: 'k', TOGETHER_API_KEY: 'k', FIREWORKS_API_KEY: 'k', PERPLEXITY_API_KEY: 'k', CEREBRAS_API_KEY: 'k',
  DEEPINFRA_API_KEY: 'k', SAMBANOVA_API_KEY: 'k', NVIDIA_API_KEY: 'k', HF_TOKEN: 'k',
  AZURE_OPENAI_API_KEY: 'k', AZURE_OPENAI_ENDPOINT: 'https://example-resource.openai.azure.com',
  ANTHROPIC_API_KEY: 'k', GEMINI_API_KEY: 'k',
  GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent/sa.json', GOOGLE_CLOUD_PROJECT: 'p',
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 's', AWS_REGION: 'us-east-1',
  CO_API_KEY: 'k',
};

/** Providers that list well-known chat models out of the box. */
const LISTING = [
  'openai', 'groq', 'mistral', 'deepseek', 'xai', 'openrouter', 'together', 'fireworks', 'perplexity', 'cerebras',
  'deepinfra', 'sambanova', 'nvidia', 'huggingface', 'anthropic', 'gemini', 'vertex', 'vertex-anthropic', 'bedrock', 'cohere',
];

/** The OpenAI-compatible providers among them: their calls go to the mock. */
const COMPATIBLE = providerDefinitions().filter((d) => d.format === 'openai' && LISTING.includes(d.id));

let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  const providers: Record<string, unknown> = {
    // Azure lists the models of its deployment map (no `models` list needed).
    azure: { options: { deployments: { 'gpt-4o': 'prod-4o', 'text-embedding-3-large': 'embed-prod' } } },
  };
  // A provider whose SDK takes the host root (Groq, Mistral, Cerebras) is given the host root, and the
  // gateway appends that SDK's API path (docs/configuration.md).
  for (const definition of COMPATIBLE) providers[definition.id] = { base_url: definition.baseUrlEnvPath === undefined ? mock.openaiBaseUrl : mock.url };
  gateway = await startGateway({ env: ENV, config: { providers } });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});

describe('GET /v1/models with every provider key set', () => {
  it('lists the chat models of at least 15 providers, as provider/model', async () => {
    const reply = await get(`${gateway.url}/v1/models`);
    expect(reply.status).toBe(200);
    const list = reply.json as { object: string; data: Array<{ id: string; object: string; owned_by: string }> };
    expect(list.object).toBe('list');
    const chatProviders = new Set(providerDefinitions().filter((d) => d.operations.chat === true).map((d) => d.id));
    const owners = new Set(list.data.filter((m) => chatProviders.has(m.owned_by)).map((m) => m.owned_by));
    expect(owners.size).toBeGreaterThanOrEqual(15);
    expect([...owners].sort()).toEqual([...LISTING, 'azure'].sort());
    for (const model of list.data) {
      expect(model.object).toBe('model');
      expect(model.id.startsWith(`${model.owned_by}/`)).toBe(true);
    }
    expect(list.data.map((m) => m.id)).toEqual(expect.arrayContaining([
      'openai/gpt-4o-mini', 'anthropic/claude-sonnet-4-5', 'gemini/gemini-2.5-flash', 'vertex-anthropic/claude-sonnet-4-5@20250929',
      'bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0', 'cohere/command-a-03-2025', 'azure/gpt-4o', 'groq/llama-3.3-70b-versatile',
      'gemini/gemini-embedding-001', 'bedrock/amazon.titan-embed-text-v2:0', 'cohere/embed-v4.0', 'azure/text-embedding-3-large',
    ]));
  });

  it('the openai SDK pages through the list and retrieves one model', async () => {
    const client = sdk(gateway.url);
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids.length).toBeGreaterThan(60);
    expect(await client.models.retrieve('mistral/mistral-large-latest')).toMatchObject({ id: 'mistral/mistral-large-latest', owned_by: 'mistral' });
  });

  it('every chat provider definition with a key variable is reachable from the environment alone', () => {
    // Jina and Voyage (embeddings and rerank only) list no chat models.
    const keyed = providerDefinitions().filter((d) => d.apiKeyEnv.length > 0 && d.operations.chat === true).map((d) => d.id);
    expect(keyed.filter((id) => !LISTING.includes(id) && id !== 'azure')).toEqual([]);
  });
});

describe('every OpenAI-compatible provider answers chat, plain and streamed', () => {
  it.each(COMPATIBLE.map((d) => [d.id, d.models[0]] as const))('%s (%s)', async (id, model) => {
    const client = sdk(gateway.url);
    mock.reset();
    const completion = await client.chat.completions.create({ model: `${id}/${model}`, messages: [{ role: 'user', content: 'hi there' }] });
    expect(completion.choices[0].message.content).toBe('echo: hi there');
    const streamed = await client.chat.completions.stream({ model: `${id}/${model}`, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'a b' }] }).finalChatCompletion();
    expect(streamed.choices[0].message.content).toBe('echo: a b');
    expect(streamed.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3 });
    const path = `${COMPATIBLE.find((d) => d.id === id)?.baseUrlEnvPath ?? '/v1'}/chat/completions`;
    expect(mock.requests.map((r) => [r.path, r.headers.authorization, (r.body as { model: string }).model])).toEqual([
      [path, 'Bearer k', model],
      [path, 'Bearer k', model],
    ]);
  });
});
