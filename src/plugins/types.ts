/**
 * The public plugin API: the stages of one request's life, in call order, and
 * what a plugin sees at each. Heimdall's own features (governance, request
 * logging, metrics, tracing) are plugins on these same stages (src/plugins/).
 *
 * ```
 * received ─> beforeRouting ─┬─> beforeAttempt (per attempt) ─> streamEvent* ─┬─> finalAnswer ─> afterResponse
 *                            └─> (answer early: a canonical response/stream) ─┘
 *                     any stage failing the request ─> error ─> afterResponse
 * ```
 *
 * Everything a plugin gets is canonical (OpenAI Chat Completions shapes); the
 * gateway renders it in the caller's format. Stages that may be async are
 * awaited (with the plugin's timeout); `streamEvent` and `afterResponse` are
 * synchronous (they run per chunk, and after the client has its answer).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest, EmbeddingRequest, EmbeddingResponse, Usage } from '../formats/openai/types.js';

export type { ChatCompletion, ChatCompletionChunk, ChatRequest, EmbeddingRequest, EmbeddingResponse, Usage };

/** The stages, in the order a request meets them. */
export const STAGES = ['received', 'beforeRouting', 'beforeAttempt', 'streamEvent', 'finalAnswer', 'error', 'afterResponse'] as const;
export type Stage = (typeof STAGES)[number];

/** The caller's API: which format it speaks (its answers and errors are rendered in it). */
export type PluginSurface = 'openai' | 'anthropic' | 'gemini';
/** What the caller asked for (the media operations' bodies are forwarded as bytes: `canonical()` has none). */
export type PluginOperation =
  | 'chat' | 'completions' | 'embeddings' | 'responses'
  | 'images' | 'image_edits' | 'speech' | 'transcriptions' | 'translations' | 'rerank' | 'moderations';

/** The provider, model and key name serving a request (never the key's secret). */
export interface PluginTarget {
  /** The provider's configured name. */
  readonly provider: string;
  /** The model as the provider knows it. */
  readonly model: string;
  /** `provider/model`. */
  readonly label: string;
}

export interface PluginVirtualKey {
  readonly id: string;
  readonly teamId: string | undefined;
  readonly customerId: string | undefined;
}

/** One request as a plugin sees it, the same object at every stage. */
export interface PluginRequest {
  /** The request id (x-request-id). */
  readonly id: string;
  readonly surface: PluginSurface;
  /** The route, e.g. `/v1/chat/completions`, `/anthropic/v1/messages`. */
  readonly route: string;
  /** The caller's request headers (credentials included: never log them). */
  readonly headers: IncomingHttpHeaders;
  /** Set from `beforeRouting` on. */
  readonly operation: PluginOperation | undefined;
  /** The model as the caller named it (set from `beforeRouting` on; `routing.model` changes it). */
  readonly model: string | undefined;
  readonly stream: boolean;
  /** The virtual key, once authenticated (governance, at `received`). */
  readonly virtualKey: PluginVirtualKey | undefined;
  /** Who serves the answer, once an attempt succeeded. */
  readonly target: PluginTarget | undefined;
  /** Upstream attempts made so far. */
  readonly attempts: number;
  /**
   * The request in canonical form (OpenAI chat or embeddings), decoded on first call (a
   * pass-through is not decoded otherwise); undefined before `beforeRouting`, and on native
   * pass-through and media routes, which forward the caller's bytes. Change it with
   * `routing.setRequest()`.
   */
  canonical(): ChatRequest | EmbeddingRequest | undefined;
  /** Per-request scratch space for plugins; key it by your plugin's name. */
  readonly state: Map<string, unknown>;
  /** Adds a header to the answer the caller gets (success or error). */
  setResponseHeader(name: string, value: string): void;
  /** The response cache's verdict for this request (metrics label, request log). */
  cache: 'hit' | 'miss' | 'none';
}

/** `beforeRouting`: the body is read, nothing is planned or sent yet. */
export interface RoutingStage {
  /** The model the request will be routed for; assign to send it to another (`provider/model` or a name). */
  model: string;
  /** Replaces the request (canonical form): the caller's bytes are then never forwarded as they came. */
  setRequest(request: ChatRequest | EmbeddingRequest): void;
  /** The targets the router planned for `model`, in order (planned on first read). */
  readonly targets: readonly PluginTarget[];
}

/**
 * An answer given by a plugin instead of the upstream call (a cache hit, a guardrail's canned
 * reply, a mock). Canonical; rendered in the caller's format, streamed if the caller streams
 * (a whole response is cut into chunks; a stream is collected into one response for a caller
 * that does not stream), with the usual headers, log record and metrics.
 */
export type EarlyAnswer =
  | { readonly response: ChatCompletion | EmbeddingResponse; readonly stream?: undefined; readonly headers?: Readonly<Record<string, string>> }
  | { readonly stream: AsyncIterable<ChatCompletionChunk>; readonly response?: undefined; readonly headers?: Readonly<Record<string, string>> };

/** `beforeAttempt`: one upstream call about to be sent. */
export interface AttemptStage {
  readonly target: PluginTarget;
  /** The key's name (never its secret). */
  readonly keyName: string;
  /** 1 for the first attempt of the request. */
  readonly attempt: number;
  /** The wire format of the provider: openai, anthropic, gemini, bedrock, cohere. */
  readonly format: string;
  readonly url: string;
  /** The outgoing headers; add or change entries (not the provider's auth headers). */
  readonly headers: Record<string, string>;
  /** The outgoing body as sent (JSON text in the provider's format); assign to change it. */
  body: string;
}

export interface Timings {
  /** From arrival to the end of the answer. */
  readonly totalMs: number;
  /** Waiting on providers, all attempts. */
  readonly upstreamMs: number;
  /** The gateway's own time: total minus upstream and retry waits. */
  readonly overheadMs: number;
  /** Streams: to the first byte sent to the caller. */
  readonly ttftMs: number | undefined;
}

/** `finalAnswer`: the answer, before it is sent (not a stream) or once the stream completed. */
export interface FinalAnswer {
  readonly status: number;
  readonly stream: boolean;
  /** False when a stream was cut (upstream failure, client gone): its response is partial. */
  readonly completed: boolean;
  /** `upstream`, or `plugin` when a plugin answered early. */
  readonly source: 'upstream' | 'plugin';
  readonly usage: Usage | undefined;
  /** USD; null when the model has no known price; undefined when no pricing is configured. */
  readonly costUsd: number | null | undefined;
  readonly timings: Timings;
  /** The headers the caller gets (x-heimdall-*, x-request-id...). */
  readonly headers: Readonly<Record<string, string>>;
  /** The answer in canonical form (decoded on first call; a stream's chunks collected). */
  response(): ChatCompletion | EmbeddingResponse | undefined;
  /** Not a stream: replaces the answer the caller gets (rendered in its format). */
  replace(response: ChatCompletion | EmbeddingResponse): void;
}

/** `error`: the request fails with this answer. */
export interface ErrorInfo {
  readonly status: number;
  /** The Heimdall error code (docs/errors.md). */
  readonly code: string;
  readonly message: string;
}

/** `afterResponse`: the client has its answer; the request is over. */
export interface CompletedRequest {
  readonly status: number;
  readonly usage: Usage | undefined;
  readonly costUsd: number | null | undefined;
  readonly timings: Timings;
  /** The error code when it failed. */
  readonly errorCode: string | undefined;
  readonly errorMessage: string | undefined;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * A plugin: a name, its place among the others, and the stages it takes part in. Throwing
 * `refuse(...)` (or a GatewayError) answers the caller with that error; any other throw, or a
 * timeout, is a plugin failure: logged, counted, and skipped (or failing the request when
 * `failClosed`).
 */
export interface Plugin {
  readonly name: string;
  /** Plugins whose stages must run before this one's (absent ones are ignored). */
  readonly after?: readonly string[];
  /** Plugins whose stages must run after this one's. */
  readonly before?: readonly string[];
  /** A failure fails the request (500) instead of being skipped. Default false; the config's `fail_closed` overrides. */
  readonly failClosed?: boolean;
  /** Longest wait for an async stage, ms (default 5000; the config's `timeout_ms` overrides). */
  readonly timeoutMs?: number;

  /** Before the body is read: who is calling (authentication, admission). Throw `refuse()` to refuse. */
  received?(request: PluginRequest): MaybePromise<void>;
  /** The body is read, nothing planned yet: change the model or request, refuse, or answer early. */
  beforeRouting?(request: PluginRequest, routing: RoutingStage): MaybePromise<EarlyAnswer | void>;
  /** Before each upstream call: change its headers or body. */
  beforeAttempt?(request: PluginRequest, attempt: AttemptStage): MaybePromise<void>;
  /** Each canonical chunk of a streamed answer: return a chunk to replace it, null to drop it. */
  streamEvent?(request: PluginRequest, chunk: ChatCompletionChunk): ChatCompletionChunk | null | void;
  /** The final answer (see FinalAnswer). */
  finalAnswer?(request: PluginRequest, answer: FinalAnswer): MaybePromise<void>;
  /** The request fails with `error` (the caller gets it in its format). */
  error?(request: PluginRequest, error: ErrorInfo): MaybePromise<void>;
  /** The client has its answer (logging, spend). Synchronous: queue slow work. */
  afterResponse?(request: PluginRequest, completed: CompletedRequest): void;
  /** The gateway closes (or the plugin is removed on a reload). */
  close?(): MaybePromise<void>;
}

/** What a plugin's factory gets besides its options. */
export interface PluginContext {
  /** A pino-style logger bound to the plugin's name. */
  readonly logger: PluginLogger;
}

export interface PluginLogger {
  info(object: Record<string, unknown>, message?: string): void;
  warn(object: Record<string, unknown>, message?: string): void;
  error(object: Record<string, unknown>, message?: string): void;
  debug(object: Record<string, unknown>, message?: string): void;
}

/** A plugin module's default export: builds the plugin from the options in the config. */
export type PluginFactory<Options = Record<string, unknown>> = (options: Options, context: PluginContext) => MaybePromise<Plugin>;

/** Identity, for type checking a plugin module: `export default definePlugin((options) => ({ name: 'x', ... }))`. */
export function definePlugin<Options = Record<string, unknown>>(factory: PluginFactory<Options>): PluginFactory<Options> {
  return factory;
}

/** An error a plugin throws to answer the caller with it (a guardrail's refusal). */
export class PluginRefusal extends Error {
  readonly refusal = true;
  constructor(
    message: string,
    readonly status: number = 403,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'PluginRefusal';
  }
}

/** Refuses the request with `status` (default 403) and `message`, in the caller's format. */
export function refuse(message: string, status = 403, headers?: Readonly<Record<string, string>>): PluginRefusal {
  return new PluginRefusal(message, status, headers);
}
