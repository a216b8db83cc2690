import { describe, expect, it } from 'vitest';
import { cohereChatCodec } from '../../../src/formats/cohere/codec.js';
import { UpstreamStreamError } from '../../../src/formats/types.js';
import { context, decodeStream, streamEvents, streamText } from './fixtures.js';

describe('Cohere stream decoding', () => {
  const text = streamText();

  it('turns every event type into the canonical chunk sequence', () => {
    const chunks = decodeStream(text);
    expect(chunks.map((c) => c.choices[0]?.delta ?? null)).toEqual([
      { role: 'assistant', content: '' },
      { reasoning_content: 'I will look up' },
      { reasoning_content: ' the weather.' },
      { tool_calls: [{ index: 0, id: 'get_weather_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"location":' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"Toronto"}' } }] },
      { tool_calls: [{ index: 1, id: 'get_weather_2', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }] },
      { content: 'Checking' },
      { content: ' now.' },
      {},
      null,
    ]);
    expect(chunks[chunks.length - 2].choices[0].finish_reason).toBe('tool_calls');
    const usage = chunks[chunks.length - 1];
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toEqual({ prompt_tokens: 31, completion_tokens: 27, total_tokens: 58 });
    expect(chunks.every((c) => c.id === '29f14a5a-11de-4cae-9800-25e4747408ed' && c.created === context.created)).toBe(true);
  });

  it('gives the same chunks whatever the network chunk size', () => {
    const whole = decodeStream(text);
    for (const size of [1, 5, 17, 100]) expect(decodeStream(text, size), `chunk size ${size}`).toEqual(whole);
  });

  it('decodes thinking deltas and a plain COMPLETE end', () => {
    const chunks = decodeStream(streamText([
      { type: 'message-start', id: 'm1', delta: { message: { role: 'assistant' } } },
      { type: 'content-start', index: 0, delta: { message: { content: { type: 'thinking', thinking: '' } } } },
      { type: 'content-delta', index: 0, delta: { message: { content: { thinking: 'Hmm.' } } } },
      { type: 'content-end', index: 0 },
      { type: 'content-start', index: 1, delta: { message: { content: { type: 'text', text: 'Hi' } } } },
      { type: 'message-end', delta: { finish_reason: 'MAX_TOKENS', usage: { billed_units: { input_tokens: 2, output_tokens: 3 } } } },
    ]));
    expect(chunks.map((c) => c.choices[0]?.delta)).toEqual([
      { role: 'assistant', content: '' }, { reasoning_content: 'Hmm.' }, { content: 'Hi' }, {}, undefined,
    ]);
    expect(chunks[3].choices[0].finish_reason).toBe('length');
  });

  it('raises an ERROR finish as an upstream stream error', () => {
    const events = [...streamEvents.slice(0, 2), { type: 'message-end', delta: { finish_reason: 'ERROR', error: 'internal model failure' } }];
    expect(() => decodeStream(streamText(events))).toThrow(UpstreamStreamError);
    expect(() => decodeStream(streamText(events))).toThrow('Cohere: internal model failure');
  });

  it('refuses a stream cut before message-end, and a non-JSON event', () => {
    expect(() => decodeStream(streamText(streamEvents.slice(0, 5)))).toThrow(/ended before message-end/);
    const decoder = cohereChatCodec.createStreamDecoder(context);
    expect(() => decoder.onEvent({ event: 'content-delta', data: '{not json' })).toThrow(
      expect.objectContaining({ status: 502 }),
    );
  });
});
