/**
 * Heimdall as a library: `const gw = await createGateway(config)`, then
 * `gw.chat.completions.create(body)`, `gw.responses.create`,
 * `gw.embeddings.create`, `gw.messages.create` (Anthropic format), each
 * answering in its API's own format (an async iterable of events with
 * `stream: true`), and `await gw.close()`.
 *
 * It is the same application as the server (buildApp): the same routing,
 * fallbacks, retries, governance, plugins, request log and metrics. Calls run
 * the server's route handlers in-process through Fastify's `inject` (no
 * socket, no port); the management API and GET /metrics are reachable the
 * same way through `gw.app`.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../app.js';
import { loadConfig } from '../config/load.js';
import type { ConfigFileInput } from '../config/schema.js';
import type { ChatCompletion, ChatCompletionChunk, EmbeddingResponse } from '../formats/openai/types.js';
import { SseParser } from '../gateway/sse.js';
import type { Plugin } from '../plugins/types.js';
import { createLogger, type Logger } from '../telemetry/logger.js';

export type JsonObject = Record<string, unknown>;

export interface CreateGatewayOptions {
  /** Where the request log and the store live (default: the config's `server.data_dir`, else ~/.heimdall). */
  dataDir?: string;
  /** Provider keys and other settings read from the environment (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** The gateway's log level (default: `warn`; `info` logs one line per request). */
  logLevel?: string;
  /** A logger of your own (pino). */
  logger?: Logger;
  /** A virtual key sent with every call (when governance requires one). */
  apiKey?: string;
  /** A JSON config file to read instead of (or under) `config` (watched for changes like the server's). */
  configPath?: string;
}

/** Per call: extra request headers (a virtual key, `x-request-id`, plugin headers...). */
export interface CallOptions {
  headers?: Record<string, string>;
}

/** A call that failed: the status and the error body in the API's own format. */
export class HeimdallError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string | string[] | undefined>,
  ) {
    super(HeimdallError.messageOf(status, body));
    this.name = 'HeimdallError';
  }

  /** The error's code (OpenAI `error.code`, Anthropic `error.type`), when the body has one. */
  get code(): string | undefined {
    const error = (this.body as { error?: { code?: unknown; type?: unknown } } | undefined)?.error;
    return typeof error?.code === 'string' ? error.code : typeof error?.type === 'string' ? error.type : undefined;
  }

  private static messageOf(status: number, body: unknown): string {
    const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
    return typeof message === 'string' ? `${status}: ${message}` : `${status}: request failed`;
  }
}

type Streamed<T extends { stream?: boolean | null }, Whole, Event> = T extends { stream: true } ? AsyncIterable<Event> : Whole;

export interface HeimdallGateway {
  chat: { completions: { create<T extends JsonObject & { stream?: boolean | null }>(body: T, options?: CallOptions): Promise<Streamed<T, ChatCompletion, ChatCompletionChunk>> } };
  /** The OpenAI Responses API: a `response` object, or its events (`response.output_text.delta`, ...). */
  responses: { create<T extends JsonObject & { stream?: boolean | null }>(body: T, options?: CallOptions): Promise<Streamed<T, JsonObject, JsonObject>> };
  embeddings: { create(body: JsonObject, options?: CallOptions): Promise<EmbeddingResponse> };
  /** The Anthropic Messages API: a `message`, or its events (`message_start`, `content_block_delta`, ...). */
  messages: { create<T extends JsonObject & { stream?: boolean | null }>(body: T, options?: CallOptions): Promise<Streamed<T, JsonObject, JsonObject>> };
  /** The plugins on the request lifecycle: add one from code (`use`), list them in order (`names`). */
  readonly plugins: { use(plugin: Plugin): void; names(): string[] };
  /** The application itself (management API and /metrics through `app.inject`). */
  readonly app: FastifyInstance;
  /** Finishes calls in flight, flushes the request log and spend, closes the store. */
  close(): Promise<void>;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { error: { message: text } };
  }
}

async function readAll(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text;
}

/** The events of an SSE body, parsed; an error event (a failure after the stream began) throws. */
async function* events(stream: Readable, status: number, headers: Record<string, string | string[] | undefined>): AsyncGenerator<JsonObject> {
  const parser = new SseParser();
  const parse = function* (batch: ReturnType<SseParser['push']>): Generator<JsonObject> {
    for (const event of batch) {
      if (event.data === '[DONE]' || event.data === '') continue;
      const data = parseJson(event.data) as JsonObject;
      if (event.event === 'error' || (typeof data.error === 'object' && data.error !== null && data.object !== 'response')) {
        throw new HeimdallError(status === 200 ? 502 : status, data, headers);
      }
      yield data;
    }
  };
  for await (const chunk of stream) yield* parse(parser.push(chunk as Buffer));
  yield* parse(parser.end());
}

export async function createGateway(config: ConfigFileInput | JsonObject = {}, options: CreateGatewayOptions = {}): Promise<HeimdallGateway> {
  const resolved = loadConfig({
    config: options.configPath === undefined ? config : undefined,
    configPath: options.configPath,
    env: options.env ?? process.env,
    overrides: { dataDir: options.dataDir, logLevel: options.logLevel ?? 'warn' },
  });
  const logger = options.logger ?? createLogger({ level: resolved.server.logLevel, format: resolved.telemetry.logFormat });
  const app = await buildApp(resolved, { logger, processMetrics: false });
  let closed = false;

  async function call(url: string, body: JsonObject, callOptions: CallOptions | undefined): Promise<unknown> {
    if (closed) throw new Error('The gateway is closed.');
    if (typeof body !== 'object' || body === null) throw new TypeError('The request body must be an object.');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
    Object.assign(headers, callOptions?.headers);
    const stream = body.stream === true;
    const response = await app.inject({ method: 'POST', url, headers, payload: JSON.stringify(body), payloadAsStream: stream });
    const responseHeaders = response.headers as Record<string, string | string[] | undefined>;
    if (!stream) {
      const parsed = parseJson(response.body);
      if (response.statusCode >= 400) throw new HeimdallError(response.statusCode, parsed, responseHeaders);
      return parsed;
    }
    const readable = response.stream() as Readable;
    const type = String(responseHeaders['content-type'] ?? '');
    if (response.statusCode >= 400 || !type.startsWith('text/event-stream')) {
      throw new HeimdallError(response.statusCode >= 400 ? response.statusCode : 502, parseJson(await readAll(readable)), responseHeaders);
    }
    return events(readable, response.statusCode, responseHeaders);
  }

  return {
    chat: { completions: { create: (body, callOptions) => call('/v1/chat/completions', body, callOptions) as never } },
    responses: { create: (body, callOptions) => call('/v1/responses', body, callOptions) as never } ,
    embeddings: { create: (body, callOptions) => call('/v1/embeddings', body, callOptions) as Promise<EmbeddingResponse> },
    messages: { create: (body, callOptions) => call('/anthropic/v1/messages', body, callOptions) as never },
    plugins: {
      use: (plugin) => app.gateway.lifecycle.use(plugin),
      names: () => app.gateway.lifecycle.names(),
    },
    app,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}
