/**
 * The Responses API WebSocket mode on GET /v1/responses (as Codex uses it): the handshake is
 * checked like an HTTP request (Host and Origin, the virtual key) and refused in the OpenAI error
 * format before any upgrade; then each `response.create` message runs as one response
 * (websocket-session.ts).
 *
 * A client that does not ask for it is unaffected: POST /v1/responses is the HTTP API, a plain
 * GET /v1/responses is answered 426 naming both ways, and with `server.websocket.enabled: false`
 * the handshake is answered 426, on which Codex falls back to HTTP.
 * @see https://developers.openai.com/api/docs/guides/websocket-mode
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer } from 'ws';
import type { WebSocketSettings } from '../config/load.js';
import { GatewayError } from '../errors/gateway-error.js';
import { renderError, toGatewayError } from '../errors/render.js';
import type { Gateway } from '../gateway/gateway.js';
import { RequestContext } from '../gateway/request-context.js';
import { BODY_LIMIT_CEILING } from '../store/wiring.js';
import type { Logger } from '../telemetry/logger.js';
import { redactText, safeLine } from '../telemetry/logger.js';
import { AdmissionGate } from './admission-gate.js';
import { requestIdOf, type LaneHandler } from './fast-lane.js';
import { CLOSE_GOING_AWAY, WebSocketSession } from './websocket-session.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The Responses WebSocket mode's open sockets. */
    responsesWebSockets: ResponsesWebSockets;
  }
}

const PATH = '/v1/responses';

/** The answer to a handshake that is not upgraded: the error in the OpenAI format, then the socket ends. */
function refuseUpgrade(response: ServerResponse, requestId: string, error: GatewayError, extra: Record<string, string> = {}): void {
  const rendered = renderError(error, 'openai');
  const body = JSON.stringify(rendered.body);
  response.writeHead(rendered.status, {
    ...rendered.headers,
    ...extra,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    connection: 'close',
  });
  response.end(body);
}

export class ResponsesWebSockets {
  private readonly server = new WebSocketServer({ noServer: true, maxPayload: BODY_LIMIT_CEILING, perMessageDeflate: false });
  private readonly sessions = new Set<WebSocketSession>();
  /** The handshake's request id, echoed on the 101 answer. */
  private readonly upgradeIds = new WeakMap<IncomingMessage, string>();
  private closing = false;
  private terminateTimer: NodeJS.Timeout | undefined;
  /** Overload shedding: each message's response holds an in-flight slot, like an HTTP request. */
  private readonly admission: AdmissionGate;

  constructor(
    private readonly gateway: Gateway,
    private readonly serve: LaneHandler,
    private readonly settings: WebSocketSettings,
    private readonly logger: Logger,
    /** Host and Origin checks (browser-guard.ts); false: it has answered. */
    private readonly admit: ((request: IncomingMessage, response: ServerResponse) => boolean) | undefined,
  ) {
    this.admission = new AdmissionGate(gateway.admission, gateway.metrics);
    this.server.on('headers', (headers, request) => {
      const id = this.upgradeIds.get(request);
      if (id !== undefined) headers.push(`x-request-id: ${id}`);
    });
  }

  /** Open Responses WebSockets. */
  get open(): number {
    return this.sessions.size;
  }

  /** Per open socket: bytes held that the client has not taken yet (bounded by the backpressure), upstream pauses so far. */
  socketStats(): Array<{ bufferedAmount: number; pauses: number }> {
    return [...this.sessions].map((session) => ({ bufferedAmount: session.bufferedAmount, pauses: session.pauses }));
  }

  /** The HTTP server's 'upgrade' event: every handshake reaches this. */
  readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => undefined);
    const response = new ServerResponse(request);
    response.assignSocket(socket as never);
    response.shouldKeepAlive = false;
    response.once('finish', () => {
      socket.end();
      // A client that does not read its answer is not waited for.
      setTimeout(() => socket.destroy(), 1000).unref();
    });
    const requestId = requestIdOf(request.headers);
    if (this.admit !== undefined && !this.admit(request, response)) return;
    const path = (request.url ?? '/').split('?')[0];
    if (path !== PATH || request.method !== 'GET' || String(request.headers.upgrade).toLowerCase() !== 'websocket') {
      refuseUpgrade(response, requestId, new GatewayError('HD_ERR_ROUTE_NOT_FOUND', `No WebSocket route for ${request.method} ${path}: the Responses WebSocket mode is GET ${PATH}.`));
      return;
    }
    if (!this.settings.enabled) {
      refuseUpgrade(response, requestId, new GatewayError('HD_ERR_WEBSOCKET_DISABLED', 'The Responses WebSocket mode is turned off on this gateway (server.websocket.enabled): use HTTP POST /v1/responses.'));
      return;
    }
    if (this.closing) {
      refuseUpgrade(response, requestId, new GatewayError('HD_ERR_SHUTTING_DOWN', 'The gateway is shutting down.', { retryAfter: 1 }));
      return;
    }
    const max = this.settings.maxConnections;
    if (max > 0 && this.sessions.size >= max) {
      refuseUpgrade(response, requestId, new GatewayError('HD_ERR_WEBSOCKET_LIMIT', `The gateway has ${max} Responses WebSockets open (server.websocket.max_connections): retry later or use HTTP POST /v1/responses.`, { retryAfter: 1 }));
      return;
    }
    try {
      // The same key check as every HTTP request; each response is checked again (a key revoked mid-session).
      const ctx = new RequestContext(requestId, 'openai', PATH, 'GET');
      ctx.headers = request.headers;
      this.gateway.lifecycle.checkCaller(ctx);
    } catch (error) {
      const gatewayError = toGatewayError(error);
      this.logger.info(safeLine({ msg: 'request', request_id: requestId, method: 'GET', route: PATH, status: gatewayError.status, error: redactText(gatewayError.message), websocket: true }));
      refuseUpgrade(response, requestId, gatewayError);
      return;
    }
    response.detachSocket(socket as never);
    this.upgradeIds.set(request, requestId);
    this.server.handleUpgrade(request, socket, head, (ws) => {
      if (this.closing) {
        ws.close(CLOSE_GOING_AWAY, 'server shutting down');
        return;
      }
      const session = new WebSocketSession(ws, request, {
        gateway: this.gateway,
        serve: this.serve,
        logger: this.logger,
        idleTimeoutMs: this.settings.idleTimeoutMs,
        maxBodyBytes: () => this.gateway.state.limits.maxBodyBytes,
        onClose: (closed) => this.sessions.delete(closed),
        admission: this.admission,
      });
      this.sessions.add(session);
      this.logger.debug({ request_id: requestId, open: this.sessions.size }, 'responses websocket opened');
    });
  };

  /**
   * Shutdown: no new handshakes; idle sockets close now with 1001, busy ones once their response
   * has ended; whatever is still open after `timeoutMs` is cut (its upstream call aborted).
   */
  close(timeoutMs: number): void {
    if (this.closing) return;
    this.closing = true;
    for (const session of this.sessions) session.closeAfterResponse(CLOSE_GOING_AWAY, 'server shutting down');
    if (this.sessions.size > 0) {
      this.terminateTimer = setTimeout(() => {
        for (const session of this.sessions) session.terminate();
      }, timeoutMs);
      this.terminateTimer.unref();
    }
  }

  /** After the HTTP server has closed: nothing may stay open. */
  destroy(): void {
    if (this.terminateTimer !== undefined) clearTimeout(this.terminateTimer);
    for (const session of this.sessions) session.terminate();
    this.server.close();
  }
}

/** Serves the WebSocket mode on the app's server with the handler of POST /v1/responses. */
export function registerResponsesWebSocket(app: FastifyInstance, gateway: Gateway, serve: LaneHandler, settings: WebSocketSettings, shutdownTimeoutMs: number): ResponsesWebSockets {
  const admit = app.hasDecorator('fastLane') ? app.fastLane.admit : undefined;
  const sockets = new ResponsesWebSockets(gateway, serve, settings, app.log as unknown as Logger, admit);
  app.decorate('responsesWebSockets', sockets);
  app.server.on('upgrade', sockets.onUpgrade);
  // A plain GET (no handshake): a clear answer naming both ways instead of a 404.
  app.get(PATH, { config: { surface: 'openai' as const } }, async (request, reply) => {
    const error = new GatewayError('HD_ERR_WEBSOCKET_UPGRADE_REQUIRED', `GET ${PATH} opens the Responses WebSocket mode (send a WebSocket handshake: "Connection: Upgrade", "Upgrade: websocket"). To create a response over HTTP, POST ${PATH}.`);
    const rendered = renderError(error, 'openai');
    void reply.code(rendered.status).headers({ ...rendered.headers, upgrade: 'websocket', 'x-request-id': request.id }).type('application/json').send(JSON.stringify(rendered.body));
  });
  app.addHook('preClose', (done) => {
    sockets.close(shutdownTimeoutMs);
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    sockets.destroy();
    done();
  });
  return sockets;
}
