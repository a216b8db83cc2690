import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { anthropicChatCodec, anthropicSurfaceCodec } from '../../../src/formats/anthropic/index.js';
import type { ChatCompletionChunk, ChunkDelta, Usage } from '../../../src/formats/openai/types.js';
import type { StreamEncoder } from '../../../src/formats/types.js';
import { context, parallelToolStream, runDecoder, sseEvents, thinkingStream } from './fixtures.js';

function chunk(delta: ChunkDelta | null, finish: string | null = null, usage?: Usage): ChatCompletionChunk {
  return {
    id: 'chatcmpl-up',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o',
    choices: delta === null ? [] : [{ index: 0, delta, finish_reason: finish as never }],
    ...(usage ? { usage } : {}),
  };
}

const usage: Usage = { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120, prompt_tokens_details: { cached_tokens: 60 } };

function encodeAll(chunks: ChatCompletionChunk[], encoder: StreamEncoder = anthropicSurfaceCodec.createStreamEncoder(context)): string {
  return chunks.map((c) => encoder.onChunk(c)).join('') + encoder.onEnd();
}

function events(text: string): Array<Record<string, any>> {
  return sseEvents(text).map((e) => {
    const data = JSON.parse(e.data) as Record<string, any>;
    expect(e.event).toBe(data.type);
    return data;
  });
}

/** What a real Anthropic SDK client makes of the stream. */
async function sdkFinalMessage(text: string): Promise<Anthropic.Message> {
  const client = new Anthropic({
    apiKey: 'test',
    maxRetries: 0,
    fetch: async () => new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
  });
  return client.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] }).finalMessage();
}

const openAiToolStream = [
  chunk({ role: 'assistant', content: '' }),
  chunk({ reasoning_content: 'Need ' }),
  chunk({ reasoning_content: 'two calls.' }),
  chunk({ content: 'Checking ' }),
  chunk({ content: 'both.' }),
  chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"location":' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
  chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } }] }),
  chunk({}, 'tool_calls'),
  chunk(null, null, usage),
];

describe('Anthropic surface stream encoder', () => {
  it('writes message_start, one block per kind, then message_delta and message_stop', () => {
    const types = events(encodeAll(openAiToolStream)).map((e) => e.type === 'content_block_delta' ? `delta:${e.delta.type}` : e.type);
    expect(types).toEqual([
      'message_start',
      'content_block_start', 'delta:thinking_delta', 'delta:thinking_delta', 'content_block_stop',
      'content_block_start', 'delta:text_delta', 'delta:text_delta', 'content_block_stop',
      'content_block_start', 'delta:input_json_delta', 'delta:input_json_delta', 'content_block_stop',
      'content_block_start', 'delta:input_json_delta', 'content_block_stop',
      'message_delta', 'message_stop',
    ]);
  });

  it('numbers blocks in order and starts tool_use blocks with id and name', () => {
    const starts = events(encodeAll(openAiToolStream)).filter((e) => e.type === 'content_block_start');
    expect(starts.map((e) => e.index)).toEqual([0, 1, 2, 3]);
    expect(starts[2].content_block).toEqual({ type: 'tool_use', id: 'call_a', name: 'get_weather', input: {} });
    expect(starts[3].content_block).toEqual({ type: 'tool_use', id: 'call_b', name: 'get_time', input: {} });
  });

  it('holds message_delta until the usage chunk after the finish arrives', () => {
    const encoder = anthropicSurfaceCodec.createStreamEncoder(context);
    const beforeUsage = openAiToolStream.slice(0, -1).map((c) => encoder.onChunk(c)).join('');
    expect(beforeUsage).not.toContain('message_delta');
    const tail = events(encoder.onChunk(openAiToolStream[openAiToolStream.length - 1]));
    expect(tail.map((e) => e.type)).toEqual(['message_delta', 'message_stop']);
    expect(tail[0]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 40, output_tokens: 20, cache_read_input_tokens: 60, cache_creation_input_tokens: 0 },
    });
    expect(encoder.onEnd()).toBe('');
  });

  it('ends on onEnd with zero usage when none came, and with usage that came before the finish', () => {
    const bare = events(encodeAll([chunk({ role: 'assistant', content: 'Hi' }), chunk({}, 'length')]));
    expect(bare[0].message.usage).toEqual({ input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    expect(bare.at(-2)).toMatchObject({ delta: { stop_reason: 'max_tokens' }, usage: { output_tokens: 0 } });
    const early = events(encodeAll([chunk({ content: 'Hi' }, null, usage), chunk({}, 'stop')]));
    expect(early[0].message.usage.input_tokens).toBe(40);
    expect(early.at(-2)?.usage.output_tokens).toBe(20);
  });

  it('ends at once when usage rides on the finish chunk, and ignores chunks after the end', () => {
    const encoder = anthropicSurfaceCodec.createStreamEncoder(context);
    encoder.onChunk(chunk({ content: 'Hi' }));
    const tail = events(encoder.onChunk(chunk({}, 'stop', usage)));
    expect(tail.map((e) => e.type)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(tail[1].usage.output_tokens).toBe(20);
    expect(encoder.onChunk(chunk({ content: 'late' }))).toBe('');
    expect(encoder.onEnd()).toBe('');
  });

  it('writes a complete message for an empty stream', () => {
    expect(events(anthropicSurfaceCodec.createStreamEncoder(context).onEnd()).map((e) => e.type)).toEqual(['message_start', 'message_delta', 'message_stop']);
  });

  it('writes an error event in the Anthropic format', () => {
    const encoder = anthropicSurfaceCodec.createStreamEncoder(context);
    encoder.onChunk(chunk({ content: 'partial' }));
    const text = encoder.onError({ status: 503, message: 'Upstream overloaded' });
    expect(text.startsWith('event: error\n')).toBe(true);
    expect(events(text)).toEqual([{ type: 'error', error: { type: 'overloaded_error', message: 'Upstream overloaded' } }]);
    expect(events(encoder.onError({ status: 429, message: 'slow', type: 'rate_limit_error' }))[0].error.type).toBe('rate_limit_error');
    expect(events(encoder.onError({ status: 502, message: 'x', type: 'upstream_error' }))[0].error.type).toBe('api_error');
    expect(encoder.onEnd()).toBe('');
  });

  it('is read by the Anthropic SDK into the right final message', async () => {
    const message = await sdkFinalMessage(encodeAll(openAiToolStream));
    expect(message.id).toBe('msg_abc123');
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Need two calls.', signature: '' },
      { type: 'text', text: 'Checking both.' },
      { type: 'tool_use', id: 'call_a', name: 'get_weather', input: { location: 'Paris' } },
      { type: 'tool_use', id: 'call_b', name: 'get_time', input: { tz: 'CET' } },
    ]);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage).toMatchObject({ input_tokens: 40, output_tokens: 20, cache_read_input_tokens: 60 });
  });

  it('relays an Anthropic upstream stream to an Anthropic client without losing anything', async () => {
    for (const upstream of [parallelToolStream, thinkingStream]) {
      const chunks = runDecoder(anthropicChatCodec.createStreamDecoder(context), upstream);
      const relayed = await sdkFinalMessage(encodeAll(chunks));
      const direct = await sdkFinalMessage(upstream);
      expect(relayed.id).toBe(direct.id);
      expect(relayed.content).toEqual(direct.content.map((b) => (b.type === 'text' ? { type: 'text', text: b.text } : b)));
      expect(relayed.stop_reason).toBe(direct.stop_reason);
      expect(relayed.usage.output_tokens).toBe(direct.usage.output_tokens);
      expect(relayed.usage.input_tokens).toBe(direct.usage.input_tokens);
    }
  });

  it('reports the stop sequence the upstream matched', () => {
    const stopChunk = { ...chunk({}, 'stop'), stop_sequence: 'END' };
    const out = events(encodeAll([chunk({ content: 'a' }), stopChunk, chunk(null, null, usage)]));
    expect(out.at(-2)?.delta).toEqual({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
  });
});
