/**
 * A surface handler run in-process, without HTTP: the stand-ins for Fastify's request and reply and
 * node's ServerResponse that the library's calls hand to the very same handler as the server's route
 * (surfaceHandler: auth, governance, routing, fallbacks, retries, plugins, logging, metrics), as the
 * Responses WebSocket mode and background responses do (src/api/sse-sink.ts).
 *
 * What the handler answers reaches the caller as values: a JSON answer parsed, a stream as an async
 * iterator of its events (the caller's format: chat chunks, Responses or Anthropic events), with
 * backpressure (past HIGH_WATER_EVENTS unread events the upstream is paused until the caller reads
 * on). A caller that stops iterating (`break`) ends the exchange as a client disconnect does: the
 * upstream call is aborted and the request logged 499.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ErrorFormat } from '../errors/render.js';
import { ReplyHead } from '../api/fast-lane.js';
import { SseSink } from '../api/sse-sink.js';
import type { Logger } from '../telemetry/logger.js';
import { HeimdallError } from './heimdall-error.js';

export type JsonObject = Record<string, unknown>;
export type AnswerHeaders = Record<string, string | string[] | undefined>;

/** Unread events past which the stream's upstream is paused (resumed at half of it). */
export const HIGH_WATER_EVENTS = 256;

/** What an in-process call answered: a whole JSON value, or the start of an event stream. */
export type InProcessAnswer =
  | { kind: 'json'; status: number; headers: AnswerHeaders; body: unknown }
  | { kind: 'stream'; status: number; headers: AnswerHeaders; events: AsyncIterableIterator<JsonObject> };

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { error: { message: text } };
  }
}

function headersOf(head: Record<string, string | number | string[] | undefined>): AnswerHeaders {
  const headers: AnswerHeaders = {};
  for (const name in head) {
    const value = head[name];
    if (value !== undefined) headers[name.toLowerCase()] = typeof value === 'number' ? String(value) : value;
  }
  return headers;
}

/** An error event of a stream that had begun (a failure after the first event): thrown from the iteration. */
function streamError(data: JsonObject, name: string | undefined): boolean {
  if (name === 'error') return true;
  return typeof data.error === 'object' && data.error !== null && data.object !== 'response';
}

type Queued = { event: JsonObject } | { error: HeimdallError };

/**
 * The ServerResponse the handler writes to. An event stream (Content-Type text/event-stream) is parsed
 * into events for the caller; anything else (an error written on the raw response) is kept whole.
 */
export class InProcessSink extends SseSink implements AsyncIterableIterator<JsonObject> {
  private readonly head: AnswerHeaders = {};
  private streaming = false;
  private body: Buffer[] | undefined;
  private readonly queue: Queued[] = [];
  /** The next unread event's index in `queue`. */
  private read = 0;
  private paused = false;
  /** The caller stopped reading (break, return()): not an error for it. */
  private abandoned = false;
  private wake: (() => void) | undefined;

  constructor(
    /** The first answer: the stream's head, or a whole body written on the raw response. */
    private readonly answered: (answer: InProcessAnswer) => void,
  ) {
    super();
  }

  override writeHead(status: number, ...rest: unknown[]): this {
    if (this.headersSent) return this;
    const headers = rest.find((arg) => typeof arg === 'object' && arg !== null) as Record<string, string | number | string[]> | undefined;
    if (headers !== undefined) Object.assign(this.head, headersOf(headers));
    super.writeHead(status);
    const type = this.head['content-type'];
    this.streaming = typeof type === 'string' && type.startsWith('text/event-stream');
    if (this.streaming) this.answered({ kind: 'stream', status, headers: this.head, events: this });
    else this.body = [];
    return this;
  }

  override write(data: string | Buffer): boolean {
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (this.streaming) return super.write(data);
    if (!this.destroyed && !this.writableEnded) this.body?.push(typeof data === 'string' ? Buffer.from(data) : data);
    return true;
  }

  override end(data?: string | Buffer): this {
    if (this.writableEnded) return this;
    if (!this.headersSent) this.writeHead(this.statusCode);
    // The last data is taken here, not through this.write: a wrapper on write (the request log's
    // body capture) has seen it in end already.
    if (data !== undefined && data.length > 0 && !this.destroyed) {
      if (this.streaming) super.write(data);
      else this.body?.push(typeof data === 'string' ? Buffer.from(data) : data);
    }
    super.end();
    // A body written on the raw response (an error answered there); a reply's send() answered already.
    if (this.body !== undefined) this.answered({ kind: 'json', status: this.statusCode, headers: this.head, body: parseJson(Buffer.concat(this.body).toString('utf8')) });
    return this;
  }

  protected onEvent(data: string, name: string | undefined): void {
    const event = parseJson(data);
    if (typeof event !== 'object' || event === null || Array.isArray(event)) return;
    if (streamError(event as JsonObject, name)) {
      const status = this.statusCode === 200 ? 502 : this.statusCode;
      this.queue.push({ error: new HeimdallError(status, event, this.head) });
    } else this.queue.push({ event: event as JsonObject });
    this.signal();
  }

  protected override accepting(): boolean {
    if (this.queue.length - this.read < HIGH_WATER_EVENTS) return true;
    this.paused = true;
    return false;
  }

  protected override onClosed(): void {
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    if (wake === undefined) return;
    this.wake = undefined;
    wake();
  }

  private dequeue(): Queued | undefined {
    if (this.read >= this.queue.length) return undefined;
    const item = this.queue[this.read++];
    if (this.read === this.queue.length) {
      this.queue.length = 0;
      this.read = 0;
    }
    if (this.paused && this.queue.length - this.read <= HIGH_WATER_EVENTS / 2) {
      this.paused = false;
      this.emit('drain');
    }
    return item;
  }

  async next(): Promise<IteratorResult<JsonObject>> {
    for (;;) {
      if (this.abandoned) return { done: true, value: undefined };
      const item = this.dequeue();
      if (item !== undefined) {
        if ('event' in item) return { done: false, value: item.event };
        this.stop();
        throw item.error;
      }
      if (this.writableFinished) return { done: true, value: undefined };
      if (this.destroyed) {
        this.abandoned = true;
        // Cut by the gateway (the stream failed after it began): the caller learns it did not end.
        throw new HeimdallError(502, { error: { message: 'The stream was cut before its end.', type: 'api_error' } }, this.head);
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** The caller stopped reading: the exchange ends as a client disconnect (the upstream call aborted). */
  async return(): Promise<IteratorResult<JsonObject>> {
    this.stop();
    return { done: true, value: undefined };
  }

  private stop(): void {
    this.abandoned = true;
    this.queue.length = 0;
    this.read = 0;
    if (!this.writableEnded) this.destroy();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** The part of FastifyRequest the surface handler reads. */
export class InProcessRequest {
  readonly method = 'POST';
  readonly params = {};
  readonly routeOptions: { url: string; config: { surface: ErrorFormat } };
  /** What the lifecycle's `begin` stage reads of the exchange (url and headers). */
  readonly raw: IncomingMessage;

  constructor(
    readonly id: string,
    readonly url: string,
    surface: ErrorFormat,
    readonly headers: IncomingHttpHeaders,
    readonly body: Buffer,
  ) {
    this.routeOptions = { url, config: { surface } };
    this.raw = { method: 'POST', url, headers } as IncomingMessage;
  }
}

/** The part of FastifyReply the surface handler uses: a whole JSON answer goes to the caller parsed. */
export class InProcessReply extends ReplyHead {
  constructor(
    readonly raw: InProcessSink,
    readonly request: InProcessRequest,
    readonly log: Logger,
    private readonly answered: (answer: InProcessAnswer) => void,
  ) {
    super();
  }

  send(payload: string | Buffer): this {
    if (this.sent) return this;
    this.sent = true;
    const raw = this.raw;
    raw.statusCode = this.status;
    raw.headersSent = true;
    this.answered({ kind: 'json', status: this.status, headers: headersOf(this.head), body: parseJson(payload.toString()) });
    // Through the sink's end, as a ServerResponse gets it: the request log's body capture reads it there.
    raw.end(payload);
    return this;
  }
}
