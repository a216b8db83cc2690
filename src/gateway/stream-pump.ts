/**
 * Moves one upstream stream to the client as it arrives: bytes forwarded
 * as they come on a pass-through (in whole lines, a configured key masked:
 * secret-guard.ts; observed on the side for usage), or decoded
 * to canonical chunks and re-encoded in the caller's format. A failure after
 * the first byte ends the stream with an error event in the caller's format.
 * The upstream body pushes its chunks here as undici parses them (upstream.ts
 * StreamBody): no Readable or async iterator between the two sockets.
 */
import { performance } from 'node:perf_hooks';
import type { ServerResponse } from 'node:http';
import type { ChatCompletionChunk } from '../formats/openai/types.js';
import { UpstreamStreamError, type StreamDecoder, type StreamEncoder } from '../formats/types.js';
import type { StreamOutcome } from './pipeline.js';
import type { RequestContext } from './request-context.js';
import { SseParser, type SseEvent } from './sse.js';
import { UpstreamFailure } from './upstream-failure.js';
import type { StreamSink } from './upstream.js';
import { createEventFramer, type EventFramer } from './event-framer.js';
import { withoutAddedUsage } from '../governance/stream-usage.js';
import { canonicalUsage } from '../formats/responses/usage.js';
import { noteOpenAIStreamEvent, noteResponse } from '../telemetry/response-facts.js';
import { redactText } from '../telemetry/secrets.js';
import { maskSecretsInText, StreamSecretGuard } from './secret-guard.js';
import { mentionsUsage, quietChunk } from './usage-scan.js';
import { ChunkCollector } from '../plugins/canonical-stream.js';
import type { Lifecycle } from '../plugins/lifecycle.js';
import { FinalAnswerImpl } from '../plugins/stages.js';

/** The bytes end between two SSE events (a blank line). */
function endsAtEvent(bytes: Buffer): boolean {
  const n = bytes.length;
  return n >= 2 && bytes[n - 1] === 10 && (bytes[n - 2] === 10 || (n >= 4 && bytes[n - 2] === 13 && bytes[n - 3] === 10 && bytes[n - 4] === 13));
}

/**
 * Takes usage, and an error event the provider sent in the stream, from an
 * OpenAI-format event without parsing every event: the bytes were forwarded
 * as they came, this only feeds the log line and metrics.
 */
function observeOpenAIEvent(ctx: RequestContext, event: SseEvent): void {
  const data = event.data;
  noteOpenAIStreamEvent(ctx, data); // response model and finish reason, when traced
  const hasUsage = mentionsUsage(data);
  const hasError = data.indexOf('"error"') !== -1;
  if (!hasUsage && !hasError) return;
  try {
    const chunk = JSON.parse(data) as { usage?: ChatCompletionChunk['usage']; error?: { message?: unknown }; response?: { id?: unknown; usage?: ChatCompletionChunk['usage'] } };
    if (chunk.usage) ctx.usage = chunk.usage;
    else if (chunk.response?.usage) {
      ctx.usage = canonicalUsage(chunk.response.usage); // Responses API: response.completed carries it
      if (ctx.onUpstreamResponseId !== undefined && typeof chunk.response.id === 'string') ctx.onUpstreamResponseId(chunk.response.id);
    }
    if (hasError && typeof chunk.error === 'object' && chunk.error !== null) {
      const message = typeof chunk.error.message === 'string' ? chunk.error.message : JSON.stringify(chunk.error);
      ctx.status = 502;
      ctx.errorMessage = message;
      const last = ctx.attempts[ctx.attempts.length - 1];
      if (last !== undefined) last.error = message;
    }
  } catch {
    // observation only: the bytes were forwarded as they came
  }
}

/**
 * The sink of one upstream stream: each chunk is handled as undici hands it over (framed, observed or
 * re-encoded, written), synchronously; a client that cannot keep up pauses the upstream until 'drain'.
 */
class StreamPump implements StreamSink {
  private readonly framer: EventFramer;
  private readonly decoder: StreamDecoder | undefined;
  private readonly passthrough: boolean;
  /** The surface asked for usage the caller did not: events are re-emitted without it (governance). */
  private readonly strip: boolean;
  /** A provider's error event may quote our key: the forwarded bytes are masked (secret-guard.ts). */
  private readonly guard: StreamSecretGuard | undefined;
  /**
   * A pass-through OpenAI stream, not traced, is only observed for usage and error events: whole
   * events that hold neither are forwarded without being decoded or parsed at all.
   */
  private readonly quiet: SseParser | undefined;
  /** An OpenAI pass-through: each event is observed for usage and errors (and re-emitted without added usage). */
  private readonly observeOpenAI: boolean;
  /** Plugins rewrite stream events: chunks are re-encoded even on a pass-through. */
  private readonly rewrites: boolean;
  /** Plugins read the final answer: the chunks add up to it. */
  private readonly collector: ChunkCollector | undefined;
  private sentFirst = false;
  /**
   * The text encoded from one upstream chunk (a translated stream, or events re-emitted without added
   * usage), written as one piece when the chunk has been handled: one write per upstream chunk instead
   * of one per event, in the same tick (nothing waits for a later chunk). The last piece goes with the end.
   */
  private pending = '';
  private waitingDrain = false;
  private done = false;
  private failed = false;

  constructor(
    private readonly ctx: RequestContext,
    private readonly outcome: StreamOutcome,
    private readonly res: ServerResponse,
    private readonly encoder: StreamEncoder,
    private readonly settle: () => void,
    private readonly lifecycle: Lifecycle,
    private readonly headers: Record<string, string>,
  ) {
    this.framer = outcome.framing === 'sse' ? new SseParser() : createEventFramer(outcome.framing);
    this.decoder = outcome.decoder;
    this.rewrites = lifecycle.streamEvent.length > 0 && this.decoder !== undefined;
    this.passthrough = outcome.passthrough && !this.rewrites;
    this.observeOpenAI = this.passthrough && outcome.target.provider.definition.format === 'openai';
    this.strip = this.observeOpenAI && ctx.addedStreamUsage;
    this.guard = this.passthrough && !this.strip ? new StreamSecretGuard() : undefined;
    this.quiet = this.decoder === undefined && !this.strip && ctx.traceId === undefined && this.framer instanceof SseParser ? this.framer : undefined;
    this.collector = lifecycle.finalAnswer.length > 0 ? new ChunkCollector() : undefined;
  }

  data(chunk: Buffer): boolean {
    if (this.done) return false;
    try {
      if (this.guard !== undefined) {
        const out = this.guard.push(chunk);
        if (out !== undefined) {
          this.markFirst();
          this.write(out);
        }
      }
      const quiet = this.quiet;
      const nothingToSee = quiet !== undefined && quiet.idle && endsAtEvent(chunk) && quietChunk(chunk);
      if (!nothingToSee) {
        const events = this.framer.push(chunk);
        for (let i = 0; i < events.length; i++) this.onEvent(events[i], false);
      }
      if (this.pending.length > 0) this.flush();
    } catch (error) {
      this.fail(error);
      return false;
    }
    return !this.waitingDrain;
  }

  end(): void {
    if (this.done) return;
    try {
      const rest = this.guard?.end();
      if (rest !== undefined) this.write(rest);
      for (const event of this.framer.end()) this.onEvent(event, true);
      const decoder = this.decoder;
      if (decoder !== undefined) {
        if (this.passthrough) {
          try {
            this.handleChunks(decoder.onEnd());
          } catch {
            // observation only
          }
        } else this.handleChunks(decoder.onEnd());
      }
      if (!this.passthrough) this.write(this.encoder.onEnd());
    } catch (error) {
      this.fail(error);
      return;
    }
    this.close();
  }

  error(failure: UpstreamFailure): void {
    if (!this.done) this.fail(failure);
  }

  private onEvent(event: SseEvent, last: boolean): void {
    const decoder = this.decoder;
    if (this.observeOpenAI) {
      observeOpenAIEvent(this.ctx, event);
      if (this.strip) this.writeStripped(event);
    }
    if (decoder === undefined) return;
    if (this.passthrough) {
      if (last) return; // the client got the provider's bytes; the decoder's end observes the rest
      try {
        this.handleChunks(decoder.onEvent(event));
      } catch {
        // the client got the provider's own bytes, error events included
      }
    } else this.handleChunks(decoder.onEvent(event));
  }

  private writeStripped(event: SseEvent): void {
    const text = withoutAddedUsage(event);
    if (text === undefined) return;
    this.markFirst();
    this.write(maskSecretsInText(text));
  }

  private handleChunks(chunks: ChatCompletionChunk[]): void {
    const ctx = this.ctx;
    for (let original of chunks) {
      if (this.rewrites) {
        const rewritten = this.lifecycle.runStreamEvent(ctx, original);
        if (rewritten === null) continue;
        original = rewritten;
      }
      const chunk = original;
      this.collector?.add(chunk);
      if (chunk.usage) ctx.usage = chunk.usage;
      noteResponse(ctx, chunk);
      if (!this.passthrough) {
        const text = this.encoder.onChunk(chunk);
        if (text.length > 0) {
          this.markFirst();
          this.write(text);
        }
      }
    }
  }

  private markFirst(): void {
    if (!this.sentFirst) {
      this.sentFirst = true;
      this.ctx.ttftMs = this.ctx.elapsedMs();
    }
  }

  private write(data: string | Buffer): void {
    if (data.length === 0) return;
    if (typeof data === 'string') {
      this.pending += data;
      return;
    }
    if (this.pending.length > 0) this.flush();
    this.send(data);
  }

  private flush(): void {
    const text = this.pending;
    this.pending = '';
    this.send(text);
  }

  private send(data: string | Buffer): void {
    const res = this.res;
    if (res.destroyed) return;
    if (!res.write(data) && !this.waitingDrain) {
      this.waitingDrain = true;
      res.once('drain', this.onDrain);
    }
  }

  private readonly onDrain = (): void => {
    this.waitingDrain = false;
    if (!this.done) this.outcome.response.body.resume();
  };

  /** A failure after the first byte: an error event in the caller's format, then the end. */
  private fail(error: unknown): void {
    const ctx = this.ctx;
    this.failed = true;
    let status: number;
    let message: string;
    let type: string | undefined;
    if (error instanceof UpstreamStreamError) {
      status = error.status;
      message = redactText(error.message); // the provider's words may quote a key
      type = error.type;
    } else {
      const failure = error instanceof UpstreamFailure ? error : new UpstreamFailure('bad_response', (error as Error).message);
      if (failure.kind === 'aborted') {
        ctx.status = 499;
        this.close();
        return;
      }
      status = failure.kind === 'timeout' ? 504 : 502;
      message = failure.kind === 'timeout' ? `upstream timeout: ${failure.message}` : `upstream stream failed: ${failure.message}`;
      type = failure.kind === 'timeout' ? 'timeout_error' : 'api_error';
    }
    ctx.status = status;
    const last = ctx.attempts[ctx.attempts.length - 1];
    if (last !== undefined) last.error = message;
    ctx.errorMessage = message;
    this.write(this.encoder.onError({ status, message, type }));
    if (this.lifecycle.error.length > 0) void this.lifecycle.runError(ctx, { status, code: status === 504 ? 'HD_ERR_UPSTREAM_TIMEOUT' : 'HD_ERR_UPSTREAM_ERROR', message });
    this.close();
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    if (this.waitingDrain) this.res.off('drain', this.onDrain);
    this.outcome.finish();
    this.outcome.response.body.destroy();
    const res = this.res;
    if (!res.destroyed) {
      const text = this.pending;
      this.pending = '';
      if (text.length > 0) res.end(text);
      else res.end();
      this.ctx.respondedAt = performance.now();
    }
    const collector = this.collector;
    if (collector === undefined) {
      this.settle();
      return;
    }
    // The finalAnswer stage, once the stream completed (or was cut: `completed` false).
    const ctx = this.ctx;
    const final = new FinalAnswerImpl(ctx, true, !this.failed && !ctx.clientGone, this.headers, () => collector.response(), this.lifecycle.costOf);
    let ran: void | Promise<void>;
    try {
      ran = this.lifecycle.runFinalAnswer(ctx, final);
    } catch {
      ran = undefined; // sent already: a refusal has no one to go to (failures are logged and counted)
    }
    if (ran === undefined) this.settle();
    else ran.then(this.settle, this.settle);
  }
}

/** A stream that will not be pumped (the answer failed before it began): its upstream call ends now, its slot is freed. */
export function abandonStream(outcome: StreamOutcome): void {
  outcome.finish();
  outcome.response.body.destroy();
}

/** Sends one upstream stream to the client; resolves when the response has ended. */
export function pumpStream(
  ctx: RequestContext,
  outcome: StreamOutcome,
  res: ServerResponse,
  encoder: StreamEncoder,
  headers: Record<string, string>,
  lifecycle: Lifecycle,
): Promise<void> {
  try {
    res.writeHead(200, headers);
  } catch (error) {
    abandonStream(outcome);
    throw error;
  }
  return new Promise<void>((resolve) => {
    outcome.response.body.pipe(new StreamPump(ctx, outcome, res, encoder, resolve, lifecycle, headers));
  });
}
