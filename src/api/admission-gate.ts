/**
 * Where overload shedding (src/gateway/admission.ts) meets the server: every
 * request to a client surface passes the capacity limit (src/gateway/capacity-limit.ts:
 * over the rate a saturated CPU serves, it is refused at once, never queued,
 * from a response rendered once: `refuseOverCapacity()`, counted in
 * `heimdall_requests_shed_total` but not logged one by one; in a `--workers N`
 * worker one refusal each 10 ms also closes its connection), takes an
 * in-flight slot before its body is read and gives it back when its response
 * closes (last byte sent, or the client gone). Without a free slot it waits in
 * the queue (limits.max_queue) or is answered at once: 503, Retry-After, the
 * error in the caller's format, one log line and
 * `heimdall_requests_shed_total`. The fast lane calls `tryEnter()` (then
 * `refuseOverCapacity()`, then `waitOrShed()`) for its requests, the Responses
 * WebSocket `tryEnter()` then `waitOrShed()`; the Fastify hook here covers
 * every other client route.
 * /api, /health, /metrics and the dashboard are never counted nor refused.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { GatewayError } from '../errors/gateway-error.js';
import type { ErrorFormat } from '../errors/render.js';
import type { Admission } from '../gateway/admission.js';
import type { Metrics } from '../telemetry/metrics.js';
import { errorFormatOfPath } from './raw-error.js';
import { sendError } from './respond.js';

/** The client surfaces of the HTTP contract: the model traffic that overload shedding bounds. */
const CLIENT_PREFIXES = ['/v1/', '/anthropic/', '/genai/', '/openai/', '/bedrock/'];

export function isClientPath(url: string): boolean {
  if (url.startsWith('/v1/')) return true; // the common case first
  for (const prefix of CLIENT_PREFIXES) if (url.startsWith(prefix)) return true;
  return url === '/mcp' || url.startsWith('/mcp?') || url.startsWith('/mcp/');
}

/** An HTTP response, or the event sink of a Responses WebSocket message: closes when its exchange is over. */
export interface Exchange {
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  once(event: 'close', listener: () => void): unknown;
}

export class AdmissionGate {
  constructor(
    readonly admission: Admission,
    private readonly metrics: Metrics,
  ) {}

  /** Takes a slot for the exchange of `response` (an HTTP response or a WebSocket message's sink) if one is free (given back when it closes); allocates nothing. */
  tryEnter(response: Exchange): boolean {
    const admission = this.admission;
    if (admission.lagging || !admission.hasCapacity() || !admission.tryAcquire()) return false;
    admission.capacity.take();
    response.once('close', admission.releaseOne);
    return true;
  }

  /**
   * A request over the capacity limit, answered at once from the refusal rendered once per limit
   * value and format (Admission.capacityResponse): no request object, no log line (the lines when
   * the limit is set and lifted give the count; `heimdall_requests_shed_total` counts each). Under
   * overload refusals are most of the traffic and share the loop with the admitted requests: each
   * must cost the process as little as the HTTP exchange itself. False when the request is not over
   * the capacity limit (then `waitOrShed`).
   */
  refuseOverCapacity(response: ServerResponse, path: string, format: ErrorFormat, requestId: string): boolean {
    const admission = this.admission;
    if (admission.lagging || admission.hasCapacity()) return false;
    admission.capacity.refuse();
    this.metrics.requestShed(path, 'capacity');
    const refusal = admission.capacityResponse(format);
    const headers = refusal.headers.slice();
    headers.push('x-request-id', requestId);
    if (admission.closesConnection(performance.now())) headers.push('connection', 'close');
    try {
      response.writeHead(refusal.status, headers);
      response.end(refusal.body);
    } catch {
      response.destroy();
    }
    return true;
  }

  /**
   * No free slot: waits in the queue and calls `proceed` once admitted, or `refuse(error)` answers
   * (queue full, or the wait timed out) and the request is counted as shed. A request whose client
   * left while it waited gives its slot back unused.
   */
  waitOrShed(response: Exchange, path: string, proceed: () => void, refuse: (error: GatewayError) => void): void {
    const admission = this.admission;
    if (admission.lagging) {
      this.metrics.requestShed(path, 'event_loop_delay');
      refuse(admission.loopDelayError());
    } else if (!admission.hasCapacity()) {
      admission.capacity.refuse();
      this.metrics.requestShed(path, 'capacity');
      refuse(admission.capacityError());
    } else if (admission.tryAcquire()) {
      admission.capacity.take();
      response.once('close', admission.releaseOne);
      proceed();
    } else if (admission.full()) {
      this.metrics.requestShed(path, 'limit');
      refuse(admission.queueFullError());
    } else {
      admission.acquire().then(() => {
        if (response.destroyed || response.writableEnded) {
          admission.release();
          return;
        }
        admission.capacity.take();
        response.once('close', admission.releaseOne);
        proceed();
      }, (error: GatewayError) => {
        this.metrics.requestShed(path, 'queue_timeout');
        if (!response.destroyed) refuse(error);
      });
    }
  }
}

/** Every client route Fastify serves (the fast lane's are admitted in the lane) goes through the gate. */
export function registerAdmission(app: FastifyInstance, gate: AdmissionGate): AdmissionGate {
  app.fastLane.admission = gate;
  // The capacity limit counts connections as the server accepts them (a listen queue that never empties).
  app.server.on('connection', gate.admission.connectionOpened);
  app.addHook('onRequest', (request, reply, done) => {
    const url = request.url;
    if (!isClientPath(url)) {
      done();
      return;
    }
    if (gate.tryEnter(reply.raw)) {
      done();
      return;
    }
    const format = (request.routeOptions.config?.surface as ErrorFormat | undefined) ?? errorFormatOfPath(url);
    if (gate.refuseOverCapacity(reply.raw, url, format, request.id)) {
      // Answered on the raw response: the route never runs.
      reply.hijack();
      return;
    }
    gate.waitOrShed(reply.raw, url, done, (error) => sendError(reply as FastifyReply, undefined, error, format));
  });
  return gate;
}
