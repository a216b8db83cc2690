/** The Responses API as a provider format (models only it serves): canonical -> request, answer and events -> canonical. */
import { describe, expect, it } from 'vitest';
import { responsesProviderCodec } from '../../../src/formats/responses/index.js';
import type { SseEvent } from '../../../src/gateway/sse.js';

const context = { id: 'chatcmpl-1', created: 1, model: 'openai/gpt-5-codex' };

describe('responsesProviderCodec', () => {
  it('encodes messages, tools, format, effort and limits; drops what has no equivalent with a warning', () => {
    const { body, warnings } = responsesProviderCodec.encodeRequest({
      model: 'openai/gpt-5-codex',
      messages: [
        { role: 'developer', content: 'rules' },
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'https://x/a.png' } }] },
        { role: 'assistant', content: 'calling', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'done' },
      ],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      response_format: { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object' }, strict: true } },
      reasoning_effort: 'high',
      max_completion_tokens: 99,
      temperature: 0.5,
      stop: ['\n'],
      seed: 7,
    }, { model: 'gpt-5-codex', stream: true });
    expect(body).toEqual({
      model: 'gpt-5-codex',
      store: false,
      stream: true,
      temperature: 0.5,
      max_output_tokens: 99,
      input: [
        { type: 'message', role: 'developer', content: 'rules' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: 'https://x/a.png', detail: 'auto' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'calling', annotations: [] }] },
        { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: 'done' },
      ],
      tools: [{ type: 'function', name: 'f', description: undefined, parameters: { type: 'object' }, strict: false }],
      tool_choice: { type: 'function', name: 'f' },
      text: { format: { type: 'json_schema', name: 'a', schema: { type: 'object' }, strict: true } },
      reasoning: { effort: 'high' },
    });
    expect(warnings.map((w) => w.param)).toEqual(['stop', 'seed']);
  });

  it('decodes an answer: reasoning summary, text, calls, usage, status', () => {
    const completion = responsesProviderCodec.decodeResponse({
      id: 'resp_1', object: 'response', created_at: 5, model: 'gpt-5-codex', status: 'completed',
      output: [
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'plan' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'ok', annotations: [] }] },
        { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'f', arguments: '{"a":1}' },
      ],
      usage: { input_tokens: 3, input_tokens_details: { cached_tokens: 1 }, output_tokens: 9, output_tokens_details: { reasoning_tokens: 4 }, total_tokens: 12 },
    }, context);
    expect(completion.choices[0]).toEqual({
      index: 0,
      finish_reason: 'tool_calls',
      message: { role: 'assistant', content: 'ok', reasoning_content: 'plan', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
    });
    expect(completion.usage).toEqual({ prompt_tokens: 3, completion_tokens: 9, total_tokens: 12, prompt_tokens_details: { cached_tokens: 1 }, completion_tokens_details: { reasoning_tokens: 4 } });
    const cut = responsesProviderCodec.decodeResponse({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [] }, context);
    expect(cut.choices[0].finish_reason).toBe('length');
  });

  it('decodes the event stream into chunks, and a failure into a stream error', () => {
    const decoder = responsesProviderCodec.createStreamDecoder(context);
    const event = (data: Record<string, unknown>): SseEvent => ({ event: String(data.type), data: JSON.stringify(data) }) as SseEvent;
    const chunks = [
      event({ type: 'response.created', response: {} }),
      event({ type: 'response.output_text.delta', item_id: 'm', delta: 'Hi' }),
      event({ type: 'response.output_item.added', output_index: 1, item: { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'f', arguments: '' } }),
      event({ type: 'response.function_call_arguments.delta', item_id: 'fc_1', delta: '{}' }),
      event({ type: 'response.completed', response: { status: 'completed', usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 } } }),
    ].flatMap((e) => decoder.onEvent(e));
    expect(chunks.map((c) => [c.choices[0]?.delta ?? null, c.choices[0]?.finish_reason ?? null, c.usage ?? null])).toEqual([
      [{ content: 'Hi' }, null, null],
      [{ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }] }, null, null],
      [{ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }, null, null],
      [{}, 'tool_calls', null],
      [null, null, { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 }],
    ]);
    expect(() => decoder.onEvent(event({ type: 'response.failed', response: { error: { code: 'server_error', message: 'boom' } } }))).toThrow('boom');
  });
});
