/**
 * Optimistic admission through the gateway (`heimdall` with HEIMDALL_REDIS_URL,
 * a key prefix of this test's own): a key far from its limits is served
 * without waiting for Redis (counted in GET /api/cluster), its rate-limit
 * headers count down from the instance's own view, and Redis holds every
 * request once settled.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, killChildren, removeDirs, startCli, type Cli } from '../support/cli.js';
import { dropPrefix, testRedisUrl, uniquePrefix } from '../support/cluster-services.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';

const url = testRedisUrl('test/cluster/redis-optimistic-gateway.test.ts');
const prefix = uniquePrefix();
const SECRET = 'hk-optimistic-0123456789';

let mock: MockUpstream;
let configDir: string;
let instance: Cli;

beforeAll(async () => {
  if (url === undefined) return;
  ensureBuilt();
  mock = await startMockUpstream();
  configDir = mkdtempSync(join(tmpdir(), 'heimdall-optimistic-config-'));
  const config = join(configDir, 'heimdall.json');
  writeFileSync(config, JSON.stringify({
    providers: { openai: { api_key: 'sk-upstream-0000', base_url: mock.openaiBaseUrl, max_retries: 0 } },
    governance: {
      pricing: { 'openai/gpt-4o-mini': { input: 1, output: 2 } },
      virtual_keys: {
        far: { key: 'env.KEY_FAR', budget: { max_usd: 1_000 }, rate_limits: [{ requests: 1_000, window: '1m' }] },
      },
    },
  }));
  instance = await startCli({ HEIMDALL_REDIS_URL: url, HEIMDALL_REDIS_KEY_PREFIX: prefix, KEY_FAR: SECRET }, { args: ['--config', config], logLevel: 'warn' });
}, 240_000);

afterAll(async () => {
  killChildren();
  removeDirs();
  if (url === undefined) return;
  await mock.close();
  rmSync(configDir, { recursive: true, force: true });
  await dropPrefix(url, prefix);
});

describe.skipIf(url === undefined)('optimistic admission through the gateway', () => {
  it('serves a key far from its limits without waiting for Redis; headers count down; Redis counts every request', async () => {
    const remaining: number[] = [];
    for (let i = 0; i < 30; i++) {
      const response = await request(`${instance.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
        body: JSON.stringify({ model: 'openai/gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'hello' }] }),
      });
      await response.body.text();
      expect(response.statusCode).toBe(200);
      remaining.push(Number(response.headers['x-ratelimit-remaining-requests']));
    }
    // One instance: its own view is the shared one, optimistic or not.
    expect(remaining).toEqual(Array.from({ length: 30 }, (_, i) => 999 - i));
    const cluster = await (await request(`${instance.url}/api/cluster`)).body.json() as { shared_counters: { optimistic_admissions: number; optimistic_over_limit: number } };
    expect(cluster.shared_counters.optimistic_admissions).toBeGreaterThanOrEqual(20);
    expect(cluster.shared_counters.optimistic_over_limit).toBe(0);
    const redis = new Redis(url!);
    try {
      const deadline = Date.now() + 5_000;
      let spend: Record<string, string> = {};
      while (Date.now() < deadline) {
        spend = await redis.hgetall(`${prefix}{key:vk_file_far}:s:key:vk_file_far:0`);
        if (Number(spend.requests) === 30) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(Number(spend.requests)).toBe(30);
      expect(await redis.zcard(`${prefix}{key:vk_file_far}:c:key:vk_file_far:0:requests:s:60000:w`)).toBe(30);
      expect(await redis.zcard(`${prefix}{key:vk_file_far}:q`)).toBe(0);
    } finally {
      redis.disconnect();
    }
  }, 60_000);
});
