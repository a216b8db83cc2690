/**
 * Slow clients cannot hold connections: headers that never finish, a body that
 * trickles, headers and then silence, an idle keep-alive connection are all
 * closed after their timeout, on the fast lane's routes and on Fastify's alike;
 * a long stream to the client is not cut; one address cannot open more than
 * server.max_connections_per_client connections.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';

const HEADERS_TIMEOUT_MS = 400;
const REQUEST_TIMEOUT_MS = 800;
const KEEP_ALIVE_TIMEOUT_MS = 500;
const MAX_PER_CLIENT = 6;

let mock: MockUpstream;
let gateway: TestGateway;
let port: number;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startGateway({
    env: { OPENAI_API_KEY: 'sk-slow-clients-0123456789', OPENAI_BASE_URL: mock.openaiBaseUrl },
    config: {
      server: {
        headers_timeout_ms: HEADERS_TIMEOUT_MS,
        request_timeout_ms: REQUEST_TIMEOUT_MS,
        keep_alive_timeout_ms: KEEP_ALIVE_TIMEOUT_MS,
        max_connections_per_client: MAX_PER_CLIENT,
      },
    },
  });
  port = Number(new URL(gateway.url).port);
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});

interface Connection {
  socket: Socket;
  /** Everything the server wrote. */
  received(): string;
  /** Resolves with the ms from `since` to the close. */
  closed: Promise<number>;
}

async function open(since = Date.now()): Promise<Connection> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - since)));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, received: () => text, closed };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Fails the test if the connection is still open after `ms`. */
async function closedWithin(connection: Connection, ms: number): Promise<number> {
  return Promise.race([connection.closed, sleep(ms).then(() => Promise.reject(new Error(`still open after ${ms} ms; got: ${connection.received()}`)))]);
}

describe('slow clients are cut off', () => {
  it('a request line and half the headers, then nothing: 408 and closed after headers_timeout_ms', async () => {
    const connection = await open();
    connection.socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: app');
    const elapsed = await closedWithin(connection, HEADERS_TIMEOUT_MS + 1500);
    expect(elapsed).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(connection.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a connection that sends nothing at all is closed too', async () => {
    const connection = await open();
    const elapsed = await closedWithin(connection, HEADERS_TIMEOUT_MS + 1500);
    expect(elapsed).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
  });

  it.each([
    ['the fast lane (Content-Length)', 'content-length: 200\r\n'],
    ['Fastify (chunked)', 'transfer-encoding: chunked\r\n'],
  ])('%s: a body that trickles a byte every 100 ms is cut at request_timeout_ms with 408; no upstream call', async (_name, framing) => {
    mock.reset();
    const connection = await open();
    connection.socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n${framing}\r\n`);
    const chunked = framing.startsWith('transfer');
    const trickle = setInterval(() => {
      if (!connection.socket.writable) return;
      connection.socket.write(chunked ? '1\r\n{\r\n' : '{');
    }, 100);
    try {
      const elapsed = await closedWithin(connection, REQUEST_TIMEOUT_MS + 1500);
      expect(elapsed).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    } finally {
      clearInterval(trickle);
    }
    expect(connection.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(mock.requests).toHaveLength(0);
  });

  it('headers with a Content-Length and then silence: cut at request_timeout_ms', async () => {
    const connection = await open();
    connection.socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 50\r\n\r\n');
    const elapsed = await closedWithin(connection, REQUEST_TIMEOUT_MS + 1500);
    expect(elapsed).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    expect(connection.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('an idle keep-alive connection after an answer is closed after keep_alive_timeout_ms', async () => {
    const connection = await open();
    connection.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    while (!connection.received().includes('\r\n\r\n')) await sleep(10);
    const answered = Date.now();
    expect(connection.received()).toMatch(/^HTTP\/1\.1 200 /);
    await closedWithin(connection, KEEP_ALIVE_TIMEOUT_MS + 1500);
    expect(Date.now() - answered).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT_MS - 100);
  });
});

describe('answers are not limited by the request timeouts', () => {
  it('a stream that lasts longer than request_timeout_ms (slow upstream) reaches the client whole', async () => {
    mock.reset();
    // 12 chunks 150 ms apart: the answer takes over twice the request timeout.
    mock.route('POST', /^\/v1\/chat\/completions$/, async (context) => {
      const response = context.response;
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 12; i++) {
        response.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: `w${i} ` }, finish_reason: null }] })}\n\n`);
        await sleep(150);
      }
      response.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 12, total_tokens: 15 } })}\n\ndata: [DONE]\n\n`);
      response.end();
    });
    const started = Date.now();
    const reply = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await reply.text();
    expect(reply.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThan(REQUEST_TIMEOUT_MS * 2);
    for (let i = 0; i < 12; i++) expect(text).toContain(`w${i} `);
    expect(text).toContain('data: [DONE]');
    mock.reset();
  });
});

describe('connections per client address', () => {
  it(`the ${MAX_PER_CLIENT + 1}th open connection is answered 429 (too_many_connections, Retry-After) and closed; one frees a place`, async () => {
    const held: Connection[] = [];
    for (let i = 0; i < MAX_PER_CLIENT; i++) {
      const connection = await open();
      // Keep each alive past the timeouts by finishing a request on it.
      connection.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      held.push(connection);
    }
    for (const connection of held) while (!connection.received().includes('\r\n\r\n')) await sleep(5);
    const extra = await open();
    extra.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await closedWithin(extra, 2000);
    const answer = extra.received();
    expect(answer).toMatch(/^HTTP\/1\.1 429 /);
    expect(answer).toMatch(/\r\nretry-after: 1\r\n/);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('too_many_connections');
    expect(body.error.message).toContain('server.max_connections_per_client');
    expect(answer.match(/HTTP\/1\.1/g)).toHaveLength(1); // the request it sent was not served
    // One closes: a new connection is served.
    held[0].socket.destroy();
    await held[0].closed;
    const next = await open();
    next.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nconnection: close\r\n\r\n');
    await closedWithin(next, 2000);
    expect(next.received()).toMatch(/^HTTP\/1\.1 200 /);
    for (const connection of held) connection.socket.destroy();
    expect(gateway.logs().some((line) => line.msg === 'connection refused: too many open connections from one address' && line.remote_address === '127.0.0.1')).toBe(true);
  });
});
