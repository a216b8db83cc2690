/**
 * Moves one upstream stream to the client as it arrives: bytes forwarded
 * as they come on a pass-through (in whole lines, a configured key masked:
 * secret-guard.ts; observed on the side for usage), or decoded
 * to canonical chunks and re-encoded in the caller's format. A failure after
 * the first byte ends the stream with an error event in the caller's format.
 */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { ServerResponse } from 'node:http';
import type { ChatCompletionChunk } from '../formats/openai/types.js';
import { UpstreamStreamError, type StreamEncoder } from '../formats/types.js';
import type { StreamOutcome } from './pipeline.js';
import type { RequestContext } from './request-context.js';
import { SseParser, type SseEvent } from './sse.js';
import { classifyTransportError, UpstreamFailure } from './upstream-failure.js';
import { TOTAL_TIMEOUT } from './upstream.js';
import { createEventFramer } from './event-framer.js';
import { withoutAddedUsage } from '../governance/stream-usage.js';
import { noteOpenAIStreamEvent, noteResponse } from '../telemetry/response-facts.js';
import { redactText } from '../telemetry/secrets.js';
import { maskSecretsInText, StreamSecretGuard } from './secret-guard.js';

/**
 * Takes usage, and an error event the provider sent in the stream, from an
 * OpenAI-format event without parsing every event: the bytes were forwarded
 * as they came, this only feeds the log line and metrics.
 */
function observeOpenAIEvent(ctx: RequestContext, event: SseEvent): void {
  const data = event.data;
  noteOpenAIStreamEvent(ctx, data); // response model and finish reason, when traced
  const hasUsage = data.indexOf('"usage"') !== -1;
  const hasError = data.indexOf('"error"') !== -1;
  if (!hasUsage && !hasError) return;
  try {
    const chunk = JSON.parse(data) as { usage?: ChatCompletionChunk['usage']; error?: { message?: unknown }; response?: { usage?: ChatCompletionChunk['usage'] } };
    if (chunk.usage) ctx.usage = chunk.usage;
    else if (chunk.response?.usage) ctx.usage = chunk.response.usage; // Responses API: response.completed carries it
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

async function write(res: ServerResponse, data: string | Buffer): Promise<void> {
  if (data.length === 0 || res.destroyed) return;
  if (!res.write(data)) {
    await Promise.race([once(res, 'drain'), once(res, 'close')]);
  }
}

export async function pumpStream(
  ctx: RequestContext,
  outcome: StreamOutcome,
  res: ServerResponse,
  encoder: StreamEncoder,
  headers: Record<string, string>,
): Promise<void> {
  res.writeHead(200, headers);
  const framer = outcome.framing === 'sse' ? new SseParser() : createEventFramer(outcome.framing);
  const decoder = outcome.decoder;
  const passthrough = outcome.passthrough;
  // The surface asked for usage the caller did not: events are re-emitted without it (governance).
  const strip = passthrough && decoder === undefined && ctx.addedStreamUsage;
  const writeStripped = async (event: SseEvent): Promise<void> => {
    const text = withoutAddedUsage(event);
    if (text === undefined) return;
    markFirst();
    await write(res, maskSecretsInText(text));
  };
  // A provider's error event may quote our key: the forwarded bytes are masked (secret-guard.ts).
  const guard = passthrough && !strip ? new StreamSecretGuard() : undefined;
  let sentFirst = false;
  const markFirst = (): void => {
    if (!sentFirst) {
      sentFirst = true;
      ctx.ttftMs = ctx.elapsedMs();
    }
  };
  const handleChunks = async (chunks: ChatCompletionChunk[]): Promise<void> => {
    for (const chunk of chunks) {
      if (chunk.usage) ctx.usage = chunk.usage;
      noteResponse(ctx, chunk);
      if (!passthrough) {
        const text = encoder.onChunk(chunk);
        if (text.length > 0) {
          markFirst();
          await write(res, text);
        }
      }
    }
  };
  try {
    for await (const raw of outcome.response.body) {
      const bytes = raw as Buffer;
      if (guard !== undefined) {
        const out = guard.push(bytes);
        if (out !== undefined) {
          markFirst();
          await write(res, out);
        }
      }
      const events = framer.push(bytes);
      for (const event of events) {
        if (decoder === undefined) {
          observeOpenAIEvent(ctx, event);
          if (strip) await writeStripped(event as SseEvent);
        }
        else if (passthrough) {
          try {
            await handleChunks(decoder.onEvent(event));
          } catch {
            // the client got the provider's own bytes, error events included
          }
        } else await handleChunks(decoder.onEvent(event));
      }
    }
    const rest = guard?.end();
    if (rest !== undefined) await write(res, rest);
    for (const event of framer.end()) {
      if (decoder === undefined) {
        observeOpenAIEvent(ctx, event);
        if (strip) await writeStripped(event as SseEvent);
      }
      else if (!passthrough) await handleChunks(decoder.onEvent(event));
    }
    if (decoder !== undefined) {
      if (passthrough) {
        try {
          await handleChunks(decoder.onEnd());
        } catch {
          // observation only
        }
      } else await handleChunks(decoder.onEnd());
    }
    if (!passthrough) await write(res, encoder.onEnd());
  } catch (error) {
    const signal = outcome.signal;
    let status: number;
    let message: string;
    let type: string | undefined;
    if (error instanceof UpstreamStreamError) {
      status = error.status;
      message = redactText(error.message); // the provider's words may quote a key
      type = error.type;
    } else {
      const failure = error instanceof UpstreamFailure
        ? error
        : classifyTransportError(error, signal.aborted && signal.reason !== TOTAL_TIMEOUT, signal.reason === TOTAL_TIMEOUT);
      if (failure.kind === 'aborted') {
        ctx.status = 499;
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
    await write(res, encoder.onError({ status, message, type }));
  } finally {
    outcome.finish();
    if (!outcome.response.body.destroyed) outcome.response.body.destroy();
    if (!res.destroyed) {
      res.end();
      ctx.respondedAt = performance.now();
    }
  }
}
