/**
 * The cost per streamed event of each surface's stream encoder: the same canonical stream (a
 * reasoning delta, 200 text deltas, one tool call in 3 pieces, finish, usage) encoded into chat
 * chunks, the Anthropic events and the Responses events. Run alone, in-process:
 *
 *   npx vitest bench --run bench/codecs/stream-encoders.bench.ts
 */
import { bench, describe } from 'vitest';
import { AnthropicStreamEncoder } from '../../src/formats/anthropic/surface-stream.js';
import { OpenAIStreamEncoder } from '../../src/formats/openai/stream-encoder.js';
import type { ChatCompletionChunk, ChunkDelta, FinishReason } from '../../src/formats/openai/types.js';
import { ResponsesStreamEncoder } from '../../src/formats/responses/index.js';
import type { StreamEncoder } from '../../src/formats/types.js';

function chunk(delta: ChunkDelta, finish: FinishReason | null = null): ChatCompletionChunk {
  return { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1, model: 'anthropic/claude-sonnet-4-5', choices: [{ index: 0, delta, finish_reason: finish }] };
}

const CHUNKS: ChatCompletionChunk[] = [
  chunk({ role: 'assistant', reasoning_content: 'Let me think about that.' }),
  ...Array.from({ length: 200 }, (_, i) => chunk({ content: ` word${i}` })),
  chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"text":' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
  chunk({}, 'tool_calls'),
  { ...chunk({}), choices: [], usage: { prompt_tokens: 100, completion_tokens: 205, total_tokens: 305 } },
];

const context = { id: 'chatcmpl-bench', created: 1, model: 'anthropic/claude-sonnet-4-5' };
const facts = { tools: new Map(), summaries: true, encryptedReasoning: false, echo: {} };

function run(encoder: StreamEncoder): number {
  let bytes = 0;
  for (const c of CHUNKS) bytes += encoder.onChunk(c).length;
  return bytes + encoder.onEnd().length;
}

describe(`one stream of ${CHUNKS.length} canonical chunks`, () => {
  bench('chat completions (OpenAIStreamEncoder)', () => {
    run(new OpenAIStreamEncoder(true));
  });
  bench('Anthropic Messages (AnthropicStreamEncoder)', () => {
    run(new AnthropicStreamEncoder(context));
  });
  bench('Responses (ResponsesStreamEncoder)', () => {
    run(new ResponsesStreamEncoder({ id: 'resp_bench', created: 1, model: context.model, facts }));
  });
});
