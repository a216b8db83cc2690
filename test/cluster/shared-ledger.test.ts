/**
 * `--workers N` correctness: two gateway apps on one data dir, each with the
 * worker runtime a cluster worker gets, talking to one LedgerHost (the
 * primary's ledger) over channels that copy every message through JSON on a
 * later turn, as node:cluster's IPC does. Budgets and rate limits hold across
 * the two; a virtual key created through one is served by the other; the
 * leader writes the spend.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { LedgerHost, type LedgerPeer } from '../../src/cluster/ledger-host.js';
import type { LedgerBatch, PrimaryMessage } from '../../src/cluster/messages.js';
import { RemoteLedger } from '../../src/cluster/remote-ledger.js';
import type { WorkerRuntime } from '../../src/cluster/worker.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { Writable } from 'node:stream';

/** USD per million tokens: $1 per million prompt tokens, $2 per million completion tokens. */
const PRICE = { input: 1, output: 2 };
const KEY_SECRET = 'hk-cluster-test-0123456789';

interface Worker {
  app: FastifyInstance;
  url: string;
  ledger: RemoteLedger;
  peer: LedgerPeer;
}

const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

let mock: MockUpstream;
let dataDir: string;
let host: LedgerHost;
const workers: Worker[] = [];
const storeListeners: Array<Array<() => void>> = [];

async function startWorker(index: number): Promise<Worker> {
  const config = loadConfig({
    env: { CLUSTER_TEST_KEY: KEY_SECRET },
    config: {
      limits: { capacity_target_delay_ms: 0 }, // this process's loop carries both workers, the mock and the clients
      providers: { openai: { api_key: 'sk-upstream-0000', base_url: mock.openaiBaseUrl, max_retries: 0 } },
      governance: {
        flush_interval_ms: 50,
        pricing: { 'openai/gpt-4o-mini': PRICE },
        virtual_keys: { shared: { key: 'env.CLUSTER_TEST_KEY', rate_limits: [{ requests: 5, window: '1h' }] } },
      },
    },
    overrides: { port: 0, host: '127.0.0.1', dataDir, logLevel: 'warn' },
  });
  // Worker -> primary: one message per batch, copied, handled on a later turn.
  let peer!: LedgerPeer;
  const ledger = new RemoteLedger({ send: (batch: LedgerBatch) => {
    const message = copy(batch);
    setImmediate(() => host.handle(message, peer));
  } });
  // Primary -> worker.
  peer = { index, send: (message: PrimaryMessage) => {
    const delivered = copy(message);
    setImmediate(() => {
      if (delivered.hd === 'decisions') ledger.onDecisions(delivered);
      else if (delivered.hd === 'persist') ledger.onPersist(delivered);
    });
  } };
  storeListeners[index] = [];
  const runtime: WorkerRuntime = {
    index,
    group: 'test',
    ledger,
    metricsText: async () => ({ text: '', contentType: 'text/plain' }),
    announceStoreChange: () => {
      storeListeners.forEach((listeners, other) => {
        if (other !== index) setImmediate(() => listeners.forEach((listener) => listener()));
      });
    },
    onStoreChanged: (listener) => storeListeners[index].push(listener),
    setRegistry: () => undefined,
  };
  const logger = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const app = await buildApp(config, { logger, processMetrics: false, cluster: runtime, management: { store: { retention: false }, watchConfig: false } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { app, url: `http://127.0.0.1:${port}`, ledger, peer };
}

async function call(method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await request(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, json: text === '' ? undefined : JSON.parse(text) };
}

const chat = (content: string) => ({ model: 'openai/gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content }] });

beforeAll(async () => {
  mock = await startMockUpstream();
  dataDir = mkdtempSync(join(tmpdir(), 'heimdall-cluster-'));
  host = new LedgerHost();
  // The first worker creates and migrates the database; the second opens it after (as the primary forks them).
  workers.push(await startWorker(0));
  workers.push(await startWorker(1));
});

afterAll(async () => {
  for (const worker of workers) await worker.app.close();
  await mock.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('two workers, one ledger', () => {
  it('a rate limit of 5 per window holds across workers: 12 concurrent requests, exactly 5 pass', async () => {
    const headers = { authorization: `Bearer ${KEY_SECRET}` };
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => call('POST', `${workers[i % 2].url}/v1/chat/completions`, chat(`r${i}`), headers)));
    const statuses = replies.map((reply) => reply.status).sort();
    expect(statuses.filter((status) => status === 200)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(7);
    // Both workers served some and refused some: the limit is one count, not one per worker.
    expect(new Set(replies.filter((r) => r.status === 200).map((_, i) => i % 2)).size).toBeGreaterThan(0);
    const refused = replies.find((reply) => reply.status === 429)!;
    expect(refused.json.error.code).toBe('rate_limit_exceeded');
    expect(refused.headers['x-ratelimit-remaining-requests']).toBe('0');
  });

  it('a tiny budget: 30 concurrent requests through both workers overspend by at most one request', async () => {
    // A key made through worker 0's management API; worker 1 learns of it from the store-change notice.
    const created = await call('POST', `${workers[0].url}/api/virtual-keys`, { name: 'tiny', budget: { max_usd: 0.0001 } });
    expect(created.status).toBe(201);
    const secret = created.json.key as string;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const first = await call('POST', `${workers[1].url}/v1/chat/completions`, chat('probe'), { authorization: `Bearer ${secret}` });
    expect(first.status).toBe(200);
    const oneRequestUsd = Number(first.json.usage.prompt_tokens) * 1 + Number(first.json.usage.completion_tokens) * 2;
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => call('POST', `${workers[i % 2].url}/v1/chat/completions`, chat('probe'), { authorization: `Bearer ${secret}` })));
    const ok = replies.filter((reply) => reply.status === 200).length;
    // 402 once spent; 429 budget_reserved_in_flight while only calls in flight hold the rest.
    expect(replies.every((reply) => reply.status === 200 || reply.status === 402
      || (reply.status === 429 && reply.json.error.code === 'budget_reserved_in_flight'))).toBe(true);
    expect(replies.some((reply) => reply.status === 402 || reply.status === 429)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the last settlements travel after their responses
    const account = host.ledger.account({ type: 'key', id: created.json.id, period: null, anchor: 0, limitUsd: 0.0001 }, Date.now());
    expect(account.spendUsd).toBeCloseTo((ok + 1) * oneRequestUsd * 1e-6, 12);
    expect(account.spendUsd).toBeLessThanOrEqual(0.0001 + oneRequestUsd * 1e-6 + 1e-12);
    expect(account.reservedUsd).toBe(0);
  });

  it('the leader writes the spend the primary pushes; every worker reads it', async () => {
    host.push([workers[0].peer, workers[1].peer]);
    await new Promise((resolve) => setTimeout(resolve, 150)); // the leader's 50 ms flush
    const rows = workers[1].app.store.db.prepare("SELECT entity_type, requests FROM spend WHERE entity_type = 'key'").all() as Array<{ requests: number }>;
    expect(rows.reduce((sum, row) => sum + row.requests, 0)).toBeGreaterThanOrEqual(5 + 1);
    const view = await call('GET', `${workers[1].url}/api/virtual-keys`);
    const shared = (view.json.data as Array<{ name: string; spend?: { requests?: number } }>).find((key) => key.name === 'shared');
    expect(shared).toBeDefined();
  });
});
