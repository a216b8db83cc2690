import { describe, expect, it } from 'vitest';
import { geminiSurfaceCodec } from '../../../src/formats/gemini/index.js';
import type { ChatCompletion, ChatCompletionChunk } from '../../../src/formats/openai/types.js';
import { context } from './fixtures.js';

const completion: ChatCompletion = {
  id: 'chatcmpl-xyz',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-mini',
  choices: [{
    index: 0,
    finish_reason: 'tool_calls',
    message: {
      role: 'assistant',
      content: 'Let me check.',
      reasoning_content: 'The user wants weather.',
      reasoning_signature: 'sig-1',
      tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Tokyo"}' } },
      ],
    },
  }],
  usage: { prompt_tokens: 50, completion_tokens: 30, total_tokens: 80, prompt_tokens_details: { cached_tokens: 10 }, completion_tokens_details: { reasoning_tokens: 12 } },
};

function chunk(choices: ChatCompletionChunk['choices'], usage?: ChatCompletionChunk['usage']): ChatCompletionChunk {
  const value: ChatCompletionChunk = { id: 'chatcmpl-s1', object: 'chat.completion.chunk', created: 1, model: 'm', choices };
  if (usage !== undefined) value.usage = usage;
  return value;
}

function parseEvents(text: string): unknown[] {
  return text.split('\n\n').filter((block) => block !== '').map((block) => {
    expect(block.startsWith('data: ')).toBe(true);
    return JSON.parse(block.slice('data: '.length)) as unknown;
  });
}

describe('geminiSurfaceCodec.encodeResponse', () => {
  it('encodes a completion as a GenerateContentResponse', () => {
    expect(geminiSurfaceCodec.encodeResponse(completion, context)).toEqual({
      candidates: [{
        content: {
          role: 'model',
          parts: [
            { text: 'The user wants weather.', thought: true },
            { text: 'Let me check.' },
            { functionCall: { id: 'call_a', name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'sig-1' },
            { functionCall: { id: 'call_b', name: 'get_weather', args: { city: 'Tokyo' } } },
          ],
        },
        finishReason: 'STOP',
        index: 0,
      }],
      usageMetadata: { promptTokenCount: 50, candidatesTokenCount: 18, thoughtsTokenCount: 12, cachedContentTokenCount: 10, totalTokenCount: 80 },
      modelVersion: 'gemini-2.5-flash',
      responseId: 'chatcmpl-xyz',
    });
  });

  it('maps finish reasons back, and leaves content out of an empty filtered candidate', () => {
    const filtered: ChatCompletion = { ...completion, choices: [{ index: 0, finish_reason: 'content_filter', message: { role: 'assistant', content: null } }] };
    expect((geminiSurfaceCodec.encodeResponse(filtered, context) as { candidates: unknown[] }).candidates).toEqual([{ finishReason: 'SAFETY', index: 0 }]);
    const long: ChatCompletion = { ...completion, choices: [{ index: 0, finish_reason: 'length', message: { role: 'assistant', content: 'abc' } }] };
    expect((geminiSurfaceCodec.encodeResponse(long, context) as { candidates: unknown[] }).candidates).toEqual([
      { content: { role: 'model', parts: [{ text: 'abc' }] }, finishReason: 'MAX_TOKENS', index: 0 },
    ]);
  });
});

describe('GeminiSurfaceStreamEncoder', () => {
  it('streams text as parts, buffers tool calls until the end, and ends with finishReason and usage (no [DONE])', () => {
    const encoder = geminiSurfaceCodec.createStreamEncoder(context);
    const out = [
      encoder.onChunk(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])),
      encoder.onChunk(chunk([{ index: 0, delta: { content: 'Checking' }, finish_reason: null }])),
      encoder.onChunk(chunk([{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }] }, finish_reason: null }])),
      encoder.onChunk(chunk([{ index: 0, delta: { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{"tz":' } }] }, finish_reason: null }])),
      encoder.onChunk(chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] }, finish_reason: null }])),
      encoder.onChunk(chunk([{ index: 0, delta: { tool_calls: [{ index: 1, function: { arguments: '"UTC"}' } }] }, finish_reason: null }])),
      encoder.onChunk(chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }])),
      encoder.onChunk(chunk([], { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 })),
      encoder.onEnd(),
    ];
    expect(out[0]).toBe('');
    expect(out.slice(2, 8).every((text) => text === '')).toBe(true);
    expect(out.join('')).not.toContain('[DONE]');
    expect(parseEvents(out.join(''))).toEqual([
      { candidates: [{ content: { role: 'model', parts: [{ text: 'Checking' }] }, index: 0 }], modelVersion: 'gemini-2.5-flash', responseId: 'chatcmpl-s1' },
      {
        candidates: [{
          content: {
            role: 'model',
            parts: [
              { functionCall: { id: 'call_a', name: 'get_weather', args: { city: 'Paris' } } },
              { functionCall: { id: 'call_b', name: 'get_time', args: { tz: 'UTC' } } },
            ],
          },
          finishReason: 'STOP',
          index: 0,
        }],
        usageMetadata: { promptTokenCount: 20, candidatesTokenCount: 9, totalTokenCount: 29 },
        modelVersion: 'gemini-2.5-flash',
        responseId: 'chatcmpl-s1',
      },
    ]);
  });

  it('sends thought text as thought parts and the signature in the last event', () => {
    const encoder = geminiSurfaceCodec.createStreamEncoder(context);
    const text = [
      encoder.onChunk(chunk([{ index: 0, delta: { reasoning_content: 'hmm' }, finish_reason: null }])),
      encoder.onChunk(chunk([{ index: 0, delta: { reasoning_signature: 'sig' }, finish_reason: null }])),
      encoder.onChunk(chunk([{ index: 0, delta: { content: 'ok' }, finish_reason: 'stop' }])),
      encoder.onEnd(),
    ].join('');
    expect(parseEvents(text).map((event) => (event as { candidates: unknown[] }).candidates)).toEqual([
      [{ content: { role: 'model', parts: [{ text: 'hmm', thought: true }] }, index: 0 }],
      [{ content: { role: 'model', parts: [{ text: 'ok' }] }, index: 0 }],
      [{ content: { role: 'model', parts: [{ text: '', thoughtSignature: 'sig' }] }, finishReason: 'STOP', index: 0 }],
    ]);
  });

  it('renders a mid-stream error as a Gemini error event', () => {
    const encoder = geminiSurfaceCodec.createStreamEncoder(context);
    expect(parseEvents(encoder.onError({ status: 429, message: 'Rate limit reached.' }))).toEqual([
      { error: { code: 429, message: 'Rate limit reached.', status: 'RESOURCE_EXHAUSTED' } },
    ]);
    expect(parseEvents(encoder.onError({ status: 502, message: 'Upstream failed.' }))).toEqual([
      { error: { code: 502, message: 'Upstream failed.', status: 'INTERNAL' } },
    ]);
  });

  it('ends an empty stream with one STOP candidate', () => {
    const encoder = geminiSurfaceCodec.createStreamEncoder(context);
    expect(parseEvents(encoder.onEnd())).toEqual([{ candidates: [{ finishReason: 'STOP', index: 0 }], modelVersion: 'gemini-2.5-flash', responseId: 'chatcmpl-abc123' }]);
  });
});
