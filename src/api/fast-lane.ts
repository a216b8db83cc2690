/**
 * The fast lane: the hot client routes (POST /v1/chat/completions and its
 * kin) served straight from node:http, without Fastify's per-request
 * machinery (router, Request/Reply objects, child logger, hook chains,
 * content-type parser). The profile showed that machinery at about a tenth
 * of the gateway's CPU per request; the lane runs the very same surface
 * handler, on small stand-ins for Fastify's request and reply.
 *
 * Everything unusual goes to Fastify untouched, so there is one behaviour
 * per case: another method or path, a query string, a body without
 * Content-Length (chunked) or above the live body limit, and every request
 * once the server is closing (Fastify answers 503). `app.inject()` never
 * reaches the lane (it calls Fastify's handler directly), so tests through
 * inject and through sockets see the same answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest, FastifyServerFactory } from 'fastify';
import type { Socket } from 'node:net';
import type { ConnectionSettings } from '../config/load.js';
import { GatewayError } from '../errors/gateway-error.js';
import { renderError, type ErrorFormat } from '../errors/render.js';
import type { Logger } from '../telemetry/logger.js';
import { isSecretValue } from '../telemetry/secrets.js';
import { uuidv7 } from '../gateway/request-id.js';
import { sendError, sendFailure } from './respond.js';
import type { AdmissionGate } from './admission-gate.js';

/** A route handler as Fastify calls it (surfaceHandler's shape). */
export type LaneHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

interface LaneRoute {
  url: string;
  surface: ErrorFormat;
  handler: LaneHandler;
  /** What its requests show as `routeOptions` (made once: they only read it). */
  options: { url: string; config: { surface: ErrorFormat } };
}

export const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * The caller's x-request-id when it is safe to echo and log (never a key sent there by mistake),
 * else a new time-ordered one (UUIDv7: the request log's primary-key index stays append-only, which
 * halved the measured insert cost per log row). Fastify's genReqId uses this too.
 */
export function requestIdOf(headers: IncomingMessage['headers']): string {
  const incoming = headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) && !isSecretValue(incoming) ? incoming : uuidv7();
}

/** The part of FastifyRequest the surface handlers read. */
class LaneRequest {
  readonly method = 'POST';
  readonly params = {};
  readonly routeOptions: { url: string; config: { surface: ErrorFormat } };
  constructor(
    readonly id: string,
    readonly raw: IncomingMessage,
    readonly body: Buffer | undefined,
    route: LaneRoute,
  ) {
    this.routeOptions = route.options;
  }

  get headers(): IncomingMessage['headers'] {
    return this.raw.headers;
  }

  get url(): string {
    return this.raw.url ?? this.routeOptions.url;
  }
}

/** Status and headers of a stand-in for FastifyReply, kept until its one send (the lane's and the WebSocket mode's). */
export class ReplyHead {
  sent = false;
  protected status = 200;
  protected readonly head: Record<string, string | number | string[]> = {};

  code(status: number): this {
    this.status = status;
    return this;
  }

  header(name: string, value: string | number | string[]): this {
    this.head[name.toLowerCase()] = value;
    return this;
  }

  headers(values: Record<string, string | number | string[] | undefined>): this {
    for (const name in values) {
      const value = values[name];
      if (value !== undefined) this.head[name.toLowerCase()] = value;
    }
    return this;
  }

  type(contentType: string): this {
    this.head['content-type'] = contentType;
    return this;
  }

  hijack(): this {
    this.sent = true;
    return this;
  }
}

/** The part of FastifyReply the surface handlers use: status, headers, one send, hijack. */
class LaneReply extends ReplyHead {
  constructor(
    readonly raw: ServerResponse,
    readonly request: LaneRequest,
    readonly log: Logger,
  ) {
    super();
  }

  send(payload: string | Buffer): this {
    if (this.sent) return this;
    this.sent = true;
    const raw = this.raw;
    if (raw.destroyed) return this;
    this.head['content-length'] = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    raw.writeHead(this.status, this.head);
    raw.end(payload);
    return this;
  }
}

export class FastLane {
  private readonly routes = new Map<string, LaneRoute>();
  private closing = false;
  /** Runs first on every request (Host and Origin checks); false: it has answered, nothing else runs. */
  admit: ((request: IncomingMessage, response: ServerResponse) => boolean) | undefined;
  /** Overload shedding (admission-gate.ts): a lane request takes an in-flight slot before its body is read. */
  admission: AdmissionGate | undefined;

  constructor(
    private readonly logger: Logger,
    /** The live body limit (limits.max_body_bytes). */
    private readonly maxBodyBytes: () => number,
    /** Slow-client timeouts and the per-address connection cap, for the one server (lane and Fastify alike). */
    private readonly connections: ConnectionSettings,
  ) {}

  /** Serves POST `url` (exactly, no query string) in the lane. */
  add(url: string, surface: ErrorFormat, handler: LaneHandler): void {
    this.routes.set(url, { url, surface, handler, options: { url, config: { surface } } });
  }

  /** From now on everything goes to Fastify (which answers 503 while closing). */
  close(): void {
    this.closing = true;
  }

  /**
   * Fastify's serverFactory: node:http with the lane in front of Fastify's handler. The server
   * cuts off slow clients for both: the request line and headers must arrive within
   * headersTimeoutMs and the whole request within requestTimeoutMs (node:http answers 408 and
   * closes), an idle keep-alive connection closes after keepAliveTimeoutMs. None of them limits
   * an answer: a long stream to the client runs as long as it needs (no socket inactivity timeout).
   */
  readonly serverFactory: FastifyServerFactory = (fastifyHandler) => {
    const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = this.connections;
    const server = createServer({
      // An HTTP/1.1 request without Host is refused by the Host check (browser-guard.ts), in the caller's format.
      requireHostHeader: this.admit === undefined,
      headersTimeout: Math.min(headersTimeoutMs, requestTimeoutMs),
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: keepAliveTimeoutMs,
      // node:http checks the two timeouts on this interval (30 s by default): a tenth of the shorter.
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(Math.min(headersTimeoutMs, requestTimeoutMs) / 10))),
    }, (request, response) => {
      // A connection over the cap was answered already: what it sends is not served.
      if (this.refusedOpen > 0 && this.refused.has(request.socket)) return;
      if (this.admit !== undefined && !this.admit(request, response)) return;
      if (!this.take(request, response)) fastifyHandler(request, response);
    });
    if (this.connections.maxPerClient > 0) this.capConnections(server, this.connections.maxPerClient);
    return server as Server;
  };

  /** Connections answered 429 for the per-address cap. */
  private readonly refused = new WeakSet<Socket>();
  /** How many of them are still open: none (the usual case), and no request needs the lookup. */
  private refusedOpen = 0;

  /**
   * At most `max` open connections per client address: one more is answered 429 in the OpenAI
   * format (the only one known before a request is read) with Retry-After, and closed.
   */
  private capConnections(server: Server, max: number): void {
    const open = new Map<string, number>();
    const body = Buffer.from(JSON.stringify(renderError(new GatewayError(
      'HD_ERR_TOO_MANY_CONNECTIONS',
      `Too many open connections from this address (the limit is ${max}, server.max_connections_per_client). Close idle connections or reuse them (keep-alive), then retry.`,
      { retryAfter: 1 },
    ), 'openai').body));
    const refusal = Buffer.concat([Buffer.from(
      'HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\n' +
        `content-length: ${body.length}\r\n\r\n`,
    ), body]);
    server.on('connection', (socket: Socket) => {
      const address = socket.remoteAddress ?? 'unknown';
      const count = (open.get(address) ?? 0) + 1;
      if (count > max) {
        this.logger.warn({ remote_address: address, limit: max }, 'connection refused: too many open connections from one address');
        this.refused.add(socket);
        this.refusedOpen++;
        socket.once('close', () => {
          this.refusedOpen--;
        });
        socket.end(refusal);
        // A client that does not read its answer is not waited for.
        socket.setTimeout(1000, () => socket.destroy());
        return;
      }
      open.set(address, count);
      socket.once('close', () => {
        const left = (open.get(address) ?? 1) - 1;
        if (left > 0) open.set(address, left);
        else open.delete(address);
      });
    });
  }

  /** Takes the request when it is a plain lane request; false leaves it to Fastify. */
  private take(request: IncomingMessage, response: ServerResponse): boolean {
    if (this.closing || request.method !== 'POST') return false;
    const url = request.url;
    if (url === undefined) return false;
    const route = this.routes.get(url);
    if (route === undefined) return false;
    const headers = request.headers;
    const declared = headers['content-length'];
    if (declared === undefined || headers['transfer-encoding'] !== undefined) return false;
    const length = Number(declared);
    if (!Number.isSafeInteger(length) || length < 0 || length > this.maxBodyBytes()) return false;
    const id = requestIdOf(headers);
    const admission = this.admission;
    if (admission === undefined || admission.tryEnter(response)) this.start(route, id, request, response, length);
    else if (!admission.refuseOverCapacity(response, url, route.surface, id)) admission.waitOrShed(response, url, () => this.start(route, id, request, response, length), (error) => this.shed(route, id, request, response, error));
    return true;
  }

  private start(route: LaneRoute, id: string, request: IncomingMessage, response: ServerResponse, length: number): void {
    if (length === 0) this.run(route, id, request, response, undefined);
    else new BodyReader(this, route, id, request, response, length);
  }

  /** Overloaded: the request is answered without reading its body (503, Retry-After, the caller's format). */
  private shed(route: LaneRoute, id: string, request: IncomingMessage, response: ServerResponse, error: GatewayError): void {
    sendError(new LaneReply(response, new LaneRequest(id, request, undefined, route), this.logger) as unknown as FastifyReply, undefined, error, route.surface);
  }

  /** @internal Called by BodyReader with the whole body. */
  run(route: LaneRoute, id: string, request: IncomingMessage, response: ServerResponse, body: Buffer | undefined): void {
    const laneRequest = new LaneRequest(id, request, body, route);
    const reply = new LaneReply(response, laneRequest, this.logger);
    route.handler(laneRequest as unknown as FastifyRequest, reply as unknown as FastifyReply).catch((error: unknown) => {
      sendFailure(reply as unknown as FastifyReply, undefined, error, route.surface);
    });
  }

  /** @internal A body whose size did not match its Content-Length (a client that stopped mid-body). */
  refuse(route: LaneRoute, id: string, request: IncomingMessage, response: ServerResponse): void {
    const reply = new LaneReply(response, new LaneRequest(id, request, undefined, route), this.logger);
    sendError(reply as unknown as FastifyReply, undefined, new GatewayError('HD_ERR_REQUEST_INVALID_JSON', 'Request body size did not match Content-Length'), route.surface);
  }
}

/** Reads a body of known length into one Buffer (one object per request). */
class BodyReader {
  /** The first chunk when it is the whole body (the common case: no copy), else a buffer filled as chunks come. */
  private buffer: Buffer | undefined;
  private received = 0;

  constructor(
    private readonly lane: FastLane,
    private readonly route: LaneRoute,
    private readonly id: string,
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
    private readonly length: number,
  ) {
    request.on('data', this.onData);
    request.on('end', this.onEnd);
  }

  private readonly onData = (chunk: Buffer): void => {
    const end = this.received + chunk.length;
    if (this.received === 0 && end === this.length) this.buffer = chunk;
    else if (end <= this.length) {
      if (this.buffer === undefined || this.buffer.length !== this.length) {
        const whole = Buffer.allocUnsafe(this.length);
        this.buffer?.copy(whole, 0, 0, this.received);
        this.buffer = whole;
      }
      chunk.copy(this.buffer, this.received);
    }
    this.received = end;
  };

  private readonly onEnd = (): void => {
    this.request.off('data', this.onData);
    // node:http frames the body by Content-Length: 'end' comes with exactly that many bytes.
    if (this.received !== this.length || this.buffer === undefined) {
      this.lane.refuse(this.route, this.id, this.request, this.response);
      return;
    }
    this.lane.run(this.route, this.id, this.request, this.response, this.buffer);
  };
}
