/**
 * A loopback mock upstream for integration tests: node:http on 127.0.0.1,
 * port 0, that records every request and answers in every provider wire
 * format Heimdall speaks, with fault injection (see behaviors.ts):
 *
 * | format            | routes                                                        | module       |
 * | ----------------- | ------------------------------------------------------------- | ------------ |
 * | OpenAI            | /v1/chat/completions, /v1/completions, /v1/embeddings, ...    | openai.ts    |
 * | Anthropic         | /v1/messages, /v1/messages/count_tokens                       | anthropic.ts |
 * | Gemini (AI Studio)| /{v1beta,v1}/models/{model}:generateContent, ...              | gemini.ts    |
 * | Vertex AI         | /v1/projects/.../publishers/{google,anthropic}/models/..., /token | vertex.ts |
 * | Bedrock           | /model/{id}/{converse,converse-stream,invoke}                 | bedrock.ts   |
 * | Azure OpenAI      | /openai/deployments/{deployment}/...?api-version=             | azure.ts     |
 * | Cohere v2         | /v2/chat, /v2/embed                                           | cohere.ts    |
 * | Rerank, moderation| /v2/rerank, /v1/rerank, /jina/v1/rerank, /voyage/v1/rerank, /v1/moderations | rerank.ts |
 *
 * Every format answers by the same rules (echo-plan.ts), so one expectation
 * holds whichever provider answers; provider-env.ts points every provider of
 * a gateway at one mock. Conversations are checked as the real APIs check
 * them (tool results matched to calls, thinking blocks and signatures, Gemini 3
 * thought signatures), with their error texts (conversation-rules.ts).
 *
 *   const mock = await startMockUpstream();
 *   mock.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '1' } });
 *   ... point a client at mock.openaiBaseUrl ...
 *   expect(mock.requests[0].body).toEqual(...);
 *   await mock.close();
 *
 * Routes are checked newest first, so `route()` can override a default route.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BehaviorQueue, type Behavior, type EnqueueOptions } from './behaviors.js';
import { createContext, mergeHeaders, sleep, type MockContext, type RecordedRequest } from './context.js';
import { registerOpenAIRoutes, DEFAULT_MODELS } from './openai.js';
import { openaiErrorBody } from './openai-errors.js';
import { registerAnthropicRoutes } from './anthropic.js';
import { registerAzureRoutes, type AzureMockOptions } from './azure.js';
import { registerBedrockRoutes, type BedrockMockOptions } from './bedrock.js';
import { registerCohereRoutes } from './cohere.js';
import { registerRerankRoutes } from './rerank.js';
import { registerGeminiRoutes } from './gemini.js';
import { registerVertexRoutes, type VertexMockOptions } from './vertex.js';

export type { Behavior, EnqueueOptions, Headers } from './behaviors.js';
export type { MockContext, RecordedRequest, StreamOptions } from './context.js';
export { DEFAULT_MODELS, MOCK_CREATED } from './openai.js';
export { openaiErrorBody } from './openai-errors.js';
export { countWords, splitWords, splitEvenly, limitText, mockEmbedding, mockStems, float32Base64 } from './text.js';
export { CHOP_SIZES } from './behaviors.js';
export { planEcho, TOOL_CALL_TOKENS, type EchoPlan, type EchoRequest } from './echo-plan.js';
export { anthropicErrorBody } from './anthropic.js';
export { googleErrorBody } from './gemini.js';
export { azureErrorBody, type AzureMockOptions } from './azure.js';
export type { BedrockMockOptions } from './bedrock.js';
export { VERTEX_ANTHROPIC_VERSION, type VertexMockOptions } from './vertex.js';

export interface MockUpstreamOptions {
  /** Model ids listed by GET /v1/models. Default: DEFAULT_MODELS. */
  models?: string[];
  /** SigV4 checking of the Bedrock routes (default: any well-formed signature is accepted). */
  bedrock?: BedrockMockOptions;
  /** The Azure deployments (default: any deployment, named like its model). */
  azure?: AzureMockOptions;
  /** The service accounts the OAuth token endpoint knows (default: any well-formed assertion). */
  vertex?: VertexMockOptions;
}

export type RouteHandler = (context: MockContext) => void | Promise<void>;

export interface MockUpstream {
  /** 'http://127.0.0.1:PORT' */
  readonly url: string;
  /** `url + '/v1'`, the base URL for OpenAI clients. */
  readonly openaiBaseUrl: string;
  /** Every request whose body was read, in arrival order. `reset()` empties this same array. */
  readonly requests: RecordedRequest[];
  enqueue(behavior: Behavior, options?: EnqueueOptions): void;
  /** Registers a route; `method` '*' matches any method. Newer routes win over older ones. */
  route(method: string, path: RegExp, handler: RouteHandler): void;
  /** Resolves with `requests` once at least `count` have arrived; rejects after `timeoutMs` (default 2000). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  openConnections(): number;
  /** Clears recorded requests, queued behaviours and id counters. */
  reset(): void;
  /** Closes the server and destroys every socket (hung requests included); never hangs. */
  close(): Promise<void>;
}

interface Route {
  method: string;
  path: RegExp;
  handler: RouteHandler;
}

interface Waiter {
  count: number;
  resolve(requests: RecordedRequest[]): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export async function startMockUpstream(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const requests: RecordedRequest[] = [];
  const queue = new BehaviorQueue();
  const routes: Route[] = [];
  const sockets = new Set<Socket>();
  const counters = new Map<string, number>();
  let waiters: Waiter[] = [];
  let closing: Promise<void> | undefined;

  const nextId = (prefix: string): string => {
    const next = (counters.get(prefix) ?? 0) + 1;
    counters.set(prefix, next);
    return `${prefix}${next}`;
  };

  const notifyWaiters = (): void => {
    waiters = waiters.filter((waiter) => {
      if (requests.length < waiter.count) return true;
      clearTimeout(waiter.timer);
      waiter.resolve(requests);
      return false;
    });
  };

  const findRoute = (method: string, path: string): { route: Route; match: RegExpExecArray } | undefined => {
    for (let i = routes.length - 1; i >= 0; i--) {
      const route = routes[i];
      if (route.method !== '*' && route.method !== method) continue;
      route.path.lastIndex = 0;
      const match = route.path.exec(path);
      if (match) return { route, match };
    }
    return undefined;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const receivedAt = Date.now();
    const controller = new AbortController();
    const state = { serverDestroyed: false, record: undefined as RecordedRequest | undefined };
    res.on('close', () => {
      const clientGone = !res.writableFinished && !state.serverDestroyed && closing === undefined;
      if (clientGone && state.record) state.record.aborted = true;
      controller.abort();
    });
    res.on('finish', () => {
      if (state.record) state.record.finished = true;
    });
    const destroySocket = (reset: boolean): void => {
      state.serverDestroyed = true;
      const socket = req.socket;
      if (reset && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
      else socket.destroy();
    };

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => undefined); // a client abort mid-body; the request is simply not recorded
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://mock.invalid');
      const rawBody = Buffer.concat(chunks);
      const record: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        rawBody,
        body: parseJson(rawBody),
        aborted: false,
        finished: false,
        receivedAt,
        behavior: queue.take(url.pathname),
      };
      state.record = record;
      requests.push(record);
      notifyWaiters();
      void respond(record, res, controller.signal, destroySocket).catch((error: unknown) => {
        if (res.headersSent) return destroySocket(false);
        const message = `mock upstream handler failed: ${error instanceof Error ? error.message : String(error)}`;
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(openaiErrorBody(500, message)));
      });
    });
  };

  const respond = async (
    record: RecordedRequest,
    res: ServerResponse,
    signal: AbortSignal,
    destroySocket: (reset: boolean) => void,
  ): Promise<void> => {
    const behavior = record.behavior;
    switch (behavior?.kind) {
      case 'reset':
        return destroySocket(true);
      case 'hang':
        return; // answered never; the socket closes when the client or close() ends it
      case 'error': {
        const body = behavior.body ?? openaiErrorBody(behavior.status);
        const bytes = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
        res.writeHead(behavior.status, mergeHeaders({ 'content-type': 'application/json' }, behavior.headers));
        res.end(bytes);
        return;
      }
      case 'raw':
        res.writeHead(behavior.status, mergeHeaders(behavior.headers));
        res.end(behavior.body);
        return;
      case 'respond':
        res.writeHead(behavior.status ?? 200, mergeHeaders({ 'content-type': 'application/json' }, behavior.headers));
        res.end(JSON.stringify(behavior.body));
        return;
      case 'delay':
        await sleep(behavior.ms, signal);
        if (signal.aborted) return;
        break;
      default:
        break;
    }
    const found = findRoute(record.method, record.path);
    const context = createContext({
      request: record,
      match: found?.match ?? (/.*/.exec(record.path) as RegExpExecArray),
      response: res,
      signal,
      behavior,
      nextId,
      destroySocket,
    });
    if (found === undefined) {
      const message = `Invalid URL (${record.method} ${record.path})`;
      return context.json(404, openaiErrorBody(404, message, { code: null }));
    }
    await found.route.handler(context);
  };

  const server = createServer({ requestTimeout: 0 }, handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const mock: MockUpstream = {
    url,
    openaiBaseUrl: `${url}/v1`,
    requests,
    enqueue: (behavior, enqueueOptions) => queue.enqueue(behavior, enqueueOptions),
    route(method, path, handler) {
      routes.push({ method: method.toUpperCase(), path, handler });
    },
    waitForRequests(count, timeoutMs = 2000) {
      if (requests.length >= count) return Promise.resolve(requests);
      if (closing) return Promise.reject(new Error('mock upstream is closed'));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((waiter) => waiter.timer !== timer);
          reject(new Error(`mock upstream: expected ${count} requests within ${timeoutMs} ms, got ${requests.length}`));
        }, timeoutMs);
        waiters.push({ count, resolve, reject, timer });
      });
    },
    openConnections: () => sockets.size,
    reset() {
      requests.length = 0;
      queue.clear();
      counters.clear();
    },
    close() {
      if (closing) return closing;
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error('mock upstream closed while waiting for requests'));
      }
      waiters = [];
      closing = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      return closing;
    },
  };
  registerOpenAIRoutes(mock, options.models ?? DEFAULT_MODELS);
  registerAnthropicRoutes(mock);
  registerGeminiRoutes(mock);
  registerVertexRoutes(mock, options.vertex);
  registerBedrockRoutes(mock, options.bedrock);
  registerAzureRoutes(mock, options.azure);
  registerCohereRoutes(mock);
  registerRerankRoutes(mock);
  return mock;
}

function parseJson(rawBody: Buffer): unknown {
  if (rawBody.length === 0) return undefined;
  try {
    return JSON.parse(rawBody.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
