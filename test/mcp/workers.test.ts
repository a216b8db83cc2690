/**
 * /mcp sessions with `--workers N`: two gateway apps on one data dir, each with the worker
 * runtime a cluster worker gets (as test/cluster/shared-ledger.test.ts builds them), each
 * connected to its own server-everything process. A session opened on one worker is served by
 * the other (the SDK's client with every request sent to the next worker, as a balancer without
 * affinity does); it stays its key's; a DELETE through one worker ends it on both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { LedgerHost, type LedgerPeer } from '../../src/cluster/ledger-host.js';
import type { LedgerBatch, PrimaryMessage } from '../../src/cluster/messages.js';
import { RemoteLedger } from '../../src/cluster/remote-ledger.js';
import type { WorkerRuntime } from '../../src/cluster/worker.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { EVERYTHING, stdioServer, textOf, waitForStatus } from './support.js';

const KEY = 'hk-mcp-workers-test-key-0001';
const OTHER = 'hk-mcp-workers-test-key-0002';

interface Worker {
  app: FastifyInstance;
  url: string;
}

describe('/mcp sessions across worker processes', () => {
  let dataDir: string;
  let host: LedgerHost;
  const workers: Worker[] = [];

  async function startWorker(index: number): Promise<Worker> {
    const config = loadConfig({
      env: {},
      config: {
        governance: { virtual_keys: { dev: { key: KEY }, other: { key: OTHER } } },
        mcp: { servers: { everything: stdioServer(EVERYTHING, ['stdio']) } },
      },
      overrides: { port: 0, host: '127.0.0.1', dataDir, logLevel: 'warn' },
    });
    let peer!: LedgerPeer;
    const ledger = new RemoteLedger({ send: (batch: LedgerBatch) => {
      const message = JSON.parse(JSON.stringify(batch)) as LedgerBatch;
      setImmediate(() => host.handle(message, peer));
    } });
    peer = { index, send: (message: PrimaryMessage) => setImmediate(() => {
      if (message.hd === 'decisions') ledger.onDecisions(message);
      else if (message.hd === 'persist') ledger.onPersist(message);
    }) };
    const runtime: WorkerRuntime = {
      index,
      group: 'test',
      ledger,
      metricsText: async () => ({ text: '', contentType: 'text/plain' }),
      announceStoreChange: () => undefined,
      onStoreChanged: () => undefined,
      setRegistry: () => undefined,
    };
    const logger = createLogger({ level: 'warn', destination: new Writable({ write: (_chunk, _encoding, callback) => callback() }) });
    const app = await buildApp(config, { logger, processMetrics: false, cluster: runtime, management: { store: { retention: false }, watchConfig: false } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    return { app, url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}` };
  }

  /** The SDK's client; each of its HTTP requests goes to the next worker in turn. */
  async function roundRobinClient(key: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport; served: string[] }> {
    const served: string[] = [];
    let next = 0;
    const fetchNext = (url: string | URL, init?: RequestInit): Promise<Response> => {
      const worker = workers[next++ % workers.length];
      served.push(worker.url);
      const target = new URL(String(url));
      return fetch(`${worker.url}${target.pathname}${target.search}`, init);
    };
    const transport = new StreamableHTTPClientTransport(new URL(`${workers[0].url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } }, fetch: fetchNext });
    const client = new Client({ name: 'round-robin', version: '1.0.0' });
    await client.connect(transport);
    return { client, transport, served };
  }

  const rawCall = (worker: Worker, key: string, sessionId: string, id: number) => fetch(`${worker.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${key}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list', params: {} }),
  });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'heimdall-mcp-workers-'));
    host = new LedgerHost();
    workers.push(await startWorker(0));
    workers.push(await startWorker(1));
    await Promise.all(workers.map((worker) => waitForStatus(worker.app, 'everything', 'ready')));
  }, 90_000);

  afterAll(async () => {
    for (const worker of workers) await worker.app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves a session on every worker, whichever opened it', async () => {
    const { client, transport, served } = await roundRobinClient(KEY);
    const sessionId = transport.sessionId!;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    for (let i = 0; i < 4; i++) {
      const result = await client.callTool({ name: 'everything__echo', arguments: { message: `turn ${i}` } });
      expect(textOf(result)).toBe(`Echo: turn ${i}`);
    }
    // Requests went to both workers, and both now hold the session.
    expect(new Set(served).size).toBe(2);
    for (const worker of workers) expect(worker.app.mcp.endpoint.sessionCount).toBeGreaterThanOrEqual(1);
    // The session stays its key's on every worker.
    expect((await rawCall(workers[1], OTHER, sessionId, 90)).status).toBe(404);
    expect((await rawCall(workers[1], KEY, sessionId, 91)).status).toBe(200);

    // A DELETE through one worker ends it on the other too.
    await transport.terminateSession();
    await client.close();
    for (const worker of workers) expect((await rawCall(worker, KEY, sessionId, 92)).status).toBe(404);
  });

  it('does not take up a session id nobody opened', async () => {
    expect((await rawCall(workers[1], KEY, '00000000-0000-4000-8000-000000000000', 1)).status).toBe(404);
  });
});
