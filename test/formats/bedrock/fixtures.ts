/**
 * Fixtures shaped like the Bedrock Converse documentation examples (the stream
 * events carry the `p` padding field Bedrock adds to each event).
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/conversation-inference-call.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
 */
import { AwsEventStreamParser, encodeEvent, encodeException } from '../../../src/formats/bedrock/event-stream.js';
import { BedrockStreamDecoder } from '../../../src/formats/bedrock/stream.js';
import type { ChatCompletionChunk } from '../../../src/formats/openai/types.js';
import type { CodecContext } from '../../../src/formats/types.js';

export const context: CodecContext = { id: 'chatcmpl-bedrock1', created: 1_700_000_000, model: 'bedrock/amazon.nova-pro-v1:0' };

export const textResponse = {
  output: { message: { role: 'assistant', content: [{ text: 'Hello! How can I help you today?' }] } },
  stopReason: 'end_turn',
  usage: { inputTokens: 30, outputTokens: 628, totalTokens: 658 },
  metrics: { latencyMs: 1275 },
};

export const toolUseResponse = {
  output: {
    message: {
      role: 'assistant',
      content: [
        { text: 'I will look up the most popular song.' },
        { toolUse: { toolUseId: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', name: 'top_song', input: { sign: 'WZPZ' } } },
      ],
    },
  },
  stopReason: 'tool_use',
  usage: { inputTokens: 4, outputTokens: 30, totalTokens: 1040, cacheReadInputTokens: 0, cacheWriteInputTokens: 1006 },
  metrics: { latencyMs: 800 },
};

export const reasoningResponse = {
  output: {
    message: {
      role: 'assistant',
      content: [
        { reasoningContent: { reasoningText: { text: 'The user asks 2+2. ', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3h' } } },
        { text: '4' },
      ],
    },
  },
  stopReason: 'max_tokens',
  usage: { inputTokens: 10, outputTokens: 20, totalTokens: 130, cacheReadInputTokens: 100 },
};

/** One ConverseStream with text, a tool call and reasoning: every event type. */
export const streamEvents: Array<[string, unknown]> = [
  ['messageStart', { role: 'assistant', p: 'abcdefghijk' }],
  ['contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { text: 'Think.' } }, p: 'abc' }],
  ['contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { signature: 'sig-1' } }, p: 'abc' }],
  ['contentBlockStop', { contentBlockIndex: 0, p: 'ab' }],
  ['contentBlockDelta', { contentBlockIndex: 1, delta: { text: 'Let me check' }, p: 'abcd' }],
  ['contentBlockDelta', { contentBlockIndex: 1, delta: { text: ' the charts.' }, p: 'abcd' }],
  ['contentBlockStop', { contentBlockIndex: 1, p: 'ab' }],
  ['contentBlockStart', { contentBlockIndex: 2, start: { toolUse: { toolUseId: 'tooluse_1', name: 'top_song' } }, p: 'a' }],
  ['contentBlockDelta', { contentBlockIndex: 2, delta: { toolUse: { input: '{"sign":' } }, p: 'a' }],
  ['contentBlockDelta', { contentBlockIndex: 2, delta: { toolUse: { input: '"WZPZ"}' } }, p: 'a' }],
  ['contentBlockStop', { contentBlockIndex: 2, p: 'ab' }],
  ['contentBlockStart', { contentBlockIndex: 3, start: { toolUse: { toolUseId: 'tooluse_2', name: 'top_song' } }, p: 'a' }],
  ['contentBlockDelta', { contentBlockIndex: 3, delta: { toolUse: { input: '{"sign":"WKRP"}' } }, p: 'a' }],
  ['contentBlockStop', { contentBlockIndex: 3, p: 'ab' }],
  ['messageStop', { stopReason: 'tool_use', p: 'abcdefg' }],
  ['metadata', { usage: { inputTokens: 25, outputTokens: 40, totalTokens: 70, cacheReadInputTokens: 5 }, metrics: { latencyMs: 912 }, p: 'abc' }],
];

export function streamBytes(events: Array<[string, unknown]> = streamEvents): Uint8Array {
  const frames = events.map(([type, payload]) => encodeEvent(type, payload));
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const frame of frames) {
    out.set(frame, at);
    at += frame.length;
  }
  return out;
}

export { encodeException };

/** Bytes -> parser (fed in `chunkSize` pieces) -> decoder -> chunks, as the stream pump does. */
export function decodeStream(bytes: Uint8Array, chunkSize = bytes.length): ChatCompletionChunk[] {
  const parser = new AwsEventStreamParser();
  const decoder = new BedrockStreamDecoder(context);
  const chunks: ChatCompletionChunk[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) {
    for (const event of parser.push(bytes.subarray(at, at + chunkSize))) chunks.push(...decoder.onEvent(event));
  }
  for (const event of parser.end()) chunks.push(...decoder.onEvent(event));
  chunks.push(...decoder.onEnd());
  return chunks;
}
