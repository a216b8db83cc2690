/**
 * One Responses WebSocket: its `response.create` messages run one at a time through the HTTP
 * handler of POST /v1/responses (websocket-sink.ts), each streamed back as event frames.
 *
 * Continuation on the socket, as OpenAI's WebSocket mode has it and Codex relies on: a
 * `response.create` whose `previous_response_id` is the last response completed on this socket
 * sends only the new input items; the gateway keeps that response's input and output items in
 * memory (never stored) and sends the provider the whole conversation, so it works for every
 * provider and with `store: false`. Other ids go to the handler unchanged (stored responses).
 *
 * `generate: false` (a warm-up) runs no model: the gateway answers `response.created` and
 * `response.completed` with an empty output, and the warm-up's input becomes the state the next
 * turn continues from.
 * @see https://developers.openai.com/api/docs/guides/websocket-mode
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { GatewayError } from '../errors/gateway-error.js';
import { renderError, toGatewayError } from '../errors/render.js';
import { responseIdFor } from '../formats/responses/index.js';
import type { Gateway } from '../gateway/gateway.js';
import { RequestContext } from '../gateway/request-context.js';
import { uuidv7 } from '../gateway/request-id.js';
import { safeLine, type Logger } from '../telemetry/logger.js';
import type { AdmissionGate } from './admission-gate.js';
import type { LaneHandler } from './fast-lane.js';
import { errorEvent, WebSocketEventSink, WebSocketReply, WebSocketRequest, type StreamObserver } from './websocket-sink.js';

/** Close codes (RFC 6455 section 7.4.1). */
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_INTERNAL = 1011;

/** What a response left for the next turn on the socket. */
interface Continuation {
  id: string;
  input: unknown[];
  output: unknown[];
}

/** The handshake's headers, as each message's request sees them: no WebSocket headers, a JSON body. */
export function messageHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const copy: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (name === 'upgrade' || name === 'connection' || name.startsWith('sec-websocket-') || name === 'content-length') continue;
    copy[name] = headers[name];
  }
  // The beta flag that asked for the WebSocket mode is not the provider's business (an HTTP call goes upstream).
  const beta = headers['openai-beta'];
  if (typeof beta === 'string') {
    const rest = beta.split(',').map((part) => part.trim()).filter((part) => part !== '' && !part.startsWith('responses_websockets'));
    if (rest.length > 0) copy['openai-beta'] = rest.join(', ');
    else delete copy['openai-beta'];
  }
  copy['content-type'] = 'application/json';
  return copy;
}

function asItems(input: unknown): unknown[] {
  if (Array.isArray(input)) return input;
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }];
  return [];
}

export interface SessionOptions {
  gateway: Gateway;
  serve: LaneHandler;
  logger: Logger;
  idleTimeoutMs: number;
  /** The live body limit (limits.max_body_bytes): a bigger message closes the socket with 1009. */
  maxBodyBytes(): number;
  /** Called once the socket has closed. */
  onClose(session: WebSocketSession): void;
  /** Overload shedding: each response.create holds an in-flight slot until its response ends. */
  admission: AdmissionGate;
}

export class WebSocketSession {
  private readonly headers: IncomingHttpHeaders;
  private running: WebSocketEventSink | undefined;
  private last: Continuation | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closeWhenIdle: number | undefined;
  /** How often a response on this socket paused its upstream for a slow client. */
  pauses = 0;

  constructor(
    private readonly socket: WebSocket,
    private readonly upgrade: IncomingMessage,
    private readonly options: SessionOptions,
  ) {
    this.headers = messageHeaders(upgrade.headers);
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('close', () => this.onSocketClose());
    socket.on('error', (error) => options.logger.debug({ err: error }, 'responses websocket error'));
    this.armIdle();
  }

  /** Bytes queued on the socket and not yet taken by the client. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Closes now when no response runs, else once the running one has ended. */
  closeAfterResponse(code: number, reason: string): void {
    if (this.running === undefined) this.close(code, reason);
    else this.closeWhenIdle = code;
  }

  close(code: number, reason: string): void {
    this.disarmIdle();
    const socket = this.socket;
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
  }

  /** Ends the socket at once (the shutdown's time is up): a running response is aborted. */
  terminate(): void {
    this.disarmIdle();
    this.socket.terminate();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    this.disarmIdle();
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const limit = this.options.maxBodyBytes();
    if (bytes.length > limit) {
      this.close(CLOSE_TOO_BIG, `message larger than ${limit} bytes (limits.max_body_bytes)`);
      return;
    }
    let event: Record<string, unknown>;
    try {
      if (isBinary) throw new Error('binary');
      const parsed = JSON.parse(bytes.toString('utf8')) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      event = parsed as Record<string, unknown>;
    } catch {
      this.refuse(new GatewayError('HD_ERR_WEBSOCKET_BAD_EVENT', 'Each WebSocket message is one JSON event as text, such as {"type":"response.create", ...}.'));
      return;
    }
    if (event.type === 'response.processed') {
      // Codex's acknowledgement of a response it has handled: nothing to do.
      if (this.running === undefined) this.armIdle();
      return;
    }
    if (event.type !== 'response.create') {
      this.refuse(new GatewayError('HD_ERR_WEBSOCKET_BAD_EVENT', `Unknown WebSocket event type ${JSON.stringify(event.type ?? null).slice(0, 80)}: send "response.create".`, { param: 'type' }));
      return;
    }
    if (this.running !== undefined) {
      this.refuse(new GatewayError('HD_ERR_WEBSOCKET_BUSY', 'A response is already running on this WebSocket: wait for its response.completed (or response.failed) before the next response.create.'));
      return;
    }
    if (event.background === true) {
      this.refuse(new GatewayError('HD_ERR_WEBSOCKET_BAD_EVENT', 'background is not supported over WebSocket: use HTTP POST /v1/responses for background responses.', { param: 'background' }));
      return;
    }
    this.create(event);
  }

  /** An error event for a message that is not run; the socket stays open. */
  private refuse(error: GatewayError): void {
    const rendered = renderError(error, 'openai');
    this.sendNow(errorEvent(rendered.status, (rendered.body as { error: unknown }).error));
    if (this.running === undefined) this.armIdle();
  }

  private sendNow(event: Record<string, unknown>): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(event));
  }

  private create(event: Record<string, unknown>): void {
    const body: Record<string, unknown> = { ...event };
    delete body.type;
    delete body.stream_id;
    const warmup = body.generate === false;
    delete body.generate;
    // Streaming is implicit on a WebSocket.
    body.stream = true;
    const last = this.last;
    if (last !== undefined && typeof body.previous_response_id === 'string' && body.previous_response_id === last.id) {
      body.input = [...last.input, ...last.output, ...asItems(body.input)];
      delete body.previous_response_id;
    }
    const input = body.previous_response_id === undefined ? asItems(body.input) : undefined;
    const output: unknown[] = [];
    const observer: StreamObserver = {
      outputItem: (item) => output.push(item),
      paused: () => this.pauses++,
      finalEvent: (type, response) => {
        const id = response?.id;
        this.last = type === 'response.completed' && typeof id === 'string' && input !== undefined ? { id, input, output } : undefined;
      },
    };
    const sink = new WebSocketEventSink(this.socket, observer);
    this.running = sink;
    sink.once('close', () => this.onResponseEnd(sink));
    if (warmup) this.warmup(sink, body);
    else if (this.options.admission.tryEnter(sink)) this.run(sink, body);
    else this.options.admission.waitOrShed(sink, '/v1/responses', () => this.run(sink, body), (error) => this.shed(sink, error));
  }

  private run(sink: WebSocketEventSink, body: Record<string, unknown>): void {
    const request = new WebSocketRequest(uuidv7(), this.upgrade, this.headers, Buffer.from(JSON.stringify(body)));
    const reply = new WebSocketReply(sink, request, this.options.logger);
    this.options.serve(request as unknown as FastifyRequest, reply as unknown as FastifyReply).catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'responses websocket: unexpected failure');
      if (!sink.writableEnded) {
        sink.sendJson(errorEvent(500, { type: 'server_error', code: 'internal_error', message: 'Internal error.', param: null }));
        sink.end();
      }
      this.close(CLOSE_INTERNAL, 'internal error');
    });
  }

  /** Overloaded (limits.max_in_flight): the response fails at once with a 503 error event; the socket stays open. */
  private shed(sink: WebSocketEventSink, error: GatewayError): void {
    const rendered = renderError(error, 'openai');
    this.options.logger.info(safeLine({ msg: 'request', route: '/v1/responses', status: rendered.status, error: error.message, websocket: true }));
    sink.statusCode = rendered.status;
    sink.sendJson(errorEvent(rendered.status, (rendered.body as { error: unknown }).error));
    sink.end();
  }

  /** `generate: false`: checked like a request (the key), answered by the gateway, no model call. */
  private warmup(sink: WebSocketEventSink, body: Record<string, unknown>): void {
    const id = uuidv7();
    try {
      const ctx = new RequestContext(id, 'openai', '/v1/responses');
      ctx.headers = this.headers;
      this.options.gateway.lifecycle.checkCaller(ctx);
    } catch (error) {
      const rendered = renderError(toGatewayError(error), 'openai');
      sink.statusCode = rendered.status;
      sink.sendJson(errorEvent(rendered.status, (rendered.body as { error: unknown }).error));
      sink.end();
      return;
    }
    const response = {
      id: responseIdFor(id),
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      status: 'in_progress',
      model: typeof body.model === 'string' ? body.model : null,
      output: [],
      usage: null,
      error: null,
      incomplete_details: null,
    };
    sink.sendJson({ type: 'response.created', sequence_number: 0, response });
    sink.sendJson({ type: 'response.completed', sequence_number: 1, response: { ...response, status: 'completed', usage: { input_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens: 0, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 0 } } });
    sink.end();
  }

  private onResponseEnd(sink: WebSocketEventSink): void {
    if (this.running !== sink) return;
    this.running = undefined;
    if (this.closeWhenIdle !== undefined) {
      this.close(this.closeWhenIdle, 'server shutting down');
      return;
    }
    // The key was refused (revoked, expired, its team disabled since the handshake): the socket is done with.
    if (sink.statusCode === 401 || sink.statusCode === 403) {
      this.close(CLOSE_POLICY, 'virtual key refused');
      return;
    }
    this.armIdle();
  }

  private onSocketClose(): void {
    this.disarmIdle();
    // A client gone mid-response: the request ends as a client disconnect (499) and its upstream call is aborted.
    this.running?.destroy();
    this.running = undefined;
    this.options.onClose(this);
  }

  private armIdle(): void {
    this.disarmIdle();
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.idleTimer = setTimeout(() => this.close(CLOSE_NORMAL, 'idle timeout'), this.options.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private disarmIdle(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
