/**
 * "The governance checks add no blocking I/O to the request path", checked:
 * every SQLite entry point (statements, prepare, exec, transactions, pragmas)
 * and the synchronous node:fs calls are spied on while real requests run
 * through the governance hooks (a key with a team, a customer, budgets, rate
 * limits, refusals, streams, every surface). The hooks must make none; and
 * with the batch writers' timers pushed out, a whole burst of requests makes
 * no SQLite call at all: spend, counters and logs wait for their batch.
 */
import fs, { statSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayHooks } from '../../src/gateway/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { startAdminGateway, type AdminGateway } from '../api/helpers.js';
import { call, chat } from './helpers.js';

let mock: MockUpstream;
let gw: AdminGateway;
const calls = { inHooks: [] as string[], all: [] as string[] };
let inside = 0;
const restore: Array<() => void> = [];

function spy<T extends object>(target: T, names: readonly string[], label: string): void {
  for (const name of names) {
    const original = (target as Record<string, unknown>)[name];
    if (typeof original !== 'function') continue;
    (target as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
      calls.all.push(`${label}.${name}`);
      if (inside > 0) calls.inHooks.push(`${label}.${name}`);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    restore.push(() => {
      (target as Record<string, unknown>)[name] = original;
    });
  }
}

/** Wraps a hook so that anything it calls synchronously is counted as "in the hooks". */
function watch(hooks: GatewayHooks, name: keyof GatewayHooks): void {
  const original = hooks[name] as ((...args: unknown[]) => unknown) | undefined;
  if (original === undefined) return;
  (hooks as Record<string, unknown>)[name] = (...args: unknown[]) => {
    inside++;
    try {
      return original(...args);
    } finally {
      inside--;
    }
  };
}

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startAdminGateway({
    config: {
      providers: { openai: { api_key: 'sk-upstream-0000', base_url: mock.openaiBaseUrl, max_retries: 0 } },
      // The batch writers' timers far out: nothing may be written while requests run.
      governance: { flush_interval_ms: 600_000, pricing: { 'openai/gpt-4o-mini': { input: 1, output: 1 } } },
    },
    management: { store: { retention: false, logs: { flushIntervalMs: 600_000 } }, watchConfig: false },
  });
});
afterAll(async () => {
  while (restore.length > 0) restore.pop()!();
  syncBuiltinESMExports();
  await gw.close();
  await mock.close();
});

describe('the request path of governance', () => {
  it('makes no SQLite or synchronous file system call, for any kind of request', async () => {
    const customer = await call('POST', `${gw.url}/api/customers`, { name: 'acme', budget: { max_usd: 1000 }, rate_limits: [{ requests: 1000, window: '1m' }] });
    const team = await call('POST', `${gw.url}/api/teams`, { name: 'ml', customer_id: customer.json.id, budget: { max_usd: 100, period: 'daily' } });
    const key = await call('POST', `${gw.url}/api/virtual-keys`, {
      name: 'svc', team_id: team.json.id, allowed_models: ['openai/gpt-4o*', 'openai/text-embedding-*'], budget: { max_usd: 20, period: '1h' },
      rate_limits: [{ requests: 8, tokens: 100_000, window: '1m' }, { model: 'openai/gpt-4o', requests: 1, window: '1h', per_model: true, algorithm: 'token_bucket' }],
    });
    const poor = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'poor', budget: { max_usd: 0 } });
    const headers = { authorization: `Bearer ${key.json.key}` };
    await call('PATCH', `${gw.url}/api/settings`, { governance: { enforce: true } });
    gw.app.governance.flush();
    gw.app.store.logs.flush();

    // Spy on every way into SQLite and on the synchronous fs calls a careless hook could make.
    const db = gw.app.store.db;
    const statement = Object.getPrototypeOf(db.prepare('SELECT 1')) as object;
    spy(statement, ['run', 'get', 'all', 'iterate', 'pluck', 'raw'], 'statement');
    spy(Object.getPrototypeOf(db) as object, ['prepare', 'exec', 'transaction', 'pragma', 'backup', 'serialize'], 'database');
    spy(fs, ['readFileSync', 'writeFileSync', 'appendFileSync', 'openSync', 'readSync', 'writeSync', 'fsyncSync', 'statSync', 'existsSync', 'readdirSync', 'mkdirSync'], 'fs');
    syncBuiltinESMExports();
    const hooks = gw.app.governance.hooks;
    for (const name of ['begin', 'authenticate', 'admit', 'settle'] as const) watch(hooks, name);
    // The spies see what they must: a statement, and a named import of node:fs.
    db.prepare('SELECT 1').get();
    statSync('.');
    expect(calls.all).toEqual(['database.prepare', 'statement.get', 'fs.statSync']);
    calls.all.length = 0;
    const checkKey = gw.app.governance.checkKey.bind(gw.app.governance);
    gw.app.governance.checkKey = (...args) => {
      inside++;
      try {
        return checkKey(...args);
      } finally {
        inside--;
      }
    };

    const statuses: number[] = [];
    const run = async (method: string, path: string, body: unknown, extra: Record<string, string> = headers) => {
      statuses.push((await call(method, `${gw.url}${path}`, body, extra)).status);
    };
    await run('POST', '/v1/chat/completions', chat('a b c'));
    await run('POST', '/v1/chat/completions', chat('a b c', { stream: true }));
    await run('POST', '/v1/chat/completions', { ...chat('x'), model: 'openai/gpt-4o' });
    await run('POST', '/v1/chat/completions', { ...chat('x'), model: 'openai/gpt-4o' }); // 429 (per model, 1 an hour)
    await run('POST', '/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'one two' });
    await run('POST', '/anthropic/v1/messages', { model: 'openai/gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': key.json.key });
    await run('POST', `/genai/v1beta/models/openai%2Fgpt-4o-mini:generateContent?key=${encodeURIComponent(key.json.key)}`, { contents: [{ role: 'user', parts: [{ text: 'q' }] }] }, {});
    await run('GET', '/v1/models', undefined);
    await run('POST', '/v1/chat/completions', chat('x'), {}); // 401 missing
    await run('POST', '/v1/chat/completions', chat('x'), { authorization: 'Bearer hk-unknown-000000000000' }); // 401 invalid
    await run('POST', '/v1/chat/completions', { ...chat('x'), model: 'openai/gpt-4.1' }); // 403: not allowed
    await run('POST', '/v1/chat/completions', chat('x'), { authorization: `Bearer ${poor.json.key}` }); // 402
    await Promise.all(Array.from({ length: 20 }, () => run('POST', '/v1/chat/completions', chat('a'))));

    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3, 12)).toEqual([429, 200, 200, 200, 200, 401, 401, 403, 402]);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(10); // 8 requests a minute
    expect(calls.inHooks).toEqual([]);
    // Nothing else on the request path wrote either: spend, counters and logs wait for their batch.
    expect(calls.all).toEqual([]);

    // The batch does write, in one place, off the request path.
    gw.app.governance.flush();
    expect(calls.all.filter((name) => name === 'statement.run').length).toBeGreaterThan(0);
    expect(calls.inHooks).toEqual([]);
  });
});
