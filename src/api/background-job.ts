/**
 * One background response the gateway runs (background-responses.ts): its run through the
 * POST /v1/responses handler (background-sink.ts), its state as the stream goes (the response object,
 * the output items finished so far, the final object), its stored row, its events for readers who
 * follow it, and its cancel.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { responseIdFor } from '../formats/responses/index.js';
import type { RequestContext } from '../gateway/request-context.js';
import type { Target } from '../gateway/router.js';
import type { BackgroundStatus, ResponseStore, StoredResponse } from '../store/response-store.js';
import type { Logger } from '../telemetry/logger.js';
import { BackgroundReply, BackgroundRequest, BackgroundSink, type BackgroundListener } from './background-sink.js';
import type { LaneHandler } from './fast-lane.js';
import { inputItems, scopeOf, type BackgroundMark } from './stored-responses.js';
import type { JsonObject } from './validate.js';

type Item = Record<string, unknown>;

/** The events kept per response for streaming again; above it the oldest go (a resume before them is refused). */
const MAX_EVENT_BYTES = 8 * 1024 * 1024;
/** Request fields the queued response object echoes before the provider's stream starts. */
const ECHOED = ['instructions', 'max_output_tokens', 'metadata', 'parallel_tool_calls', 'previous_response_id', 'reasoning', 'temperature', 'text', 'tool_choice', 'tools', 'top_p', 'truncation', 'user'] as const;
/** The key of a job in its request's hook state. */
export const JOB = 'responses.background';

/** What a job needs from the jobs that run it. */
export interface JobHost {
  readonly store: ResponseStore;
  /** Its run is over. */
  finished(job: BackgroundJob): void;
}

function isRecord(value: unknown): value is Item {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function serverError(message: string): { code: string; message: string } {
  return { code: 'server_error', message };
}

/** One running background response. */
export class BackgroundJob implements BackgroundListener, BackgroundMark {
  readonly id: string;
  readonly createdAt = Math.floor(Date.now() / 1000);
  ctx: RequestContext | undefined;
  target: Target | undefined;
  status: BackgroundStatus = 'queued';
  /** The response object as last known (queued, then the stream's). */
  private response: Item;
  private readonly output: Item[] = [];
  private final: Item | undefined;
  /** The stream's events, as SSE text, when the caller asked for a stream (kept for resuming). */
  private readonly events: Array<{ sequence: number; text: string }> | undefined;
  private eventBytes = 0;
  private readonly subscribers = new Set<(text: string | null) => void>();
  private acceptedResolve: ((refusal: { status: number; headers: Record<string, string | number | string[]>; payload: string } | undefined) => void) | undefined;
  readonly accepted: Promise<{ status: number; headers: Record<string, string | number | string[]>; payload: string } | undefined>;
  private sink: BackgroundSink | undefined;
  /** The attempt that was admitted (1 for the first): the POST's answer says it, the call may still be signing. */
  attempt: number | undefined;
  /** Accepted and written to the store (queued). */
  stored = false;
  /** Refused before it was accepted: never stored, nothing to keep. */
  refused = false;

  constructor(
    private readonly jobs: JobHost,
    readonly requestId: string,
    readonly runner: string,
    private readonly body: JsonObject,
    readonly streaming: boolean,
  ) {
    this.id = responseIdFor(requestId);
    this.events = streaming ? [] : undefined;
    const echo: Item = {};
    for (const field of ECHOED) if (body[field] !== undefined) echo[field] = body[field];
    this.response = {
      id: this.id, object: 'response', created_at: this.createdAt, status: 'queued', background: true, error: null, incomplete_details: null,
      model: typeof body.model === 'string' ? body.model : null, output: [], store: true, usage: null, ...echo,
    };
    this.accepted = new Promise((resolve) => {
      this.acceptedResolve = resolve;
    });
  }

  get scope(): string {
    return this.ctx === undefined ? '' : scopeOf(this.ctx);
  }

  get done(): boolean {
    return this.final !== undefined;
  }

  run(serve: LaneHandler, raw: IncomingMessage, headers: IncomingMessage['headers'], logger: Logger): void {
    const inner: JsonObject = { ...this.body, stream: true };
    delete inner.background;
    const request = new BackgroundRequest(this.requestId, raw, headers, Buffer.from(JSON.stringify(inner)), this);
    const sink = new BackgroundSink(this);
    this.sink = sink;
    const reply = new BackgroundReply(sink, request, logger);
    serve(request as unknown as FastifyRequest, reply as unknown as FastifyReply).catch((error: unknown) => {
      logger.error({ err: error, request_id: this.requestId }, 'background response: unexpected failure');
      if (!sink.writableEnded) this.answer(500, {}, JSON.stringify({ error: { message: 'Internal error.', type: 'server_error' } }));
      sink.destroy();
    });
  }

  /** The gateway hooks saw the request start (its context) and its first attempt (admitted and routed). */
  attach(ctx: RequestContext): void {
    this.ctx = ctx;
    ctx.hookState.set(JOB, this);
  }

  admitted(target: Target, attempt: number): void {
    if (this.target !== undefined) return;
    this.target = target;
    this.attempt = attempt;
    this.accept();
  }

  /** The current response object: progress while it runs, then the final one. */
  snapshot(): Item {
    if (this.final !== undefined) return this.final;
    return { ...this.response, status: this.status, output: [...this.output] };
  }

  /** Accepted: stored as queued, and the POST is answered. */
  private accept(): void {
    if (this.stored) return;
    this.stored = true;
    this.jobs.store.put(this.entry({ ...this.snapshot() }, inputItems(this.body.input, this.id)));
    this.acceptedResolve?.(undefined);
    this.acceptedResolve = undefined;
  }

  private entry(response: Item, items: Item[] | null): StoredResponse {
    return {
      id: this.id, scope: this.scope, mode: 'stored',
      provider: this.ctx?.target?.provider.name ?? this.target?.provider.name ?? '',
      model: this.ctx?.target?.model ?? this.target?.model ?? String(this.body.model ?? ''),
      keyId: null, createdAt: Date.now(), response, inputItems: items,
      background: { status: response.status as BackgroundStatus, runner: this.runner },
    };
  }

  started(): void {
    this.accept();
  }

  event(data: string, event: Item): void {
    const type = event.type;
    if (this.events !== undefined) this.keep(typeof event.sequence_number === 'number' ? event.sequence_number : this.events.length, `event: ${String(type)}\ndata: ${data}\n\n`);
    if (this.final !== undefined) return;
    const response = isRecord(event.response) ? { ...event.response, id: this.id, background: true } : undefined;
    switch (type) {
      case 'response.created':
      case 'response.in_progress':
        if (response !== undefined) this.response = response;
        if (this.status === 'queued') {
          this.status = 'in_progress';
          this.jobs.store.updateRunning(this.entry(this.snapshot(), null));
        }
        return;
      case 'response.output_item.done':
        if (isRecord(event.item)) this.output[typeof event.output_index === 'number' ? event.output_index : this.output.length] = event.item;
        return;
      case 'response.completed':
      case 'response.incomplete':
        // The bridge has stored it with its input items (stored-responses.ts); this write changes nothing
        // then, and keeps a response that a fallback's provider answered itself.
        this.end(response ?? this.snapshot(), true);
        return;
      case 'response.failed':
        this.end(response ?? { ...this.snapshot(), status: 'failed', error: serverError('The response failed.') }, true);
        return;
      case 'error': {
        const error = isRecord(event.error) ? event.error : event;
        this.end({ ...this.snapshot(), status: 'failed', error: serverError(typeof error.message === 'string' ? error.message : 'The response failed.') }, true);
        return;
      }
      default:
    }
  }

  answer(status: number, headers: Record<string, string | number | string[]>, payload: string): void {
    if (this.acceptedResolve !== undefined && !this.stored) {
      // Refused before it was accepted (a bad request, a key, a limit, no provider): the caller gets the error.
      this.acceptedResolve({ status, headers, payload });
      this.acceptedResolve = undefined;
      this.refused = true;
      this.final = { status: 'failed' };
      return;
    }
    let parsed: Item = {};
    try {
      const value = JSON.parse(payload) as unknown;
      if (isRecord(value)) parsed = value;
    } catch {
      // not JSON: described below
    }
    if (status < 400 && parsed.object === 'response') {
      this.end({ ...parsed, id: this.id, background: true }, parsed.status !== 'completed' && parsed.status !== 'incomplete');
      return;
    }
    const error = isRecord(parsed.error) ? parsed.error : {};
    const message = typeof error.message === 'string' ? error.message : `The response failed (HTTP ${status}).`;
    const code = status === 429 ? 'rate_limit_exceeded' : 'server_error';
    this.end({ ...this.snapshot(), status: 'failed', error: { code, message } }, true);
  }

  closed(): void {
    if (this.final === undefined) {
      this.end({ ...this.snapshot(), status: 'failed', error: serverError('The provider\'s stream ended before the response was complete.') }, true);
    }
    this.jobs.finished(this);
  }

  /** Cancels it: the upstream call stops, the output so far is kept, status `cancelled`. */
  cancel(): Item {
    if (this.final === undefined) {
      this.end({ ...this.snapshot(), status: 'cancelled' }, true);
      this.sink?.destroy();
    }
    return this.final!;
  }

  /** Ended from outside (cancelled by another process, or the gateway shutting down). */
  stop(response: Item, write: boolean): void {
    if (this.final !== undefined) return;
    this.end(response, write);
    this.sink?.destroy();
  }

  private end(response: Item, write: boolean): void {
    if (this.final !== undefined) return;
    this.final = response;
    this.status = response.status as BackgroundStatus;
    if (write && this.stored) this.jobs.store.updateRunning(this.entry(response, null));
    for (const subscriber of this.subscribers) subscriber(null);
    this.subscribers.clear();
  }

  private keep(sequence: number, text: string): void {
    const events = this.events!;
    events.push({ sequence, text });
    this.eventBytes += text.length;
    while (this.eventBytes > MAX_EVENT_BYTES && events.length > 1) this.eventBytes -= events.shift()!.text.length;
    for (const subscriber of this.subscribers) subscriber(text);
  }

  /** The events after `after` (-1: all) and a subscription to the next ones; undefined when they are not kept. */
  follow(after: number, subscriber: (text: string | null) => void): { backlog: string[]; unsubscribe(): void } | undefined {
    const events = this.events;
    if (events === undefined) return undefined;
    if (events.length > 0 && after + 1 < events[0].sequence) return undefined; // trimmed
    const backlog = events.filter((event) => event.sequence > after).map((event) => event.text);
    if (this.final === undefined) this.subscribers.add(subscriber);
    return { backlog, unsubscribe: () => this.subscribers.delete(subscriber) };
  }
}
