/**
 * The matrix is only as strict as its assemblers: each must notice a broken
 * stream (a tool call's first delta without its id or name, parallel calls
 * mixed, a finish sent twice, a missing end event, usage missing).
 */
import { describe, expect, it } from 'vitest';
import { formatSse, SSE_DONE, SseParser } from '../../src/gateway/sse.js';
import { compare } from './results.js';
import { expectedFor } from './cases.js';
import { assembleAnthropicStream } from './surface-anthropic.js';
import { assembleGeminiStream } from './surface-gemini.js';
import { assembleOpenAIStream } from './surface-openai.js';

function events(...texts: string[]) {
  return new SseParser().push(texts.join(''));
}

const chunk = (delta: unknown, finish: string | null = null, extra: Record<string, unknown> = {}): string =>
  formatSse(JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], ...extra }));

describe('OpenAI stream assembler', () => {
  it('assembles a good stream of two parallel calls without problems', () => {
    const got = assembleOpenAIStream(events(
      chunk({ tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'lookup', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"x":1}' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'b', type: 'function', function: { name: 'search', arguments: '{}' } }] }),
      chunk({}, 'tool_calls'),
      formatSse(JSON.stringify({ id: 'c', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } })),
      SSE_DONE,
    ));
    expect(got.problems).toEqual([]);
    expect(got.calls).toEqual([{ id: 'a', name: 'lookup', arguments: '{"x":1}' }, { id: 'b', name: 'search', arguments: '{}' }]);
    expect(got.usage).toEqual({ input: 1, output: 2 });
  });

  it('reports a first delta without id or name, an id that changes, two finishes and no [DONE]', () => {
    const got = assembleOpenAIStream(events(
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{' } }] }),
      chunk({ tool_calls: [{ index: 0, id: 'late', function: { arguments: '}' } }] }),
      chunk({}, 'tool_calls'),
      chunk({}, 'stop'),
    ));
    expect(got.problems).toEqual(expect.arrayContaining([
      'tool call 0: no id in its first delta',
      'tool call 0: no name in its first delta',
      'tool call 0: id changed to late',
      '2 finish reasons in the stream',
      'the stream does not end with [DONE]',
    ]));
  });

  it('compare() names every difference from the expectation', () => {
    const got = assembleOpenAIStream(events(chunk({ content: 'echo: wrong' }), chunk({}, 'stop'), SSE_DONE));
    const failures = compare(got, expectedFor('text'), 'stop');
    expect(failures.some((f) => f.startsWith('text: expected'))).toBe(true);
    expect(failures).toContain('usage: missing');
  });
});

describe('Anthropic stream assembler', () => {
  const event = (type: string, data: Record<string, unknown>): string => formatSse(JSON.stringify({ type, ...data }), type);

  it('reports a reopened block, a delta outside its block, input that is not JSON and no message_stop', () => {
    const got = assembleAnthropicStream(events(
      event('message_start', { message: { usage: { input_tokens: 1 } } }),
      event('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 't', name: 'lookup', input: {} } }),
      event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"x":' } }),
      event('content_block_stop', { index: 0 }),
      event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '1}' } }),
      event('content_block_start', { index: 0, content_block: { type: 'tool_use', name: 'search', input: {} } }),
      event('content_block_stop', { index: 0 }),
      event('message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 3 } }),
    ));
    expect(got.problems).toEqual(expect.arrayContaining([
      'a delta for block 0 which is not open',
      'block 0 starts twice',
      'tool_use block 0: no id at its start',
      'tool lookup: input_json_delta pieces are not JSON: {"x":',
      'the stream does not end with message_stop',
    ]));
    expect(got.usage).toEqual({ input: 1, output: 3 });
  });
});

describe('Gemini stream assembler', () => {
  it('reports a finish before the last event and a function call without a name', () => {
    const response = (parts: unknown[], finish?: string): string =>
      `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts }, ...(finish ? { finishReason: finish } : {}) }] })}\n\n`;
    const got = assembleGeminiStream(events(response([{ text: 'a' }], 'STOP'), response([{ functionCall: { args: {} } }])));
    expect(got.problems).toEqual(expect.arrayContaining([
      'an event follows the one with the finish reason',
      'a functionCall part has no name',
      'the last event has no usageMetadata',
    ]));
  });
});
