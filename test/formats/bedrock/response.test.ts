import { describe, expect, it } from 'vitest';
import { bedrockChatCodec } from '../../../src/formats/bedrock/codec.js';
import { encodeEvent } from '../../../src/formats/bedrock/event-stream.js';
import { GatewayError } from '../../../src/errors/gateway-error.js';
import { UpstreamStreamError } from '../../../src/formats/types.js';
import {
  context, decodeStream, encodeException, reasoningResponse, streamBytes, streamEvents, textResponse, toolUseResponse,
} from './fixtures.js';

describe('bedrockChatCodec.decodeResponse', () => {
  it('decodes a text answer with usage', () => {
    expect(bedrockChatCodec.decodeResponse(textResponse, context)).toEqual({
      id: 'chatcmpl-bedrock1',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'bedrock/amazon.nova-pro-v1:0',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! How can I help you today?' }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 30, completion_tokens: 628, total_tokens: 658, prompt_tokens_details: { cached_tokens: 0 } },
    });
  });

  it('decodes tool use, and counts cache writes into prompt tokens', () => {
    const completion = bedrockChatCodec.decodeResponse(toolUseResponse, context);
    expect(completion.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: 'I will look up the most popular song.',
        tool_calls: [{ id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', type: 'function', function: { name: 'top_song', arguments: '{"sign":"WZPZ"}' } }],
      },
      finish_reason: 'tool_calls',
      logprobs: null,
    });
    expect(completion.usage).toEqual({
      prompt_tokens: 1010, completion_tokens: 30, total_tokens: 1040,
      prompt_tokens_details: { cached_tokens: 0 }, cache_creation_input_tokens: 1006,
    });
  });

  it('decodes reasoning text and signature, max_tokens and cache reads', () => {
    const completion = bedrockChatCodec.decodeResponse(reasoningResponse, context);
    expect(completion.choices[0].message).toEqual({
      role: 'assistant', content: '4', reasoning_content: 'The user asks 2+2. ', reasoning_signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3h',
    });
    expect(completion.choices[0].finish_reason).toBe('length');
    expect(completion.usage).toMatchObject({ prompt_tokens: 110, total_tokens: 130, prompt_tokens_details: { cached_tokens: 100 } });
  });

  it('maps every documented stop reason', () => {
    const reasons: Record<string, string> = {
      end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', tool_use: 'tool_calls',
      guardrail_intervened: 'content_filter', content_filtered: 'content_filter', model_context_window_exceeded: 'length',
    };
    for (const [stopReason, expected] of Object.entries(reasons)) {
      expect(bedrockChatCodec.decodeResponse({ ...textResponse, stopReason }, context).choices[0].finish_reason, stopReason).toBe(expected);
    }
  });

  it('rejects a body that is not a Converse response', () => {
    expect(() => bedrockChatCodec.decodeResponse({ message: 'hi' }, context)).toThrow(GatewayError);
    expect(() => bedrockChatCodec.decodeResponse(null, context)).toThrow(
      expect.objectContaining({ code: 'HD_ERR_UPSTREAM_BAD_RESPONSE', status: 502 }),
    );
  });
});

describe('Bedrock stream decoding (event stream -> chunks)', () => {
  const bytes = streamBytes();

  it('turns every event type into the canonical chunk sequence', () => {
    const chunks = decodeStream(bytes);
    expect(chunks.map((c) => c.choices[0]?.delta ?? null)).toEqual([
      { role: 'assistant', content: '' },
      { reasoning_content: 'Think.' },
      { reasoning_signature: 'sig-1' },
      { content: 'Let me check' },
      { content: ' the charts.' },
      { tool_calls: [{ index: 0, id: 'tooluse_1', type: 'function', function: { name: 'top_song', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"sign":' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"WZPZ"}' } }] },
      { tool_calls: [{ index: 1, id: 'tooluse_2', type: 'function', function: { name: 'top_song', arguments: '' } }] },
      { tool_calls: [{ index: 1, function: { arguments: '{"sign":"WKRP"}' } }] },
      {},
      null,
    ]);
    expect(chunks.map((c) => c.choices[0]?.finish_reason ?? null).filter(Boolean)).toEqual(['tool_calls']);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 30, completion_tokens: 40, total_tokens: 70, prompt_tokens_details: { cached_tokens: 5 } });
    expect(chunks.every((c) => c.id === 'chatcmpl-bedrock1' && c.object === 'chat.completion.chunk' && c.model === context.model)).toBe(true);
  });

  it('gives the same chunks whatever the network chunk size', () => {
    const whole = decodeStream(bytes);
    for (const size of [1, 2, 3, 7, 13, 64, 101]) expect(decodeStream(bytes, size), `chunk size ${size}`).toEqual(whole);
  });

  it('throws UpstreamStreamError with a status for each exception event', () => {
    const cases: Array<[string, number]> = [
      ['throttlingException', 429], ['validationException', 400], ['modelStreamErrorException', 502],
      ['serviceUnavailableException', 503], ['internalServerException', 500], ['modelTimeoutException', 504],
    ];
    for (const [name, status] of cases) {
      const framed = new Uint8Array([...streamBytes(streamEvents.slice(0, 2)), ...encodeException(name, `${name} happened`)]);
      let caught: unknown;
      try {
        decodeStream(framed);
      } catch (error) {
        caught = error;
      }
      expect(caught, name).toBeInstanceOf(UpstreamStreamError);
      expect((caught as UpstreamStreamError).status).toBe(status);
      expect((caught as UpstreamStreamError).type).toBe(name);
      expect((caught as UpstreamStreamError).message).toBe(`${name} happened`);
    }
  });

  it('refuses a stream cut before messageStop', () => {
    expect(() => decodeStream(streamBytes(streamEvents.slice(0, 6)))).toThrow(/ended before messageStop/);
  });

  it('maps a guardrail stop to content_filter and still reports usage', () => {
    const chunks = decodeStream(streamBytes([
      ['messageStart', { role: 'assistant' }],
      ['messageStop', { stopReason: 'guardrail_intervened' }],
      ['metadata', { usage: { inputTokens: 3, outputTokens: 0, totalTokens: 3 } }],
    ]));
    expect(chunks[1].choices[0].finish_reason).toBe('content_filter');
    expect(chunks[2].usage?.total_tokens).toBe(3);
  });

  it('ignores event types it does not know', () => {
    const decoder = bedrockChatCodec.createStreamDecoder(context);
    expect(decoder.onEvent({ event: 'somethingNew', data: '{}' })).toEqual([]);
    expect(decoder.onEvent({ event: 'contentBlockStop', data: '{"contentBlockIndex":0}' })).toEqual([]);
    expect(encodeEvent('x', {}).length).toBeGreaterThan(16);
  });
});

describe('bedrockChatCodec.decodeError', () => {
  it('reads the message and names the exception from the status', () => {
    expect(bedrockChatCodec.decodeError(429, { message: 'Too many requests, please wait before trying again.' })).toEqual({
      message: 'Too many requests, please wait before trying again.', type: 'ThrottlingException', code: 'ThrottlingException',
    });
    expect(bedrockChatCodec.decodeError(400, { message: 'The provided model identifier is invalid.' }).type).toBe('ValidationException');
    expect(bedrockChatCodec.decodeError(503, 'Service Unavailable')).toEqual({ message: 'Service Unavailable', type: 'ServiceUnavailableException', code: 'ServiceUnavailableException' });
  });

  it('prefers an explicit __type and falls back to a generic message', () => {
    expect(bedrockChatCodec.decodeError(403, { __type: 'com.amazon.coral.service#AccessDeniedException', Message: 'denied' }))
      .toEqual({ message: 'denied', type: 'AccessDeniedException', code: 'AccessDeniedException' });
    expect(bedrockChatCodec.decodeError(500, null).message).toBe('Bedrock returned HTTP 500.');
  });
});
