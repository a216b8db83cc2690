/**
 * The config file is watched: a good edit applies to the next request (also
 * when the editor replaces the file by a rename), a bad edit is rejected with
 * a log line naming the problem and the running configuration stays, and the
 * store's changes stay on top of the file's.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { call, chat, startAdminGateway, tempDir, until, type AdminGateway } from './helpers.js';

const FILE_KEY = 'sk-file-watch-key-00112233445566';
let first: MockUpstream;
let second: MockUpstream;
let gw: AdminGateway;
const dir = tempDir('heimdall-watch-');
const file = join(dir.dir, 'heimdall.json');

function configWith(baseUrl: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    providers: { openai: { api_key: FILE_KEY, base_url: baseUrl, max_retries: 0 } },
    routing: { aliases: { smart: 'openai/gpt-4o' } },
    ...extra,
  };
}

/** Writes the file the way editors do: a temp file renamed over the old one. */
function replaceFile(content: string): void {
  const temp = join(dir.dir, '.heimdall.json.swp');
  writeFileSync(temp, content);
  renameSync(temp, file);
}

function errorLines(): Array<Record<string, unknown>> {
  return gw.logs().filter((line) => line.level === 'error' && String(line.msg).startsWith('config file change rejected'));
}

beforeAll(async () => {
  first = await startMockUpstream();
  second = await startMockUpstream();
  writeFileSync(file, JSON.stringify(configWith(first.openaiBaseUrl)));
  gw = await startAdminGateway({ configPath: file, management: { watchDebounceMs: 50 } });
});
afterAll(async () => {
  await gw.close();
  await first.close();
  await second.close();
  dir.remove();
});
beforeEach(() => {
  first.reset();
  second.reset();
});

describe('config file watch', () => {
  it('a good edit applies live: the next request goes to the new base URL', async () => {
    expect((await chat(gw.url, 'openai/gpt-4o-mini')).status).toBe(200);
    expect(first.requests).toHaveLength(1);

    writeFileSync(file, JSON.stringify(configWith(second.openaiBaseUrl)));
    await until(() => gw.app.configService.config.providers.find((p) => p.name === 'openai')?.baseUrl === second.openaiBaseUrl, 3000, 'the file edit to apply');
    expect((await chat(gw.url, 'openai/gpt-4o-mini')).status).toBe(200);
    expect(second.requests).toHaveLength(1);
    expect(first.requests).toHaveLength(1);

    const reloaded = gw.logs().find((line) => line.msg === 'configuration reloaded from the config file');
    expect(reloaded).toMatchObject({ path: file, changed_sections: ['providers'] });
    const audit = await call(gw.url, 'GET', '/api/audit?actor=config-file');
    expect(audit.json.data[0]).toMatchObject({ actor: 'config-file', action: 'config.reload', target: file, after: { changed_sections: ['providers'] } });
  });

  it('an editor that replaces the file (rename) is followed too', async () => {
    replaceFile(JSON.stringify(configWith(first.openaiBaseUrl, { routing: { aliases: { smart: 'openai/gpt-4.1' } } })));
    await until(() => gw.app.configService.config.routing.aliases.smart === 'openai/gpt-4.1', 3000, 'the replaced file to apply');
    await chat(gw.url, 'smart');
    expect(first.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4.1' });
    // ...and the watch goes on after the rename.
    replaceFile(JSON.stringify(configWith(first.openaiBaseUrl, { routing: { aliases: { smart: 'openai/o3' } } })));
    await until(() => gw.app.configService.config.routing.aliases.smart === 'openai/o3', 3000, 'the second replacement to apply');
  });

  it('invalid JSON: a log line, and the running configuration stays', async () => {
    const before = gw.app.configService.config;
    const rejected = errorLines().length;
    writeFileSync(file, `{"providers": {"openai": {"api_key": "${FILE_KEY}", `);
    await until(() => errorLines().length > rejected, 3000, 'the rejection line');
    const line = errorLines().at(-1)!;
    expect(line.msg).toBe('config file change rejected: the file is not valid JSON; the running configuration stays');
    expect(line.path).toBe(file);
    expect(gw.app.configService.config).toBe(before);
    expect((await chat(gw.url, 'openai/gpt-4o-mini')).status).toBe(200);
    expect(gw.logText()).not.toContain(FILE_KEY);
  });

  it('a schema error: the log line names the field, and the running configuration stays', async () => {
    const before = gw.app.configService.config;
    const rejected = errorLines().length;
    writeFileSync(file, JSON.stringify(configWith(first.openaiBaseUrl, { logging: { retention_days: -3 } })));
    await until(() => errorLines().length > rejected, 3000, 'the rejection line');
    expect(String(errorLines().at(-1)!.error)).toContain('logging.retention_days');
    expect(gw.app.configService.config).toBe(before);
    expect((await call(gw.url, 'GET', '/api/settings')).json.logging.retention_days).toBe(30);
  });

  it('store changes stay on top of the file: a file edit does not undo an API change', async () => {
    writeFileSync(file, JSON.stringify(configWith(first.openaiBaseUrl)));
    await until(() => gw.app.configService.config.routing.aliases.smart === 'openai/gpt-4o', 3000, 'the valid file to apply again');
    expect((await call(gw.url, 'PUT', '/api/routing/aliases/smart', { target: 'openai/gpt-4o-mini' })).status).toBe(200);
    writeFileSync(file, JSON.stringify(configWith(first.openaiBaseUrl, { limits: { max_body_bytes: 1_000_000 } })));
    await until(() => gw.app.configService.config.limits.maxBodyBytes === 1_000_000, 3000, 'the file edit to apply');
    expect(gw.app.configService.config.routing.aliases.smart).toBe('openai/gpt-4o-mini');
    const routing = await call(gw.url, 'GET', '/api/routing');
    expect(routing.json.sources['aliases.smart']).toBe('store');
    // Deleting the store's alias reverts to the file's.
    const deleted = await call(gw.url, 'DELETE', '/api/routing/aliases/smart');
    expect(deleted.json).toEqual({ deleted: true, alias: 'smart', reverted_to: 'openai/gpt-4o' });
  });
});
