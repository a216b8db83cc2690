/**
 * Canonical completion / chunks -> Responses `response` object and event stream, checked against
 * the shapes OpenAI documents (and the SDK types in node_modules/openai).
 */
import { describe, expect, it } from 'vitest';
import { SseParser } from '../../../src/gateway/sse.js';
import type { ChatCompletion, ChatCompletionChunk, ChunkDelta, FinishReason, Usage } from '../../../src/formats/openai/types.js';
import {
  encodeResponsesResponse, ResponsesStreamEncoder, responseIdFor, type ReasoningSeal, type ReasoningState, type ResponsesEncodeContext, type ResponsesRequestFacts,
} from '../../../src/formats/responses/index.js';

const seal: ReasoningSeal = {
  seal: (state) => `test:${JSON.stringify(state)}`,
  open: (text) => (text.startsWith('test:') ? (JSON.parse(text.slice(5)) as ReasoningState) : undefined),
};

function facts(extra: Partial<ResponsesRequestFacts> = {}): ResponsesRequestFacts {
  return { tools: new Map(), summaries: false, encryptedReasoning: false, echo: {}, ...extra };
}

function context(extra: Partial<ResponsesRequestFacts> = {}): ResponsesEncodeContext {
  return { id: responseIdFor('req-1'), created: 1_700_000_000, model: 'anthropic/claude-sonnet-4-5', facts: facts(extra), seal };
}

const USAGE: Usage = {
  prompt_tokens: 10, completion_tokens: 20, total_tokens: 30,
  prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 12 },
};

function completion(message: ChatCompletion['choices'][0]['message'], finish: FinishReason = 'stop'): ChatCompletion {
  return { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message, finish_reason: finish }], usage: USAGE };
}

describe('encodeResponsesResponse', () => {
  it('reasoning, text and a call -> reasoning, message and function_call items; usage in Responses form', () => {
    const response = encodeResponsesResponse(completion({
      role: 'assistant',
      content: 'Checking.',
      reasoning_content: 'think',
      reasoning_signature: 'sig',
      tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'lookup', arguments: '{"city":"Oslo"}' } }],
    }, 'tool_calls'), context({ summaries: true, encryptedReasoning: true, echo: { instructions: 'be brief', metadata: { a: '1' } } }));
    expect(response).toMatchObject({
      id: 'resp_req-1',
      object: 'response',
      created_at: 1_700_000_000,
      status: 'completed',
      incomplete_details: null,
      error: null,
      model: 'anthropic/claude-sonnet-4-5',
      instructions: 'be brief',
      metadata: { a: '1' },
      store: false,
      usage: {
        input_tokens: 10, input_tokens_details: { cached_tokens: 4, cache_write_tokens: 0 },
        output_tokens: 20, output_tokens_details: { reasoning_tokens: 12 }, total_tokens: 30,
      },
    });
    expect(response.output).toEqual([
      { id: 'rs_req-1_0', type: 'reasoning', summary: [{ type: 'summary_text', text: 'think' }], encrypted_content: 'test:{"reasoning_content":"think","reasoning_signature":"sig"}' },
      { id: 'msg_req-1_1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.', annotations: [], logprobs: [] }] },
      { id: 'fc_req-1_2', type: 'function_call', status: 'completed', call_id: 'toolu_1', name: 'lookup', arguments: '{"city":"Oslo"}' },
    ]);
  });

  it('no summary and no encrypted content unless asked for', () => {
    const response = encodeResponsesResponse(completion({ role: 'assistant', content: 'x', reasoning_content: 'think', reasoning_signature: 'sig' }), context());
    expect((response.output as unknown[])[0]).toEqual({ id: 'rs_req-1_0', type: 'reasoning', summary: [] });
  });

  it('custom and namespaced tools come back as the caller declared them', () => {
    const tools = new Map([
      ['apply_patch', { kind: 'custom' as const, name: 'apply_patch' }],
      ['mcp_fs__read', { kind: 'function' as const, name: 'read', namespace: 'mcp_fs' }],
    ]);
    const response = encodeResponsesResponse(completion({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'c1', type: 'function', function: { name: 'apply_patch', arguments: '{"input":"*** Begin Patch\\n"}' } },
        { id: 'c2', type: 'function', function: { name: 'mcp_fs__read', arguments: '{"path":"a"}' } },
      ],
    }, 'tool_calls'), context({ tools }));
    expect(response.output).toEqual([
      { id: 'ctc_req-1_0', type: 'custom_tool_call', status: 'completed', call_id: 'c1', name: 'apply_patch', input: '*** Begin Patch\n' },
      { id: 'fc_req-1_1', type: 'function_call', status: 'completed', call_id: 'c2', name: 'read', arguments: '{"path":"a"}', namespace: 'mcp_fs' },
    ]);
  });

  it('cut at the output limit: incomplete, reason max_output_tokens; a refusal part', () => {
    const cut = encodeResponsesResponse(completion({ role: 'assistant', content: 'one two' }, 'length'), context());
    expect(cut).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect((cut.output as Array<{ status: string }>)[0].status).toBe('incomplete');
    const refused = encodeResponsesResponse(completion({ role: 'assistant', content: null, refusal: 'no' }, 'content_filter'), context());
    expect(refused).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'content_filter' }, output: [{ type: 'message', content: [{ type: 'refusal', refusal: 'no' }] }] });
  });
});

function chunk(delta: ChunkDelta, finish: FinishReason | null = null, usage?: Usage): ChatCompletionChunk {
  return { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], usage };
}

function events(text: string): Array<Record<string, unknown>> {
  const parser = new SseParser();
  return [...parser.push(text), ...parser.end()].map((event) => {
    const data = JSON.parse(event.data) as Record<string, unknown>;
    expect(event.event).toBe(data.type);
    return data;
  });
}

describe('ResponsesStreamEncoder', () => {
  it('reasoning summary, text, a call: the full event sequence with sequence numbers and indexes', () => {
    const encoder = new ResponsesStreamEncoder(context({ summaries: true, encryptedReasoning: true }));
    let text = '';
    text += encoder.onChunk(chunk({ role: 'assistant', reasoning_content: 'hm' }));
    text += encoder.onChunk(chunk({ reasoning_content: 'm', reasoning_signature: 'sig' }));
    text += encoder.onChunk(chunk({ content: 'Hi' }));
    text += encoder.onChunk(chunk({ content: ' there' }));
    text += encoder.onChunk(chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '' } }] }));
    text += encoder.onChunk(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }));
    text += encoder.onChunk(chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }));
    text += encoder.onChunk(chunk({}, 'tool_calls'));
    text += encoder.onChunk({ ...chunk({}), choices: [], usage: USAGE });
    text += encoder.onEnd();
    const list = events(text);
    expect(list.map((event) => event.sequence_number)).toEqual(list.map((_, i) => i));
    expect(list.map((event) => [event.type, event.output_index ?? null, event.content_index ?? event.summary_index ?? null])).toEqual([
      ['response.created', null, null],
      ['response.in_progress', null, null],
      ['response.output_item.added', 0, null],
      ['response.reasoning_summary_part.added', 0, 0],
      ['response.reasoning_summary_text.delta', 0, 0],
      ['response.reasoning_summary_text.delta', 0, 0],
      ['response.reasoning_summary_text.done', 0, 0],
      ['response.reasoning_summary_part.done', 0, 0],
      ['response.output_item.done', 0, null],
      ['response.output_item.added', 1, null],
      ['response.content_part.added', 1, 0],
      ['response.output_text.delta', 1, 0],
      ['response.output_text.delta', 1, 0],
      ['response.output_text.done', 1, 0],
      ['response.content_part.done', 1, 0],
      ['response.output_item.done', 1, null],
      ['response.output_item.added', 2, null],
      ['response.function_call_arguments.delta', 2, null],
      ['response.function_call_arguments.delta', 2, null],
      ['response.function_call_arguments.done', 2, null],
      ['response.output_item.done', 2, null],
      ['response.completed', null, null],
    ]);
    expect(list[8].item).toEqual({ id: 'rs_req-1_0', type: 'reasoning', summary: [{ type: 'summary_text', text: 'hmm' }], encrypted_content: 'test:{"reasoning_content":"hmm","reasoning_signature":"sig"}' });
    expect(list[13]).toMatchObject({ item_id: 'msg_req-1_1', text: 'Hi there' });
    expect(list[19]).toMatchObject({ item_id: 'fc_req-1_2', name: 'lookup', arguments: '{"a":1}' });
    const done = list.at(-1)!.response as Record<string, unknown>;
    expect(done).toMatchObject({ id: 'resp_req-1', status: 'completed', usage: { input_tokens: 10, output_tokens: 20, output_tokens_details: { reasoning_tokens: 12 } } });
    expect((done.output as unknown[]).length).toBe(3);
    expect(list[0].response).toMatchObject({ status: 'in_progress', output: [], usage: null });
  });

  it('a signature after its reasoning closed (Gemini signs the call) goes out as one more reasoning item', () => {
    const encoder = new ResponsesStreamEncoder(context({ encryptedReasoning: true }));
    let text = encoder.onChunk(chunk({ tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }], reasoning_signature: 'gsig' }, 'tool_calls'));
    text += encoder.onEnd();
    const list = events(text);
    const done = list.at(-1)!.response as { output: Array<Record<string, unknown>> };
    expect(done.output.map((item) => item.type)).toEqual(['function_call', 'reasoning']);
    expect(done.output[1].encrypted_content).toBe('test:{"reasoning_signature":"gsig"}');
  });

  it('a custom tool call streams its free text whole when the call is done', () => {
    const encoder = new ResponsesStreamEncoder(context({ tools: new Map([['apply_patch', { kind: 'custom', name: 'apply_patch' }]]) }));
    const text = encoder.onChunk(chunk({ tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'apply_patch', arguments: '{"input":"diff"}' } }] }, 'tool_calls')) + encoder.onEnd();
    const list = events(text);
    expect(list.filter((event) => String(event.type).startsWith('response.custom_tool_call_input'))).toMatchObject([
      { type: 'response.custom_tool_call_input.delta', delta: 'diff' },
      { type: 'response.custom_tool_call_input.done', input: 'diff' },
    ]);
    expect((list.at(-1)!.response as { output: unknown[] }).output).toEqual([{ id: 'ctc_req-1_0', type: 'custom_tool_call', status: 'completed', call_id: 'c1', name: 'apply_patch', input: 'diff' }]);
  });

  it('cut at the limit: response.incomplete', () => {
    const encoder = new ResponsesStreamEncoder(context());
    const list = events(encoder.onChunk(chunk({ content: 'a b' }, 'length', USAGE)) + encoder.onEnd());
    expect(list.at(-1)).toMatchObject({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });
  });

  it('a failure mid-stream: response.failed then error, and nothing after', () => {
    const encoder = new ResponsesStreamEncoder(context());
    const text = encoder.onChunk(chunk({ content: 'partial' })) + encoder.onError({ status: 429, message: 'slow down' });
    expect(encoder.onEnd()).toBe('');
    const list = events(text);
    expect(list.slice(-2)).toMatchObject([
      { type: 'response.failed', response: { status: 'failed', error: { code: 'rate_limit_exceeded', message: 'slow down' } } },
      { type: 'error', code: 'rate_limit_exceeded', message: 'slow down', param: null },
    ]);
  });

  it('a text delta is written as the generic event would be: the same JSON, keys in the same order, any text', () => {
    const encoder = new ResponsesStreamEncoder(context());
    const texts = ['plain', 'quote " and \\ backslash', 'new\nline\r\ttab', 'ünïcödé 编码 🙂', 'lone \ud800 surrogate', '</script>\u2028'];
    const out = texts.map((text) => encoder.onChunk(chunk({ content: text }))).join('');
    const parser = new SseParser();
    const deltas = parser.push(out).filter((event) => event.event === 'response.output_text.delta');
    expect(deltas).toHaveLength(texts.length);
    deltas.forEach((event, n) => {
      const parsed = JSON.parse(event.data) as Record<string, unknown>;
      const generic = { type: 'response.output_text.delta', sequence_number: parsed.sequence_number, item_id: `msg_${responseIdFor('req-1').slice(5)}_0`, output_index: 0, content_index: 0, delta: texts[n], logprobs: [] };
      expect(event.data).toBe(JSON.stringify(generic));
    });
  });

  it('an empty stream still completes', () => {
    const list = events(new ResponsesStreamEncoder(context()).onEnd());
    expect(list.map((event) => event.type)).toEqual(['response.created', 'response.in_progress', 'response.completed']);
  });
});

describe('canonicalUsage', () => {
  it('Responses usage -> chat usage with the same inclusions; chat usage as it is', async () => {
    const { canonicalUsage } = await import('../../../src/formats/responses/index.js');
    expect(canonicalUsage({ input_tokens: 10, input_tokens_details: { cached_tokens: 4 }, output_tokens: 20, output_tokens_details: { reasoning_tokens: 12 }, total_tokens: 30 })).toEqual({
      prompt_tokens: 10, completion_tokens: 20, total_tokens: 30, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 12 },
    });
    expect(canonicalUsage(USAGE)).toBe(USAGE);
    expect(canonicalUsage(null)).toBeUndefined();
  });
});
