/**
 * Heimdall's own per-chunk work on a stream, in-process and without sockets: one stream of the
 * benchmark's shape (bench/mock-upstream.mjs: role, 10 text deltas, finish, then usage) pushed chunk by
 * chunk through the stream pump into a response that only counts bytes. Two cases: the OpenAI chat
 * surface to an OpenAI provider (the bytes passed through, watched for usage and errors; every chunk
 * carries `"usage":null` as OpenAI's do with include_usage) and to an Anthropic provider (each event
 * decoded to a canonical chunk and encoded as a chat chunk). A provider key is registered, so the
 * secret guard is on, as with any configured provider. Run alone:
 *
 *   npx vitest bench --run bench/codecs/stream-pump.bench.ts
 */
import type { ServerResponse } from 'node:http';
import { bench, describe } from 'vitest';
import { AnthropicStreamDecoder } from '../../src/formats/anthropic/stream-decoder.js';
import { OpenAIStreamEncoder } from '../../src/formats/openai/stream-encoder.js';
import type { StreamOutcome } from '../../src/gateway/pipeline.js';
import { RequestContext } from '../../src/gateway/request-context.js';
import { pumpStream } from '../../src/gateway/stream-pump.js';
import type { StreamSink } from '../../src/gateway/upstream.js';
import { Lifecycle } from '../../src/plugins/lifecycle.js';
import { registerSecrets } from '../../src/telemetry/secrets.js';

registerSecrets(['sk-bench-provider-key-0123456789']);

const WORDS = ['Hello', '!', ' How', ' can', ' I', ' help', ' you', ' today', '?', ' Ask'];
const base = { id: 'chatcmpl-bench0000000000000000000000', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_bench' };
const openaiEvent = (choices: unknown[], usage: unknown = null): Buffer => Buffer.from(`data: ${JSON.stringify({ ...base, choices, usage })}\n\n`);
const choice = (delta: object, finish: string | null = null) => [{ index: 0, delta, logprobs: null, finish_reason: finish }];
const OPENAI_CHUNKS = [
  openaiEvent(choice({ role: 'assistant', content: '', refusal: null })),
  ...WORDS.map((word) => openaiEvent(choice({ content: word }))),
  openaiEvent(choice({}, 'stop')),
  openaiEvent([], { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 }),
  Buffer.from('data: [DONE]\n\n'),
];

const anthropicEvent = (payload: { type: string } & Record<string, unknown>): Buffer => Buffer.from(`event: ${payload.type}\ndata: ${JSON.stringify(payload)}\n\n`);
const ANTHROPIC_CHUNKS = [
  Buffer.concat([
    anthropicEvent({ type: 'message_start', message: { id: 'msg_bench', type: 'message', role: 'assistant', model: 'claude-3-5-haiku-20241022', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 } } }),
    anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  ]),
  ...WORDS.map((text) => anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })),
  anthropicEvent({ type: 'content_block_stop', index: 0 }),
  anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 10 } }),
  anthropicEvent({ type: 'message_stop' }),
];

/** The client's side: counts what it is sent, never pushes back. */
class CountingResponse {
  bytes = 0;
  destroyed = false;
  writeHead(): this {
    return this;
  }
  write(data: string | Buffer): boolean {
    this.bytes += data.length;
    return true;
  }
  end(data?: string | Buffer): void {
    if (data !== undefined) this.bytes += data.length;
  }
  once(): this {
    return this;
  }
  off(): this {
    return this;
  }
}

/** The upstream body: hands the pump its sink, then the chunks are pushed as undici would. */
class PushedBody {
  sink: StreamSink | undefined;
  pipe(sink: StreamSink): void {
    this.sink = sink;
  }
  resume(): void {}
  destroy(): void {}
}

const lifecycle = new Lifecycle({} as ConstructorParameters<typeof Lifecycle>[0], undefined);
const res = new CountingResponse();

function stream(chunks: Buffer[], format: 'openai' | 'anthropic'): void {
  const ctx = new RequestContext('req-bench', 'openai', '/v1/chat/completions');
  const body = new PushedBody();
  const outcome = {
    kind: 'stream',
    target: { provider: { definition: { format } } },
    passthrough: format === 'openai',
    response: { status: 200, headers: {}, body },
    framing: 'sse',
    decoder: format === 'openai' ? undefined : new AnthropicStreamDecoder({ id: 'chatcmpl-bench', created: 1_700_000_000, model: 'anthropic/claude-3-5-haiku-latest' }),
    finish() {},
  } as unknown as StreamOutcome;
  void pumpStream(ctx, outcome, res as unknown as ServerResponse, new OpenAIStreamEncoder(true), {}, lifecycle);
  const sink = body.sink!;
  for (const chunk of chunks) sink.data(chunk);
  sink.end();
  if (ctx.usage === undefined) throw new Error('the stream left no usage');
}

describe('one stream of the benchmark (14 upstream chunks) through the pump', () => {
  const options = { time: 3000, warmupTime: 500 };
  bench('OpenAI chat → OpenAI (pass-through)', () => stream(OPENAI_CHUNKS, 'openai'), options);
  bench('OpenAI chat → Anthropic (translated)', () => stream(ANTHROPIC_CHUNKS, 'anthropic'), options);
});
