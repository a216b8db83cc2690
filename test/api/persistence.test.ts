/**
 * What the API writes survives a restart on the same data dir, provider keys
 * are encrypted at rest (no key in clear in any file of the data dir), a
 * restart with another encryption key refuses to start (or, when told to,
 * starts without the unreadable secrets and says so), and a key is rotated
 * with HEIMDALL_ENCRYPTION_KEY_PREVIOUS.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { Store } from '../../src/store/store.js';
import { call, chat, startAdminGateway, tempDir, until } from './helpers.js';

const SECRET = 'sk-persisted-secret-key-7f3a9c2e41d8';
const HEADER_SECRET = 'hdr-secret-value-5566778899';
let mock: MockUpstream;
const data = tempDir('heimdall-persist-');

beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => {
  await mock.close();
  data.remove();
});

function dataDirBytes(): Buffer {
  return Buffer.concat(readdirSync(data.dir).map((name) => readFileSync(join(data.dir, name))));
}

describe('restart persistence and encryption at rest', () => {
  it('a provider and key created through the API survive a restart; the files hold no secret in clear', async () => {
    const first = await startAdminGateway({ dataDir: data.dir });
    const created = await call(first.url, 'POST', '/api/providers', {
      name: 'persisted', type: 'openai-compatible', base_url: mock.openaiBaseUrl, headers: { 'x-upstream-token': HEADER_SECRET },
      keys: [{ name: 'main', api_key: SECRET }],
    });
    expect(created.status).toBe(201);
    expect((await call(first.url, 'PATCH', '/api/settings', { logging: { retention_days: 7 } })).status).toBe(200);
    expect((await call(first.url, 'PUT', '/api/routing/aliases/p', { target: 'persisted/m1' })).status).toBe(200);
    await first.close();

    // Every file in the data dir (database, WAL if any, key file): the secrets are nowhere in clear.
    const bytes = dataDirBytes();
    expect(bytes.includes(SECRET)).toBe(false);
    expect(bytes.includes('hdr-secret-value')).toBe(false);
    expect(bytes.includes(SECRET.slice(0, 20))).toBe(false);
    // ...while the non-secret parts are stored as written (so the search above is meaningful).
    expect(bytes.includes('persisted')).toBe(true);

    const second = await startAdminGateway({ dataDir: data.dir });
    try {
      const provider = await call(second.url, 'GET', '/api/providers/persisted');
      expect(provider.status).toBe(200);
      expect(provider.json).toMatchObject({ source: 'store', base_url: mock.openaiBaseUrl, keys: [{ name: 'main', last4: '41d8' }] });
      expect((await call(second.url, 'GET', '/api/settings')).json.logging.retention_days).toBe(7);
      // The key decrypts and is used: the upstream gets it, through the alias.
      const reply = await chat(second.url, 'p');
      expect(reply.status).toBe(200);
      expect(mock.requests.at(-1)!.headers.authorization).toBe(`Bearer ${SECRET}`);
    } finally {
      await second.close();
    }
  });

  it('closing the app flushes queued request logs and closes the database', async () => {
    const gw = await startAdminGateway({ dataDir: data.dir, management: { store: { logs: { flushIntervalMs: 60_000 } } } });
    const ids = ['flush-1', 'flush-2', 'flush-3'];
    for (const id of ids) expect((await chat(gw.url, 'p', {}, { 'x-request-id': id })).status).toBe(200);
    const store = gw.app.store;
    await until(() => store.logs.stats.queued === 3, 2000, 'three queued records');
    expect(store.logs.stats.written).toBe(0);
    await gw.close();
    expect(store.closed).toBe(true);
    expect(store.db.open).toBe(false);

    const reopened = Store.open({ dataDir: data.dir, env: {}, retention: false });
    try {
      expect(ids.map((id) => reopened.logQueries.getLog(id)?.status)).toEqual([200, 200, 200]);
    } finally {
      reopened.close();
    }
  });

  it('another encryption key: the gateway refuses to start, naming what it cannot decrypt and how to fix it', async () => {
    const started = startAdminGateway({ dataDir: data.dir, env: { HEIMDALL_ENCRYPTION_KEY: 'a'.repeat(64) } });
    await expect(started).rejects.toThrow(/2 stored secrets cannot be decrypted with the encryption key \(from HEIMDALL_ENCRYPTION_KEY\): provider key "main" of persisted, headers and options of provider persisted\. Start with the key that encrypted them .*HEIMDALL_ENCRYPTION_KEY_PREVIOUS/);
    await expect(started).rejects.not.toThrow(SECRET);
  });

  it('another encryption key with HEIMDALL_IGNORE_UNREADABLE_SECRETS=1: start-up logs that stored keys cannot be decrypted, and the gateway starts without them', async () => {
    const other = await startAdminGateway({ dataDir: data.dir, env: { HEIMDALL_ENCRYPTION_KEY: 'a'.repeat(64), HEIMDALL_IGNORE_UNREADABLE_SECRETS: '1' } });
    try {
      const text = other.logText();
      expect(text).toContain('stored provider keys cannot be decrypted with the current encryption key');
      expect(text).toContain('key \\"main\\"');
      expect(text).not.toContain(SECRET);
      expect((await call(other.url, 'GET', '/health')).status).toBe(200);
      // The provider is listed without the unreadable key, and the warning says how to fix it.
      const provider = await call(other.url, 'GET', '/api/providers/persisted');
      expect(provider.json.keys).toEqual([]);
      const config = await call(other.url, 'GET', '/api/config');
      expect(config.json.warnings.join('\n')).toMatch(/key "main" \(.*\) cannot be decrypted/);
      expect(config.json.warnings.join('\n')).toMatch(/provider persisted: its stored headers and options cannot be decrypted/);
    } finally {
      await other.close();
    }
  });
  it('rotation: HEIMDALL_ENCRYPTION_KEY_PREVIOUS opens the old secrets for one start, they are sealed again with the new key', async () => {
    const oldKey = readFileSync(join(data.dir, 'encryption.key'), 'utf8').trim();
    const newKey = 'b'.repeat(64);
    const rotating = await startAdminGateway({ dataDir: data.dir, env: { HEIMDALL_ENCRYPTION_KEY: newKey, HEIMDALL_ENCRYPTION_KEY_PREVIOUS: oldKey } });
    try {
      expect(rotating.logText()).toContain('stored secrets re-encrypted with the new encryption key');
      expect((await chat(rotating.url, 'p')).status).toBe(200);
      expect(mock.requests.at(-1)!.headers.authorization).toBe(`Bearer ${SECRET}`);
    } finally {
      await rotating.close();
    }
    // From now on the new key alone opens them; the old one no longer does.
    const after = await startAdminGateway({ dataDir: data.dir, env: { HEIMDALL_ENCRYPTION_KEY: newKey } });
    try {
      expect((await chat(after.url, 'p')).status).toBe(200);
      expect(mock.requests.at(-1)!.headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(after.logText()).not.toContain('cannot be decrypted');
    } finally {
      await after.close();
    }
    await expect(startAdminGateway({ dataDir: data.dir })).rejects.toThrow(/cannot be decrypted with the encryption key \(from encryption\.key in the data dir\)/);
  });
});
