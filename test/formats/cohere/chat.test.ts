import { describe, expect, it } from 'vitest';
import { cohereChatCodec } from '../../../src/formats/cohere/codec.js';
import { GatewayError } from '../../../src/errors/gateway-error.js';
import type { ChatRequest } from '../../../src/formats/openai/types.js';
import { context, textResponse, toolCallResponse } from './fixtures.js';

const OPTIONS = { model: 'command-a-03-2025', stream: false };

function encode(request: Partial<ChatRequest>, options = OPTIONS) {
  return cohereChatCodec.encodeRequest({ model: 'cohere/command-a-03-2025', messages: [], ...request } as ChatRequest, options);
}

describe('cohereChatCodec.encodeRequest', () => {
  it('maps messages of every role and the sampling parameters', () => {
    const { body, warnings } = encode({
      messages: [
        { role: 'system', content: 'You are a sales analyst.' },
        { role: 'user', content: [{ type: 'text', text: 'Sales on 29 Sept?' }, { type: 'image_url', image_url: { url: 'https://example.com/chart.png' } }] },
        {
          role: 'assistant', content: null, reasoning_content: 'I will query the report.',
          tool_calls: [{ id: 'q_1', type: 'function', function: { name: 'query_daily_sales_report', arguments: '{"day":"2023-09-29"}' } }],
        },
        { role: 'tool', tool_call_id: 'q_1', content: '{"total_sales_amount":10000}' },
      ],
      max_tokens: 300, temperature: 0.3, top_p: 0.75, top_k: 40, stop: ['\n\n'], seed: 42, frequency_penalty: 0.1, presence_penalty: 0.2,
    }, { model: 'command-a-03-2025', stream: true });
    expect(body).toEqual({
      model: 'command-a-03-2025',
      stream: true,
      messages: [
        { role: 'system', content: 'You are a sales analyst.' },
        { role: 'user', content: [{ type: 'text', text: 'Sales on 29 Sept?' }, { type: 'image_url', image_url: { url: 'https://example.com/chart.png' } }] },
        {
          role: 'assistant', tool_plan: 'I will query the report.',
          tool_calls: [{ id: 'q_1', type: 'function', function: { name: 'query_daily_sales_report', arguments: '{"day":"2023-09-29"}' } }],
        },
        { role: 'tool', tool_call_id: 'q_1', content: '{"total_sales_amount":10000}' },
      ],
      max_tokens: 300, temperature: 0.3, p: 0.75, k: 40, seed: 42, frequency_penalty: 0.1, presence_penalty: 0.2, stop_sequences: ['\n\n'],
    });
    expect(warnings).toEqual([]);
  });

  it('maps tools and tool_choice; a named function becomes that tool alone with REQUIRED', () => {
    const tools = [
      { type: 'function' as const, function: { name: 'a', description: 'A', parameters: { type: 'object', properties: { x: { type: 'string' } } } } },
      { type: 'function' as const, function: { name: 'b' } },
    ];
    const messages = [{ role: 'user' as const, content: 'x' }];
    const auto = encode({ messages, tools, tool_choice: 'auto' }).body as any;
    expect(auto.tools).toEqual([
      { type: 'function', function: { name: 'a', description: 'A', parameters: { type: 'object', properties: { x: { type: 'string' } } } } },
      { type: 'function', function: { name: 'b', parameters: { type: 'object', properties: {} } } },
    ]);
    expect(auto.tool_choice).toBeUndefined();
    expect((encode({ messages, tools, tool_choice: 'required' }).body as any).tool_choice).toBe('REQUIRED');
    expect((encode({ messages, tools, tool_choice: 'none' }).body as any).tool_choice).toBe('NONE');
    const named = encode({ messages, tools, tool_choice: { type: 'function', function: { name: 'b' } } }).body as any;
    expect(named.tools.map((t: any) => t.function.name)).toEqual(['b']);
    expect(named.tool_choice).toBe('REQUIRED');
    expect(() => encode({ messages, tools, tool_choice: { type: 'function', function: { name: 'zzz' } } })).toThrow(
      expect.objectContaining({ param: 'tool_choice.function.name' }),
    );
  });

  it('maps JSON mode, JSON schema and thinking', () => {
    const messages = [{ role: 'user' as const, content: 'x' }];
    expect((encode({ messages, response_format: { type: 'json_object' } }).body as any).response_format).toEqual({ type: 'json_object' });
    const schema = { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] };
    expect((encode({ messages, response_format: { type: 'json_schema', json_schema: { name: 'book', schema } } }).body as any).response_format)
      .toEqual({ type: 'json_object', json_schema: schema });
    expect((encode({ messages, thinking: { type: 'enabled', budget_tokens: 2000 } }).body as any).thinking).toEqual({ type: 'enabled', token_budget: 2000 });
  });

  it('drops what Cohere cannot take, each with a warning', () => {
    const { body, warnings } = encode({
      messages: [{ role: 'user', content: 'x' }], n: 3, logprobs: true, logit_bias: { '5': 1 }, user: 'u', parallel_tool_calls: false, reasoning_effort: 'low',
    });
    expect(warnings.map((w) => w.param).sort()).toEqual(['logit_bias', 'logprobs', 'n', 'parallel_tool_calls', 'reasoning_effort', 'user']);
    expect(Object.keys(body as object)).toEqual(['model', 'messages']);
  });

  it('does not warn for default values, warns for unknown extras, passes Cohere-native fields through', () => {
    const { body, warnings } = encode({
      messages: [{ role: 'user', content: 'x' }], n: 1, logprobs: false, logit_bias: {}, stream_options: { include_usage: true },
      safety_mode: 'STRICT', documents: [{ data: { text: 'd' } }],
    });
    expect(warnings).toEqual([{ param: 'documents', message: "Cohere does not take 'documents'; it was dropped." }]);
    expect(body).toEqual({ model: 'command-a-03-2025', messages: [{ role: 'user', content: 'x' }], safety_mode: 'STRICT' });
  });

  it('refuses content Cohere cannot take, naming the field', () => {
    expect(() => encode({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }] }] }))
      .toThrow(expect.objectContaining({ param: 'messages[0].content[0]', status: 400 }));
    expect(() => encode({ messages: [{ role: 'tool', content: 'x' }] })).toThrow(expect.objectContaining({ param: 'messages[0].tool_call_id' }));
  });
});

describe('cohereChatCodec.decodeResponse', () => {
  it('decodes a text answer, using billed units for usage', () => {
    expect(cohereChatCodec.decodeResponse(textResponse, context)).toEqual({
      id: 'c14c80c3-18eb-4519-9460-6c92edd8cfb4',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'cohere/command-a-03-2025',
      choices: [{ index: 0, message: { role: 'assistant', content: 'LLMs stand for Large Language Models.' }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 17, completion_tokens: 12, total_tokens: 29 },
    });
  });

  it('decodes tool calls with the tool plan as reasoning', () => {
    const completion = cohereChatCodec.decodeResponse(toolCallResponse, context);
    expect(completion.choices[0].message).toEqual({
      role: 'assistant',
      content: null,
      reasoning_content: 'I will search the sales database for 29 September 2023.',
      tool_calls: [{ id: 'query_daily_sales_report_1', type: 'function', function: { name: 'query_daily_sales_report', arguments: '{"day":"2023-09-29"}' } }],
    });
    expect(completion.choices[0].finish_reason).toBe('tool_calls');
  });

  it('maps the finish reasons, falls back to tokens, and raises ERROR', () => {
    const finish = (finish_reason: string) => cohereChatCodec.decodeResponse({ ...textResponse, finish_reason }, context).choices[0].finish_reason;
    expect(['COMPLETE', 'STOP_SEQUENCE', 'MAX_TOKENS', 'TOOL_CALL'].map(finish)).toEqual(['stop', 'stop', 'length', 'tool_calls']);
    expect(cohereChatCodec.decodeResponse({ ...textResponse, usage: { tokens: { input_tokens: 5, output_tokens: 6 } } }, context).usage)
      .toEqual({ prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 });
    expect(() => cohereChatCodec.decodeResponse({ ...textResponse, finish_reason: 'ERROR' }, context)).toThrow(GatewayError);
  });

  it('decodes thinking content into reasoning_content', () => {
    const completion = cohereChatCodec.decodeResponse({
      ...textResponse,
      message: { role: 'assistant', content: [{ type: 'thinking', thinking: 'Compute 2+2.' }, { type: 'text', text: '4' }] },
    }, context);
    expect(completion.choices[0].message).toEqual({ role: 'assistant', content: '4', reasoning_content: 'Compute 2+2.' });
  });
});

describe('cohereChatCodec.decodeError', () => {
  it('reads the message and types it by status', () => {
    expect(cohereChatCodec.decodeError(429, { message: 'You are using a Trial key, which is limited to 10 API calls / minute.' })).toEqual({
      message: 'You are using a Trial key, which is limited to 10 API calls / minute.', type: 'too_many_requests', code: 'too_many_requests',
    });
    expect(cohereChatCodec.decodeError(401, { id: 'x', message: 'invalid api token' }).type).toBe('unauthorized');
    expect(cohereChatCodec.decodeError(502, null)).toEqual({ message: 'Cohere returned HTTP 502.', type: 'internal_server_error', code: 'internal_server_error' });
  });
});
