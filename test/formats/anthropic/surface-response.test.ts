import { describe, expect, it } from 'vitest';
import { anthropicChatCodec, anthropicSurfaceCodec, stopReasonFromFinish, toolInput } from '../../../src/formats/anthropic/index.js';
import type { ChatCompletion } from '../../../src/formats/openai/types.js';
import { context, textResponse, thinkingResponse, toolUseResponse } from './fixtures.js';

function completion(message: Record<string, unknown>, finish: string, extra: Record<string, unknown> = {}): ChatCompletion {
  return {
    id: 'chatcmpl-xyz',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o',
    choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish as never }],
    usage: { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42, prompt_tokens_details: { cached_tokens: 20 } },
    ...extra,
  };
}

describe('anthropicSurfaceCodec.encodeResponse', () => {
  it('encodes an OpenAI-style completion as an Anthropic message', () => {
    expect(anthropicSurfaceCodec.encodeResponse(completion({ content: 'Hi there' }, 'stop'), context)).toEqual({
      id: 'msg_abc123',
      type: 'message',
      role: 'assistant',
      model: 'anthropic/claude-sonnet-4-5',
      content: [{ type: 'text', text: 'Hi there' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 12, cache_read_input_tokens: 20, cache_creation_input_tokens: 0 },
    });
  });

  it('orders thinking, text, then tool_use with parsed input', () => {
    const message = anthropicSurfaceCodec.encodeResponse(completion({
      content: 'Let me look.',
      reasoning_content: 'Need weather.',
      reasoning_signature: 'sig',
      tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
        { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } },
      ],
    }, 'tool_calls'), context) as Record<string, any>;
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Need weather.', signature: 'sig' },
      { type: 'text', text: 'Let me look.' },
      { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { location: 'Paris' } },
      { type: 'tool_use', id: 'call_2', name: 'get_time', input: {} },
    ]);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('reverse-maps every finish reason', () => {
    expect(stopReasonFromFinish('stop', null)).toBe('end_turn');
    expect(stopReasonFromFinish('stop', '###')).toBe('stop_sequence');
    expect(stopReasonFromFinish('length', null)).toBe('max_tokens');
    expect(stopReasonFromFinish('tool_calls', null)).toBe('tool_use');
    expect(stopReasonFromFinish('function_call', null)).toBe('tool_use');
    expect(stopReasonFromFinish('content_filter', null)).toBe('refusal');
    expect(stopReasonFromFinish(null, null)).toBe('end_turn');
  });

  it('reports stop_sequence when the upstream said which one matched', () => {
    const message = anthropicSurfaceCodec.encodeResponse(completion({ content: 'x' }, 'stop', { stop_sequence: '###' }), context) as Record<string, any>;
    expect(message.stop_reason).toBe('stop_sequence');
    expect(message.stop_sequence).toBe('###');
  });

  it('wraps tool arguments that are not a JSON object instead of losing them', () => {
    expect(toolInput('{"a":1}')).toEqual({ a: 1 });
    expect(toolInput('[1,2]')).toEqual({ value: [1, 2] });
    expect(toolInput('{"a":')).toEqual({ arguments: '{"a":' });
    expect(toolInput(undefined)).toEqual({});
  });

  it('writes a refusal as text and keeps an upstream msg_ id', () => {
    const message = anthropicSurfaceCodec.encodeResponse(
      { ...completion({ content: null, refusal: 'I cannot help with that.' }, 'content_filter'), id: 'msg_upstream' },
      context,
    ) as Record<string, any>;
    expect(message.id).toBe('msg_upstream');
    expect(message.content).toEqual([{ type: 'text', text: 'I cannot help with that.' }]);
    expect(message.stop_reason).toBe('refusal');
  });

  it('gives back the documented Anthropic responses after a trip through the canonical form', () => {
    const roundTrip = (body: typeof textResponse | typeof toolUseResponse | typeof thinkingResponse) =>
      anthropicSurfaceCodec.encodeResponse(anthropicChatCodec.decodeResponse(body, context), context) as Record<string, any>;
    const text = roundTrip(textResponse);
    expect(text.id).toBe(textResponse.id);
    expect(text.content).toEqual(textResponse.content);
    expect(text.usage).toEqual({ input_tokens: 12, output_tokens: 6, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    const tool = roundTrip(toolUseResponse);
    expect(tool.content).toEqual(toolUseResponse.content);
    expect(tool.stop_reason).toBe('tool_use');
    expect(tool.usage).toEqual({ input_tokens: 472, output_tokens: 91, cache_read_input_tokens: 2048, cache_creation_input_tokens: 100 });
    expect(roundTrip(thinkingResponse).content).toEqual([thinkingResponse.content[0], thinkingResponse.content[1], thinkingResponse.content[2]]);
  });
});
