import { describe, expect, it } from 'vitest';
import { anthropicChatCodec, finishReasonFromAnthropic } from '../../../src/formats/anthropic/index.js';
import { GatewayError } from '../../../src/errors/gateway-error.js';
import { context, errorBodies, textResponse, thinkingResponse, toolUseResponse } from './fixtures.js';

describe('anthropicChatCodec.decodeResponse', () => {
  it('decodes a text message into a chat completion', () => {
    expect(anthropicChatCodec.decodeResponse(textResponse, context)).toEqual({
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'anthropic/claude-sonnet-4-5',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18, prompt_tokens_details: { cached_tokens: 0 } },
    });
  });

  it('decodes tool_use blocks into tool calls and counts cached prompt tokens', () => {
    const completion = anthropicChatCodec.decodeResponse(toolUseResponse, context);
    const choice = completion.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBe("I'll check the current weather in San Francisco for you.");
    expect(choice.message.tool_calls).toEqual([{
      id: 'toolu_01A09q90qw90lq917835lq9',
      type: 'function',
      function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' },
    }]);
    expect(completion.usage).toEqual({
      prompt_tokens: 472 + 2048 + 100,
      completion_tokens: 91,
      total_tokens: 472 + 2048 + 100 + 91,
      prompt_tokens_details: { cached_tokens: 2048 },
      cache_creation_input_tokens: 100,
    });
  });

  it('gives content null when the message holds only tool calls', () => {
    const completion = anthropicChatCodec.decodeResponse({ ...toolUseResponse, content: [toolUseResponse.content[1]] }, context);
    expect(completion.choices[0].message.content).toBeNull();
    expect(completion.choices[0].message.tool_calls).toHaveLength(1);
  });

  it('decodes thinking into reasoning_content with its signature and keeps redacted thinking', () => {
    const completion = anthropicChatCodec.decodeResponse(thinkingResponse, context);
    const message = completion.choices[0].message;
    expect(message.content).toBe('Yes, there are infinitely many prime numbers such that...');
    expect(message.reasoning_content).toBe('To approach this, let me think about what we know about prime numbers...');
    expect(message.reasoning_signature).toBe(thinkingResponse.content[0].signature);
    expect(message.redacted_thinking).toEqual([thinkingResponse.content[1].data]);
    expect(completion.usage?.completion_tokens_details).toEqual({ reasoning_tokens: 220 });
  });

  it('maps every stop reason', () => {
    expect(finishReasonFromAnthropic('end_turn')).toBe('stop');
    expect(finishReasonFromAnthropic('stop_sequence')).toBe('stop');
    expect(finishReasonFromAnthropic('pause_turn')).toBe('stop');
    expect(finishReasonFromAnthropic('max_tokens')).toBe('length');
    expect(finishReasonFromAnthropic('model_context_window_exceeded')).toBe('length');
    expect(finishReasonFromAnthropic('tool_use')).toBe('tool_calls');
    expect(finishReasonFromAnthropic('refusal')).toBe('content_filter');
    expect(finishReasonFromAnthropic('something_new')).toBe('stop');
    expect(finishReasonFromAnthropic(null)).toBeNull();
  });

  it('keeps the matched stop sequence as an extra field', () => {
    const completion = anthropicChatCodec.decodeResponse({ ...textResponse, stop_reason: 'stop_sequence', stop_sequence: '###' }, context);
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.stop_sequence).toBe('###');
  });

  it('falls back to the context id and reports a body that is not a message', () => {
    expect(anthropicChatCodec.decodeResponse({ ...textResponse, id: undefined }, context).id).toBe('chatcmpl-abc123');
    for (const body of [null, 'text', { type: 'message' }]) {
      try {
        anthropicChatCodec.decodeResponse(body, context);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(GatewayError);
        expect((error as GatewayError).code).toBe('HD_ERR_UPSTREAM_BAD_RESPONSE');
      }
    }
  });
});

describe('anthropicChatCodec.decodeError', () => {
  it('decodes the documented error body', () => {
    expect(anthropicChatCodec.decodeError(529, errorBodies.overloaded)).toEqual({ message: 'Overloaded', type: 'overloaded_error', code: 'overloaded_error' });
    expect(anthropicChatCodec.decodeError(400, errorBodies.invalid)).toEqual({
      message: 'max_tokens: Field required', type: 'invalid_request_error', code: 'invalid_request_error',
    });
  });

  it('decodes an error body given as JSON text or bytes', () => {
    const text = JSON.stringify(errorBodies.rateLimit);
    expect(anthropicChatCodec.decodeError(429, text).type).toBe('rate_limit_error');
    expect(anthropicChatCodec.decodeError(429, new TextEncoder().encode(text)).message).toMatch(/per-minute rate limit/);
  });

  it('tolerates odd bodies', () => {
    expect(anthropicChatCodec.decodeError(502, '<html>Bad Gateway</html>')).toEqual({ message: 'Anthropic returned HTTP 502: <html>Bad Gateway</html>' });
    expect(anthropicChatCodec.decodeError(500, undefined)).toEqual({ message: 'Anthropic returned HTTP 500.' });
    expect(anthropicChatCodec.decodeError(500, '')).toEqual({ message: 'Anthropic returned HTTP 500.' });
    expect(anthropicChatCodec.decodeError(500, '{not json')).toEqual({ message: 'Anthropic returned HTTP 500: {not json' });
    expect(anthropicChatCodec.decodeError(400, { error: { message: 'proxy says no' } })).toEqual({ message: 'proxy says no' });
    expect(anthropicChatCodec.decodeError(400, { message: 'flat' })).toEqual({ message: 'flat' });
    expect(anthropicChatCodec.decodeError(500, { type: 'error', error: { type: 'api_error' } }).message).toBe('Anthropic returned HTTP 500 (api_error).');
    expect(anthropicChatCodec.decodeError(500, 'x'.repeat(2000)).message.length).toBeLessThan(600);
  });
});
