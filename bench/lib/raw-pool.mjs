// A lean HTTP/1.1 client for the load generator (`--client raw`): keep-alive connections on node:net, one
// request at a time per connection, the request's bytes built once, the response framed by its
// Content-Length. Undici's per-request work (its dispatcher, header objects, body streams) takes much of a
// core at 10,000 requests a second, on the same two cores as the target; this does the least a client can
// do, so an overloaded target is measured with more of the machine left to it.
//
// It serves the generator's non-stream requests only (a response framed by Content-Length; chunked
// responses are reported as errors). Same dispatch interface as undici's Pool, as load.mjs uses it:
// `dispatch(options, handler)` calls handler.onResponseStart(null, status), onResponseData(null, body),
// onResponseEnd() or onResponseError(null, error); `destroy()`. It also sets `handler.writtenAt` (a
// performance.now() time) when the request's bytes are written to its connection.
import { connect } from 'node:net';

const CRLFCRLF = Buffer.from('\r\n\r\n');
const TIMEOUT_CHECK_MS = 100;

function codedError(message, code) {
  const error = new Error(message);
  error.code = code;
  return error;
}

class Connection {
  constructor(pool) {
    this.pool = pool;
    this.handler = null;
    /** @type {[Buffer, object] | null} a request this connection sends before any queued one (preconnect) */
    this.first = null;
    this.sentAt = 0;
    this.buffered = null;
    this.closing = false;
    this.connected = false;
    this.socket = connect({ host: pool.host, port: pool.port });
    this.socket.setNoDelay(true);
    this.socket.on('connect', () => pool.ready(this));
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => this.onClose());
  }

  send(bytes, handler) {
    this.handler = handler;
    this.sentAt = performance.now();
    // The time its bytes go on the wire, after any wait in the pool's queue for a free connection.
    handler.writtenAt = this.sentAt;
    this.socket.write(bytes);
  }

  onData(chunk) {
    let data = this.buffered === null ? chunk : Buffer.concat([this.buffered, chunk]);
    this.buffered = null;
    while (data.length > 0) {
      const headEnd = data.indexOf(CRLFCRLF);
      if (headEnd < 0) break;
      const head = data.toString('latin1', 0, headEnd).toLowerCase();
      const status = Number(head.slice(9, 12));
      const lengthAt = head.indexOf('\r\ncontent-length:');
      if (lengthAt < 0) {
        this.fail(codedError('response without content-length', 'RAW_NO_CONTENT_LENGTH'));
        return;
      }
      const length = Number.parseInt(head.slice(lengthAt + 17), 10);
      const end = headEnd + 4 + length;
      if (data.length < end) break;
      if (head.includes('\r\nconnection: close')) this.closing = true;
      const handler = this.handler;
      this.handler = null;
      if (handler !== null) {
        handler.onResponseStart(null, status);
        if (length > 0) handler.onResponseData(null, data.subarray(headEnd + 4, end));
        handler.onResponseEnd();
      }
      data = data.subarray(end);
      if (this.closing) {
        this.socket.destroy();
        return;
      }
      this.pool.ready(this);
    }
    if (data.length > 0) this.buffered = data;
  }

  fail(error) {
    const handler = this.handler;
    this.handler = null;
    this.closing = true;
    this.socket.destroy();
    if (handler !== null) handler.onResponseError(null, error);
  }

  onClose() {
    this.closing = true;
    this.pool.closed(this);
    const handler = this.handler;
    this.handler = null;
    if (handler !== null) handler.onResponseError(null, codedError('socket closed', 'UND_ERR_SOCKET'));
  }
}

export class RawPool {
  /** @param {string} origin @param {{ connections?: number, timeoutMs?: number }} options */
  constructor(origin, { connections = 128, timeoutMs = 10_000 } = {}) {
    const url = new URL(origin);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
    this.hostHeader = url.host;
    this.maxConnections = connections;
    this.timeoutMs = timeoutMs;
    /** @type {Set<Connection>} */ this.open = new Set();
    /** @type {Connection[]} */ this.idle = [];
    /** @type {Array<[Buffer, object]>} */ this.queue = [];
    this.queueHead = 0;
    this.connecting = 0;
    /** @type {WeakMap<object, Buffer>} */ this.requests = new WeakMap();
    this.destroyed = false;
    this.timer = setInterval(() => this.expire(), TIMEOUT_CHECK_MS);
    this.timer.unref();
  }

  /** The request's bytes, built once per options object (the generator sends one request many times). */
  bytesOf(options) {
    let bytes = this.requests.get(options);
    if (bytes === undefined) {
      const body = options.body ?? Buffer.alloc(0);
      let head = `${options.method} ${options.path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n`;
      for (const [name, value] of Object.entries(options.headers ?? {})) head += `${name}: ${value}\r\n`;
      head += `content-length: ${body.length}\r\n\r\n`;
      bytes = Buffer.concat([Buffer.from(head, 'latin1'), body]);
      this.requests.set(options, bytes);
    }
    return bytes;
  }

  dispatch(options, handler) {
    const bytes = this.bytesOf(options);
    const idle = this.idle.pop();
    if (idle !== undefined) {
      idle.send(bytes, handler);
      return true;
    }
    this.queue.push([bytes, handler]);
    // Enough connections opening for what waits; the cap holds the rest in the queue (their wait counts).
    if (this.open.size < this.maxConnections && this.connecting < this.queue.length - this.queueHead) {
      this.connecting += 1;
      this.open.add(new Connection(this));
    }
    return true;
  }

  /** A connection is free (connected, or done with its response): it takes the next queued request. */
  ready(connection) {
    if (!connection.connected) {
      connection.connected = true;
      this.connecting -= 1;
    }
    if (this.destroyed || connection.closing) return;
    if (connection.first !== null) {
      // A preconnected connection sends its own request first (preconnect()).
      const [bytes, handler] = connection.first;
      connection.first = null;
      connection.send(bytes, handler);
    } else if (this.queueHead < this.queue.length) {
      const [bytes, handler] = this.queue[this.queueHead];
      this.queue[this.queueHead] = undefined;
      this.queueHead += 1;
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.queueHead);
        this.queueHead = 0;
      }
      connection.send(bytes, handler);
    } else this.idle.push(connection);
  }

  closed(connection) {
    if (!connection.connected && this.open.has(connection)) this.connecting -= 1;
    this.open.delete(connection);
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    // Queued requests still need a connection.
    if (!this.destroyed && connection.connected && this.queueHead < this.queue.length && this.open.size < this.maxConnections) {
      this.connecting += 1;
      this.open.add(new Connection(this));
    }
  }

  /**
   * Opens `count` connections (up to the pool's cap) and sends one `GET path` on each, resolving when
   * every one has been answered (or failed): answered means the target has accepted the connection, so
   * a load started next does not wait in the target's accept queue for the connections it needs (a
   * server on libuv 1.45 or later accepts one connection per event-loop turn). Resolves with the number
   * answered. The connections then stay open and idle, like a balancer's pool.
   */
  preconnect(count, path = '/health') {
    const bytes = this.bytesOf({ method: 'GET', path, headers: {} });
    const wanted = Math.min(count, this.maxConnections) - this.open.size;
    if (wanted <= 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      let pending = wanted;
      let answered = 0;
      const done = (ok) => {
        if (ok) answered += 1;
        pending -= 1;
        if (pending === 0) resolve(answered);
      };
      for (let index = 0; index < wanted; index += 1) {
        const handler = {
          onResponseStart() {},
          onResponseData() {},
          onResponseEnd: () => done(true),
          onResponseError: () => done(false),
        };
        const connection = new Connection(this);
        connection.first = [bytes, handler];
        this.connecting += 1;
        this.open.add(connection);
      }
    });
  }

  /** Requests without an answer after timeoutMs on their connection fail as undici's headers timeout. */
  expire() {
    const now = performance.now();
    for (const connection of this.open) {
      if (connection.handler !== null && now - connection.sentAt > this.timeoutMs) {
        connection.fail(codedError('headers timeout', 'UND_ERR_HEADERS_TIMEOUT'));
      }
    }
  }

  async destroy() {
    this.destroyed = true;
    clearInterval(this.timer);
    for (const connection of this.open) connection.socket.destroy();
    this.open.clear();
    this.idle = [];
    this.queue = [];
    this.queueHead = 0;
  }
}
