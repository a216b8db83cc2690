/**
 * The example plugins (examples/plugins/), loaded from a config file as a
 * user would: the header router, the PII redactor (prompts and answers,
 * streamed and not) and the response mock; a config-file change applies
 * without a restart, a plugin that does not load leaves the running set.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import Anthropic from '@anthropic-ai/sdk';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { request } from 'undici';
import { post, sdk, sseEvents } from '../integration/helpers.js';

const EXAMPLES = resolve(import.meta.dirname, '../../examples/plugins');
let mock: MockUpstream;
let app: FastifyInstance;
let url: string;
let dir: string;
let configPath: string;
let baseConfig: Record<string, unknown>;
let logText = '';

function configWith(plugins: unknown[]): string {
  return JSON.stringify({ ...baseConfig, plugins }, null, 2);
}

const ROUTER = { path: './plugins/header-router.mjs', options: { header: 'x-route', routes: { cheap: 'anthropic/claude-sonnet-4-5' } } };
const REDACTOR = { path: './plugins/pii-redactor.mjs', options: { holdback: 8 } };
const MOCK = { path: './plugins/response-mock.mjs', options: { reply: 'mocked: {last_user_message}', only_with_header: 'x-mock' } };

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  baseConfig = providers.config;
  dir = mkdtempSync(join(tmpdir(), 'heimdall-plugins-'));
  // The config file names its plugins relative to its own folder.
  const { cpSync } = await import('node:fs');
  cpSync(EXAMPLES, join(dir, 'plugins'), { recursive: true });
  configPath = join(dir, 'heimdall.json');
  writeFileSync(configPath, configWith([ROUTER, REDACTOR, MOCK]));
  const config = loadConfig({ configPath, env: providers.env, overrides: { port: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), logLevel: 'info' } });
  const destination = new Writable({ write(chunk, _encoding, callback) { logText += chunk.toString(); callback(); } });
  app = await buildApp(config, { logger: createLogger({ level: 'info', destination }), processMetrics: false, management: { watchConfig: false } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});
afterAll(async () => {
  await app?.close();
  await mock?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => mock.reset());

const ask = (content: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) =>
  post(`${url}/v1/chat/completions`, { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content }], ...extra }, headers);

describe('examples from the config file', () => {
  it('loads them after the built-ins, in order', () => {
    const names = app.gateway.lifecycle.names();
    expect(names.indexOf('header-router')).toBeLessThan(names.indexOf('governance'));
    expect(names.slice(-2)).toEqual(['pii-redactor', 'response-mock']);
  });

  it('header router: the header sends the request to another model; an unknown route is a 400', async () => {
    const routed = await ask('hello', { 'x-route': 'cheap' });
    expect(routed.status).toBe(200);
    expect(routed.headers['x-heimdall-provider']).toBe('anthropic');
    expect(mock.requests[0].path).toBe('/v1/messages');
    expect((await ask('hello')).headers['x-heimdall-provider']).toBe('openai');
    const refused = await ask('hello', { 'x-route': 'nowhere' });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: { code: 'plugin_refused', message: expect.stringContaining('"nowhere"') } });
  });

  it('PII redactor: prompts never carry the email, phone or card number; answers neither, streamed or not', async () => {
    const pii = 'mail jane.doe@example.com or call +1 415-555-0134, card 4111 1111 1111 1111, order 1234567890123';
    const reply = await ask(pii);
    const sent = JSON.stringify(mock.requests[0].body);
    expect(sent).not.toMatch(/jane\.doe|415-555|4111/);
    expect(sent).toContain('[EMAIL]');
    expect(sent).toContain('[CARD]');
    expect(sent).toContain('[PHONE]');
    expect(sent).toContain('1234567890123'); // not a card (Luhn), not a phone shape: kept
    expect((reply.json as { choices: Array<{ message: { content: string } }> }).choices[0].message.content).toContain('[EMAIL]');
    // The mock echoes the prompt: with prompts left alone, only the answer side redacts.
    const anthropic = new Anthropic({ baseURL: `${url}/anthropic`, apiKey: 'x', maxRetries: 0 });
    const streamed = await anthropic.messages.stream({ model: 'openai/gpt-4o-mini', max_tokens: 200, messages: [{ role: 'user', content: pii }] }).finalMessage();
    expect(JSON.stringify(streamed.content)).not.toMatch(/jane\.doe|415-555|4111/);
  });

  it('PII redactor on a stream split across chunks: the answer is redacted whole', async () => {
    app.configService.reloadFileText(configWith([{ ...REDACTOR, options: { prompts: false, holdback: 32 } }]));
    await app.plugins.settled();
    try {
      const reply = await ask('write to jane.doe@example.com now please', {}, { stream: true });
      const text = sseEvents(reply.text).filter((event) => event.data !== '[DONE]').map((event) => (JSON.parse(event.data) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '').join('');
      expect(JSON.stringify(mock.requests[0].body)).toContain('jane.doe@example.com');
      expect(text).toBe('echo: write to [EMAIL] now please');
    } finally {
      app.configService.reloadFileText(configWith([ROUTER, REDACTOR, MOCK]));
      await app.plugins.settled();
    }
  });

  it('response mock: answers with the header, no provider call; OpenAI SDK stream and embeddings', async () => {
    const client = sdk(url);
    const completion = await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] }, { headers: { 'x-mock': '1' } });
    expect(completion.choices[0].message.content).toBe('mocked: ping');
    let text = '';
    for await (const chunk of await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'a b' }], stream: true }, { headers: { 'x-mock': '1' } })) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('mocked: a b');
    const embeddings = await client.embeddings.create({ model: 'openai/text-embedding-3-small', input: ['x', 'y'], encoding_format: 'float' }, { headers: { 'x-mock': '1' } });
    expect(embeddings.data).toHaveLength(2);
    expect(embeddings.data[0].embedding).toHaveLength(8);
    expect(mock.requests).toHaveLength(0);
  });

  it('a config-file change applies without a restart; a plugin that does not load leaves the running set', async () => {
    writeFileSync(join(dir, 'plugins', 'broken.mjs'), 'export default 42;\n');
    expect(app.configService.reloadFileText(configWith([{ path: './plugins/broken.mjs' }]))).toBe(true);
    await app.plugins.settled();
    expect(app.gateway.lifecycle.names()).toContain('response-mock');
    expect(logText).toMatch(/default export must be a function.*plugins change rejected/);
    app.configService.reloadFileText(configWith([]));
    await app.plugins.settled();
    expect(app.gateway.lifecycle.names()).not.toContain('response-mock');
    expect((await ask('ping', { 'x-mock': '1' })).json).toMatchObject({ choices: [{ message: { content: 'echo: ping' } }] });
    app.configService.reloadFileText(configWith([ROUTER, REDACTOR, MOCK]));
    await app.plugins.settled();
    expect((await ask('ping', { 'x-mock': '1' })).json).toMatchObject({ choices: [{ message: { content: 'mocked: ping' } }] });
  });

  it('the management API: lists every plugin in order, refuses one that does not load, saves and applies, reverts', async () => {
    const put = (plugins: unknown) => request(`${url}/api/plugins`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ plugins }) });
    const listed = await (await request(`${url}/api/plugins`)).body.json() as { data: Array<{ name: string; builtin: boolean; stages: string[] }>; source: string };
    expect(listed.source).toBe('config_file');
    expect(listed.data.find((plugin) => plugin.name === 'governance')).toMatchObject({ builtin: true, stages: expect.arrayContaining(['received', 'beforeRouting', 'afterResponse']) });
    expect(listed.data.find((plugin) => plugin.name === 'response-mock')).toMatchObject({ builtin: false, stages: ['beforeRouting'] });

    const refused = await put([{ path: './plugins/broken.mjs' }]);
    expect(refused.statusCode).toBe(400);
    expect(await refused.body.json()).toMatchObject({ error: { param: 'plugins', message: expect.stringContaining('broken.mjs') } });

    const saved = await put([{ path: './plugins/response-mock.mjs', options: { reply: 'from the API' } }]);
    expect(saved.statusCode).toBe(200);
    expect(await saved.body.json()).toMatchObject({ source: 'store', status: [{ name: 'response-mock', loaded: true, error: null }] });
    expect((await ask('ping')).json).toMatchObject({ choices: [{ message: { content: 'from the API' } }] });

    expect((await request(`${url}/api/plugins`, { method: 'DELETE' })).statusCode).toBe(200);
    expect((await ask('ping', { 'x-mock': '1' })).json).toMatchObject({ choices: [{ message: { content: 'mocked: ping' } }] });
  });
});
