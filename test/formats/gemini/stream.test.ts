import { describe, expect, it } from 'vitest';
import { geminiChatCodec } from '../../../src/formats/gemini/index.js';
import type { ChatCompletionChunk } from '../../../src/formats/openai/types.js';
import { UpstreamStreamError } from '../../../src/formats/types.js';
import { SseParser } from '../../../src/gateway/sse.js';
import type { SseEvent } from '../../../src/gateway/sse.js';
import { context, promptBlockedResponse, textStream, toolStream } from './fixtures.js';

function run(events: SseEvent[]): ChatCompletionChunk[] {
  const decoder = geminiChatCodec.createStreamDecoder(context);
  return [...events.flatMap((event) => decoder.onEvent(event)), ...decoder.onEnd()];
}

const deltas = (chunks: ChatCompletionChunk[]) => chunks.map((chunk) => chunk.choices.map((c) => ({ ...c.delta, finish: c.finish_reason })));

describe('GeminiStreamDecoder', () => {
  it('emits role, text deltas, finish, then one usage chunk from the last usageMetadata', () => {
    const chunks = run(textStream);
    expect(deltas(chunks)).toEqual([
      [{ role: 'assistant', content: '', finish: null }],
      [{ content: 'The', finish: null }],
      [{ content: ' sky is', finish: null }],
      [{ content: ' blue.', finish: null }],
      [{ finish: 'stop' }],
      [],
    ]);
    expect(chunks.every((chunk) => chunk.id === 'stream-resp-1' && chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[chunks.length - 1].usage).toEqual({
      prompt_tokens: 9,
      completion_tokens: 25,
      total_tokens: 34,
      completion_tokens_details: { reasoning_tokens: 20 },
    });
  });

  it('emits each function call as one complete delta with its own index, and finishes with tool_calls', () => {
    const chunks = run(toolStream);
    expect(deltas(chunks)).toEqual([
      [{ role: 'assistant', content: '', finish: null }],
      [{ content: 'Checking both cities.', finish: null }],
      [{
        tool_calls: [{
          index: 0, id: 'call_abc123_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          extra_content: { google: { thought_signature: 'c2lnLXN0cmVhbQ==' } },
        }],
        reasoning_signature: 'c2lnLXN0cmVhbQ==',
        finish: null,
      }],
      [{ tool_calls: [{ index: 1, id: 'call_abc123_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Tokyo"}' } }], finish: null }],
      [{ finish: 'tool_calls' }],
      [],
    ]);
    expect(chunks[chunks.length - 1].usage).toMatchObject({ prompt_tokens: 40, completion_tokens: 16, total_tokens: 56 });
  });

  it('uses the same tool-call ids as the non-stream decoder', () => {
    const chunks = run(toolStream);
    const streamed = chunks.flatMap((c) => c.choices.flatMap((choice) => choice.delta.tool_calls ?? [])).map((call) => call.id);
    const body = JSON.parse(toolStream[1].data) as unknown;
    const completion = geminiChatCodec.decodeResponse(body, context);
    expect(streamed).toEqual(completion.choices[0].message.tool_calls?.map((call) => call.id));
  });

  it('decodes thought parts as reasoning_content deltas', () => {
    const chunks = run([{ data: JSON.stringify({ candidates: [{ content: { parts: [{ text: 'Hmm...', thought: true }, { text: 'Yes.' }] }, finishReason: 'STOP' }] }) }]);
    expect(deltas(chunks).slice(1, 3)).toEqual([[{ reasoning_content: 'Hmm...', finish: null }], [{ content: 'Yes.', finish: null }]]);
  });

  it('ends a stream that never sent finishReason, and still reports usage (zeros when none was sent)', () => {
    const chunks = run([{ data: JSON.stringify({ candidates: [{ content: { parts: [{ text: 'partial' }] }, index: 0 }] }) }]);
    expect(deltas(chunks).slice(-2)).toEqual([[{ finish: 'stop' }], []]);
    expect(chunks[chunks.length - 1].usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    expect(chunks[0].id).toBe('chatcmpl-abc123');
  });

  it('turns a blocked prompt into a content_filter finish and keeps its usage', () => {
    const chunks = run([{ data: JSON.stringify(promptBlockedResponse) }]);
    expect(deltas(chunks)).toEqual([[{ role: 'assistant', content: '', finish: null }], [{ finish: 'content_filter' }], []]);
    expect(chunks[2].usage).toEqual({ prompt_tokens: 8, completion_tokens: 0, total_tokens: 8 });
  });

  it('keeps candidates apart when n > 1', () => {
    const chunks = run([
      { data: JSON.stringify({ candidates: [{ content: { parts: [{ text: 'A' }] }, index: 0 }, { content: { parts: [{ text: 'B' }] }, index: 1 }] }) },
      { data: JSON.stringify({ candidates: [{ finishReason: 'STOP', index: 0 }, { finishReason: 'MAX_TOKENS', index: 1 }] }) },
    ]);
    const byIndex = (index: number) => chunks.flatMap((c) => c.choices.filter((choice) => choice.index === index));
    expect(byIndex(0).map((c) => c.delta.content ?? c.finish_reason)).toEqual(['', 'A', 'stop']);
    expect(byIndex(1).map((c) => c.delta.content ?? c.finish_reason)).toEqual(['', 'B', 'length']);
  });

  it('throws UpstreamStreamError for an error payload in the stream', () => {
    const decoder = geminiChatCodec.createStreamDecoder(context);
    decoder.onEvent(textStream[0]);
    const event = { data: JSON.stringify({ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } }) };
    try {
      decoder.onEvent(event);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(UpstreamStreamError);
      expect(error).toMatchObject({ status: 503, type: 'UNAVAILABLE', message: 'The model is overloaded. Please try again later.' });
    }
  });

  it('throws on a data line that is not JSON', () => {
    const decoder = geminiChatCodec.createStreamDecoder(context);
    expect(() => decoder.onEvent({ data: '{"candidates": [' })).toThrow(UpstreamStreamError);
  });

  it('decodes the same from raw SSE bytes split at awkward boundaries', () => {
    const wire = textStream.map((event) => `data: ${event.data}\r\n\r\n`).join('');
    const bytes = new TextEncoder().encode(wire);
    const parser = new SseParser();
    const decoder = geminiChatCodec.createStreamDecoder(context);
    const chunks: ChatCompletionChunk[] = [];
    for (let i = 0; i < bytes.length; i += 7) for (const event of parser.push(bytes.subarray(i, i + 7))) chunks.push(...decoder.onEvent(event));
    for (const event of parser.end()) chunks.push(...decoder.onEvent(event));
    chunks.push(...decoder.onEnd());
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('The sky is blue.');
    expect(chunks[chunks.length - 1].usage?.total_tokens).toBe(34);
  });
});
