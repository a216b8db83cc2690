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
  /** Aborts the call (client went away, total timeout). */
  signal: AbortSignal;
}

export type UpstreamBody = Dispatcher.ResponseData['body'];

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

  /** Sends the request; resolves when the response headers arrive. */
  async request(request: UpstreamRequest): Promise<UpstreamResponse> {
    const { origin, path } = splitUrl(request.url);
    const pool = this.pool(origin, request.timeouts.connectMs);
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
      throw classifyTransportError(error, request.signal.aborted && request.signal.reason !== TOTAL_TIMEOUT, request.signal.reason === TOTAL_TIMEOUT);
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

/** Reads a whole body; transport errors are classified like request errors. */
export async function readBody(body: UpstreamBody, signal: AbortSignal): Promise<Buffer> {
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
export function peekFirstChunk(body: UpstreamBody, signal: AbortSignal): Promise<Buffer | null> {
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
