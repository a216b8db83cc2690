/**
 * Background responses (`background: true`) for providers without the Responses API (bridged).
 * A provider with its own Responses API gets the request as it is and keeps OpenAI's semantics
 * (its ids, its polling, its cancel: stored-response-routes.ts forwards them).
 *
 * - POST /v1/responses answers once the request is admitted and routed (the key, its model
 *   access, rate limits and budget are checked then, and refused at once in the caller's format):
 *   the response object with status `queued`, or, with `stream: true`, its event stream.
 * - The response then runs in the gateway through the same handler as a normal request
 *   (background-sink.ts): routing, fallbacks, governance, logging, metrics and spend as usual, one log
 *   line under the POST's request id. It is stored when accepted, and updated as it starts and ends.
 * - GET /v1/responses/{id} shows its progress (status, the output items finished so far) and then the
 *   final object; with `?stream=true&starting_after=N`, a response created with `stream: true` can be
 *   followed again from event N + 1 while the gateway keeps its events (while it runs, then
 *   FINISHED_KEEP_MS), as OpenAI allows.
 * - POST /v1/responses/{id}/cancel stops the upstream call and sets status `cancelled` (the output so far
 *   is kept); cancelling again returns the final object. A response run by another process of the same
 *   data dir (`--workers`) is cancelled through the store: its runner sees it within POLL_MS.
 * - At most `responses.background.max_jobs` run at once per process (then 429).
 * - A process that stops with background responses running (a restart, a crash, a shutdown whose drain
 *   time ran out) cannot finish them: they are marked `failed` (server_error) at shutdown, and any left
 *   running by a process that is gone are marked so at the next start.
 * @see https://platform.openai.com/docs/guides/background
 */
import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, invalidField } from '../errors/gateway-error.js';
import { responseIdFor } from '../formats/responses/index.js';
import type { Gateway, GatewayHooks } from '../gateway/gateway.js';
import type { RequestContext } from '../gateway/request-context.js';
import { planRequest, type Target } from '../gateway/router.js';
import { SSE_HEADERS } from '../gateway/sse.js';
import type { BackgroundStatus, ResponseStore, StoredResponse } from '../store/response-store.js';
import type { Logger } from '../telemetry/logger.js';
import { BackgroundReply, BackgroundRequest, BackgroundSink, type BackgroundListener } from './background-sink.js';
import type { LaneHandler } from './fast-lane.js';
import { headerSafe } from './respond.js';
import { inputItems, scopeOf, type BackgroundMark } from './stored-responses.js';
import type { JsonObject } from './validate.js';

type Item = Record<string, unknown>;

/** How often running jobs look at the store for a cancel written by another process. */
const POLL_MS = 1_000;
/** How long a finished response created with `stream: true` can still be streamed from its events. */
export const FINISHED_KEEP_MS = 5 * 60_000;
/** The events kept per response for streaming again; above it the oldest go (a resume before them is refused). */
const MAX_EVENT_BYTES = 8 * 1024 * 1024;
/** Request fields the queued response object echoes before the provider's stream starts. */
const ECHOED = ['instructions', 'max_output_tokens', 'metadata', 'parallel_tool_calls', 'previous_response_id', 'reasoning', 'temperature', 'text', 'tool_choice', 'tools', 'top_p', 'truncation', 'user'] as const;
const JOB = 'responses.background';

/** The runners of this process's live job managers (a restart of the app inside one process has a new one). */
const LIVE_RUNNERS = new Set<string>();

function isRecord(value: unknown): value is Item {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether the process (and, in this process, the app instance) that runs a background response is alive. */
function runnerAlive(runner: string | null): boolean {
  if (runner === null) return false;
  if (LIVE_RUNNERS.has(runner)) return true;
  const pid = Number(runner.split('/', 1)[0]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function serverError(message: string): { code: string; message: string } {
  return { code: 'server_error', message };
}

/** One running background response. */
class BackgroundJob implements BackgroundListener, BackgroundMark {
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
  private stored = false;

  constructor(
    private readonly jobs: BackgroundResponses,
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

  admitted(target: Target): void {
    if (this.target !== undefined) return;
    this.target = target;
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

export class BackgroundResponses {
  readonly runner = `${process.pid}/${crypto.randomUUID()}`;
  private readonly running = new Map<string, BackgroundJob>();
  /** Finished responses created with `stream: true`, kept FINISHED_KEEP_MS for streaming again. */
  private readonly kept = new Map<string, { job: BackgroundJob; timer: NodeJS.Timeout }>();
  private poll: NodeJS.Timeout | undefined;
  private closing: NodeJS.Timeout | undefined;
  readonly hooks: GatewayHooks;

  constructor(
    private readonly gateway: Gateway,
    readonly store: ResponseStore,
    private readonly serve: LaneHandler,
    private readonly logger: Logger,
  ) {
    LIVE_RUNNERS.add(this.runner);
    const failed = store.failAbandoned(runnerAlive, serverError('The gateway stopped while this background response ran (a restart or a crash); it cannot be resumed.'));
    if (failed > 0) logger.warn({ failed }, 'background responses left running by a stopped gateway were marked failed');
    this.hooks = {
      begin: (ctx, _request, _body, response) => {
        if (response instanceof BackgroundSink) (response.listener as BackgroundJob).attach(ctx);
      },
      beforeAttempt: (ctx, target) => {
        if (this.running.size > 0) (ctx.hookState.get(JOB) as BackgroundJob | undefined)?.admitted(target);
      },
    };
  }

  /**
   * True when this request is a background one the gateway runs: `background: true` and a primary
   * model without the Responses API. A provider with it gets the request as it is (its own background
   * mode); a request that cannot be planned goes the normal way, which answers its error.
   */
  wants(body: JsonObject): boolean {
    if (body.background !== true) return false;
    const state = this.gateway.state;
    const model = typeof body.model === 'string' && body.model !== '' ? body.model : state.routing.defaultModel;
    if (model === undefined) return false;
    let plan;
    try {
      plan = planRequest(state, model, undefined, 'responses');
    } catch {
      return false;
    }
    const end = plan.tierStarts[1] ?? plan.targets.length;
    for (let i = 0; i < end; i++) {
      const target = plan.targets[i];
      const provider = target.provider;
      if (provider.definition.format !== 'openai' || provider.wireOperation('responses', target.model, state.catalog) !== 'responses') return true;
    }
    return false;
  }

  /** POST /v1/responses with `background: true` to a bridged model. */
  async start(request: FastifyRequest, reply: FastifyReply, body: JsonObject): Promise<void> {
    const max = this.gateway.state.config.responses.background.maxJobs;
    if (max === 0) throw invalidField('background', 'background: background mode is turned off on this gateway (responses.background.max_jobs is 0).');
    if (body.store === false) throw invalidField('store', 'background: Background mode requires store=true; stateless requests are rejected.');
    if (this.running.size >= max) {
      throw new GatewayError('HD_ERR_RESPONSES_BACKGROUND_FULL', `This gateway runs ${max} background responses at once (responses.background.max_jobs); retry when one has finished.`, { retryAfter: 1 });
    }
    const job = new BackgroundJob(this, request.id, this.runner, body, body.stream === true);
    this.running.set(job.id, job);
    this.startPolling();
    job.run(this.serve, request.raw, request.headers, this.logger);
    const refusal = await job.accepted;
    if (refusal !== undefined) {
      this.running.delete(job.id);
      reply.code(refusal.status).headers(refusal.headers).type('application/json').send(refusal.payload);
      return;
    }
    const headers: Record<string, string> = { 'x-request-id': request.id };
    if (job.target !== undefined) {
      headers['x-heimdall-provider'] = headerSafe(job.target.provider.name);
      headers['x-heimdall-model'] = headerSafe(job.target.model);
    }
    if (job.streaming) {
      this.stream(job, reply, -1, headers);
      return;
    }
    reply.code(200).headers(headers).type('application/json').send(JSON.stringify(job.snapshot()));
  }

  /** The response as this process knows it (running here, or finished with its events kept). */
  local(id: string, scope: string): Item | undefined {
    const job = this.running.get(id) ?? this.kept.get(id)?.job;
    return job !== undefined && job.scope === scope ? job.snapshot() : undefined;
  }

  /** POST /v1/responses/{id}/cancel of a background response the gateway stored. */
  cancel(found: StoredResponse): Item {
    const job = this.running.get(found.id);
    if (job !== undefined && job.scope === found.scope) return job.cancel();
    const background = found.background;
    const response = found.response ?? {};
    if (background !== undefined && (background.status === 'queued' || background.status === 'in_progress')) {
      // Run by another process (or just ended there): the store says cancelled; its runner stops within POLL_MS.
      const cancelled = { ...response, status: 'cancelled' };
      if (this.store.updateRunning({ ...found, response: cancelled, inputItems: null, background: { status: 'cancelled', runner: background.runner } })) return cancelled;
      return this.store.get(found.id, found.scope)?.response ?? cancelled;
    }
    return response; // already ended: cancelling again returns the final object
  }

  /** GET /v1/responses/{id}?stream=true: the events after `after`, then the live ones. */
  streamStored(found: StoredResponse, reply: FastifyReply, after: number): void {
    const job = this.running.get(found.id) ?? this.kept.get(found.id)?.job;
    if (job === undefined || job.scope !== found.scope || !job.streaming) {
      throw new GatewayError('HD_ERR_RESPONSES_STREAM_UNAVAILABLE', `Response '${found.id}' cannot be streamed: only a background response created with stream=true can be, while the gateway keeps its events (while it runs and for ${FINISHED_KEEP_MS / 60_000} minutes after).`);
    }
    this.stream(job, reply, after, { 'x-request-id': reply.request.id });
  }

  private stream(job: BackgroundJob, reply: FastifyReply, after: number, headers: Record<string, string>): void {
    const raw = reply.raw;
    let end = false;
    const following = job.follow(after, (text) => {
      if (end || raw.destroyed) return;
      if (text === null) {
        end = true;
        raw.end();
      } else raw.write(text);
    });
    if (following === undefined) {
      throw new GatewayError('HD_ERR_RESPONSES_STREAM_UNAVAILABLE', `The events of response '${job.id}' after sequence number ${after} are no longer kept.`, { param: 'starting_after' });
    }
    reply.hijack();
    raw.writeHead(200, { ...SSE_HEADERS, ...headers });
    for (const text of following.backlog) raw.write(text);
    // A reader who goes away stops reading; the response runs on (cancel stops it).
    raw.once('close', () => following.unsubscribe());
    if (job.done && !end) {
      end = true;
      raw.end();
    }
  }

  /** A job's run is over: it leaves the running ones (kept a while when it can be streamed again). */
  finished(job: BackgroundJob): void {
    if (this.running.get(job.id) !== job) return;
    this.running.delete(job.id);
    if (this.running.size === 0) this.stopPolling();
    if (!job.streaming || !job.done) return;
    const timer = setTimeout(() => this.kept.delete(job.id), FINISHED_KEEP_MS);
    timer.unref();
    this.kept.set(job.id, { job, timer });
  }

  /** Running jobs look at the store for a cancel written by another process. */
  private startPolling(): void {
    if (this.poll !== undefined) return;
    this.poll = setInterval(() => {
      for (const job of this.running.values()) {
        if (job.ctx === undefined || job.done) continue;
        const row = this.store.backgroundOf(job.id, job.scope);
        if (row !== undefined && row.status !== 'queued' && row.status !== 'in_progress') {
          job.stop(this.store.get(job.id, job.scope)?.response ?? { ...job.snapshot(), status: row.status }, false);
        }
      }
    }, POLL_MS);
    this.poll.unref();
  }

  private stopPolling(): void {
    if (this.poll !== undefined) clearInterval(this.poll);
    this.poll = undefined;
  }

  /** The gateway is closing: what runs may finish within `drainMs`, then it is stopped (close). */
  closeAfter(drainMs: number): void {
    if (this.running.size === 0) {
      this.close();
      return;
    }
    this.closing = setTimeout(() => this.close(), drainMs);
    this.closing.unref();
  }

  /** The gateway is closing: what still runs cannot finish, and says so. */
  close(): void {
    if (this.closing !== undefined) clearTimeout(this.closing);
    this.closing = undefined;
    this.stopPolling();
    for (const job of [...this.running.values()]) {
      job.stop({ ...job.snapshot(), status: 'failed', error: serverError('The gateway shut down before this background response finished.') }, true);
    }
    for (const { timer } of this.kept.values()) clearTimeout(timer);
    this.kept.clear();
    LIVE_RUNNERS.delete(this.runner);
  }
}
