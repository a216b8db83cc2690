/** Everything one request learns on its way through, for the reply headers, metrics and the log record. */
import { performance } from 'node:perf_hooks';
import type { GatewayError } from '../errors/gateway-error.js';
import type { CodecWarning } from '../formats/types.js';
import type { Usage } from '../formats/openai/types.js';
import type { Target } from './router.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { PipelineInput } from './pipeline.js';

export type Surface = 'openai' | 'anthropic' | 'gemini';

export interface AttemptRecord {
  provider: string;
  model: string;
  /** The key's name (never the secret). */
  key?: string;
  /** The key's id within the provider (health state and logs). */
  key_id?: string;
  status?: number;
  error?: string;
  /** How it failed without a usable answer: http, timeout, network, bad_response, aborted. */
  failure?: string;
  latency_ms: number;
}

export class RequestContext {
  readonly startedAt = performance.now();
  readonly time = Date.now();
  /**
   * When the request's upstream work must be over (performance.now() time): set by the pipeline from
   * `timeouts.total_ms` of the first provider tried; every attempt, backoff sleep and fallback fits in it.
   */
  deadline = Infinity;
  /** The total time the deadline was set from, for the 504 message. */
  deadlineMs = 0;
  /** Keys whose breaker already counted a failure of this request: one request, one failure (retries are not counted again). */
  failedKeys: Set<object> | undefined;
  /** Time spent waiting on upstreams (all attempts). */
  upstreamMs = 0;
  /** Time spent sleeping between retries (neither upstream nor gateway work). */
  waitMs = 0;
  /** For streams: from arrival to the first byte sent to the client. */
  ttftMs: number | undefined;
  attempts: AttemptRecord[] = [];
  target: Target | undefined;
  requestedModel: string | undefined;
  /**
   * Provider and model the request is counted under when it has no target and no attempt (refused
   * or failed before routing): what the caller asked for. Set when the request finishes.
   */
  attributed: { provider: string; model: string } | undefined;
  usage: Usage | undefined;
  warnings: CodecWarning[] | undefined;
  status = 200;
  error: GatewayError | undefined;
  /** A failure after the response started (mid-stream). */
  errorMessage: string | undefined;
  stream = false;
  clientGone = false;
  finished = false;
  /** The virtual key's id, once authenticated (governance). */
  virtualKeyId: string | undefined;
  /** The virtual key's team and customer, when it has them (governance; request log columns). */
  teamId: string | undefined;
  customerId: string | undefined;
  /** Targets a hook refused (governance: a model or provider the virtual key may not use); never attempted. */
  targetFilter: ((target: Target) => boolean) | undefined;
  /** The OpenAI surface added stream_options.include_usage the caller did not ask for: a pass-through stream strips it again. */
  addedStreamUsage = false;
  /** Opaque per-request state of hooks (governance reservation, trace span...). */
  readonly hookState: Map<string, unknown> = new Map();
  /** Cost in USD; null when the model has no known price, undefined when not computed. */
  costUsd: number | null | undefined;
  /** Headers hooks want on the response (x-ratelimit-*). */
  responseHeaders: Record<string, string> | undefined;
  /** The response cache's verdict, when a cache is on (metrics label, x-heimdall-cache). */
  cache: 'hit' | 'miss' | 'none' = 'none';
  /** The response cache's details for the request log (result, entry, similarity, cost saved). */
  cacheFacts: Record<string, unknown> | undefined;
  /** What a media call's log preview shows (images, audio, uploaded files: src/api/media-facts.ts). */
  mediaFacts: Record<string, unknown> | undefined;
  /**
   * Upstream calls made on the request's behalf besides its answer (the semantic cache's embedding
   * call): their cost (null: unpriced) and tokens are charged to the caller with the request's own.
   */
  sideCharge: { costUsd: number | null; tokens: number } | undefined;
  /** The W3C trace id, when tracing is on (log line, request log). */
  traceId: string | undefined;
  /** The model the provider says answered, and the finish reasons (trace attributes). */
  responseModel: string | undefined;
  finishReasons: string[] | undefined;
  /**
   * Told the id of a Responses API `response` a pass-through provider answered with, as its final
   * event or body is forwarded (the stored-responses mapping: api/stored-responses.ts).
   */
  onUpstreamResponseId: ((id: string) => void) | undefined;
  /** The caller's request headers (plugins read them; set when the context starts). */
  headers: IncomingHttpHeaders | undefined;
  /** What the surface handed the pipeline (plugins read the canonical request through it). */
  input: PipelineInput | undefined;
  /** The request as plugins see it (src/plugins/request-view.ts), made on first use. */
  pluginView: object | undefined;
  /** Set when a plugin answered instead of a provider (its name). */
  answeredBy: string | undefined;
  private controller: { abort(reason?: unknown): void } | undefined;

  constructor(
    readonly id: string,
    readonly surface: Surface,
    readonly route: string,
    readonly method: string = 'POST',
  ) {}

  /** The provider the request is counted under: who served it, else the last attempt, else what the caller asked for. */
  countedProvider(): string {
    return this.target?.provider.name ?? this.attempts[this.attempts.length - 1]?.provider ?? this.attributed?.provider ?? 'none';
  }

  /** The model the request is counted under (as countedProvider). */
  countedModel(): string {
    return this.target?.model ?? this.attempts[this.attempts.length - 1]?.model ?? this.attributed?.model ?? 'none';
  }

  /** The controller of the attempt in flight, aborted if the client goes away. */
  attachController(controller: { abort(reason?: unknown): void } | undefined): void {
    this.controller = controller;
  }

  onClientClose(): void {
    if (this.clientGone) return;
    this.clientGone = true;
    this.controller?.abort();
  }

  addWarnings(warnings: readonly CodecWarning[]): void {
    if (warnings.length === 0) return;
    this.warnings = this.warnings === undefined ? [...warnings] : this.warnings.concat(warnings);
  }

  /**
   * When the last byte of the response was handed to the socket (set by the reply writers). The
   * request's time ends here: the 'close' event that finishes it comes one or more event-loop
   * turns later, and under load that wait is other requests' work, not this one's.
   */
  respondedAt: number | undefined;

  /** The request's time so far, or until its response was written. */
  totalMs(): number {
    return (this.respondedAt ?? performance.now()) - this.startedAt;
  }

  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  /** Gateway overhead: total time minus upstream time and retry sleeps. */
  overheadMs(totalMs: number): number {
    return Math.max(0, totalMs - this.upstreamMs - this.waitMs);
  }
}
