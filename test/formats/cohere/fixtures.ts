/**
 * Fixtures shaped like Cohere's documented v2 examples.
 * @see https://docs.cohere.com/v2/reference/chat
 * @see https://docs.cohere.com/v2/docs/streaming
 * @see https://docs.cohere.com/v2/reference/embed
 */
import { SseParser, formatSse } from '../../../src/gateway/sse.js';
import { CohereStreamDecoder } from '../../../src/formats/cohere/stream.js';
import type { ChatCompletionChunk } from '../../../src/formats/openai/types.js';
import type { CodecContext } from '../../../src/formats/types.js';

export const context: CodecContext = { id: 'chatcmpl-cohere1', created: 1_700_000_000, model: 'cohere/command-a-03-2025' };

export const textResponse = {
  id: 'c14c80c3-18eb-4519-9460-6c92edd8cfb4',
  finish_reason: 'COMPLETE',
  message: { role: 'assistant', content: [{ type: 'text', text: 'LLMs stand for Large Language Models.' }] },
  usage: { billed_units: { input_tokens: 17, output_tokens: 12 }, tokens: { input_tokens: 215, output_tokens: 12 } },
};

export const toolCallResponse = {
  id: '5ab9e0e4-3a46-4a1f-8d5c-e5b2c3f7a8d0',
  finish_reason: 'TOOL_CALL',
  message: {
    role: 'assistant',
    tool_plan: 'I will search the sales database for 29 September 2023.',
    tool_calls: [
      { id: 'query_daily_sales_report_1', type: 'function', function: { name: 'query_daily_sales_report', arguments: '{"day":"2023-09-29"}' } },
    ],
  },
  usage: { billed_units: { input_tokens: 37, output_tokens: 28 }, tokens: { input_tokens: 1048, output_tokens: 61 } },
};

/** A chat stream with every event type: text, tool plan, two tool calls, citations, message-end. */
export const streamEvents: Array<Record<string, unknown>> = [
  { type: 'message-start', id: '29f14a5a-11de-4cae-9800-25e4747408ed', delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } } },
  { type: 'tool-plan-delta', delta: { message: { tool_plan: 'I will look up' } } },
  { type: 'tool-plan-delta', delta: { message: { tool_plan: ' the weather.' } } },
  { type: 'tool-call-start', index: 0, delta: { message: { tool_calls: { id: 'get_weather_1', type: 'function', function: { name: 'get_weather', arguments: '' } } } } },
  { type: 'tool-call-delta', index: 0, delta: { message: { tool_calls: { function: { arguments: '{"location":' } } } } },
  { type: 'tool-call-delta', index: 0, delta: { message: { tool_calls: { function: { arguments: '"Toronto"}' } } } } },
  { type: 'tool-call-end', index: 0 },
  { type: 'tool-call-start', index: 1, delta: { message: { tool_calls: { id: 'get_weather_2', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } } } } },
  { type: 'tool-call-end', index: 1 },
  { type: 'content-start', index: 0, delta: { message: { content: { type: 'text', text: '' } } } },
  { type: 'content-delta', index: 0, delta: { message: { content: { text: 'Checking' } } } },
  { type: 'content-delta', index: 0, delta: { message: { content: { text: ' now.' } } } },
  { type: 'citation-start', index: 0, delta: { message: { citations: { start: 0, end: 8, text: 'Checking', sources: [] } } } },
  { type: 'citation-end', index: 0 },
  { type: 'content-end', index: 0 },
  { type: 'message-end', delta: { finish_reason: 'TOOL_CALL', usage: { billed_units: { input_tokens: 31, output_tokens: 27 }, tokens: { input_tokens: 1130, output_tokens: 60 } } } },
];

/** Events as the Cohere API writes them: `event: <type>` plus a JSON data line. */
export function streamText(events: Array<Record<string, unknown>> = streamEvents): string {
  return events.map((event) => formatSse(JSON.stringify(event), String(event.type))).join('');
}

/** Text -> SseParser (fed in `chunkSize` pieces) -> decoder -> chunks. */
export function decodeStream(text: string, chunkSize = text.length): ChatCompletionChunk[] {
  const bytes = new TextEncoder().encode(text);
  const parser = new SseParser();
  const decoder = new CohereStreamDecoder(context);
  const chunks: ChatCompletionChunk[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) {
    for (const event of parser.push(bytes.subarray(at, at + chunkSize))) chunks.push(...decoder.onEvent(event));
  }
  for (const event of parser.end()) chunks.push(...decoder.onEvent(event));
  chunks.push(...decoder.onEnd());
  return chunks;
}
