/**
 * Every upstream HTTP call goes through here: one undici Pool per origin
 * (keep-alive), timeouts, and transport errors classified once.
 */
import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { ResolvedTimeouts } from '../config/load.js';
import { classifyTransportError, type UpstreamFailure } from './upstream-failure.js';

export interface UpstreamRequest {
  url: string;
  method: HttpMethod;
  headers: Record<string, string>;
  /** A Readable is sent as it is read (a streamed upload): such a call cannot be sent twice. */
  body?: string | Buffer | Readable;
  timeouts: ResolvedTimeouts;
  /** Aborts the call (client went away, total timeout). One of `signal` and `link`. */
  signal?: AbortSignal;
  /** Aborts a `whole` call without an AbortSignal: the link calls abort() on the call it was bound to. */
  link?: AbortLink;
  /**
   * Resolve with the whole body already read (a non-stream call): undici's dispatch API with one
   * handler object, no Readable stream or async iterator per call (they showed in the profile).
   * readBody() returns it at once.
   */
  whole?: boolean;
  /**
   * A stream: resolve at the response headers with a StreamBody that pushes each chunk to one sink
   * (the pump) as undici parses it: no Readable, no async iterator, no AbortSignal per call.
   * Needs `link` (the abort reaches the call through it until the body ends).
   */
  stream?: boolean;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type UpstreamBody = Dispatcher.ResponseData['body'];

/** What aborted a call, for classifying its failure (an AbortSignal, or an AbortLink). */
export interface AbortSource {
  readonly aborted: boolean;
  readonly reason: unknown;
}

/** A call in flight that can be aborted. */
export interface AbortableCall {
  abort(reason: unknown): void;
}

/** An abort source that holds the one call in flight (UpstreamAttempt): no EventTarget, no listener. */
export interface AbortLink extends AbortSource {
  bind(call: AbortableCall | undefined): void;
}

const NOT_ABORTED: AbortSource = { aborted: false, reason: undefined };

export interface UpstreamResponse<Body = UpstreamBody> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Body;
}

/** Splits an absolute URL into origin and path without allocating a URL object. */
export function splitUrl(url: string): { origin: string; path: string } {
  const schemeEnd = url.indexOf('://');
  const slash = url.indexOf('/', schemeEnd === -1 ? 0 : schemeEnd + 3);
  if (slash === -1) return { origin: url, path: '/' };
  return { origin: url.slice(0, slash), path: url.slice(slash) };
}

/** How many URLs UpstreamClient remembers the pool and path of (a model in the path makes many). */
const ROUTE_CACHE_SIZE = 256;

/** A URL's pool and path, remembered for the next call to the same URL. */
interface Route {
  connectMs: number;
  pool: Pool;
  path: string;
}

export class UpstreamClient {
  private readonly pools = new Map<string, Pool>();
  /**
   * URL -> its pool and path: a provider calls the same few URLs, and splitting each one and
   * looking its pool up by a new key string showed per call in the profile. Bounded: emptied when full.
   */
  private readonly routes = new Map<string, Route>();

  constructor(private readonly options: { connections?: number; keepAliveTimeoutMs?: number } = {}) {}

  /** The pool and path for `url`. */
  private route(url: string, connectMs: number): Route {
    let route = this.routes.get(url);
    if (route === undefined || route.connectMs !== connectMs) {
      const { origin, path } = splitUrl(url);
      route = { connectMs, pool: this.pool(origin, connectMs), path };
      if (this.routes.size >= ROUTE_CACHE_SIZE) this.routes.clear();
      this.routes.set(url, route);
    }
    return route;
  }

  private pool(origin: string, connectTimeoutMs: number): Pool {
    const id = `${origin}|${connectTimeoutMs}`;
    let pool = this.pools.get(id);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: this.options.connections ?? 256,
        pipelining: 1,
        keepAliveTimeout: this.options.keepAliveTimeoutMs ?? 30_000,
        keepAliveMaxTimeout: 600_000,
        connect: { timeout: connectTimeoutMs },
      });
      this.pools.set(id, pool);
    }
    return pool;
  }

  /** Sends the request; resolves when the response headers arrive (or, `whole`, when the body has; `stream`: see StreamBody). */
  request(request: UpstreamRequest & { stream: true }): Promise<UpstreamResponse<StreamBody>>;
  request(request: UpstreamRequest): Promise<UpstreamResponse>;
  request(request: UpstreamRequest): Promise<UpstreamResponse | UpstreamResponse<StreamBody>> {
    if (request.stream === true || request.whole === true) {
      // The dispatch's own promise, not one an async function wraps around it: resolving a wrapper
      // with a promise costs two more microtask turns and a job per call. What throws rejects it.
      return new Promise<UpstreamResponse | UpstreamResponse<StreamBody>>((resolve, reject) => {
        const { pool, path } = this.route(request.url, request.timeouts.connectMs);
        const handler = request.stream === true
          ? new StreamBody(request.link, resolve, reject)
          : new WholeResponseHandler(request.signal, request.link, resolve, reject);
        const source = request.link ?? request.signal ?? NOT_ABORTED;
        if (source.aborted) {
          handler.fail(source.reason);
          return;
        }
        pool.dispatch({
          path,
          method: request.method,
          headers: request.headers,
          body: request.body,
          headersTimeout: request.timeouts.firstByteMs,
          bodyTimeout: request.timeouts.idleMs,
        }, handler);
      });
    }
    return this.requestResponse(request);
  }

  /** A call answered with undici's body stream (a signal may abort it). */
  private async requestResponse(request: UpstreamRequest): Promise<UpstreamResponse> {
    const { pool, path } = this.route(request.url, request.timeouts.connectMs);
    try {
      const response = await pool.request({
        path,
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: request.signal,
        headersTimeout: request.timeouts.firstByteMs,
        bodyTimeout: request.timeouts.idleMs,
      });
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      throw classifyFor(request.signal ?? NOT_ABORTED, error);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    this.routes.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())));
  }
}

/** The abort reason used when a call exceeds its total timeout. */
export const TOTAL_TIMEOUT = Symbol('heimdall.total-timeout');

/** A body read in full by the dispatch handler (UpstreamRequest.whole). */
class WholeBody {
  readonly destroyed = true;
  constructor(readonly buffer: Buffer) {}
  destroy(): void {}
}

const EMPTY = Buffer.alloc(0);

function classifyFor(signal: AbortSource, error: unknown): UpstreamFailure {
  return classifyTransportError(error, signal.aborted && signal.reason !== TOTAL_TIMEOUT, signal.reason === TOTAL_TIMEOUT);
}

/** One non-stream call: collects the body, settles once; an abort (signal or link) reaches undici's controller. */
class WholeResponseHandler implements Dispatcher.DispatchHandler, AbortableCall {
  private controller: Dispatcher.DispatchController | undefined;
  private readonly source: AbortSource;
  private status = 0;
  private headers: Record<string, string | string[] | undefined> = {};
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private settled = false;
  private listening = false;

  constructor(
    private readonly signal: AbortSignal | undefined,
    private readonly link: AbortLink | undefined,
    private readonly resolve: (response: UpstreamResponse) => void,
    private readonly reject: (failure: UpstreamFailure) => void,
  ) {
    this.source = link ?? signal ?? NOT_ABORTED;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.source.aborted) {
      controller.abort(this.source.reason as Error);
      return;
    }
    if (this.link !== undefined) this.link.bind(this);
    else this.signal?.addEventListener('abort', this);
    this.listening = true;
  }

  /** The link's abort. */
  abort(reason: unknown): void {
    this.controller?.abort(reason as Error);
  }

  /** The signal's 'abort' event (an object listener: no closure per call). */
  handleEvent(): void {
    this.controller?.abort(this.signal?.reason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settle();
    const chunks = this.chunks;
    const buffer = chunks.length === 1 ? chunks[0] : chunks.length === 0 ? EMPTY : Buffer.concat(chunks, this.length);
    this.resolve({ status: this.status, headers: this.headers, body: new WholeBody(buffer) as unknown as UpstreamBody });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.settle();
    this.reject(classifyFor(this.source, error));
  }

  private settle(): void {
    this.settled = true;
    if (!this.listening) return;
    if (this.link !== undefined) this.link.bind(undefined);
    else this.signal?.removeEventListener('abort', this);
  }
}

/** The consumer of a StreamBody: the stream pump. */
export interface StreamSink {
  /** A chunk, in order; false asks for no more until StreamBody.resume(). */
  data(chunk: Buffer): boolean;
  /** The body ended complete. */
  end(): void;
  /** The body broke (reset, idle timeout, aborted): classified like a request error. */
  error(failure: UpstreamFailure): void;
}

/**
 * One streamed call, as undici's dispatch handler and as the body the pump reads: chunks are handed
 * to the sink as undici parses them (the bare proxy's path: no Readable in between). Until a sink is
 * attached (the first chunk is awaited before anything reaches the client, so a failure there can
 * still be retried) chunks are held and the call is paused. The link stays bound until the body
 * ends, so a client that goes away or the total timeout aborts the body too.
 */
export class StreamBody implements Dispatcher.DispatchHandler, AbortableCall {
  private controller: Dispatcher.DispatchController | undefined;
  private started = false;
  private finished = false;
  private failure: UpstreamFailure | undefined;
  private held: Buffer[] = [];
  private sink: StreamSink | undefined;
  private waiter: { resolve: (chunk: Buffer | null) => void; reject: (failure: UpstreamFailure) => void } | undefined;
  private bound = false;
  /** True once the body ended, failed or was destroyed: no more chunks will come. */
  destroyed = false;

  constructor(
    private readonly link: AbortLink | undefined,
    private readonly resolve: (response: UpstreamResponse<StreamBody>) => void,
    private readonly reject: (failure: UpstreamFailure) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.link?.aborted === true) {
      controller.abort(this.link.reason as Error);
      return;
    }
    if (this.link !== undefined) {
      this.link.bind(this);
      this.bound = true;
    }
  }

  /** The link's abort (client gone, total timeout). */
  abort(reason: unknown): void {
    this.controller?.abort(reason as Error);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.started = true;
    this.resolve({ status: statusCode, headers, body: this });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.destroyed) return;
    const sink = this.sink;
    if (sink !== undefined) {
      if (!sink.data(chunk) && !this.destroyed) controller.pause();
      return;
    }
    this.held.push(chunk);
    controller.pause();
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter.resolve(chunk);
    }
  }

  onResponseEnd(): void {
    if (this.destroyed) return;
    this.finished = true;
    this.close();
    const waiter = this.waiter;
    this.waiter = undefined;
    if (this.sink !== undefined) this.sink.end();
    else waiter?.resolve(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  fail(error: unknown): void {
    if (this.destroyed) return;
    const failure = classifyFor(this.link ?? NOT_ABORTED, error);
    this.close();
    if (!this.started) {
      this.started = true;
      this.reject(failure);
      return;
    }
    this.failure = failure;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (this.sink !== undefined) this.sink.error(failure);
    else waiter?.reject(failure);
  }

  /**
   * The first chunk, held for the sink; null when the body ended without one. Rejects with the
   * failure when it broke first.
   */
  first(): Promise<Buffer | null> {
    if (this.held.length > 0) return Promise.resolve(this.held[0]);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.finished || this.destroyed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Hands the body to its one sink: the held chunks first, then each chunk as it comes. */
  pipe(sink: StreamSink): void {
    this.sink = sink;
    const held = this.held;
    this.held = [];
    let open = true;
    for (const chunk of held) open = sink.data(chunk);
    if (this.sink !== sink) return; // the sink destroyed the body while taking the held chunks
    if (this.failure !== undefined) sink.error(this.failure);
    else if (this.finished) sink.end();
    else if (open) this.controller?.resume();
  }

  /** More chunks, after the sink said false. */
  resume(): void {
    if (!this.destroyed) this.controller?.resume();
  }

  /** Reads the rest of the body whole (an error answer). */
  readAll(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let length = 0;
      this.pipe({
        data: (chunk) => {
          chunks.push(chunk);
          length += chunk.length;
          return true;
        },
        end: () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length)),
        error: reject,
      });
    });
  }

  /** Stops the call when it is not over (the pump is done with it); idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.sink = undefined;
    this.held = [];
    const controller = this.controller;
    this.close();
    this.waiter?.reject(classifyFor(NOT_ABORTED, new Error('the stream was closed')));
    this.waiter = undefined;
    if (controller !== undefined && !controller.aborted) controller.abort(new Error('the stream was closed'));
  }

  private close(): void {
    this.destroyed = true;
    if (this.bound) {
      this.bound = false;
      this.link!.bind(undefined);
    }
  }
}

/** Reads a whole body; transport errors are classified like request errors. */
export async function readBody(body: UpstreamBody | StreamBody, signal: AbortSource): Promise<Buffer> {
  if (body instanceof WholeBody) return body.buffer;
  if (body instanceof StreamBody) return body.readAll();
  try {
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of body) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
  } catch (error) {
    throw classifyTransportError(error, signal.aborted && signal.reason !== TOTAL_TIMEOUT, signal.reason === TOTAL_TIMEOUT);
  }
}
