import { describe, expect, it } from 'vitest';
import { anthropicChatCodec } from '../../../src/formats/anthropic/index.js';
import { UpstreamStreamError } from '../../../src/formats/types.js';
import {
  assemble,
  basicStream,
  context,
  errorStream,
  parallelToolStream,
  runDecoder,
  sseEvents,
  thinkingStream,
} from './fixtures.js';

const decode = (text: string, split = 0) => runDecoder(anthropicChatCodec.createStreamDecoder(context), text, split);

function streamError(text: string): UpstreamStreamError {
  try {
    decode(text);
  } catch (error) {
    expect(error).toBeInstanceOf(UpstreamStreamError);
    return error as UpstreamStreamError;
  }
  throw new Error('expected an UpstreamStreamError');
}

describe('Anthropic stream decoder', () => {
  it('turns the documented basic stream into exact chunks', () => {
    const base = { id: 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'anthropic/claude-sonnet-4-5' };
    expect(decode(basicStream)).toEqual([
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { content: 'Hello' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { content: '!' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      {
        ...base,
        choices: [],
        usage: { prompt_tokens: 35, completion_tokens: 15, total_tokens: 50, prompt_tokens_details: { cached_tokens: 10 }, cache_creation_input_tokens: 0 },
      },
    ]);
  });

  it('produces the same chunks however the bytes are split', () => {
    const whole = decode(parallelToolStream);
    for (const split of [1, 3, 7, 64]) expect(decode(parallelToolStream, split)).toEqual(whole);
  });

  it('assembles parallel tool calls exactly, with indexes counting tool blocks only', () => {
    const chunks = decode(parallelToolStream);
    const heads = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? [])).filter((t) => t.id !== undefined);
    expect(heads).toEqual([
      { index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '' } },
      { index: 1, id: 'toolu_02Time', type: 'function', function: { name: 'get_time', arguments: '' } },
    ]);
    const result = assemble(chunks);
    expect(result.role).toBe('assistant');
    expect(result.content).toBe('Let me check both.');
    expect(result.toolCalls).toEqual([
      { id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', arguments: '{"location": "San Francisco, CA"}' },
      { id: 'toolu_02Time', name: 'get_time', arguments: '{"timezone": "America/Los_Angeles"}' },
    ]);
    expect(JSON.parse(result.toolCalls[1].arguments)).toEqual({ timezone: 'America/Los_Angeles' });
    expect(result.finish).toBe('tool_calls');
    expect(result.finishCount).toBe(1);
    expect(result.usage).toMatchObject({ prompt_tokens: 472, completion_tokens: 89, total_tokens: 561 });
  });

  it('streams thinking and its signature as reasoning fields', () => {
    const result = assemble(decode(thinkingStream));
    expect(result.reasoning).toBe('Let me solve this step by step:\n\n1. First break down 27 * 453\n2. 453 = 400 + 50 + 3');
    expect(result.signature).toBe('EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...');
    expect(result.content).toBe('27 * 453 = 12,231');
    expect(result.finish).toBe('stop');
    expect(result.usage).toEqual({
      prompt_tokens: 40, completion_tokens: 120, total_tokens: 160,
      prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 80 },
    });
  });

  it('always ends with a usage chunk that has no choices, exactly once', () => {
    for (const text of [basicStream, parallelToolStream, thinkingStream]) {
      const chunks = decode(text);
      const last = chunks[chunks.length - 1];
      expect(last.choices).toEqual([]);
      expect(last.usage?.total_tokens).toBeGreaterThan(0);
      expect(chunks.filter((c) => c.usage)).toHaveLength(1);
    }
  });

  it('still reports usage when the stream ends after message_delta without message_stop', () => {
    const truncated = basicStream.slice(0, basicStream.indexOf('event: message_stop'));
    const chunks = decode(truncated);
    expect(chunks[chunks.length - 1].usage?.completion_tokens).toBe(15);
    expect(assemble(chunks).finish).toBe('stop');
  });

  it('emits the finish chunk at message_stop when no message_delta came', () => {
    const noDelta = basicStream.replace(/event: message_delta\n.*\n\n/, '');
    const result = assemble(decode(noDelta));
    expect(result.finish).toBe('stop');
    expect(result.finishCount).toBe(1);
    expect(result.usage?.completion_tokens).toBe(1);
  });

  it('fails a stream that ends before the message finished', () => {
    const truncated = basicStream.slice(0, basicStream.indexOf('event: content_block_stop'));
    const error = streamError(truncated);
    expect(error.status).toBe(502);
    expect(streamError('').status).toBe(502);
  });

  it('throws an UpstreamStreamError with a mapped status on an error event', () => {
    const error = streamError(errorStream);
    expect(error.message).toBe('Overloaded');
    expect(error.status).toBe(503);
    expect(error.type).toBe('overloaded_error');
    const cases: Array<[string, number]> = [['rate_limit_error', 429], ['api_error', 500], ['invalid_request_error', 400], ['timeout_error', 504], ['mystery_error', 500]];
    for (const [type, status] of cases) {
      const text = `event: error\ndata: {"type":"error","error":{"type":"${type}","message":"m"}}\n\n`;
      expect(streamError(text).status).toBe(status);
    }
  });

  it('ignores ping, content_block_stop, citations and unknown events, and rejects non-JSON data', () => {
    const decoder = anthropicChatCodec.createStreamDecoder(context);
    expect(decoder.onEvent({ event: 'ping', data: '{"type":"ping"}' })).toEqual([]);
    expect(decoder.onEvent({ event: 'content_block_stop', data: '{"type":"content_block_stop","index":0}' })).toEqual([]);
    expect(decoder.onEvent({ event: 'future_event', data: '{"type":"future_event"}' })).toEqual([]);
    expect(decoder.onEvent({ data: '{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{}}}' })).toEqual([]);
    expect(() => decoder.onEvent({ event: 'message_start', data: '{oops' })).toThrow(UpstreamStreamError);
  });

  it('puts role assistant on the first chunk even without message_start', () => {
    const decoder = anthropicChatCodec.createStreamDecoder(context);
    const [first] = decoder.onEvent({ data: '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Hi"}}' });
    expect(first.id).toBe('chatcmpl-abc123');
    expect(first.choices[0].delta).toEqual({ role: 'assistant', content: 'Hi' });
  });

  it('keeps the stop sequence on the finish chunk and maps max_tokens to length', () => {
    const withStop = basicStream.replace('"stop_reason": "end_turn", "stop_sequence":null', '"stop_reason": "stop_sequence", "stop_sequence":"###"');
    const finish = decode(withStop).find((c) => c.choices[0]?.finish_reason);
    expect(finish?.stop_sequence).toBe('###');
    const maxed = basicStream.replace('"stop_reason": "end_turn"', '"stop_reason": "max_tokens"');
    expect(assemble(decode(maxed)).finish).toBe('length');
  });

  it('parses the fixture into every documented event type', () => {
    const names = new Set([basicStream, parallelToolStream, thinkingStream, errorStream].flatMap((t) => sseEvents(t).map((e) => e.event)));
    expect([...names].sort()).toEqual([
      'content_block_delta', 'content_block_start', 'content_block_stop', 'error', 'message_delta', 'message_start', 'message_stop', 'ping',
    ]);
  });
});
