import { describe, expect, it } from 'vitest';
import { geminiChatCodec } from '../../../src/formats/gemini/index.js';
import { apiKeyError, context, parallelCallsResponse, promptBlockedResponse, quotaError, textResponse, thinkingResponse } from './fixtures.js';

describe('geminiChatCodec.decodeResponse', () => {
  it('decodes a text answer: parts joined, id from responseId, usage mapped', () => {
    expect(geminiChatCodec.decodeResponse(textResponse, context)).toEqual({
      id: 'mAitaLmkHPPlz7IPvtfUqQ4',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'gemini-2.5-flash',
      choices: [{
        index: 0,
        message: { role: 'assistant', content: 'Once upon a time, in a land far away, a magic backpack...' },
        finish_reason: 'stop',
      }],
      usage: { prompt_tokens: 8, completion_tokens: 393, total_tokens: 401 },
    });
  });

  it('decodes parallel function calls with deterministic ids and finish_reason tool_calls', () => {
    const completion = geminiChatCodec.decodeResponse(parallelCallsResponse, context);
    expect(completion.id).toBe('chatcmpl-abc123');
    expect(completion.choices[0]).toEqual({
      index: 0,
      finish_reason: 'tool_calls',
      message: {
        role: 'assistant',
        content: null,
        reasoning_signature: 'c2lnLWZpcnN0',
        tool_calls: [
          // The call's own thought signature, where Google's OpenAI-compatible endpoint puts it.
          { id: 'call_abc123_0', type: 'function', function: { name: 'power_disco_ball', arguments: '{"power":true}' }, extra_content: { google: { thought_signature: 'c2lnLWZpcnN0' } } },
          { id: 'call_abc123_1', type: 'function', function: { name: 'start_music', arguments: '{"energetic":true,"loud":true}' } },
          { id: 'call_abc123_2', type: 'function', function: { name: 'dim_lights', arguments: '{"brightness":0.5}' } },
        ],
      },
    });
    // The same response decodes to the same ids: nothing random.
    expect(geminiChatCodec.decodeResponse(parallelCallsResponse, context).choices[0].message.tool_calls)
      .toEqual(completion.choices[0].message.tool_calls);
  });

  it('keeps a function call id Gemini sent', () => {
    const body = { candidates: [{ content: { role: 'model', parts: [{ functionCall: { id: 'fc-9', name: 'f', args: {} } }] }, finishReason: 'STOP' }] };
    expect(geminiChatCodec.decodeResponse(body, context).choices[0].message.tool_calls?.[0].id).toBe('fc-9');
  });

  it('splits thought parts into reasoning_content and reports thinking and cached tokens', () => {
    const completion = geminiChatCodec.decodeResponse(thinkingResponse, context);
    expect(completion.choices[0].message).toEqual({
      role: 'assistant',
      content: 'The first three primes are 2, 3 and 5.',
      reasoning_content: '**Considering the ordering**\nThe user wants primes...',
      reasoning_signature: 'c2lnLXRleHQ=',
    });
    expect(completion.usage).toEqual({
      prompt_tokens: 12,
      completion_tokens: 264,
      total_tokens: 276,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 250 },
    });
  });

  it('turns a blocked prompt (no candidates) into one empty content_filter choice', () => {
    const completion = geminiChatCodec.decodeResponse(promptBlockedResponse, context);
    expect(completion.choices).toEqual([{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'content_filter' }]);
    expect(completion.usage).toEqual({ prompt_tokens: 8, completion_tokens: 0, total_tokens: 8 });
  });

  it.each([
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['BLOCKLIST', 'content_filter'],
    ['PROHIBITED_CONTENT', 'content_filter'],
    ['SPII', 'content_filter'],
    ['IMAGE_SAFETY', 'content_filter'],
    ['MALFORMED_FUNCTION_CALL', 'stop'],
    ['OTHER', 'stop'],
    ['SOMETHING_NEW', 'stop'],
  ])('maps finishReason %s to %s', (finishReason, expected) => {
    const body = { candidates: [{ content: { role: 'model', parts: [{ text: 'x' }] }, finishReason, index: 0 }] };
    expect(geminiChatCodec.decodeResponse(body, context).choices[0].finish_reason).toBe(expected);
  });

  it('decodes several candidates, each at its own index, and logprobs', () => {
    const body = {
      candidates: [
        {
          content: { role: 'model', parts: [{ text: 'A' }] },
          finishReason: 'STOP',
          index: 0,
          logprobsResult: {
            chosenCandidates: [{ token: 'A', logProbability: -0.1 }],
            topCandidates: [{ candidates: [{ token: 'A', logProbability: -0.1 }, { token: 'B', logProbability: -2.5 }] }],
          },
        },
        { content: { role: 'model', parts: [{ functionCall: { name: 'f', args: { a: 1 } } }] }, finishReason: 'STOP', index: 1 },
      ],
    };
    const completion = geminiChatCodec.decodeResponse(body, context);
    expect(completion.choices[0].logprobs).toEqual({
      content: [{ token: 'A', logprob: -0.1, bytes: null, top_logprobs: [{ token: 'A', logprob: -0.1, bytes: null }, { token: 'B', logprob: -2.5, bytes: null }] }],
      refusal: null,
    });
    expect(completion.choices[1]).toMatchObject({ index: 1, finish_reason: 'tool_calls', message: { tool_calls: [{ id: 'call_abc123_1_0' }] } });
  });
});

describe('geminiChatCodec.decodeError', () => {
  it('reads status as type and the ErrorInfo reason as code', () => {
    expect(geminiChatCodec.decodeError(400, apiKeyError)).toEqual({
      message: 'API key not valid. Please pass a valid API key.',
      type: 'INVALID_ARGUMENT',
      code: 'API_KEY_INVALID',
    });
  });

  it('falls back to the numeric code, and tolerates the array wrapping', () => {
    expect(geminiChatCodec.decodeError(429, [quotaError])).toEqual({
      message: 'Resource has been exhausted (e.g. check quota).',
      type: 'RESOURCE_EXHAUSTED',
      code: '429',
    });
  });

  it('accepts raw JSON text and non-JSON text', () => {
    expect(geminiChatCodec.decodeError(429, JSON.stringify(quotaError)).type).toBe('RESOURCE_EXHAUSTED');
    expect(geminiChatCodec.decodeError(502, '<html>Bad Gateway</html>')).toEqual({ message: '<html>Bad Gateway</html>' });
    expect(geminiChatCodec.decodeError(500, '')).toEqual({ message: 'Gemini answered HTTP 500.' });
    expect(geminiChatCodec.decodeError(503, { unexpected: true })).toEqual({ message: 'Gemini answered HTTP 503.' });
  });
});
