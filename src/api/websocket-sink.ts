/**
 * The stand-ins for Fastify's request, reply and node's ServerResponse that let one Responses
 * WebSocket message run through the very same HTTP handler as POST /v1/responses (surfaceHandler:
 * auth, governance, routing, fallbacks, logging, metrics): what the handler writes as SSE is sent
 * as one text frame per event (the event's JSON, as the SSE `data`), an HTTP error as an `error` event.
 *
 * Backpressure: write() returns false while the frames handed to the socket and not yet flushed
 * exceed HIGH_WATER_BYTES, so the stream pump pauses the upstream body until 'drain'.
 * @see https://developers.openai.com/api/docs/guides/websocket-mode
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { ErrorFormat } from '../errors/render.js';
import { SseSink } from './sse-sink.js';
import { ReplyHead } from './fast-lane.js';
import type { Logger } from '../telemetry/logger.js';

/** Frames queued on the socket and not yet flushed, above which the upstream is paused. */
export const HIGH_WATER_BYTES = 64 * 1024;

/** What the sink reports about the stream it carries (the session keeps the last response's items). */
export interface StreamObserver {
  /** A `response.output_item.done` item. */
  outputItem(item: unknown): void;
  /** The final event: `response.completed`, `response.failed`, `response.incomplete` or `error`. */
  finalEvent(type: string, response: Record<string, unknown> | undefined): void;
  /** The socket is backed up: the upstream is paused until 'drain'. */
  paused(): void;
}

const FINAL_EVENTS = new Set(['response.completed', 'response.failed', 'response.incomplete', 'error']);
const FINAL_TYPES = [...FINAL_EVENTS].map((type) => `"${type}"`);

/** One message's answer: SSE in, text frames out. Emits 'drain', 'finish' and 'close' as a ServerResponse does. */
export class WebSocketEventSink extends SseSink {
  /** Bytes handed to the socket whose write has not completed. */
  private pending = 0;
  private waitingDrain = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly observer: StreamObserver,
  ) {
    super();
  }

  protected onEvent(data: string): void {
    this.sendEvent(data);
  }

  protected override accepting(): boolean {
    if (this.pending < HIGH_WATER_BYTES) return true;
    if (!this.waitingDrain) this.observer.paused();
    this.waitingDrain = true;
    return false;
  }

  /** Sends one whole JSON event as a frame (an error or a locally answered warm-up). */
  sendJson(event: Record<string, unknown>): void {
    this.headersSent = true;
    this.sendEvent(JSON.stringify(event));
  }

  private sendEvent(data: string): void {
    if (data.length === 0 || data === '[DONE]' || this.destroyed) return;
    this.observe(data);
    const socket = this.socket;
    if (socket.readyState !== socket.OPEN) return;
    const size = Buffer.byteLength(data);
    this.pending += size;
    socket.send(data, (error) => {
      this.pending -= size;
      if (error === undefined || error === null) {
        if (this.waitingDrain && this.pending < HIGH_WATER_BYTES / 2) {
          this.waitingDrain = false;
          this.emit('drain');
        }
      }
    });
  }

  /** Only the few events the session needs are parsed: output items and the final event. */
  private observe(data: string): void {
    const at = data.indexOf('"type"');
    if (at === -1) return;
    const head = data.slice(at, at + 48);
    const item = head.includes('"response.output_item.done"');
    // Deltas (nearly every event) are sent without being parsed.
    const final = !item && FINAL_TYPES.some((type) => head.includes(type));
    if (!item && !final) return;
    let event: { type?: unknown; item?: unknown; response?: unknown };
    try {
      event = JSON.parse(data) as typeof event;
    } catch {
      return;
    }
    if (typeof event.type !== 'string') return;
    if (event.type === 'response.output_item.done') this.observer.outputItem(event.item);
    else if (FINAL_EVENTS.has(event.type)) {
      const response = typeof event.response === 'object' && event.response !== null ? (event.response as Record<string, unknown>) : undefined;
      this.observer.finalEvent(event.type, response);
    }
  }
}

/** The part of FastifyRequest the surface handler reads, for one `response.create` message. */
export class WebSocketRequest {
  readonly method = 'POST';
  readonly url = '/v1/responses';
  readonly params = {};
  readonly routeOptions = { url: '/v1/responses', config: { surface: 'openai' as ErrorFormat } };
  constructor(
    readonly id: string,
    readonly raw: IncomingMessage,
    readonly headers: IncomingHttpHeaders,
    readonly body: Buffer,
  ) {}
}

/** The part of FastifyReply the surface handler uses; an HTTP answer becomes an event frame. */
export class WebSocketReply extends ReplyHead {
  constructor(
    readonly raw: WebSocketEventSink,
    readonly request: WebSocketRequest,
    readonly log: Logger,
  ) {
    super();
  }

  /** A whole JSON answer: an error as an `error` event (with its HTTP status, as Codex reads it), a response as `response.completed`. */
  send(payload: string | Buffer): this {
    if (this.sent) return this;
    this.sent = true;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(payload.toString()) as Record<string, unknown>;
    } catch {
      parsed = { error: { type: 'api_error', message: 'unreadable answer', code: null, param: null } };
    }
    this.raw.statusCode = this.status;
    if (this.status >= 400 || parsed.error !== undefined) this.raw.sendJson(errorEvent(this.status, parsed.error, this.head['retry-after'] === undefined ? undefined : String(this.head['retry-after'])));
    else this.raw.sendJson({ type: 'response.completed', response: parsed });
    this.raw.end();
    return this;
  }
}

/** The WebSocket `error` event: the OpenAI error object with the HTTP status it would have had. */
export function errorEvent(status: number, error: unknown, retryAfter?: string): Record<string, unknown> {
  const event: Record<string, unknown> = { type: 'error', status, error };
  if (retryAfter !== undefined) event.headers = { 'retry-after': retryAfter };
  return event;
}
