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
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, invalidField } from '../errors/gateway-error.js';
import type { Gateway } from '../gateway/gateway.js';
import { isAlive } from '../store/data-dir-lock.js';
import type { BuiltinPlugin } from '../plugins/lifecycle.js';
import { contextOf } from '../plugins/request-view.js';
import type { AttemptStageImpl } from '../plugins/stages.js';
import { planRequest } from '../gateway/router.js';
import { SSE_HEADERS } from '../gateway/sse.js';
import type { ResponseStore, StoredResponse } from '../store/response-store.js';
import type { Logger } from '../telemetry/logger.js';
import { BackgroundJob, JOB, serverError, type JobHost } from './background-job.js';
import { BackgroundSink } from './background-sink.js';
import type { LaneHandler } from './fast-lane.js';
import { gatewayHeaders, headerSafe } from './respond.js';
import type { JsonObject } from './validate.js';

type Item = Record<string, unknown>;
/** How often running jobs look at the store for a cancel written by another process. */
const POLL_MS = 1_000;
/** How long a finished response created with `stream: true` can still be streamed from its events. */
export const FINISHED_KEEP_MS = 5 * 60_000;
/** Finished responses whose events are kept at once (the oldest go first). */
const MAX_KEPT = 64;

/** The runners of this process's live job managers (a restart of the app inside one process has a new one). */
const LIVE_RUNNERS = new Set<string>();

/** Whether the process (and, in this process, the app instance) that runs a background response is alive. */
function runnerAlive(runner: string | null): boolean {
  if (runner === null) return false;
  if (LIVE_RUNNERS.has(runner)) return true;
  const pid = Number(runner.split('/', 1)[0]);
  return pid !== process.pid && isAlive(pid);
}

export class BackgroundResponses implements JobHost {
  readonly runner = `${process.pid}/${crypto.randomUUID()}`;
  private readonly running = new Map<string, BackgroundJob>();
  /** Finished responses created with `stream: true`, kept FINISHED_KEEP_MS for streaming again. */
  private readonly kept = new Map<string, { job: BackgroundJob; timer: NodeJS.Timeout }>();
  private poll: NodeJS.Timeout | undefined;
  private closing: NodeJS.Timeout | undefined;
  /** A built-in plugin on the request lifecycle: ties a background request's context to its job. */
  readonly plugin: BuiltinPlugin;

  constructor(
    private readonly gateway: Gateway,
    readonly store: ResponseStore,
    private readonly serve: LaneHandler,
    private readonly logger: Logger,
  ) {
    LIVE_RUNNERS.add(this.runner);
    const failed = store.failAbandoned(runnerAlive, serverError('The gateway stopped while this background response ran (a restart or a crash); it cannot be resumed.'));
    if (failed > 0) logger.warn({ failed }, 'background responses left running by a stopped gateway were marked failed');
    this.plugin = {
      name: 'background-responses',
      begin: (ctx, _request, _body, response) => {
        if (response instanceof BackgroundSink) (response.listener as BackgroundJob).attach(ctx);
      },
      beforeAttempt: (request, attempt) => {
        if (this.running.size === 0) return;
        (contextOf(request).hookState.get(JOB) as BackgroundJob | undefined)?.admitted((attempt as AttemptStageImpl).runtime, attempt.attempt);
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
    // The request's headers as far as they are known (warnings of the translation, rate-limit headers), and who serves it.
    const headers: Record<string, string> = job.ctx === undefined ? { 'x-request-id': request.id } : gatewayHeaders(job.ctx);
    if (job.target !== undefined) {
      headers['x-heimdall-provider'] = headerSafe(job.target.provider.name);
      headers['x-heimdall-model'] = headerSafe(job.target.model);
    }
    if (job.attempt !== undefined) headers['x-heimdall-attempts'] = String(job.attempt);
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
    if (!job.streaming || !job.done || job.refused) return;
    if (this.kept.size >= MAX_KEPT) {
      const [oldest, entry] = this.kept.entries().next().value!;
      clearTimeout(entry.timer);
      this.kept.delete(oldest);
    }
    const timer = setTimeout(() => this.kept.delete(job.id), FINISHED_KEEP_MS);
    timer.unref();
    this.kept.set(job.id, { job, timer });
  }

  /** Running jobs look at the store for a cancel written by another process. */
  private startPolling(): void {
    if (this.poll !== undefined) return;
    this.poll = setInterval(() => {
      for (const job of this.running.values()) {
        if (!job.stored || job.done) continue;
        const row = this.store.backgroundOf(job.id, job.scope);
        // Cancelled (or deleted) through another process: stopped here, the store already says so.
        if (row === undefined) job.stop({ ...job.snapshot(), status: 'cancelled' }, false);
        else if (row.status !== 'queued' && row.status !== 'in_progress') {
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
