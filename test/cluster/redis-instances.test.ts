/**
 * Cluster mode end to end: three `heimdall` processes (dist/cli.js) on
 * loopback, each with its own data dir, sharing budgets and rate limits
 * through the machine's Redis (HEIMDALL_TEST_REDIS_URL, a key prefix of this
 * run's own, deleted after). Requests are spread over the three:
 *
 *   - 200 concurrent requests against a budget that fits 10: spend over the
 *     budget by at most one request's cost, key and team charged alike;
 *   - a rate limit of 9 per minute admits exactly 9;
 *   - kill -9 of one instance under load: the other two answer every request,
 *     and the shared spend misses at most the killed one's requests in flight;
 *   - GET /api/cluster on any instance lists the three (address, version,
 *     uptime, load, heartbeat); the killed one drops out when its heartbeat expires.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, killChildren, removeDirs, startCli, type Cli } from '../support/cli.js';
import { HEARTBEAT_MS, HEARTBEAT_TTL_MS } from '../../src/cluster/instance-registry.js';
import { VERSION } from '../../src/version.js';
import { dropPrefix, testRedisUrl, uniquePrefix } from '../support/cluster-services.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';

const redisUrl = testRedisUrl('test/cluster/redis-instances.test.ts');
const prefix = uniquePrefix();
/** USD per million tokens: 0.1 per prompt token, 0.2 per completion token. */
const PRICE = { input: 100_000, output: 200_000 };
/** "hello there" is 2 prompt words; the mock answers "echo: hello there", 3 words: 2 × 0.1 + 3 × 0.2. */
const REQUEST_USD = 0.8;
const SECRETS = { budget: 'hk-cluster-budget-0123456789', limited: 'hk-cluster-limited-0123456789', load: 'hk-cluster-load-0123456789' };

let mock: MockUpstream;
let configDir: string;
let redis: Redis;
const instances: Cli[] = [];

function writeConfig(): string {
  const path = join(configDir, 'heimdall.json');
  writeFileSync(path, JSON.stringify({
    providers: { openai: { api_key: 'sk-upstream-0000', base_url: mock.openaiBaseUrl, max_retries: 0 } },
    redis: { key_prefix: prefix, timeout_ms: 2_000 },
    governance: {
      flush_interval_ms: 200,
      pricing: { 'openai/gpt-4o-mini': PRICE },
      teams: { eng: { budget: { max_usd: 1_000 } } },
      virtual_keys: {
        budget: { key: 'env.KEY_BUDGET', team: 'eng', budget: { max_usd: 10 * REQUEST_USD } },
        limited: { key: 'env.KEY_LIMITED', rate_limits: [{ requests: 9, window: '1m' }] },
        load: { key: 'env.KEY_LOAD' },
      },
    },
  }));
  return path;
}

async function chat(instance: Cli, secret: string): Promise<{ status: number; code?: string }> {
  try {
    const response = await request(`${instance.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: JSON.stringify({ model: 'openai/gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'hello there' }] }),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const json = await response.body.json() as { error?: { code?: string } };
    return { status: response.statusCode, code: json.error?.code };
  } catch (error) {
    return { status: 0, code: (error as Error).message };
  }
}

async function clusterView(instance: Cli): Promise<{ self: string; mode: string; data: Array<{ id: string; address: string; version: string; uptime_s: number; load: { in_flight: number; rss_bytes: number }; last_heartbeat_at: number }> }> {
  const response = await request(`${instance.url}/api/cluster`);
  return await response.body.json() as never;
}

async function spend(type: string, id: string, tag: string): Promise<{ spend: number; requests: number }> {
  const raw = await redis.hgetall(`${prefix}{${tag}}:s:${type}:${id}:0`);
  return { spend: Number(raw.spend ?? 0), requests: Number(raw.requests ?? 0) };
}

/** Settlements travel after their responses: polls until the figure stops moving (bounded). */
async function settled<T>(read: () => Promise<T>): Promise<T> {
  let last = JSON.stringify(await read());
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 150));
    const next = JSON.stringify(await read());
    if (next === last) break;
    last = next;
  }
  return read();
}

beforeAll(async () => {
  if (redisUrl === undefined) return;
  ensureBuilt();
  mock = await startMockUpstream();
  configDir = mkdtempSync(join(tmpdir(), 'heimdall-cluster-config-'));
  const config = writeConfig();
  redis = new Redis(redisUrl);
  const env = { HEIMDALL_REDIS_URL: redisUrl, KEY_BUDGET: SECRETS.budget, KEY_LIMITED: SECRETS.limited, KEY_LOAD: SECRETS.load };
  for (let i = 0; i < 3; i++) instances.push(await startCli(env, { args: ['--config', config], logLevel: 'warn' }));
}, 240_000); // the build of dist/ when it is stale, then three starts, on a loaded machine

afterAll(async () => {
  killChildren();
  removeDirs();
  if (redisUrl === undefined) return;
  redis.disconnect();
  await mock.close();
  rmSync(configDir, { recursive: true, force: true });
  await dropPrefix(redisUrl, prefix);
});

describe.skipIf(redisUrl === undefined)('three instances sharing Redis', () => {
  it('200 concurrent requests over three instances against a budget that fits 10: over the budget by at most one request', async () => {
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => chat(instances[i % 3], SECRETS.budget)));
    const ok = replies.filter((reply) => reply.status === 200).length;
    const others = replies.filter((reply) => reply.status !== 200);
    // Refused as spent (402), or held off by the reservations of calls in flight (429).
    expect(others.every((reply) => reply.status === 402 || (reply.status === 429 && reply.code === 'budget_reserved_in_flight'))).toBe(true);
    expect(ok).toBeGreaterThanOrEqual(1);
    const key = await settled(() => spend('key', 'vk_file_budget', 'team:team_file_eng'));
    const team = await spend('team', 'team_file_eng', 'team:team_file_eng');
    expect(key.requests).toBe(ok);
    expect(key.spend).toBeCloseTo(ok * REQUEST_USD, 9);
    expect(key.spend).toBeLessThanOrEqual(10 * REQUEST_USD + REQUEST_USD + 1e-9);
    expect(team).toEqual(key);
    // Spent: every instance refuses now with 402, whichever the request reaches.
    if (key.spend >= 10 * REQUEST_USD - 1e-9) {
      const after = await Promise.all(instances.map((instance) => chat(instance, SECRETS.budget)));
      expect(after.map((reply) => reply.status)).toEqual([402, 402, 402]);
    }
  }, 60_000);

  it('a rate limit of 9 per minute admits exactly 9 of 60 concurrent requests over three instances', async () => {
    const replies = await Promise.all(Array.from({ length: 60 }, (_, i) => chat(instances[i % 3], SECRETS.limited)));
    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(9);
    expect(replies.filter((reply) => reply.status === 429 && reply.code === 'rate_limit_exceeded')).toHaveLength(51);
  }, 60_000);

  it('GET /api/cluster on any instance lists the three, with address, version, uptime, load and last heartbeat', async () => {
    const views = await Promise.all(instances.map((instance) => clusterView(instance)));
    for (const [index, view] of views.entries()) {
      expect(view.mode).toBe('cluster');
      expect(view.data.map((entry) => entry.address).sort()).toEqual(instances.map((instance) => instance.url).sort());
      // The instance asked comes first.
      expect(view.data[0].address).toBe(instances[index].url);
      expect(view.data[0].id).toBe(view.self);
      for (const entry of view.data) {
        expect(entry.version).toBe(VERSION);
        expect(entry.uptime_s).toBeGreaterThanOrEqual(0);
        expect(entry.load.rss_bytes).toBeGreaterThan(10_000_000);
        expect(entry.last_heartbeat_at).toBeGreaterThan(Date.now() - HEARTBEAT_TTL_MS);
      }
    }
  });

  it('kill -9 of one instance under load: the other two answer every request; the shared spend misses only its requests in flight', async () => {
    const victim = instances[2];
    const results: Array<{ instance: number; status: number }> = [];
    let stop = false;
    const worker = async (index: number): Promise<void> => {
      while (!stop) {
        const reply = await chat(instances[index], SECRETS.load);
        results.push({ instance: index, status: reply.status });
        if (index === 2 && reply.status === 0) return; // its connection went with it
      }
    };
    const CONCURRENCY = 4;
    const workers = [0, 1, 2].flatMap((index) => Array.from({ length: CONCURRENCY }, () => worker(index)));
    await new Promise((resolve) => setTimeout(resolve, 800));
    victim.child.kill('SIGKILL');
    await victim.exited;
    await new Promise((resolve) => setTimeout(resolve, 800));
    stop = true;
    await Promise.all(workers);
    const survivors = results.filter((result) => result.instance !== 2);
    expect(survivors.length).toBeGreaterThan(10);
    expect(survivors.every((result) => result.status === 200)).toBe(true);
    const answered = results.filter((result) => result.status === 200).length;
    const charged = await settled(() => spend('key', 'vk_file_load', 'key:vk_file_load'));
    // Each answered request was charged once, but a request the victim answered just before it died may not have been.
    expect(charged.requests).toBeLessThanOrEqual(answered);
    expect(charged.requests).toBeGreaterThanOrEqual(answered - CONCURRENCY);
    expect(charged.spend).toBeCloseTo(charged.requests * REQUEST_USD, 9);
    // Admitted and never settled: at most the victim's requests in flight (their reservations lapse with the lease).
    expect(await redis.zcard(`${prefix}{key:vk_file_load}:q`)).toBeLessThanOrEqual(CONCURRENCY);
    // The cluster view forgets the killed instance once its heartbeat expires.
    const deadline = Date.now() + HEARTBEAT_TTL_MS + HEARTBEAT_MS * 2;
    let listed = (await clusterView(instances[0])).data.map((entry) => entry.address);
    while (listed.includes(victim.url) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      listed = (await clusterView(instances[0])).data.map((entry) => entry.address);
    }
    expect(listed.sort()).toEqual([instances[0].url, instances[1].url].sort());
  }, 60_000);
});
