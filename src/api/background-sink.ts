/**
 * The stand-ins for Fastify's request and reply and node's ServerResponse that let a background
 * response run through the very same handler as POST /v1/responses (surfaceHandler: auth,
 * governance, routing, fallbacks, logging, metrics, spend), detached from the caller's connection:
 * what the handler writes as SSE is parsed into events and handed to the job
 * (background-responses.ts); a JSON answer (an error before the stream) is handed over whole.
 *
 * Nobody reads this "socket": write() never asks the upstream to wait. destroy() is a cancel: the
 * request ends as a client disconnect would (the upstream call aborted, the log line's 499).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ErrorFormat } from '../errors/render.js';
import type { Logger } from '../telemetry/logger.js';
import { ReplyHead } from './fast-lane.js';
import { SseSink } from './sse-sink.js';
import type { BackgroundMark } from './stored-responses.js';

/** What the job hears from its run. */
export interface BackgroundListener {
  /** One event of the stream: its JSON text, parsed. */
  event(data: string, event: Record<string, unknown>): void;
  /** A whole JSON answer: an error (status >= 400) or, rarely, a response object. */
  answer(status: number, headers: Record<string, string | number | string[]>, payload: string): void;
  /** The stream started (the request was routed and the provider answers). */
  started(): void;
  /** The run is over: ended, or destroyed (cancelled). */
  closed(): void;
}

/** The ServerResponse the handler writes the background response's stream to. */
export class BackgroundSink extends SseSink {
  constructor(readonly listener: BackgroundListener) {
    super();
  }

  override writeHead(status: number): this {
    const first = !this.headersSent;
    super.writeHead(status);
    if (first) this.listener.started();
    return this;
  }

  protected override onClosed(): void {
    this.listener.closed();
  }

  protected onEvent(data: string): void {
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch {
      return; // the encoders write JSON; anything else is not an event of the response
    }
    if (typeof event === 'object' && event !== null && !Array.isArray(event)) this.listener.event(data, event as Record<string, unknown>);
  }
}

/** The part of FastifyRequest the surface handler reads; `backgroundJob` tells the bridge it runs one. */
export class BackgroundRequest {
  readonly method = 'POST';
  readonly url = '/v1/responses';
  readonly params = {};
  readonly routeOptions = { url: '/v1/responses', config: { surface: 'openai' as ErrorFormat } };
  readonly headers: IncomingHttpHeaders;

  constructor(
    readonly id: string,
    readonly raw: IncomingMessage,
    headers: IncomingHttpHeaders,
    readonly body: Buffer,
    readonly backgroundJob: BackgroundMark,
  ) {
    // The body is the gateway's own (background removed, stream on): its length is not the caller's.
    const copy = { ...headers };
    delete copy['content-length'];
    delete copy['transfer-encoding'];
    this.headers = copy;
  }
}

/** The part of FastifyReply the surface handler uses: a JSON answer goes to the job whole. */
export class BackgroundReply extends ReplyHead {
  constructor(
    readonly raw: BackgroundSink,
    readonly request: BackgroundRequest,
    readonly log: Logger,
  ) {
    super();
  }

  send(payload: string | Buffer): this {
    if (this.sent) return this;
    this.sent = true;
    this.raw.statusCode = this.status;
    this.raw.listener.answer(this.status, this.head, payload.toString());
    this.raw.end();
    return this;
  }
}
