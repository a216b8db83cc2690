/**
 * Redis gone for 10 s under two `heimdall` processes: a redis-server of this
 * test's own (never the machine's shared one), killed by its PID and started
 * again. While it is away no request hangs: a fail-open key is served and
 * counted locally, a fail-closed one refused with 503; once it is back the
 * settlements made meanwhile reach it, each once, and the fail-closed key is
 * served again.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, killChildren, removeDirs, startCli, type Cli } from '../support/cli.js';
import { privateRedis, testRedisUrl, type PrivateRedis } from '../support/cluster-services.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';

// The shared Redis is not used, but the suite runs where cluster mode is tested (it needs redis-server).
const enabled = testRedisUrl('test/cluster/redis-outage.test.ts') !== undefined;
const SECRETS = { open: 'hk-outage-open-0123456789', closed: 'hk-outage-closed-0123456789' };
const OUTAGE_MS = 10_000;

let mock: MockUpstream;
let server: PrivateRedis;
let configDir: string;
const instances: Cli[] = [];

async function chat(instance: Cli, secret: string): Promise<{ status: number; code?: string; ms: number }> {
  const started = Date.now();
  const response = await request(`${instance.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
    body: JSON.stringify({ model: 'openai/gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'hello there' }] }),
    headersTimeout: 20_000,
    bodyTimeout: 20_000,
  });
  const json = await response.body.json() as { error?: { code?: string } };
  return { status: response.statusCode, code: json.error?.code, ms: Date.now() - started };
}

async function connected(instance: Cli): Promise<boolean> {
  const response = await request(`${instance.url}/api/cluster`);
  const json = await response.body.json() as { shared_counters: { connected: boolean; pending_settlements: number } };
  return json.shared_counters.connected && json.shared_counters.pending_settlements === 0;
}

beforeAll(async () => {
  if (!enabled) return;
  ensureBuilt();
  mock = await startMockUpstream();
  server = await privateRedis();
  configDir = mkdtempSync(join(tmpdir(), 'heimdall-outage-config-'));
  const config = join(configDir, 'heimdall.json');
  writeFileSync(config, JSON.stringify({
    providers: { openai: { api_key: 'sk-upstream-0000', base_url: mock.openaiBaseUrl, max_retries: 0 } },
    redis: { timeout_ms: 300, connect_timeout_ms: 1_000 },
    governance: {
      pricing: { 'openai/gpt-4o-mini': { input: 100_000, output: 200_000 } },
      virtual_keys: {
        open: { key: 'env.KEY_OPEN', budget: { max_usd: 1_000, fail_mode: 'open' }, rate_limits: [{ requests: 1_000, window: '1m' }] },
        closed: { key: 'env.KEY_CLOSED', budget: { max_usd: 1_000, fail_mode: 'closed' } },
      },
    },
  }));
  const env = { HEIMDALL_REDIS_URL: server.url, KEY_OPEN: SECRETS.open, KEY_CLOSED: SECRETS.closed };
  for (let i = 0; i < 2; i++) instances.push(await startCli(env, { args: ['--config', config], logLevel: 'warn' }));
}, 240_000);

afterAll(async () => {
  killChildren();
  removeDirs();
  if (!enabled) return;
  await server.dispose();
  await mock.close();
  rmSync(configDir, { recursive: true, force: true });
});

describe.skipIf(!enabled)('Redis stopped for 10 s under two instances', () => {
  it('fail-open keeps serving, fail-closed answers 503, nothing hangs, and the outage\'s spend reaches Redis once it is back', async () => {
    for (const instance of instances) {
      expect((await chat(instance, SECRETS.open)).status).toBe(200);
      expect((await chat(instance, SECRETS.closed)).status).toBe(200);
    }
    await server.stop();
    const stoppedAt = Date.now();
    const during: Array<{ key: 'open' | 'closed'; status: number; code?: string; ms: number }> = [];
    let turn = 0;
    while (Date.now() - stoppedAt < OUTAGE_MS) {
      const instance = instances[turn++ % 2];
      during.push({ key: 'open', ...await chat(instance, SECRETS.open) });
      during.push({ key: 'closed', ...await chat(instance, SECRETS.closed) });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const open = during.filter((reply) => reply.key === 'open');
    const closed = during.filter((reply) => reply.key === 'closed');
    expect(open.length).toBeGreaterThan(5);
    expect(open.every((reply) => reply.status === 200)).toBe(true);
    expect(closed.every((reply) => reply.status === 503 && reply.code === 'limits_unavailable')).toBe(true);
    // No hang: the slowest answer waited about one Redis timeout (300 ms), far from the client's 20 s.
    expect(Math.max(...during.map((reply) => reply.ms))).toBeLessThan(5_000);

    // Back, empty (no persistence): the settlements made meanwhile are written before Redis is used again.
    await server.start();
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !(await Promise.all(instances.map(connected))).every(Boolean)) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await Promise.all(instances.map(connected))).toEqual([true, true]);
    const redis = new Redis(server.url);
    try {
      const spend = await redis.hgetall('heimdall:{key:vk_file_open}:s:key:vk_file_open:0');
      expect(Number(spend.requests)).toBe(open.length);
      expect(Number(spend.spend)).toBeCloseTo(open.length * 0.8, 9);
      // The requests counted locally joined the shared request window.
      const window = await redis.zcard('heimdall:{key:vk_file_open}:c:key:vk_file_open:0:requests:s:60000:w');
      expect(window).toBe(open.length);
    } finally {
      redis.disconnect();
    }
    expect((await chat(instances[0], SECRETS.closed)).status).toBe(200);
  }, 90_000);
});
