import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { configJsonSchema } from '../../src/config/schema.js';

const example = JSON.parse(readFileSync(new URL('../../config.example.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const exampleEnv = { OPENAI_API_KEY: 'sk-a', OPENAI_API_KEY_2: 'sk-b', GROQ_API_KEY: 'gsk-c', AZURE_OPENAI_API_KEY: 'az-d', OTLP_API_KEY: 'otlp-e', HEIMDALL_ADMIN_TOKEN: 'admin-f', HEIMDALL_VK_BACKEND: 'hk-example-backend-secret-0001', HEIMDALL_ALICE_PASSWORD: 'alice-example-password', HEIMDALL_OIDC_SECRET: 'oidc-f', HEIMDALL_GITHUB_SECRET: 'gh-g', GITHUB_MCP_AUTHORIZATION: 'Bearer ghp-example', DOCS_MCP_CLIENT_SECRET: 'docs-secret' };

/** Every property path the schema defines (record keys are open and skipped). */
function schemaPaths(schema: Record<string, unknown>, prefix = ''): string[] {
  const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
  if (properties === undefined) return [];
  return Object.entries(properties).flatMap(([key, value]) => [`${prefix}${key}`, ...schemaPaths(value, `${prefix}${key}.`)]);
}

function examplePaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((item) => examplePaths(item, prefix));
  return Object.entries(value).flatMap(([key, child]) => [`${prefix}${key}`, ...examplePaths(child, `${prefix}${key}.`)]);
}

describe('config file', () => {
  it('config.example.json is valid and loads', () => {
    const config = loadConfig({ config: example, env: exampleEnv });
    const openai = config.providers.find((p) => p.name === 'openai')!;
    expect(openai.enabled).toBe(true);
    expect(openai.keys.map((k) => [k.name, k.secret, k.weight])).toEqual([['primary', 'sk-a', 3], ['batch', 'sk-b', 1]]);
    expect(openai.timeouts.firstByteMs).toBe(120000);
    expect(openai.timeouts.connectMs).toBe(10000);
    expect(config.routing.aliases.fast).toBe('groq/llama-3.1-8b-instant');
    expect(config.providers.find((p) => p.name === 'local-vllm')!.enabled).toBe(false);
  });

  it('config.example.json shows every option of the schema', () => {
    const top = configJsonSchema();
    const present = new Set(examplePaths(example).map((p) => p.replace(/^providers\.[^.]+/, 'providers.*')));
    const provider = ((top.properties as Record<string, Record<string, unknown>>).providers.additionalProperties) as Record<string, unknown>;
    const wanted = [
      ...schemaPaths(top).filter((p) => !p.startsWith('providers.')),
      ...schemaPaths(provider, 'providers.*.'),
    ];
    // Per-provider timeouts take the same keys as the global ones, shown there.
    const missing = wanted.filter((p) => !present.has(p) && !p.startsWith('providers.*.timeouts.'));
    expect(missing).toEqual([]);
  });

  it('schema/config.schema.json is up to date with the zod schema', () => {
    const shipped = JSON.parse(readFileSync(new URL('../../schema/config.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    expect(shipped).toEqual({ ...configJsonSchema(), title: 'Heimdall configuration' });
  });

  it('rejects an unknown key with its path', () => {
    expect(() => loadConfig({ config: { server: { prot: 1 } }, env: {} })).toThrow(/server\.prot: unknown key/);
    expect(() => loadConfig({ config: { providers: { openai: { api_key: 'x', weigth: 2 } } }, env: {} })).toThrow(/providers\.openai\.weigth: unknown key/);
  });

  it('rejects a wrong type with its path', () => {
    expect(() => loadConfig({ config: { server: { port: 'eighty' } }, env: {} })).toThrow(/server\.port/);
    expect(() => loadConfig({ config: { providers: { openai: { keys: [{ api_key: 'x', weight: -1 }] } } }, env: {} })).toThrow(/providers\.openai\.keys\[0\]\.weight/);
  });

  it('resolves env.NAME secrets and names the field when the variable is missing', () => {
    const config = loadConfig({ config: { providers: { openai: { api_key: 'env.MY_KEY' } } }, env: { MY_KEY: 'sk-from-env' } });
    expect(config.providers.find((p) => p.name === 'openai')!.keys[0].secret).toBe('sk-from-env');
    expect(() => loadConfig({ config: { providers: { openai: { api_key: 'env.MY_KEY' } } }, env: {} })).toThrow(
      /providers\.openai\.api_key: environment variable MY_KEY is not set/,
    );
  });

  it('an unknown provider type is an error listing the known ones', () => {
    expect(() => loadConfig({ config: { providers: { mine: { base_url: 'http://127.0.0.1:1' } } }, env: {} })).toThrow(/providers\.mine: unknown provider type "mine".*openai-compatible/);
  });

  it('zero config: providers enabled from their SDK variables, base URLs with SDK meaning', () => {
    const config = loadConfig({
      env: { OPENAI_API_KEY: 'sk-1', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1/', GROQ_API_KEY: 'g', GROQ_BASE_URL: 'http://127.0.0.1:7', OLLAMA_HOST: '127.0.0.1:11434' },
    });
    const byName = new Map(config.providers.map((p) => [p.name, p]));
    expect(byName.get('openai')!.baseUrl).toBe('http://127.0.0.1:9/v1');
    expect(byName.get('groq')!.baseUrl).toBe('http://127.0.0.1:7/openai/v1');
    expect(byName.get('ollama')!.baseUrl).toBe('http://127.0.0.1:11434/v1');
    expect(byName.get('ollama')!.enabled).toBe(true);
    expect(byName.has('mistral')).toBe(false);
  });

  it('precedence: flags over env over file over defaults', () => {
    const file = { server: { port: 1111, host: '127.0.0.2', log_level: 'warn' } };
    expect(loadConfig({ config: file, env: {} }).server.port).toBe(1111);
    expect(loadConfig({ config: file, env: { PORT: '2222' } }).server.port).toBe(2222);
    expect(loadConfig({ config: file, env: { PORT: '2222' }, overrides: { port: 3333 } }).server.port).toBe(3333);
    expect(loadConfig({ config: file, env: { LOG_LEVEL: 'debug' } }).server.logLevel).toBe('debug');
    expect(loadConfig({ env: {} }).server.port).toBe(8080);
    expect(() => loadConfig({ env: { PORT: 'x' } })).toThrow(ConfigError);
  });

  it('a provider named in the file without a key stays off with the reason', () => {
    const config = loadConfig({ config: { providers: { mistral: { models: ['m'] } } }, env: {} });
    const mistral = config.providers.find((p) => p.name === 'mistral')!;
    expect(mistral.enabled).toBe(false);
    expect(mistral.disabledReason).toMatch(/MISTRAL_API_KEY/);
    expect(config.warnings.join('\n')).toMatch(/mistral is not enabled/);
  });
});
