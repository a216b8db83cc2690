/**
 * A plugin's early answer (a cache hit, a guardrail's canned reply, a mock)
 * written to the caller like any other answer: in its format, streamed when
 * it streams (a whole response is cut into chunks, a stream is collected for
 * a caller that does not stream), with the gateway's headers, the stream
 * events and final answer stages, and the request's usage for logs and
 * metrics.
 */
import { performance } from 'node:perf_hooks';
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { ChatCompletion, ChatCompletionChunk, EmbeddingResponse, Usage } from '../formats/openai/types.js';
import type { RequestContext } from '../gateway/request-context.js';
import { withSseHeaders } from '../gateway/sse.js';
import { ChunkCollector, chunksOfCompletion } from '../plugins/canonical-stream.js';
import type { Lifecycle } from '../plugins/lifecycle.js';
import { FinalAnswerImpl } from '../plugins/stages.js';
import type { EarlyAnswer } from '../plugins/types.js';
import { redactText } from '../telemetry/secrets.js';
import { gatewayHeaders, type OutcomeEncoders } from './respond.js';

function usageOf(response: ChatCompletion | EmbeddingResponse): Usage | undefined {
  const usage = (response as { usage?: unknown }).usage;
  return typeof usage === 'object' && usage !== null ? usage as Usage : undefined;
}

/** Resolves when the socket takes more data, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletion> {
  const collector = new ChunkCollector();
  for await (const chunk of stream) collector.add(chunk);
  return collector.response();
}

export async function sendEarlyAnswer(reply: FastifyReply, ctx: RequestContext, answer: EarlyAnswer, encode: OutcomeEncoders, lifecycle: Lifecycle): Promise<void> {
  if (answer.headers !== undefined) Object.assign((ctx.responseHeaders ??= {}), answer.headers);
  if (!ctx.stream) {
    const response = answer.response ?? (await collect(answer.stream!));
    ctx.usage = usageOf(response);
    ctx.status = 200;
    let sent: ChatCompletion | EmbeddingResponse = response;
    if (lifecycle.finalAnswer.length > 0) {
      const final = new FinalAnswerImpl(ctx, false, true, gatewayHeaders(ctx), () => response, lifecycle.costOf);
      const ran = lifecycle.runFinalAnswer(ctx, final);
      if (ran !== undefined) await ran;
      if (final.replacement !== undefined) sent = final.replacement;
    }
    reply.code(200).headers(gatewayHeaders(ctx)).type('application/json').send(JSON.stringify(encode.json(sent)));
    ctx.respondedAt = performance.now();
    return;
  }
  const encoder = encode.stream();
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, withSseHeaders(gatewayHeaders(ctx)));
  const source: AsyncIterable<ChatCompletionChunk> | Iterable<ChatCompletionChunk> = answer.stream ?? chunksOfCompletion(answer.response as ChatCompletion);
  const collector = lifecycle.finalAnswer.length > 0 ? new ChunkCollector() : undefined;
  const rewrites = lifecycle.streamEvent.length > 0;
  let completed = true;
  ctx.status = 200;
  try {
    for await (const original of source) {
      if (res.destroyed || ctx.clientGone) {
        completed = false;
        break;
      }
      const chunk = rewrites ? lifecycle.runStreamEvent(ctx, original) : original;
      if (chunk === null) continue;
      if (chunk.usage) ctx.usage = chunk.usage;
      collector?.add(chunk);
      const text = encoder.onChunk(chunk);
      if (text.length === 0) continue;
      if (ctx.ttftMs === undefined) ctx.ttftMs = ctx.elapsedMs();
      if (!res.write(text)) await drained(res);
    }
    if (completed && !res.destroyed) res.write(encoder.onEnd());
  } catch (error) {
    // The plugin's stream broke after the answer began: the caller gets the end it would get from a provider.
    completed = false;
    const message = `the answer's stream failed: ${redactText(error instanceof Error ? error.message : String(error))}`;
    ctx.status = 502;
    ctx.errorMessage = message;
    if (!res.destroyed) res.write(encoder.onError({ status: 502, message, type: 'api_error' }));
  }
  if (!res.destroyed) {
    res.end();
    ctx.respondedAt = performance.now();
  }
  if (collector !== undefined) {
    const final = new FinalAnswerImpl(ctx, true, completed && !ctx.clientGone, gatewayHeaders(ctx), () => collector.response(), lifecycle.costOf);
    try {
      const ran = lifecycle.runFinalAnswer(ctx, final);
      if (ran !== undefined) await ran;
    } catch {
      // The stream was sent: a refusal now has no one to go to (the plugin's failure is logged and counted).
    }
  }
}
