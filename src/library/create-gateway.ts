/**
 * Heimdall as a library: `const gw = await createGateway(config)`, then
 * `gw.chat.completions.create(body)`, `gw.responses.create`,
 * `gw.embeddings.create`, `gw.messages.create` (Anthropic format), each
 * answering in its API's own format (an async iterable of events with
 * `stream: true`), and `await gw.close()`.
 *
 * It is the gateway runtime the server is built on (runtime.ts): the same
 * routing, fallbacks, retries, governance, plugins, request log and metrics.
 * Each call runs the surface's handler in-process (in-process.ts): no socket,
 * no HTTP, the answer as values. The management API and GET /metrics are
 * reachable through `gw.app.inject`.
 */
import type { FastifyInstance } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { buildApp } from '../app.js';
import { loadConfig } from '../config/load.js';
import type { ConfigFileInput } from '../config/schema.js';
import type { ChatCompletion, ChatCompletionChunk, EmbeddingResponse } from '../formats/openai/types.js';
import type { Plugin } from '../plugins/types.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { HeimdallError } from './heimdall-error.js';
import type { JsonObject } from './in-process.js';

export { HeimdallError };
export type { JsonObject };

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

export async function createGateway(config: ConfigFileInput | JsonObject = {}, options: CreateGatewayOptions = {}): Promise<HeimdallGateway> {
  const resolved = loadConfig({
    config: options.configPath === undefined ? config : undefined,
    configPath: options.configPath,
    env: options.env ?? process.env,
    overrides: { dataDir: options.dataDir, logLevel: options.logLevel ?? 'warn' },
    // Off unless the config sets it: a library call reaches no socket queue, and the loop's delay
    // here measures the host program's own work (docs/performance.md).
    capacityTargetDelayMs: 0,
  });
  const logger = options.logger ?? createLogger({ level: resolved.server.logLevel, format: resolved.telemetry.logFormat });
  const app = await buildApp(resolved, { logger, processMetrics: false });

  const runtime = app.runtime;
  let closed = false;

  async function call(url: string, body: JsonObject, callOptions: CallOptions | undefined): Promise<unknown> {
    if (closed) throw new Error('The gateway is closed.');
    if (typeof body !== 'object' || body === null) throw new TypeError('The request body must be an object.');
    const payload = Buffer.from(JSON.stringify(body));
    const headers: IncomingHttpHeaders = { 'content-type': 'application/json', 'content-length': String(payload.length) };
    if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
    if (callOptions?.headers !== undefined) for (const name in callOptions.headers) headers[name.toLowerCase()] = callOptions.headers[name];
    const answer = await runtime.call(url, payload, headers);
    if (answer.status >= 400) throw new HeimdallError(answer.status, answer.kind === 'json' ? answer.body : undefined, answer.headers);
    if (answer.kind === 'stream') return answer.events;
    // A caller that asked for a stream gets one: an answer the gateway could not stream is a failure.
    if (body.stream === true) throw new HeimdallError(502, { error: { message: 'The answer was not a stream.', type: 'api_error' } }, answer.headers);
    return answer.body;
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
