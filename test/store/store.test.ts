import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { Store } from '../../src/store/store.js';
import { logRecord, makeTempDir } from './helpers.js';

describe('Store', () => {
  let temp: ReturnType<typeof makeTempDir>;
  const opened: Store[] = [];
  const open = (options: Parameters<typeof Store.open>[0]) => {
    const store = Store.open(options);
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    temp = makeTempDir();
  });
  afterEach(() => {
    for (const store of opened.splice(0)) store.close();
    temp.cleanup();
  });

  it('creates the data dir with the database, the key file and the lock on first open', () => {
    const dataDir = path.join(temp.dir, 'data');
    const store = open({ dataDir, env: {} });
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    expect(store.encryptionKeySource).toBe('generated');
    expect(fs.readdirSync(dataDir).filter((name) => !name.endsWith('-wal') && !name.endsWith('-shm')).sort())
      .toEqual(['encryption.key', 'heimdall.db', 'heimdall.lock']);
    expect(store.retention.limits).toEqual({ maxAgeMs: 30 * 24 * 3600 * 1000, maxBytes: 1024 ** 3 });
  });

  it('persists configuration and logs across a restart; close() flushes queued logs', () => {
    const first = open({ dataDir: temp.dir, env: {}, logs: { flushIntervalMs: 60_000 } });
    first.config.createProvider({ id: 'openai', name: 'openai', type: 'openai' });
    first.config.createProviderKey({ id: 'k1', provider_id: 'openai', name: 'main', secret: 'sk-test-0123456789abcdef' });
    first.config.setSetting('logging', { bodies: false });
    for (let i = 0; i < 3; i++) first.logs.enqueue(logRecord({ id: `log-${i}` }));
    expect(first.logs.stats.queued).toBe(3);
    first.close();
    expect(first.closed).toBe(true);
    first.close(); // idempotent

    const second = open({ dataDir: temp.dir, env: {} });
    expect(second.encryptionKeySource).toBe('file');
    expect(second.config.getProviderKey('k1', { withSecret: true })?.secret).toBe('sk-test-0123456789abcdef');
    expect(second.config.getSetting('logging')).toEqual({ bodies: false });
    expect(second.logQueries.listLogs().items.map((item) => item.id)).toEqual(['log-2', 'log-1', 'log-0']);
  });

  it('refuses a database from a newer Heimdall', () => {
    open({ dataDir: temp.dir, env: {} }).close();
    const raw = new Database(path.join(temp.dir, 'heimdall.db'));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => Store.open({ dataDir: temp.dir, env: {} })).toThrow(
      `has schema version ${SCHEMA_VERSION + 1}, but this Heimdall only knows versions up to ${SCHEMA_VERSION}`,
    );
  });

  it('opens in memory for tests, and needs a dataDir otherwise', () => {
    const store = open({ memory: true, env: {}, retention: false });
    expect(store.db.memory).toBe(true);
    expect(store.encryptionKeySource).toBe('ephemeral');
    store.logs.enqueue(logRecord({ id: 'm1' }));
    store.logs.flush();
    expect(store.logQueries.getLog('m1')?.id).toBe('m1');
    expect(() => Store.open({})).toThrow('Store.open needs a dataDir (or memory: true).');
  });

  it('applies live log settings', () => {
    const store = open({ memory: true, env: {}, retention: false, logs: { bodies: { enabled: false } } });
    store.logs.setBodyOptions({ enabled: true, maxBytes: 10 });
    store.retention.setLimits({ maxAgeMs: 1000 });
    store.logs.enqueue(logRecord({ id: 'b', request_body: '{"messages":[]}' }));
    store.logs.flush();
    expect(store.logQueries.getLog('b')?.request_body).toBe('{"messages…[truncated, 15 bytes total]');
    expect(store.retention.limits.maxAgeMs).toBe(1000);
  });
});
