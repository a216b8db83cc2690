/**
 * `<PROVIDER>_BASE_URL` and `base_url` (config file, dashboard) mean the same
 * thing for every OpenAI-compatible provider; OPENAI_BASE_URL alone enables a
 * keyless local server; bad HEIMDALL_WORKERS, LOG_FORMAT and *_BASE_URL values
 * stop start-up with the variable's name and the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { GatewayState } from '../../src/gateway/provider-runtime.js';
import { openAICompatibleProviders } from '../../src/providers/openai-compatible.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';

/** The OpenAI-compatible providers a user may point elsewhere with an environment variable. */
const compatible = openAICompatibleProviders.filter((d) => d.baseUrlEnv !== undefined && d.apiKeyEnv.length > 0);

/** The chat URL the gateway would call for provider `name`. */
function chatUrl(config: ReturnType<typeof loadConfig>, name: string): string {
  const provider = new GatewayState(config).providers.get(name);
  if (provider === undefined) throw new Error(`provider ${name} is not enabled`);
  return provider.endpoint('chat', provider.keys[0], 'm', false).url;
}

describe('base_url means the same from the environment and from the config', () => {
  it('covers the OpenAI-compatible providers (Groq, Mistral and Cerebras among them)', () => {
    expect(compatible.map((d) => d.id)).toEqual(expect.arrayContaining(['openai', 'groq', 'mistral', 'cerebras', 'deepseek', 'xai', 'together']));
  });

  for (const definition of compatible) {
    it(`${definition.id}: ${definition.baseUrlEnv} and providers.${definition.id}.base_url give the same upstream URL`, () => {
      for (const value of ['http://127.0.0.1:8999', 'http://127.0.0.1:8999/', definition.defaultBaseUrl]) {
        const env = { [definition.apiKeyEnv[0]]: 'sk-test', [definition.baseUrlEnv!]: value };
        const fromEnv = chatUrl(loadConfig({ env, config: {} }), definition.id);
        const fromFile = chatUrl(loadConfig({ env: {}, config: { providers: { [definition.id]: { api_key: 'sk-test', base_url: value } } } }), definition.id);
        expect(fromFile).toBe(fromEnv);
      }
      // The default URL is the default whichever way it is written.
      const byDefault = chatUrl(loadConfig({ env: { [definition.apiKeyEnv[0]]: 'sk-test' }, config: {} }), definition.id);
      expect(chatUrl(loadConfig({ env: {}, config: { providers: { [definition.id]: { api_key: 'sk-test', base_url: definition.defaultBaseUrl } } } }), definition.id)).toBe(byDefault);
    });
  }

  it('the host root, as the official SDKs take it, gets the API path; a URL that has it is kept', () => {
    const root = 'http://127.0.0.1:8999';
    const url = (id: string, base: string) => chatUrl(loadConfig({ env: {}, config: { providers: { [id]: { api_key: 'k', base_url: base } } } }), id);
    expect(url('groq', root)).toBe(`${root}/openai/v1/chat/completions`);
    expect(url('groq', `${root}/openai/v1`)).toBe(`${root}/openai/v1/chat/completions`);
    // A URL with a path is the API base as it is (a proxy, a local server).
    expect(url('groq', `${root}/v1`)).toBe(`${root}/v1/chat/completions`);
    expect(url('mistral', root)).toBe(`${root}/v1/chat/completions`);
    expect(url('cerebras', `${root}/v1/`)).toBe(`${root}/v1/chat/completions`);
    // OPENAI_BASE_URL already ends in /v1 in the OpenAI SDK: taken as it is.
    expect(url('openai', `${root}/v1`)).toBe(`${root}/v1/chat/completions`);
  });
});

describe('OPENAI_BASE_URL without OPENAI_API_KEY: a keyless local server', () => {
  let mock: MockUpstream;
  let gateway: TestGateway;
  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGateway({ env: { OPENAI_BASE_URL: mock.openaiBaseUrl } });
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });

  it('is enabled with zero config and called without an Authorization header', async () => {
    const config = loadConfig({ env: { OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1' }, config: {} });
    const openai = config.providers.find((p) => p.name === 'openai')!;
    expect(openai).toMatchObject({ enabled: true, keyless: true, baseUrl: 'http://127.0.0.1:8000/v1' });
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/local-model', messages: [{ role: 'user', content: 'one two' }] }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0].message.content).toBe('echo: one two');
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0].headers.authorization).toBeUndefined();
  });

  it('without OPENAI_BASE_URL and without a key, OpenAI stays off', () => {
    expect(loadConfig({ env: {}, config: {} }).providers.find((p) => p.name === 'openai')).toBeUndefined();
  });
});

describe('bad process environment values stop start-up, naming the variable', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ HEIMDALL_WORKERS: 'four' }, /HEIMDALL_WORKERS.*"four".*integer from 1 to 256/],
    [{ HEIMDALL_WORKERS: '0' }, /HEIMDALL_WORKERS.*"0"/],
    [{ HEIMDALL_WORKERS: '2.5' }, /HEIMDALL_WORKERS/],
    [{ LOG_FORMAT: 'yaml' }, /LOG_FORMAT.*"yaml".*one of auto, json, pretty/],
    [{ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'ftp://127.0.0.1/v1' }, /OPENAI_BASE_URL.*must be an http:\/\/ or https:\/\/ URL/],
    [{ GROQ_API_KEY: 'k', GROQ_BASE_URL: 'http://exa mple' }, /GROQ_BASE_URL.*not a valid URL/],
    [{ MISTRAL_API_KEY: 'k', MISTRAL_BASE_URL: 'http://127.0.0.1:1?x=1' }, /MISTRAL_BASE_URL.*query/],
  ];
  for (const [env, message] of cases) {
    it(`${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`, () => {
      expect(() => loadConfig({ env, config: {} })).toThrow(message);
    });
  }

  it('a bad base_url in the config file names its field', () => {
    expect(() => loadConfig({ env: {}, config: { providers: { groq: { api_key: 'k', base_url: 'gopher://x' } } } })).toThrow(/providers\.groq\.base_url/);
  });

  it('good values pass: HEIMDALL_WORKERS=4, LOG_FORMAT=JSON, OLLAMA_HOST=host:port', () => {
    const config = loadConfig({ env: { HEIMDALL_WORKERS: '4', LOG_FORMAT: 'JSON', OLLAMA_HOST: '127.0.0.1:11434' }, config: {} });
    expect(config.providers.find((p) => p.name === 'ollama')?.baseUrl).toBe('http://127.0.0.1:11434/v1');
  });
});
