// The generator's lean client (--client raw) against a real node:http server on loopback: statuses and
// bodies as sent, keep-alive reuse, `Connection: close` honoured, a silent server timed out, and the
// same figures through runLoad as undici's pool gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { RawPool } from '../lib/raw-pool.mjs';
import { createPool, runLoad } from '../load.mjs';

async function serve(handler) {
  const server = createServer(handler);
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${server.address().port}/v1/chat/completions`, server, sockets };
}

function request(pool, options) {
  return new Promise((resolve) => {
    const handler = {
      status: 0,
      body: [],
      onResponseStart(_controller, status) {
        this.status = status;
      },
      onResponseData(_controller, chunk) {
        this.body.push(Buffer.from(chunk));
      },
      onResponseEnd() {
        resolve({ status: this.status, body: Buffer.concat(this.body).toString() });
      },
      onResponseError(_controller, error) {
        resolve({ error: error.code });
      },
    };
    pool.dispatch(options, handler);
  });
}

const post = (body) => ({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from(body) });

test('statuses, bodies and headers arrive as sent; one kept-alive connection serves requests in turn; Connection: close is honoured', async () => {
  const seen = [];
  const { url, server } = await serve((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ port: req.socket.remotePort, body, type: req.headers['content-type'] });
      if (body === 'chunked') {
        res.write('part');
        res.end();
      } else if (body === 'refuse') {
        res.writeHead(503, { 'content-type': 'application/json', 'content-length': 22, 'retry-after': '1', connection: 'close' });
        res.end('{"error":"overloaded"}');
      } else res.end(`echo ${body}`);
    });
  });
  const pool = new RawPool(new URL(url).origin, { connections: 1, timeoutMs: 2000 });
  try {
    assert.deepEqual(await request(pool, post('one')), { status: 200, body: 'echo one' });
    assert.deepEqual(await request(pool, post('two')), { status: 200, body: 'echo two' });
    assert.equal(seen[0].port, seen[1].port, 'the second request reused the connection');
    assert.equal(seen[0].type, 'application/json');
    assert.deepEqual(await request(pool, post('refuse')), { status: 503, body: '{"error":"overloaded"}' });
    assert.deepEqual(await request(pool, post('three')), { status: 200, body: 'echo three' });
    assert.notEqual(seen[3].port, seen[2].port, 'a new connection after Connection: close');
    // Queued behind a busy single connection: all answered, in order.
    const answers = await Promise.all(['a', 'b', 'c'].map((body) => request(pool, post(body))));
    assert.deepEqual(answers.map((answer) => answer.body), ['echo a', 'echo b', 'echo c']);
    // A response it cannot frame (chunked, no Content-Length) is an error, not a success.
    assert.deepEqual(await request(pool, post('chunked')), { error: 'RAW_NO_CONTENT_LENGTH' });
  } finally {
    await pool.destroy();
    server.close();
  }
});

test('a request without an answer fails as a headers timeout', async () => {
  const { url, server, sockets } = await serve(() => undefined);
  const pool = new RawPool(new URL(url).origin, { connections: 2, timeoutMs: 300 });
  try {
    const started = performance.now();
    assert.deepEqual(await request(pool, post('x')), { error: 'UND_ERR_HEADERS_TIMEOUT' });
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 300 && elapsed < 1500, `timed out after ${elapsed} ms`);
  } finally {
    await pool.destroy();
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});

test('runLoad with the raw client counts successes, 503s and their latency as with undici', async () => {
  let n = 0;
  const { url, server } = await serve((req, res) => {
    req.resume();
    req.on('end', () => {
      n += 1;
      if (n % 4 === 0) {
        res.writeHead(503, { 'content-length': 22, 'retry-after': '1' });
        res.end('{"error":"overloaded"}');
      } else res.end('{"ok":true}');
    });
  });
  try {
    for (const client of ['raw', 'undici']) {
      n = 0;
      const pool = createPool(url, { connections: 8, timeoutMs: 2000, client });
      const result = await runLoad({ url, rate: 400, durationS: 0.5, body: Buffer.from('{}'), pool, client });
      await pool.destroy();
      assert.equal(result.sent, 200, client);
      assert.equal(result.success, 150, client);
      assert.equal(result.errorKinds.http_503, 50, client);
      assert.equal(result.refused.count, 50, client);
      assert.equal(result.timeouts, 0, client);
      assert.ok(result.loopDelay.p99 >= 0 && Number.isFinite(result.loopDelay.max), client);
    }
  } finally {
    server.close();
  }
});

test('raw client: the latency from the write leaves out the wait in the pool for a free connection; undici reports none', async () => {
  const { url, server } = await serve((req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.end('{"ok":true}'), 40));
  });
  try {
    // One connection, each answer 40 ms after its request: 25 a second at most, 50 a second offered.
    const pool = createPool(url, { connections: 1, timeoutMs: 5000, client: 'raw' });
    const result = await runLoad({ url, rate: 50, durationS: 0.4, body: Buffer.from('{}'), pool, client: 'raw' });
    await pool.destroy();
    assert.equal(result.success, 20);
    assert.equal(result.wire.count, 20);
    assert.ok(result.wire.p50 >= 40_000 && result.wire.p99 < 150_000, `from the write: ${result.wire.p50} / ${result.wire.p99} µs`);
    // The last requests waited for the connection behind the others: hundreds of ms from their intended time.
    assert.ok(result.latency.p99 > 300_000, `from the intended time: ${result.latency.p99} µs`);
    const undici = createPool(url, { connections: 4, timeoutMs: 5000, client: 'undici' });
    const viaUndici = await runLoad({ url, rate: 50, durationS: 0.2, body: Buffer.from('{}'), pool: undici, client: 'undici' });
    await undici.destroy();
    assert.equal(viaUndici.success, 10);
    assert.equal(viaUndici.wire.count, 0);
  } finally {
    server.close();
  }
});

test('preconnect opens the connections, sends one GET /health on each, and the load reuses them without opening more', async () => {
  const healthPorts = [];
  const chatPorts = new Set();
  const { url, server, sockets } = await serve((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/health') healthPorts.push(req.socket.remotePort);
      else chatPorts.add(req.socket.remotePort);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
      res.end('{}');
    });
  });
  const pool = new RawPool(new URL(url).origin, { connections: 8 });
  try {
    assert.equal(await pool.preconnect(8), 8);
    assert.equal(healthPorts.length, 8);
    assert.equal(new Set(healthPorts).size, 8, 'one /health per connection');
    assert.equal(sockets.size, 8);
    assert.equal(await pool.preconnect(8), 0, 'nothing more to open');
    const replies = await Promise.all(Array.from({ length: 20 }, () => request(pool, post('{}'))));
    assert.deepEqual(replies.map((reply) => reply.status), Array(20).fill(200));
    assert.equal(sockets.size, 8, 'no connection opened beyond the preconnected ones');
    for (const port of chatPorts) assert.ok(healthPorts.includes(port));
  } finally {
    await pool.destroy();
    server.close();
  }
});
