/**
 * A capacity refusal in a `--workers N` worker closes its connection (at most
 * one each CONNECTION_SHED_MS), so a client's busiest keep-alive connections
 * can be opened again and dealt to a sibling worker; in one process the
 * connection stays open (there is no one else to serve it). Over a real
 * socket: the refusal's `connection: close` header and the connections the
 * server saw.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { AdmissionGate } from '../../src/api/admission-gate.js';
import { Admission, CONNECTION_SHED_MS } from '../../src/gateway/admission.js';
import type { Metrics } from '../../src/telemetry/metrics.js';

const SETTINGS = { maxInFlight: 0, maxQueue: 0, queueTimeoutMs: 0, maxEventLoopDelayMs: 0, capacity: { targetDelayMs: 0, minRate: 1 } };

let server: Server | undefined;
let pool: Pool | undefined;

afterEach(async () => {
  await pool?.close();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = pool = undefined;
});

/** A server that refuses every request through the gate (the limit held near zero), and counts its connections. */
async function refusingServer(worker: boolean): Promise<{ url: string; connections: () => number; shed: () => number; admission: Admission }> {
  const admission = new Admission(SETTINGS);
  // Held by hand (the controller is off, so it never moves): about no request a second.
  admission.capacity.rate = 1e-9;
  admission.closeRefusedConnections = worker;
  let shed = 0;
  const gate = new AdmissionGate(admission, { requestShed: () => shed++ } as unknown as Metrics);
  let connections = 0;
  server = createServer((request, response) => {
    if (!gate.refuseOverCapacity(response, request.url ?? '/', 'openai', 'req-1')) response.end('admitted');
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, connections: () => connections, shed: () => shed, admission };
}

async function refusals(url: string, count: number): Promise<Array<{ status: number; connection: string | undefined }>> {
  pool = new Pool(url, { connections: 1, pipelining: 1 });
  const answers = [];
  for (let i = 0; i < count; i++) {
    const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', body: '{}' });
    await response.body.text();
    answers.push({ status: response.statusCode, connection: response.headers.connection as string | undefined });
    // Past the spacing: every refusal may close its connection.
    await new Promise((resolve) => setTimeout(resolve, CONNECTION_SHED_MS + 5));
  }
  return answers;
}

describe('capacity refusals and keep-alive connections', () => {
  it('a worker closes the connection of a refusal; the client opens a new one', async () => {
    const target = await refusingServer(true);
    const answers = await refusals(target.url, 3);
    expect(answers).toEqual([
      { status: 503, connection: 'close' },
      { status: 503, connection: 'close' },
      { status: 503, connection: 'close' },
    ]);
    expect(target.shed()).toBe(3);
    expect(target.connections()).toBe(3);
  });

  it('one process keeps the connection open', async () => {
    const target = await refusingServer(false);
    const answers = await refusals(target.url, 3);
    expect(answers.map((answer) => answer.status)).toEqual([503, 503, 503]);
    expect(answers.map((answer) => answer.connection)).toEqual(['keep-alive', 'keep-alive', 'keep-alive']);
    expect(target.connections()).toBe(1);
  });

  it('at most one connection closed each CONNECTION_SHED_MS', async () => {
    const admission = new Admission(SETTINGS);
    admission.closeRefusedConnections = true;
    const closes = [0, 1, CONNECTION_SHED_MS - 1, CONNECTION_SHED_MS, CONNECTION_SHED_MS + 1, 2 * CONNECTION_SHED_MS].map((now) => admission.closesConnection(now));
    expect(closes).toEqual([true, false, false, true, false, true]);
    admission.closeRefusedConnections = false;
    expect(admission.closesConnection(10 * CONNECTION_SHED_MS)).toBe(false);
  });
});
