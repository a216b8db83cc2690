/**
 * Heimdall as a library, from its entry point (src/index.ts): every call in its
 * API's format, streamed and not, errors as HeimdallError, fallbacks, plugins
 * from the config, metrics and the request log, then close; the capacity
 * limit off unless the config sets it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { DEFAULT_CAPACITY_TARGET_DELAY_MS } from '../../src/gateway/admission-schema.js';
import { createGateway, HeimdallError, type HeimdallGateway } from '../../src/index.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startLibrary, type LibraryUnderTest } from './helpers.js';

let library: LibraryUnderTest | undefined;
let mock: MockUpstream;
let gw: HeimdallGateway;

beforeAll(async () => {
  library = await startLibrary({
    plugins: [{ path: resolve(import.meta.dirname, '../../examples/plugins/response-mock.mjs'), options: { reply: 'mocked', only_with_header: 'x-mock' } }],
  });
  ({ gw, mock } = library);
});
afterAll(async () => {
  await library?.close();
});

describe('createGateway', () => {
  it('chat completions, whole and streamed (an async iterable of chunks)', async () => {
    const completion = await gw.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'one two' }] });
    expect(completion.choices[0].message.content).toBe('echo: one two');
    let text = '';
    for await (const chunk of await gw.chat.completions.create({ model: 'anthropic/claude-sonnet-4-5', messages: [{ role: 'user', content: 'a b' }], stream: true })) {
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('echo: a b');
  });

  it('responses, embeddings and Anthropic messages, in their own formats', async () => {
    const response = await gw.responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'hi' });
    expect(response).toMatchObject({ object: 'response', status: 'completed' });
    const kinds: string[] = [];
    for await (const event of await gw.responses.create({ model: 'openai/gpt-4o-mini', input: 'hi', stream: true })) kinds.push(String(event.type));
    expect(kinds[0]).toBe('response.created');
    expect(kinds.at(-1)).toBe('response.completed');
    const embeddings = await gw.embeddings.create({ model: 'openai/text-embedding-3-small', input: 'x', encoding_format: 'float' });
    expect(embeddings.data[0].embedding.length).toBeGreaterThan(0);
    const message = await gw.messages.create({ model: 'gemini/gemini-2.5-flash', max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] });
    expect(message).toMatchObject({ type: 'message', content: [{ type: 'text', text: 'echo: hello' }] });
    const events: string[] = [];
    for await (const event of await gw.messages.create({ model: 'openai/gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'x' }], stream: true })) events.push(String(event.type));
    expect(events[0]).toBe('message_start');
    expect(events.at(-1)).toBe('message_stop');
  });

  it('errors as HeimdallError with the status and the body; retries and fallbacks as the server', async () => {
    const error = await gw.chat.completions.create({ model: 'nobody/none', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeimdallError);
    expect(error).toMatchObject({ status: 404, code: expect.any(String), message: expect.stringContaining('nobody') });
    mock.enqueue({ kind: 'error', status: 500 });
    const completion = await gw.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'again' }], fallbacks: ['anthropic/claude-sonnet-4-5'] });
    expect(completion.choices[0].message.content).toBe('echo: again');
  });

  it('plugins from the config, metrics and the request log', async () => {
    const mocked = await gw.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-mock': '1' } });
    expect(mocked.choices[0].message.content).toBe('mocked');
    const metrics = await gw.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/heimdall_requests_total\{surface="openai",provider="openai",model="gpt-4o-mini"/);
    const logs = await gw.app.inject({ method: 'GET', url: '/api/logs' });
    expect((logs.json() as { data: unknown[] }).data.length).toBeGreaterThan(0);
  });
});

describe('createGateway and the capacity limit', () => {
  it('off unless the config sets it, from a config object or a file (the server has it on by default)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'heimdall-library-capacity-'));
    const enabled = async (config: Record<string, unknown>, fromFile: boolean): Promise<boolean> => {
      const path = join(dir, 'config.json');
      writeFileSync(path, JSON.stringify(config));
      const gateway = await createGateway(fromFile ? {} : config, { env: {}, dataDir: mkdtempSync(join(dir, 'data-')), configPath: fromFile ? path : undefined });
      try {
        return gateway.app.gateway.admission.capacity.enabled;
      } finally {
        await gateway.close();
      }
    };
    try {
      expect(await enabled({}, false)).toBe(false);
      expect(await enabled({ limits: { max_in_flight: 100 } }, true)).toBe(false);
      expect(await enabled({ limits: { capacity_target_delay_ms: 10 } }, false)).toBe(true);
      expect(await enabled({ limits: { capacity_target_delay_ms: 10 } }, true)).toBe(true);
      expect(await enabled({ limits: { capacity_target_delay_ms: 0 } }, true)).toBe(false);
      // The server's default (heimdall start) is on; the library's stays off.
      expect(DEFAULT_CAPACITY_TARGET_DELAY_MS).toBe(10);
      expect(loadConfig({ env: {} }).limits.overload.capacity.targetDelayMs).toBe(DEFAULT_CAPACITY_TARGET_DELAY_MS);
      expect(loadConfig({ env: {}, config: { limits: { max_in_flight: 100 } } }).limits.overload.capacity.targetDelayMs).toBe(10);
      expect(loadConfig({ env: {}, config: { limits: { max_in_flight: 100 } }, capacityTargetDelayMs: 0 }).limits.overload.capacity.targetDelayMs).toBe(0);
      expect(loadConfig({ env: {}, config: { limits: { capacity_target_delay_ms: 20 } }, capacityTargetDelayMs: 0 }).limits.overload.capacity.targetDelayMs).toBe(20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
