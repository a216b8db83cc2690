/**
 * What the request log takes from a request: the request and response bodies
 * when the `logging.bodies` setting is on (captured from `begin`), and one
 * log record per finished request, queued in memory (the LogWriter writes
 * batches off the request path). The built-in plugin `request-log`
 * (src/plugins/request-log.ts) calls these at its stages.
 *
 * With bodies off (the default) the begin hook is one property read. With
 * bodies on, the request path keeps at most `max_body_bytes` + a little slack
 * of each body; redaction and the final cut happen at flush time.
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { FinishedRequest, Gateway } from '../gateway/gateway.js';
import { requestLogPlugin } from '../plugins/request-log.js';
import type { RequestContext } from '../gateway/request-context.js';
import type { LogAttempt, RequestLogRecord } from './log-types.js';
import type { RequestLogWriter } from './log-writer.js';
import type { LogSequence } from './spend-watermark.js';

/** Kept past the cap so a secret cut in two at the cap is still recognised and redacted. */
const SLACK_BYTES = 1024;
const CAPTURE_KEY = 'store.bodies';

/** The head of one body, and its full size. */
class BodyTap {
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  total = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  take(chunk: unknown, encoding?: unknown): void {
    if (typeof chunk === 'string') {
      const enc = typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8';
      this.total += Buffer.byteLength(chunk, enc);
      const room = this.#limit - this.#kept;
      // Characters are at least one byte each: `room` characters hold at least `room` bytes.
      if (room > 0) this.#keep(Buffer.from(chunk.length > room ? chunk.slice(0, room) : chunk, enc));
    } else if (chunk instanceof Uint8Array) {
      this.total += chunk.byteLength;
      const room = this.#limit - this.#kept;
      if (room > 0) this.#keep(Buffer.from(chunk.subarray(0, room)));
    }
  }

  #keep(bytes: Buffer): void {
    const room = this.#limit - this.#kept;
    const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
    this.#chunks.push(kept);
    this.#kept += kept.length;
  }

  text(): string | null {
    if (this.#chunks.length === 0) return null;
    return (this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#kept)).toString('utf8');
  }

  /** The full size when the text is only a head. */
  cutFrom(): number | undefined {
    return this.total > this.#kept ? this.total : undefined;
  }
}

interface BodyCapture {
  request: BodyTap;
  response: BodyTap;
}

/** Tees what is written to the client into `tap`, for this one response. */
function tapResponse(response: ServerResponse, tap: BodyTap): void {
  const write = response.write;
  const end = response.end;
  response.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    tap.take(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
  response.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') tap.take(chunk, rest[0]);
    return (end as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as ServerResponse['end'];
}

export function startCapture(ctx: RequestContext, body: unknown, response: ServerResponse, maxBytes: number): void {
  const limit = maxBytes + SLACK_BYTES;
  const capture: BodyCapture = { request: new BodyTap(limit), response: new BodyTap(limit) };
  // A body still streaming (an audio upload read as it arrives) is not held for the log: its files are in metadata.media.
  if (body !== undefined && body !== null && !(body instanceof Readable)) capture.request.take(Buffer.isBuffer(body) ? body : String(body));
  tapResponse(response, capture.response);
  ctx.hookState.set(CAPTURE_KEY, capture);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** One finished request as a log record. Pure apart from reading the context. */
export function toLogRecord(finished: FinishedRequest): RequestLogRecord {
  const { ctx, totalMs, overheadMs } = finished;
  const last = ctx.attempts[ctx.attempts.length - 1];
  const usage = ctx.usage;
  const attempts: LogAttempt[] = ctx.attempts.map((attempt) => {
    const logged: LogAttempt = { provider: attempt.provider, model: attempt.model, latency_ms: attempt.latency_ms };
    const keyId = (attempt as { key_id?: unknown }).key_id;
    if (typeof keyId === 'string') logged.key_id = keyId;
    if (attempt.key !== undefined) logged.key_name = attempt.key;
    if (attempt.status !== undefined) logged.status = attempt.status;
    if (attempt.error !== undefined) logged.error = attempt.error;
    return logged;
  });
  let metadata: Record<string, unknown> | null = null;
  if (ctx.warnings !== undefined || ctx.traceId !== undefined || ctx.cacheFacts !== undefined || ctx.mediaFacts !== undefined) {
    metadata = {};
    if (ctx.traceId !== undefined) metadata.trace_id = ctx.traceId;
    if (ctx.warnings !== undefined) metadata.warnings = ctx.warnings;
    if (ctx.cacheFacts !== undefined) metadata.cache = ctx.cacheFacts;
    if (ctx.mediaFacts !== undefined) metadata.media = ctx.mediaFacts;
  }
  const record: RequestLogRecord = {
    id: ctx.id,
    time: ctx.time,
    surface: ctx.surface,
    route: ctx.route,
    method: ctx.method,
    virtual_key_id: ctx.virtualKeyId ?? null,
    team_id: ctx.teamId ?? null,
    customer_id: ctx.customerId ?? null,
    provider: ctx.target?.provider.name ?? last?.provider ?? ctx.attributed?.provider ?? null,
    model: ctx.target?.model ?? last?.model ?? ctx.attributed?.model ?? null,
    requested_model: ctx.requestedModel ?? null,
    status: ctx.status,
    latency_ms: round(totalMs, 3),
    upstream_ms: ctx.attempts.length > 0 ? round(ctx.upstreamMs, 3) : null,
    ttft_ms: ctx.ttftMs === undefined ? null : round(ctx.ttftMs, 3),
    overhead_us: Math.round(overheadMs * 1000),
    input_tokens: usage?.prompt_tokens ?? null,
    output_tokens: usage?.completion_tokens ?? null,
    cached_tokens: usage?.prompt_tokens_details?.cached_tokens ?? null,
    reasoning_tokens: usage?.completion_tokens_details?.reasoning_tokens ?? null,
    // null until governance prices the request; a known price of 0 stays 0
    cost_usd: typeof ctx.costUsd === 'number' ? ctx.costUsd : null,
    cost_known: typeof ctx.costUsd === 'number',
    stream: ctx.stream,
    cache: ctx.cache === 'hit' || ctx.cache === 'miss' ? ctx.cache : null,
    attempts,
    error_code: ctx.error?.code ?? null,
    error_message: ctx.error?.message ?? ctx.errorMessage ?? null,
    metadata,
  };
  const capture = ctx.hookState.get(CAPTURE_KEY) as BodyCapture | undefined;
  if (capture !== undefined) {
    record.request_body = capture.request.text();
    record.response_body = capture.response.text();
    const requestCut = capture.request.cutFrom();
    const responseCut = capture.response.cutFrom();
    if (requestCut !== undefined) record.request_body_bytes = requestCut;
    if (responseCut !== undefined) record.response_body_bytes = responseCut;
  }
  return record;
}

/** Plugs the request log into the gateway: the built-in plugin `request-log` (src/plugins/request-log.ts). */
export function attachRequestLogging(gateway: Gateway, logs: RequestLogWriter, sequence?: LogSequence): void {
  gateway.lifecycle.use(requestLogPlugin(logs, sequence));
}
