/**
 * Every upstream HTTP call goes through here: one undici Pool per origin
 * (keep-alive), timeouts, and transport errors classified once.
 */
import { Pool, type Dispatcher } from 'undici';
import type { ResolvedTimeouts } from '../config/load.js';
import { classifyTransportError, type UpstreamFailure } from './upstream-failure.js';

export interface UpstreamRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string | Buffer;
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
}

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

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: UpstreamBody;
}

/** Splits an absolute URL into origin and path without allocating a URL object. */
export function splitUrl(url: string): { origin: string; path: string } {
  const schemeEnd = url.indexOf('://');
  const slash = url.indexOf('/', schemeEnd === -1 ? 0 : schemeEnd + 3);
  if (slash === -1) return { origin: url, path: '/' };
  return { origin: url.slice(0, slash), path: url.slice(slash) };
}

export class UpstreamClient {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly options: { connections?: number; keepAliveTimeoutMs?: number } = {}) {}

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

  /** Sends the request; resolves when the response headers arrive (or, `whole`, when the body has). */
  async request(request: UpstreamRequest): Promise<UpstreamResponse> {
    const { origin, path } = splitUrl(request.url);
    const pool = this.pool(origin, request.timeouts.connectMs);
    if (request.whole === true) {
      return new Promise<UpstreamResponse>((resolve, reject) => {
        const handler = new WholeResponseHandler(request.signal, request.link, resolve, reject);
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

/** Reads a whole body; transport errors are classified like request errors. */
export async function readBody(body: UpstreamBody, signal: AbortSource): Promise<Buffer> {
  if (body instanceof WholeBody) return body.buffer;
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

/**
 * Waits for the first chunk of a streamed body and puts it back, so the pump
 * reads the body from its start. Until this resolves nothing has reached the
 * client, so a failure here (reset, idle timeout, an empty stream) may still
 * be retried. Resolves null when the body ends without a byte.
 */
export function peekFirstChunk(body: UpstreamBody, signal: AbortSource): Promise<Buffer | null> {
  const classify = (error: unknown): UpstreamFailure =>
    classifyTransportError(error, signal.aborted && signal.reason !== TOTAL_TIMEOUT, signal.reason === TOTAL_TIMEOUT);
  if (body.destroyed) return Promise.reject(classify(body.errored ?? new Error('the stream was closed before its first byte')));
  const ready = body.read() as Buffer | null;
  if (ready !== null) {
    body.unshift(ready);
    return Promise.resolve(ready);
  }
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      body.off('readable', onReadable);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
    };
    const onReadable = (): void => {
      const chunk = body.read() as Buffer | null;
      if (chunk === null) return; // end of stream: 'end' follows
      cleanup();
      body.unshift(chunk);
      resolve(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const onError = (error: unknown): void => {
      cleanup();
      reject(classify(error));
    };
    const onClose = (): void => {
      cleanup();
      reject(classify(body.errored ?? new Error('the stream was closed before its first byte')));
    };
    body.on('readable', onReadable);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}
