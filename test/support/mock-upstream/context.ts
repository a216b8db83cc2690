import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { formatSse, SSE_HEADERS } from '../../../src/gateway/sse.js';
import { CHOP_SIZES, type Behavior, type Headers } from './behaviors.js';

/** One request as the mock received it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  query: URLSearchParams;
  /** Node's header object: lower-case names. */
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** `rawBody` parsed as JSON, or undefined when it is empty or not JSON. */
  body: unknown;
  /** True once the client closed the connection before the response finished. */
  aborted: boolean;
  /** True once the whole response was handed to the kernel ('finish'): a reader that stalls holds this back. */
  finished: boolean;
  /** `Date.now()` when the request line arrived. */
  receivedAt: number;
  /** The queued behaviour this request took, if any. */
  behavior: Behavior | undefined;
}

export interface StreamOptions {
  /** Extra or overriding response headers; SSE headers by default. */
  headers?: Headers;
  /**
   * The route's error event for `stream-error`, given the error fields (defaults merged with the
   * behaviour's `error`) and the event's position in the stream. Default: `data: {"error":{...}}`.
   */
  errorEvent?: (error: Record<string, unknown>, position: number) => string | Uint8Array;
}

/** What a route handler gets: the request, and reply methods that apply the stream behaviours. */
export interface MockContext {
  readonly request: RecordedRequest;
  /** The route's path RegExp matched against `request.path` (capture groups for ids). */
  readonly match: RegExpExecArray;
  /** Aborted when the connection closes (client gone, socket destroyed, mock closed). */
  readonly signal: AbortSignal;
  /** Escape hatch for replies the helpers below do not cover. */
  readonly response: ServerResponse;
  /** `nextId('chatcmpl-mock-')` -> 'chatcmpl-mock-1', 'chatcmpl-mock-2', ... (one counter per prefix). */
  nextId(prefix: string): string;
  json(status: number, body: unknown, headers?: Headers): Promise<void>;
  raw(status: number, headers: Headers, body: string | Uint8Array): Promise<void>;
  /** Sends pre-formatted stream events (SSE text, or binary frames with a `headers` content-type). */
  stream(events: ReadonlyArray<string | Uint8Array>, options?: StreamOptions): Promise<void>;
}

export interface ContextParams {
  request: RecordedRequest;
  match: RegExpExecArray;
  response: ServerResponse;
  signal: AbortSignal;
  behavior: Behavior | undefined;
  nextId(prefix: string): string;
  /** Destroys the socket from the server side (not counted as a client abort). */
  destroySocket(reset: boolean): void;
}

export const DEFAULT_STREAM_ERROR: Readonly<Record<string, unknown>> = Object.freeze({
  message: 'Mock upstream stream error',
  type: 'server_error',
  param: null,
  code: null,
});

/** Lower-cases header names so that defaults and a caller's `Content-Type` never both get sent. */
export function mergeHeaders(...sources: Array<Headers | undefined>): Headers {
  const merged: Headers = {};
  for (const source of sources) {
    if (source === undefined) continue;
    for (const [name, value] of Object.entries(source)) merged[name.toLowerCase()] = value;
  }
  return merged;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  try {
    await sleepFor(ms, undefined, { signal });
  } catch {
    // aborted: the caller checks `signal.aborted`
  }
}

export function createContext(params: ContextParams): MockContext {
  const { response, signal, behavior } = params;

  /** Resolves when the chunk is handed to the socket, or when the connection is already gone. */
  const write = (chunk: string | Uint8Array): Promise<void> =>
    new Promise((resolve) => {
      if (signal.aborted || response.destroyed) return resolve();
      response.write(chunk, () => resolve());
    });

  const end = (chunk?: string | Uint8Array): Promise<void> =>
    new Promise((resolve) => {
      if (signal.aborted || response.destroyed) return resolve();
      response.end(chunk ?? '', () => resolve());
    });

  return {
    request: params.request,
    match: params.match,
    signal,
    response,
    nextId: params.nextId,

    async json(status, body, headers) {
      const bytes = Buffer.from(JSON.stringify(body));
      const allHeaders = mergeHeaders({ 'content-type': 'application/json' }, headers);
      if (behavior?.kind === 'stream-break') {
        // Promise the whole body, deliver half of it: a truncated JSON reply.
        response.writeHead(status, { ...allHeaders, 'content-length': String(bytes.length) });
        await write(bytes.subarray(0, Math.floor(bytes.length / 2)));
        params.destroySocket(false);
        return;
      }
      response.writeHead(status, allHeaders);
      await end(bytes);
    },

    async raw(status, headers, body) {
      response.writeHead(status, mergeHeaders(headers));
      await end(body);
    },

    async stream(events, options = {}) {
      response.writeHead(200, mergeHeaders(SSE_HEADERS, options.headers));
      response.flushHeaders();
      if (behavior?.kind === 'chop') {
        const bytes = Buffer.concat(events.map((event) => (typeof event === 'string' ? Buffer.from(event) : event)));
        const sizes = behavior.sizes !== undefined && behavior.sizes.length > 0 ? behavior.sizes : CHOP_SIZES;
        for (let at = 0, i = 0; at < bytes.length; i++) {
          const size = Math.max(1, sizes[i % sizes.length]);
          if (signal.aborted) return;
          await write(bytes.subarray(at, at + size));
          await new Promise<void>((resolve) => setImmediate(resolve));
          at += size;
        }
        await end();
        return;
      }
      const stopAt =
        behavior?.kind === 'stream-break' || behavior?.kind === 'stream-error'
          ? Math.min(Math.max(behavior.afterChunks, 0), events.length)
          : events.length;
      for (let i = 0; i < stopAt; i++) {
        if (i > 0 && behavior?.kind === 'slow-stream') await sleep(behavior.chunkDelayMs, signal);
        if (signal.aborted) return;
        await write(events[i]);
      }
      if (signal.aborted) return;
      if (behavior?.kind === 'stream-break') {
        params.destroySocket(false);
        return;
      }
      if (behavior?.kind === 'stream-error') {
        const error = { ...DEFAULT_STREAM_ERROR, ...behavior.error };
        const errorEvent = options.errorEvent ?? ((fields) => formatSse(JSON.stringify({ error: fields })));
        await write(errorEvent(error, stopAt));
      }
      await end();
    },
  };
}
