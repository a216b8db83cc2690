/**
 * `heimdall start --workers 2` in cluster mode (docs/cluster.md, "--workers N in cluster mode"):
 * real processes (dist/cli.js) on loopback, one Postgres schema and one Redis key prefix of this
 * run's own. Instance A runs two worker processes, instance B one process; requests are sent to
 * a chosen worker of A over a connection that worker accepted (node:cluster hands each new
 * connection to the next worker; GET /api/cluster names the process that answered):
 *
 *   - a virtual key created through one worker is accepted by the other worker and by B; revoked
 *     through the other worker, it is refused by the first and by B;
 *   - the request logs of both workers land in Postgres, each request once;
 *   - a budget that fits 10 requests, 60 concurrent requests over both workers and B: over the
 *     budget by at most one request's cost, in the shared spend and in the requests admitted;
 *   - SIGTERM to A right after a burst: it exits 0, and every request's log is in Postgres;
 *   - with Postgres and no Redis: the same key travels between the workers, and a budget is
 *     exact across the two workers (the primary's ledger).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, killChildren, removeDirs, startCli, withTimeout, type Cli } from '../support/cli.js';
import { dropPrefix, testRedisUrl, uniquePrefix } from '../support/cluster-services.js';
import { freshSchema, testDatabaseUrl, type TestSchema } from '../support/pg-schema.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';

const databaseUrl = testDatabaseUrl('test/cluster/workers-shared.test.ts');
const redisUrl = testRedisUrl('test/cluster/workers-shared.test.ts');
const prefix = uniquePrefix();
const ENCRYPTION_KEY = 'workers-shared-encryption-key-for-tests-01';
/** USD per million tokens: 0.1 per prompt token, 0.2 per completion token. */
const PRICE = { input: 100_000, output: 200_000 };
/** "hello there" is 2 prompt words; the mock answers "echo: hello there", 3 words: 2 × 0.1 + 3 × 0.2. */
const REQUEST_USD = 0.8;
const SECRETS = { budget: 'hk-workers-budget-0123456789', load: 'hk-workers-load-0123456789' };

let mock: MockUpstream;
let configDir: string;

function writeConfig(name: string, withRedis: boolean): string {
  const path = join(configDir, `${name}.json`);
  writeFileSync(path, JSON.stringify({
    providers: { openai: { api_key: 'sk-upstream-0000', base_url: mock.openaiBaseUrl, max_retries: 0 } },
    ...(withRedis ? { redis: { key_prefix: prefix, timeout_ms: 2_000 } } : {}),
    governance: {
      flush_interval_ms: 200,
      pricing: { 'openai/gpt-4o-mini': PRICE },
      virtual_keys: {
        budget: { key: 'env.KEY_BUDGET', budget: { max_usd: 10 * REQUEST_USD } },
        load: { key: 'env.KEY_LOAD' },
      },
    },
  }));
  return path;
}

interface Reply {
  status: number;
  json: Record<string, unknown>;
}

async function send(client: Client, method: 'GET' | 'POST', path: string, body?: unknown, secret?: string): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secret !== undefined) headers.authorization = `Bearer ${secret}`;
  const response = await client.request({ method, path, headers, body: body === undefined ? undefined : JSON.stringify(body), headersTimeout: 30_000, bodyTimeout: 30_000 });
  const text = await response.body.text();
  return { status: response.statusCode, json: text === '' ? {} : JSON.parse(text) as Record<string, unknown> };
}

const CHAT = { model: 'openai/gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'hello there' }] };

/** The pid of the process that answers on this client's connection. */
async function pidOf(client: Client): Promise<number> {
  const view = (await send(client, 'GET', '/api/cluster')).json as { self: string; data: Array<{ id: string; pid: number }> };
  return view.data.find((entry) => entry.id === view.self)!.pid;
}

/**
 * A connection to each worker of a `--workers N` instance: new connections until every worker has
 * answered one (node:cluster gives each new connection to the next worker). One connection per
 * client, kept alive; `on(index)` checks that the connection still reaches its worker before use.
 */
async function workerConnections(instance: Cli, count: number): Promise<{ pids: number[]; on(index: number): Promise<Client>; close(): Promise<void> }> {
  const clients = new Map<number, Client>();
  const spare: Client[] = [];
  const connect = async (): Promise<void> => {
    for (let attempt = 0; clients.size < count && attempt < 40; attempt++) {
      const client = new Client(instance.url, { pipelining: 1, keepAliveTimeout: 60_000 });
      const pid = await pidOf(client);
      if (clients.has(pid)) spare.push(client);
      else clients.set(pid, client);
    }
    if (clients.size < count) throw new Error(`only ${clients.size} of ${count} workers answered`);
  };
  await connect();
  const pids = [...clients.keys()];
  return {
    pids,
    async on(index) {
      const pid = pids[index];
      let client = clients.get(pid)!;
      // The server may have closed an idle connection: a new one may reach another worker.
      for (let attempt = 0; (await pidOf(client)) !== pid; attempt++) {
        if (attempt > 40) throw new Error(`worker ${pid} is not reachable`);
        spare.push(client);
        client = new Client(instance.url, { pipelining: 1, keepAliveTimeout: 60_000 });
        clients.set(pid, client);
      }
      return client;
    },
    async close() {
      await Promise.all([...clients.values(), ...spare].map((client) => client.close().catch(() => undefined)));
    },
  };
}

/** Waits for the primary's line that every worker listens. */
async function allWorkersUp(instance: Cli, workers: number): Promise<void> {
  await withTimeout((async () => {
    while (!instance.stderr().includes(`${workers} worker processes serving`)) await new Promise((resolve) => setTimeout(resolve, 50));
  })(), 30_000, 'every worker listening');
}

/** Polls until `check` holds (bounded). */
async function until(check: () => Promise<boolean>, limitMs = 10_000, everyMs = 50): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

async function chatStatus(client: Client, secret: string): Promise<number> {
  return (await send(client, 'POST', '/v1/chat/completions', CHAT, secret)).status;
}

async function logCount(schema: TestSchema, keyId: string): Promise<{ rows: number; ids: number }> {
  const result = await schema.pool.query<{ rows: string; ids: string }>('SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM request_logs WHERE virtual_key_id = $1', [keyId]);
  return { rows: Number(result.rows[0].rows), ids: Number(result.rows[0].ids) };
}

beforeAll(async () => {
  if (databaseUrl === undefined) return;
  ensureBuilt();
  mock = await startMockUpstream();
  configDir = mkdtempSync(join(tmpdir(), 'heimdall-workers-config-'));
}, 240_000);

afterAll(async () => {
  killChildren();
  removeDirs();
  await mock?.close();
  if (configDir !== undefined) rmSync(configDir, { recursive: true, force: true });
  if (redisUrl !== undefined) await dropPrefix(redisUrl, prefix);
});

describe.skipIf(databaseUrl === undefined || redisUrl === undefined)('--workers 2 with Postgres and Redis, beside a second instance', () => {
  let schema: TestSchema;
  let a: Cli;
  let b: Cli;
  let workers: Awaited<ReturnType<typeof workerConnections>>;
  let onB: Client;
  let redis: Redis;

  beforeAll(async () => {
    schema = await freshSchema(databaseUrl!);
    redis = new Redis(redisUrl!);
    const config = writeConfig('shared', true);
    const env = { HEIMDALL_DATABASE_URL: schema.url, HEIMDALL_REDIS_URL: redisUrl!, HEIMDALL_ENCRYPTION_KEY: ENCRYPTION_KEY, KEY_BUDGET: SECRETS.budget, KEY_LOAD: SECRETS.load };
    a = await startCli(env, { args: ['--config', config, '--workers', '2'], logLevel: 'warn', bannerTimeoutMs: 60_000 });
    await allWorkersUp(a, 2);
    b = await startCli(env, { args: ['--config', config], logLevel: 'warn', bannerTimeoutMs: 60_000 });
    workers = await workerConnections(a, 2);
    onB = new Client(b.url, { pipelining: 1 });
  }, 120_000);

  afterAll(async () => {
    await workers?.close();
    await onB?.close().catch(() => undefined);
    redis?.disconnect();
    killChildren();
    await schema?.drop();
  });

  it('a key created through one worker is accepted by the other and by a second instance; revoked through the other, refused everywhere', async () => {
    const created = await send(await workers.on(0), 'POST', '/api/virtual-keys', { name: 'travelling' });
    expect(created.status).toBe(201);
    const secret = created.json.key as string;
    expect(await chatStatus(await workers.on(0), secret)).toBe(200);
    await until(async () => (await chatStatus(await workers.on(1), secret)) === 200);
    await until(async () => (await chatStatus(onB, secret)) === 200);

    const revoked = await send(await workers.on(1), 'POST', `/api/virtual-keys/${created.json.id as string}/revoke`);
    expect(revoked.status).toBe(200);
    expect(await chatStatus(await workers.on(1), secret)).toBe(401);
    await until(async () => (await chatStatus(await workers.on(0), secret)) === 401);
    await until(async () => (await chatStatus(onB, secret)) === 401);
    const row = await schema.pool.query<{ status: string }>('SELECT status FROM virtual_keys WHERE id = $1', [created.json.id]);
    expect(row.rows[0].status).toBe('revoked');
    // Each write pushed once (by the leader alone), both under the one origin of A's data dir: A's
    // workers do not take a change written through the other for another instance's.
    const changes = await schema.pool.query<{ origin: string; row_data: string }>(`SELECT origin, row_data FROM config_changes WHERE table_name = 'virtual_keys' AND pk = $1 ORDER BY version`, [JSON.stringify([created.json.id])]);
    expect(changes.rows.map((change) => (JSON.parse(change.row_data) as { status: string }).status)).toEqual(['active', 'revoked']);
    expect(new Set(changes.rows.map((change) => change.origin)).size).toBe(1);
  }, 60_000);

  it('the cluster view lists each worker of A, at A\'s address, and B', async () => {
    await until(async () => {
      const view = (await send(onB, 'GET', '/api/cluster')).json as { data: Array<{ pid: number; address: string }> };
      return view.data.length === 3;
    });
    const view = (await send(await workers.on(0), 'GET', '/api/cluster')).json as { data: Array<{ pid: number; address: string }> };
    const ofA = view.data.filter((entry) => workers.pids.includes(entry.pid));
    expect(ofA.map((entry) => entry.address)).toEqual([a.url, a.url]);
    expect(view.data.find((entry) => !workers.pids.includes(entry.pid))!.address).toBe(b.url);
  }, 30_000);

  it('the request logs of both workers land in Postgres, each request once', async () => {
    const perWorker = 15;
    for (let index = 0; index < 2; index++) {
      const client = await workers.on(index);
      const statuses = await Promise.all(Array.from({ length: perWorker }, () => chatStatus(client, SECRETS.load)));
      expect(statuses.every((status) => status === 200)).toBe(true);
    }
    await until(async () => (await logCount(schema, 'vk_file_load')).rows >= 2 * perWorker, 15_000, 200);
    // Written once each: a second writer of the same records would show within the writers' next flushes.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await logCount(schema, 'vk_file_load')).toEqual({ rows: 2 * perWorker, ids: 2 * perWorker });
  }, 60_000);

  it('a budget that fits 10: 60 concurrent requests over both workers and the other instance spend at most one request over it', async () => {
    const targets = [await workers.on(0), await workers.on(1), onB];
    const statuses = await Promise.all(Array.from({ length: 60 }, (_, i) => chatStatus(targets[i % 3], SECRETS.budget)));
    const admitted = statuses.filter((status) => status === 200).length;
    expect(statuses.every((status) => status === 200 || status === 402 || status === 429)).toBe(true);
    expect(admitted).toBeGreaterThanOrEqual(10);
    expect(admitted).toBeLessThanOrEqual(11);
    let spend = 0;
    await until(async () => {
      const raw = await redis.hgetall(`${prefix}{key:vk_file_budget}:s:key:vk_file_budget:0`);
      spend = Number(raw.spend ?? 0);
      return Math.abs(spend - admitted * REQUEST_USD) < 1e-6;
    }, 10_000, 100);
    expect(spend).toBeLessThanOrEqual(10 * REQUEST_USD + REQUEST_USD + 1e-9);
  }, 60_000);

  it('SIGTERM right after a burst: both workers drain, the primary exits 0, and every request is logged once', async () => {
    const before = (await logCount(schema, 'vk_file_load')).rows;
    const clients = [await workers.on(0), await workers.on(1)];
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => chatStatus(clients[i % 2], SECRETS.load)));
    expect(statuses.every((status) => status === 200)).toBe(true);
    await workers.close();
    a.child.kill('SIGTERM');
    const exit = await withTimeout(a.exited, 20_000, 'the primary exiting');
    expect(exit.code).toBe(0);
    expect(await logCount(schema, 'vk_file_load')).toEqual({ rows: before + 40, ids: before + 40 });
  }, 60_000);
});

describe.skipIf(databaseUrl === undefined)('--workers 2 with Postgres, without Redis', () => {
  let schema: TestSchema;
  let a: Cli;
  let workers: Awaited<ReturnType<typeof workerConnections>>;

  beforeAll(async () => {
    schema = await freshSchema(databaseUrl!);
    const config = writeConfig('postgres-only', false);
    const env = { HEIMDALL_DATABASE_URL: schema.url, HEIMDALL_ENCRYPTION_KEY: ENCRYPTION_KEY, KEY_BUDGET: SECRETS.budget, KEY_LOAD: SECRETS.load };
    a = await startCli(env, { args: ['--config', config, '--workers', '2'], logLevel: 'warn', bannerTimeoutMs: 60_000 });
    await allWorkersUp(a, 2);
    workers = await workerConnections(a, 2);
  }, 120_000);

  afterAll(async () => {
    await workers?.close();
    killChildren();
    await schema?.drop();
  });

  it('a key created through one worker is accepted by the other, and Postgres holds it', async () => {
    const created = await send(await workers.on(1), 'POST', '/api/virtual-keys', { name: 'one-machine' });
    expect(created.status).toBe(201);
    await until(async () => (await chatStatus(await workers.on(0), created.json.key as string)) === 200);
    await until(async () => (await schema.pool.query('SELECT 1 FROM virtual_keys WHERE id = $1', [created.json.id])).rowCount === 1);
  }, 60_000);

  it('a budget that fits 10 is exact across the two workers, and each request is logged once', async () => {
    const clients = [await workers.on(0), await workers.on(1)];
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => chatStatus(clients[i % 2], SECRETS.budget)));
    const admitted = statuses.filter((status) => status === 200).length;
    expect(admitted).toBeGreaterThanOrEqual(10);
    expect(admitted).toBeLessThanOrEqual(11);
    await until(async () => (await logCount(schema, 'vk_file_budget')).rows >= 40, 15_000, 200);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Refused requests are logged too: one row per request, whichever worker answered it.
    expect(await logCount(schema, 'vk_file_budget')).toEqual({ rows: 40, ids: 40 });
  }, 60_000);
});
