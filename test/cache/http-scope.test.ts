/**
 * Who shares what, and what a hit costs, over real sockets: entries scoped to the virtual key by
 * default (never served to another key), a global scope shares them; a hit costs $0 and spends no
 * tokens but counts toward the key's request rate limit; bounds evict the least recently used;
 * entries survive a restart (cache.db in the data dir).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { call, chat, CHAT_PATHS, startCacheSuite, upstreamCalls, type CacheSuite } from './helpers.js';
import { startGov } from '../governance/helpers.js';

const suites: CacheSuite[] = [];

async function start(cache: Record<string, unknown>, dataDir?: string): Promise<CacheSuite> {
  const suite = await startCacheSuite(cache, {}, dataDir);
  suites.push(suite);
  return suite;
}

afterEach(async () => {
  for (const suite of suites.splice(0)) {
    await suite.gw.close();
    await suite.mock.close();
  }
});

async function createKey(suite: CacheSuite, body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const reply = await call('POST', `${suite.gw.url}/api/virtual-keys`, body);
  expect(reply.status, reply.text).toBe(201);
  return { id: reply.json.id, key: reply.json.key };
}

function ask(suite: CacheSuite, content: string, key?: string, headers: Record<string, string> = {}) {
  return call('POST', `${suite.gw.url}/v1/chat/completions`, chat(content), key === undefined ? headers : { authorization: `Bearer ${key}`, ...headers });
}

describe('scope', () => {
  it('virtual_key (default): one key never gets another key\'s entry; DELETE ?virtual_key= clears only its own', async () => {
    const suite = await start({ enabled: true });
    const a = await createKey(suite, { name: 'tenant-a' });
    const b = await createKey(suite, { name: 'tenant-b' });
    expect((await ask(suite, 'shared question', a.key)).headers['x-heimdall-cache']).toBe('miss');
    expect((await ask(suite, 'shared question', b.key)).headers['x-heimdall-cache']).toBe('miss');
    expect((await ask(suite, 'shared question', a.key)).headers['x-heimdall-cache']).toBe('hit');
    expect((await ask(suite, 'shared question', b.key)).headers['x-heimdall-cache']).toBe('hit');
    expect(upstreamCalls(suite.mock, CHAT_PATHS)).toBe(2);
    const cleared = await call('DELETE', `${suite.gw.url}/api/cache?virtual_key=${a.id}`);
    expect(cleared.json.deleted).toBe(1);
    expect((await ask(suite, 'shared question', a.key)).headers['x-heimdall-cache']).toBe('miss');
    expect((await ask(suite, 'shared question', b.key)).headers['x-heimdall-cache']).toBe('hit');
  });

  it('global: every caller shares the entries, as configured', async () => {
    const suite = await start({ enabled: true, scope: 'global' });
    const a = await createKey(suite, { name: 'tenant-a' });
    const b = await createKey(suite, { name: 'tenant-b' });
    expect((await ask(suite, 'global question', a.key)).headers['x-heimdall-cache']).toBe('miss');
    expect((await ask(suite, 'global question', b.key)).headers['x-heimdall-cache']).toBe('hit');
  });

  it('a per-key override turns the cache off for one key', async () => {
    const suite = await start({ enabled: true, virtual_keys: { quiet: { enabled: false } } });
    const quiet = await createKey(suite, { name: 'quiet' });
    const reply = await ask(suite, 'not for this key', quiet.key);
    expect(reply.headers['x-heimdall-cache']).toBeUndefined();
    expect((await ask(suite, 'not for this key', quiet.key)).headers['x-heimdall-cache']).toBeUndefined();
    expect(upstreamCalls(suite.mock, CHAT_PATHS)).toBe(2);
  });
});

describe('turning it on and off', () => {
  it('PATCH /api/settings turns the cache on and off for the next request', async () => {
    const suite = await start({ enabled: false });
    expect((await ask(suite, 'switch question')).headers['x-heimdall-cache']).toBeUndefined();
    expect((await call('PATCH', `${suite.gw.url}/api/settings`, { cache: { enabled: true } })).status).toBe(200);
    expect((await ask(suite, 'switch question')).headers['x-heimdall-cache']).toBe('miss');
    expect((await ask(suite, 'switch question')).headers['x-heimdall-cache']).toBe('hit');
    expect((await call('PATCH', `${suite.gw.url}/api/settings`, { cache: { enabled: false } })).status).toBe(200);
    expect((await ask(suite, 'switch question')).headers['x-heimdall-cache']).toBeUndefined();
    expect(upstreamCalls(suite.mock, CHAT_PATHS)).toBe(3);
  });
});

describe('accounting', () => {
  it('a hit costs $0 and no tokens, and counts toward the key\'s request rate limit', async () => {
    const suite = await start({ enabled: true });
    const key = await createKey(suite, { name: 'limited', rate_limits: [{ requests: 3, window: '1m' }], budget: { max_usd: 1000 } });
    const miss = await ask(suite, 'accounting question', key.key, { 'x-request-id': 'acct-miss' });
    expect(miss.headers['x-heimdall-cache']).toBe('miss');
    const hit = await ask(suite, 'accounting question', key.key, { 'x-request-id': 'acct-hit' });
    expect(hit.headers['x-heimdall-cache']).toBe('hit');
    expect(hit.headers['x-ratelimit-remaining-requests']).toBe('1');
    expect((await ask(suite, 'accounting question', key.key)).status).toBe(200);
    const refused = await ask(suite, 'accounting question', key.key);
    expect(refused.status).toBe(429);
    expect(upstreamCalls(suite.mock, CHAT_PATHS)).toBe(1);

    // Spend: only the miss was charged (price: $1 a prompt word, $2 an answer word).
    const view = (await call('GET', `${suite.gw.url}/api/virtual-keys/${key.id}`)).json;
    const missCost = 2 * 1 + 3 * 2; // "accounting question" -> "echo: accounting question"
    expect(view.spend_usd).toBeCloseTo(missCost, 6);
    expect(view.tokens).toBe(2 + 3);
    expect(view.requests).toBe(3);
  });
});

describe('bounds and persistence', () => {
  it('max_entries: the least recently used entry goes first', async () => {
    const suite = await start({ enabled: true, max_entries: 2 });
    await ask(suite, 'first');
    await ask(suite, 'second');
    expect((await ask(suite, 'first')).headers['x-heimdall-cache']).toBe('hit'); // "second" is now the oldest used
    await ask(suite, 'third');
    const stats = (await call('GET', `${suite.gw.url}/api/cache/stats`)).json;
    expect(stats.store.entries).toBe(2);
    expect(stats.store.evictions).toBe(1);
    expect((await ask(suite, 'first')).headers['x-heimdall-cache']).toBe('hit');
    expect((await ask(suite, 'second')).headers['x-heimdall-cache']).toBe('miss');
  });

  it('max_bytes: the entries held stay within the bytes allowed', async () => {
    const suite = await start({ enabled: true, max_bytes: 3000 });
    for (let i = 0; i < 12; i++) await ask(suite, `a question about bytes number ${i}`);
    const stats = (await call('GET', `${suite.gw.url}/api/cache/stats`)).json;
    expect(stats.store.bytes).toBeLessThanOrEqual(3000);
    expect(stats.store.entries).toBeGreaterThan(0);
    expect(stats.store.entries).toBeLessThan(12);
    expect(stats.store.evictions).toBe(12 - stats.store.entries);
  });

  it('entries survive a restart (cache.db in the data dir)', async () => {
    const suite = await start({ enabled: true });
    expect((await ask(suite, 'remember me across restarts')).headers['x-heimdall-cache']).toBe('miss');
    const dataDir = suite.gw.dataDir;
    await suite.gw.close(false);
    const again = await startGov({ env: suite.env, config: suite.baseConfig, dataDir });
    suite.gw = again;
    const reply = await call('POST', `${again.url}/v1/chat/completions`, chat('remember me across restarts'));
    expect(reply.headers['x-heimdall-cache']).toBe('hit');
    expect(reply.json.choices[0].message.content).toBe('echo: remember me across restarts');
    expect(upstreamCalls(suite.mock, CHAT_PATHS)).toBe(1);
  });
});
