/**
 * What holds across a restart on the same data dir: rate-limit windows (saved
 * with the spend batch, off the request path, and restored at start) and the
 * governance switches saved through PATCH /api/settings (enforcement, prices).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { Governance } from '../../src/governance/governance.js';
import type { Decision } from '../../src/governance/ledger.js';
import { limitSpecs } from '../../src/governance/registry.js';
import { Store } from '../../src/store/store.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { call, chat, governanceConfig, removeDir, startGov, tempDir, type GovGateway } from './helpers.js';

let mock: MockUpstream;

beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => {
  await mock.close();
});

function providers(): Record<string, unknown> {
  return { openai: { api_key: 'sk-upstream-0000', base_url: mock.openaiBaseUrl, max_retries: 0 } };
}

function counterRows(gw: GovGateway): Array<{ id: string; algorithm: string; state: string; expires_at: number }> {
  return gw.app.store.db.prepare('SELECT id, algorithm, state, expires_at FROM rate_limit_counters ORDER BY id').all() as never;
}

describe('rate-limit windows survive a restart', () => {
  it('a key at its limit stays limited after a quick restart (sliding window and token bucket)', async () => {
    const dataDir = tempDir();
    // A long flush interval: nothing is written on the request path; flush() and close() write the batch.
    const config = { providers: providers(), governance: { flush_interval_ms: 600_000 } };
    let gw = await startGov({ config, dataDir });
    try {
      const sliding = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'sliding', rate_limits: [{ requests: 2, window: '1h' }] });
      const bucket = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'bucket', rate_limits: [{ requests: 2, window: '1h', algorithm: 'token_bucket' }] });
      const tokens = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'tokens', rate_limits: [{ tokens: 10, window: '1h' }] });
      for (const key of [sliding, bucket]) {
        const headers = { authorization: `Bearer ${key.json.key}` };
        expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a'), headers)).status).toBe(200);
        expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a'), headers)).status).toBe(200);
        expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a'), headers)).status).toBe(429);
      }
      // "a b c" costs 3 + 4 = 7 tokens: one call fits under 10, the next is admitted (7 < 10) and passes it.
      const tokenHeaders = { authorization: `Bearer ${tokens.json.key}` };
      expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c', { max_tokens: 5 }), tokenHeaders)).status).toBe(200);
      expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c', { max_tokens: 5 }), tokenHeaders)).status).toBe(200);
      expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c', { max_tokens: 5 }), tokenHeaders)).status).toBe(429);

      // Batched: the request path wrote nothing; the writer saves every counter that counted.
      expect(counterRows(gw)).toEqual([]);
      gw.app.governance.flush();
      const rows = counterRows(gw);
      expect(rows.map((row) => row.id)).toEqual([
        `key:${bucket.json.id}:0:requests`, `key:${sliding.json.id}:0:requests`, `key:${tokens.json.id}:0:tokens`,
      ].sort());
      const slidingRow = rows.find((row) => row.id.startsWith(`key:${sliding.json.id}`))!;
      expect(slidingRow.algorithm).toBe('sliding');
      expect(JSON.parse(slidingRow.state).entries.map((entry: [number, number]) => entry[1])).toEqual([1, 1]);
      expect(slidingRow.expires_at).toBeGreaterThan(Date.now() + 3_500_000);
      expect(JSON.parse(rows.find((row) => row.id.includes(tokens.json.id))!.state).entries.map((entry: [number, number]) => entry[1])).toEqual([7, 7]);
      await gw.close(false);

      gw = await startGov({ config, dataDir });
      const refused = await call('POST', `${gw.url}/v1/chat/completions`, chat('a'), { authorization: `Bearer ${sliding.json.key}` });
      expect(refused.status).toBe(429);
      expect(refused.json.error.code).toBe('rate_limit_exceeded');
      expect(refused.headers['x-ratelimit-remaining-requests']).toBe('0');
      // The first request leaves the window an hour after it was counted, not an hour after the restart.
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(3500);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(3600);
      const bucketRefused = await call('POST', `${gw.url}/v1/chat/completions`, chat('a'), { authorization: `Bearer ${bucket.json.key}` });
      expect(bucketRefused.status).toBe(429);
      // The bucket refills 2 per hour: one request's worth in about half an hour.
      expect(Number(bucketRefused.headers['retry-after'])).toBeGreaterThan(1700);
      expect(Number(bucketRefused.headers['retry-after'])).toBeLessThanOrEqual(1800);
      expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a'), tokenHeaders)).status).toBe(429);
      const detail = (await call('GET', `${gw.url}/api/virtual-keys/${sliding.json.id}`)).json;
      expect(detail.limits[0].requests_state).toMatchObject({ limit: 2, remaining: 0 });
      expect(detail.requests).toBe(2); // the refused calls were never charged
    } finally {
      await gw.close(false);
      removeDir(dataDir);
    }
  });
});

describe('saved counters (service level, injected clock)', () => {
  const open: Array<() => void> = [];
  afterEach(() => {
    while (open.length > 0) open.pop()!();
  });

  const T0 = Date.UTC(2026, 10, 29, 12, 0);

  function start(dataDir: string, clock: { now: number }): { store: Store; governance: Governance } {
    const store = Store.open({ dataDir, retention: false, logs: { autoFlush: false } });
    const governance = new Governance({ config: governanceConfig(), db: store.db, now: () => clock.now, timers: false });
    open.push(() => store.close(), () => governance.close());
    return { store, governance };
  }

  function admit(governance: Governance, keyId: string, now: number): Decision {
    const state = governance.registry.state(keyId)!;
    const decision = governance.ledger.admit({
      now, accounts: state.levels.map((level) => level.account), estimateUsd: 0,
      limits: limitSpecs(state.limits, ['openai/gpt-4o'], 'openai/gpt-4o'), estimateTokens: 0,
    });
    return decision as Decision;
  }

  it('restores the exact window, drops what expired, and deletes the rows of a deleted key', () => {
    const dataDir = tempDir();
    open.push(() => removeDir(dataDir));
    const clock = { now: T0 };
    let { store, governance } = start(dataDir, clock);
    const { record } = governance.entities.createKey({
      name: 'svc', rate_limits: [{ model: '*', requests: 3, tokens: null, window: '1m', algorithm: 'sliding', per_model: false }],
    }, 'test');
    for (const offset of [0, 10_000, 20_000]) expect(admit(governance, record.id, T0 + offset).ok).toBe(true);
    expect(admit(governance, record.id, T0 + 25_000)).toMatchObject({ ok: false, kind: 'rate', retryAfterMs: 35_000 });
    clock.now = T0 + 25_000;
    governance.close();
    const saved = store.db.prepare('SELECT expires_at FROM rate_limit_counters').all();
    expect(saved).toEqual([{ expires_at: T0 + 20_000 + 60_000 }]);
    store.close();

    // 30 s later: the first request leaves at T0 + 60 s, exactly as it would have without the restart.
    clock.now = T0 + 30_000;
    ({ store, governance } = start(dataDir, clock));
    expect(admit(governance, record.id, T0 + 30_000)).toMatchObject({ ok: false, kind: 'rate', retryAfterMs: 30_000 });
    expect(admit(governance, record.id, T0 + 59_999).ok).toBe(false);
    expect(admit(governance, record.id, T0 + 60_000).ok).toBe(true);
    clock.now = T0 + 60_000;
    governance.flush();
    expect(store.db.prepare('SELECT expires_at FROM rate_limit_counters').all()).toEqual([{ expires_at: T0 + 120_000 }]);

    // Once expired, the sweep deletes the row, and a restart would not restore it anyway.
    clock.now = T0 + 120_000;
    governance.sweep();
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM rate_limit_counters').get()).toEqual({ n: 0 });

    // A deleted key's saved counters go with it (in the next batch).
    clock.now = T0 + 200_000;
    expect(admit(governance, record.id, clock.now).ok).toBe(true);
    governance.flush();
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM rate_limit_counters').get()).toEqual({ n: 1 });
    governance.entities.deleteKey(record.id, 'test');
    governance.flush();
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM rate_limit_counters').get()).toEqual({ n: 0 });
  });

  /** A fresh data dir with one key whose token bucket has one unsaved change. */
  function oneCounterChange(): { dataDir: string; store: Store; governance: Governance } {
    const dataDir = tempDir();
    open.push(() => removeDir(dataDir));
    const { store, governance } = start(dataDir, { now: T0 });
    const { record } = governance.entities.createKey({
      name: 'svc', rate_limits: [{ model: '*', requests: 5, tokens: null, window: '1h', algorithm: 'token_bucket', per_model: false }],
    }, 'test');
    expect(admit(governance, record.id, T0).ok).toBe(true);
    return { dataDir, store, governance };
  }

  it('a failed write keeps the counters for the next batch', () => {
    const { store, governance } = oneCounterChange();
    store.db.exec('DROP TABLE rate_limit_counters');
    governance.flush(); // fails: logged, kept
    store.db.exec(`CREATE TABLE rate_limit_counters (id TEXT PRIMARY KEY, algorithm TEXT NOT NULL, limit_value REAL NOT NULL,
      window_ms INTEGER NOT NULL, state TEXT NOT NULL, expires_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`);
    governance.flush();
    const row = store.db.prepare('SELECT algorithm, state FROM rate_limit_counters').get() as { algorithm: string; state: string };
    expect(row.algorithm).toBe('token_bucket');
    expect(JSON.parse(row.state)).toEqual({ algorithm: 'token_bucket', level: 4, updated_at: T0 });
  });

  it('the periodic flush does not wait for the write lock of another connection; after five busy tries one waits', () => {
    const { dataDir, store, governance } = oneCounterChange();
    const count = (): unknown => store.db.prepare('SELECT COUNT(*) AS n FROM rate_limit_counters').get();
    // The request-log writer thread's connection, in the middle of a write transaction.
    const other = new Database(join(dataDir, 'heimdall.db'));
    open.push(() => other.close());
    other.exec('BEGIN IMMEDIATE');
    store.db.pragma('busy_timeout = 300');

    const started = performance.now();
    for (let i = 0; i < 5; i++) governance.flush(false);
    expect(performance.now() - started).toBeLessThan(250); // five tries, none slept in the busy handler
    expect(other.prepare('SELECT COUNT(*) AS n FROM rate_limit_counters').get()).toEqual({ n: 0 });

    const sixth = performance.now();
    governance.flush(false); // waits its busy timeout, fails (logged), keeps the rows
    expect(performance.now() - sixth).toBeGreaterThanOrEqual(250);
    other.exec('COMMIT');
    governance.flush(false);
    expect(count()).toEqual({ n: 1 });
    expect(store.db.pragma('busy_timeout', { simple: true })).toBe(300); // restored after each try
  });
});

describe('governance switches saved through PATCH /api/settings', () => {
  it('apply to the next request and still apply after a restart on the same data dir', async () => {
    const dataDir = tempDir();
    const config = { providers: providers() };
    let gw = await startGov({ config, dataDir });
    try {
      const created = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'app' });
      const headers = { authorization: `Bearer ${created.json.key}` };
      expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a'))).status).toBe(200);
      const patched = await call('PATCH', `${gw.url}/api/settings`, {
        governance: { enforce: true, pricing: { 'openai/gpt-4o-mini': { input: 1_000_000, output: 1_000_000 } } },
      });
      expect(patched.status).toBe(200);
      expect(patched.json.governance).toMatchObject({ enforce: true });
      // Live.
      const live = await call('POST', `${gw.url}/v1/chat/completions`, chat('a'));
      expect(live.status).toBe(401);
      expect(live.json.error.code).toBe('missing_api_key');
      await gw.close(false);

      gw = await startGov({ config, dataDir });
      expect(gw.app.governance.settings.enforce).toBe(true);
      const refused = await call('POST', `${gw.url}/v1/chat/completions`, chat('a'));
      expect(refused.status).toBe(401);
      expect(refused.json.error.code).toBe('missing_api_key');
      expect((await call('GET', `${gw.url}/v1/models`)).status).toBe(401);
      // The saved price override holds too: "a b c" is 3 + 4 tokens at $1 each.
      expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c'), headers)).status).toBe(200);
      expect((await call('GET', `${gw.url}/api/virtual-keys/${created.json.id}`)).json.spend_usd).toBe(7);
      const pricing = (await call('GET', `${gw.url}/api/pricing?provider=openai`)).json.data;
      expect(pricing.find((row: { model: string }) => row.model === 'openai/gpt-4o-mini')).toMatchObject({ source: 'config', input: 1_000_000 });

      // null reverts to the config file's value (off): open again, at once.
      expect((await call('PATCH', `${gw.url}/api/settings`, { governance: { enforce: null } })).status).toBe(200);
      expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a'))).status).toBe(200);
      const audit = (await call('GET', `${gw.url}/api/audit?action=settings.update`)).json.data;
      expect(audit).toHaveLength(2);
      expect(audit[1]).toMatchObject({ target: 'governance', after: { governance: { enforce: true } } });
      expect(audit[0]).toMatchObject({ before: { governance: { enforce: true } }, after: { governance: { enforce: false } } });
    } finally {
      await gw.close(false);
      removeDir(dataDir);
    }
  });

});

