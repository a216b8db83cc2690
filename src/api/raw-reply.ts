/**
 * Writes a raw outcome (raw-attempt.ts) to the caller: the provider's status,
 * its content headers, the gateway's own headers, and the body as it arrives,
 * with backpressure (a slow reader pauses the provider, nothing is buffered
 * whole). Usage is read on the side (raw-usage.ts) for the log, metrics and
 * the cost. A provider error forwarded as it is (a Buffer) has any configured
 * key masked; an event stream goes through the stream guard (secret-guard.ts).
 * A failure after the first byte cuts the response: the caller sees it end
 * early, as it would from the provider.
 */
import { performance } from 'node:perf_hooks';
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { Usage } from '../formats/openai/types.js';
import type { RawOutcome } from '../gateway/raw-attempt.js';
import { RawUsageReader } from '../gateway/raw-usage.js';
import type { RequestContext } from '../gateway/request-context.js';
import { maskSecretsInBody, StreamSecretGuard } from '../gateway/secret-guard.js';
import type { StreamSink } from '../gateway/upstream.js';
import { UpstreamFailure } from '../gateway/upstream-failure.js';
import { gatewayHeaders } from './respond.js';

/**
 * The provider's answer headers the caller gets: what describes the body, and the facts clients read
 * (AWS's error type and token counts, request ids under their own names). Never cookies, never
 * framing (Node frames the answer itself), never the provider's account rate limits.
 */
const FORWARDED = [
  'content-type', 'content-disposition', 'content-language', 'cache-control', 'etag', 'last-modified',
  'openai-processing-ms', 'openai-version', 'request-id', 'x-amzn-requestid', 'x-amzn-errortype',
  'x-amzn-bedrock-input-token-count', 'x-amzn-bedrock-output-token-count', 'x-amzn-bedrock-invocation-latency',
  'x-goog-upload-url', 'x-goog-upload-status', 'x-goog-upload-chunk-granularity', 'x-goog-upload-control-url', 'x-goog-upload-size-received',
];

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The headers of the answer: the provider's that describe it, then the gateway's own. */
export function rawHeaders(ctx: RequestContext, upstream: RawOutcome['headers']): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED) {
    const value = first(upstream[name]);
    if (value !== undefined) headers[name] = value;
  }
  return Object.assign(headers, gatewayHeaders(ctx));
}

/** The answer's usage with the units it did not report (a unit it did report wins). */
function withUnits(usage: Usage | undefined, units: Partial<Usage>): Usage {
  const merged: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, ...units, ...usage };
  return merged;
}

/**
 * Reads a raw answer's bytes on the side as they pass (a batch's results: its cost). `end` runs once,
 * before the request settles; `complete` is false when the answer was cut.
 */
export interface BodyTap {
  push(chunk: Buffer): void;
  end(complete: boolean): void;
}

/** Pipes one raw answer body to the caller and settles the request when it is over. */
class RawPump implements StreamSink {
  private readonly usage: RawUsageReader;
  private readonly guard: StreamSecretGuard | undefined;
  private waitingDrain = false;
  private sentFirst = false;
  private done = false;

  constructor(
    private readonly ctx: RequestContext,
    private readonly outcome: RawOutcome & { body: Exclude<RawOutcome['body'], Buffer> },
    private readonly res: ServerResponse,
    private readonly resolve: () => void,
    private readonly tap: BodyTap | undefined,
    private readonly sent: { bytes: number } | undefined,
  ) {
    const type = first(outcome.headers['content-type']);
    this.usage = new RawUsageReader(type, outcome.headers);
    // An event stream may carry a provider's error event quoting our key; a file (image, audio) cannot.
    this.guard = type?.includes('text/event-stream') === true ? new StreamSecretGuard() : undefined;
  }

  data(chunk: Buffer): boolean {
    if (this.done) return false;
    this.usage.push(chunk);
    this.tap?.push(chunk);
    const out = this.guard === undefined ? chunk : this.guard.push(chunk);
    if (out !== undefined) this.write(out);
    return !this.waitingDrain;
  }

  end(): void {
    if (this.done) return;
    const rest = this.guard?.end();
    if (rest !== undefined) this.write(rest);
    this.close();
  }

  error(failure: UpstreamFailure): void {
    if (this.done) return;
    const ctx = this.ctx;
    if (failure.kind === 'aborted') ctx.status = 499;
    else {
      ctx.status = failure.kind === 'timeout' ? 504 : 502;
      ctx.errorMessage = `upstream body failed: ${failure.message}`;
      const last = ctx.attempts[ctx.attempts.length - 1];
      if (last !== undefined) last.error = ctx.errorMessage;
    }
    // Cut, not ended: a client reading a file must not take a partial one for the whole.
    this.close();
    if (!this.res.destroyed) this.res.destroy();
  }

  private write(chunk: Buffer): void {
    const res = this.res;
    if (chunk.length === 0 || res.destroyed) return;
    if (this.sent !== undefined) this.sent.bytes += chunk.length;
    if (!this.sentFirst) {
      this.sentFirst = true;
      this.ctx.ttftMs = this.ctx.elapsedMs();
    }
    if (!res.write(chunk) && !this.waitingDrain) {
      this.waitingDrain = true;
      res.once('drain', this.onDrain);
    }
  }

  private readonly onDrain = (): void => {
    this.waitingDrain = false;
    if (!this.done) this.outcome.body.resume();
  };

  private close(): void {
    if (this.done) return;
    this.done = true;
    if (this.waitingDrain) this.res.off('drain', this.onDrain);
    const usage = this.usage.end();
    if (usage !== undefined) this.ctx.usage = usage;
    this.tap?.end(this.ctx.status < 400);
    this.outcome.finish();
    this.outcome.body.destroy();
    if (!this.res.destroyed && this.ctx.status < 500) {
      this.res.end();
      this.ctx.respondedAt = performance.now();
    }
    this.resolve();
  }
}

/**
 * Sends a raw outcome; resolves when the answer has ended (or was cut). `sent.bytes` counts the
 * body's bytes written (a media call's log preview); `tap` sees the body as it passes (batch results).
 */
export function sendRawOutcome(reply: FastifyReply, ctx: RequestContext, outcome: RawOutcome, units?: Partial<Usage>, extras: { tap?: BodyTap; sent?: { bytes: number } } = {}): Promise<void> {
  const { tap, sent } = extras;
  ctx.status = outcome.status;
  // What the answer does not report itself (images asked for, characters spoken), once it succeeded.
  const settleUnits = (): void => {
    if (units !== undefined && ctx.status < 400) ctx.usage = withUnits(ctx.usage, units);
  };
  const headers = rawHeaders(ctx, outcome.headers);
  const body = outcome.body;
  if (Buffer.isBuffer(body)) {
    // A provider error forwarded as it is: read whole already, a configured key masked.
    settleUnits();
    if (sent !== undefined) sent.bytes += body.length;
    reply.code(outcome.status).headers(headers).send(maskSecretsInBody(body));
    ctx.respondedAt = performance.now();
    return Promise.resolve();
  }
  reply.hijack();
  const res = reply.raw;
  try {
    res.writeHead(outcome.status, headers);
  } catch (error) {
    outcome.finish();
    body.destroy();
    throw error;
  }
  return new Promise<void>((resolve) => {
    body.pipe(new RawPump(ctx, { ...outcome, body }, res, () => {
      settleUnits();
      resolve();
    }, tap, sent));
  });
}
