/**
 * Responses request -> canonical chat request: fixtures shaped like the requests the OpenAI SDK
 * and Codex send (instructions, input items of every kind, custom and namespaced tools, reasoning).
 */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors/gateway-error.js';
import { decodeResponsesRequest, type ReasoningSeal, type ReasoningState } from '../../../src/formats/responses/index.js';

const MODEL = 'anthropic/claude-sonnet-4-5';

/** A reversible, visible seal for fixtures (the real one encrypts: src/api/reasoning-seal.ts). */
const seal: ReasoningSeal = {
  seal: (state) => `test:${JSON.stringify(state)}`,
  open: (text) => (text.startsWith('test:') ? (JSON.parse(text.slice(5)) as ReasoningState) : undefined),
};

function decode(body: Record<string, unknown>) {
  return decodeResponsesRequest(body, { model: MODEL, seal });
}

function refusal(body: Record<string, unknown>): GatewayError {
  try {
    decode(body);
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

describe('decodeResponsesRequest', () => {
  it('instructions and a string input: a system and a user message', () => {
    const { request, warnings } = decode({ model: 'x', instructions: 'be brief', input: 'hello' });
    expect(request).toEqual({ model: MODEL, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello' }] });
    expect(warnings).toEqual([]);
  });

  it('message items with every content type', () => {
    const { request, warnings } = decode({
      input: [
        { role: 'developer', content: 'rules' },
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_text', text: 'look' },
            { type: 'input_image', image_url: 'data:image/png;base64,iVBO', detail: 'high' },
            { type: 'input_file', file_data: 'data:application/pdf;base64,JVBE', filename: 'a.pdf' },
            { type: 'input_audio', input_audio: { data: 'UklG', format: 'wav' } },
            { type: 'input_image', file_id: 'file-1', detail: 'auto' },
          ],
        },
      ],
    });
    expect(request.messages).toEqual([
      { role: 'developer', content: 'rules' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBO', detail: 'high' } },
          { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBE', filename: 'a.pdf' } },
          { type: 'input_audio', input_audio: { data: 'UklG', format: 'wav' } },
        ],
      },
    ]);
    expect(warnings).toEqual([{ param: 'input[1].content[4]', message: expect.stringContaining('file_id') }]);
  });

  it('a run of assistant items is one assistant message; outputs are tool messages', () => {
    const { request } = decode({
      input: [
        { role: 'user', content: 'weather?' },
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'thinking' }], encrypted_content: seal.seal({ reasoning_content: 'deep thought', reasoning_signature: 'sig-1' }) },
        { type: 'message', role: 'assistant', id: 'msg_1', status: 'completed', content: [{ type: 'output_text', text: 'Let me check.', annotations: [] }] },
        { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'lookup', arguments: '{"city":"Oslo"}' },
        { type: 'custom_tool_call', id: 'ctc_1', call_id: 'call_2', name: 'apply_patch', input: '*** Begin Patch' },
        { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
        { type: 'custom_tool_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: 'done' }, { type: 'input_text', text: '!' }] },
      ],
    });
    expect(request.messages).toEqual([
      { role: 'user', content: 'weather?' },
      {
        role: 'assistant',
        content: 'Let me check.',
        reasoning_content: 'deep thought',
        reasoning_signature: 'sig-1',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"city":"Oslo"}' } },
          { id: 'call_2', type: 'function', function: { name: 'apply_patch', arguments: '{"input":"*** Begin Patch"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'call_2', content: 'done!' },
    ]);
  });

  it('reasoning without this gateway\'s seal: summary kept as text, foreign encrypted content dropped with a warning', () => {
    const { request, warnings } = decode({
      input: [
        { role: 'user', content: 'q' },
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'plan' }], encrypted_content: 'gAAAAB-openai-owned' },
        { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
      ],
    });
    expect(request.messages[1]).toMatchObject({ role: 'assistant', reasoning_content: 'plan' });
    expect(request.messages[1].reasoning_signature).toBeUndefined();
    expect(warnings).toEqual([{ param: 'input[1].encrypted_content', message: expect.stringContaining('not sealed by this gateway') }]);
  });

  it('Anthropic redacted thinking comes back from the seal', () => {
    const { request } = decode({
      input: [
        { role: 'user', content: 'q' },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: seal.seal({ redacted_thinking: ['EmwKAhgB'] }) },
        { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
      ],
    });
    expect(request.messages[1]).toMatchObject({ role: 'assistant', redacted_thinking: ['EmwKAhgB'] });
  });

  it('tools: function, custom with a grammar (warning), namespaced, built-in (warning)', () => {
    const { request, warnings, facts } = decode({
      input: 'go',
      tools: [
        { type: 'function', name: 'lookup', description: 'find', parameters: { type: 'object', properties: {} }, strict: true },
        { type: 'custom', name: 'apply_patch', description: 'patch files', format: { type: 'grammar', syntax: 'lark', definition: 'start: "x"' } },
        { type: 'custom', name: 'note' },
        { type: 'namespace', name: 'mcp_fs', description: 'files', tools: [{ type: 'function', name: 'read', parameters: { type: 'object' } }] },
        { type: 'web_search' },
      ],
      tool_choice: { type: 'function', name: 'read', namespace: 'mcp_fs' },
      parallel_tool_calls: false,
    });
    expect(request.tools?.map((tool) => tool.function.name)).toEqual(['lookup', 'apply_patch', 'note', 'mcp_fs__read']);
    expect(request.tools?.[0]).toEqual({ type: 'function', function: { name: 'lookup', description: 'find', parameters: { type: 'object', properties: {} }, strict: true } });
    expect(request.tools?.[1].function.parameters).toMatchObject({ type: 'object', properties: { input: { type: 'string' } }, required: ['input'] });
    expect(String((request.tools?.[1].function.parameters as { properties: { input: { description: string } } }).properties.input.description)).toContain('start: "x"');
    expect(request.tool_choice).toEqual({ type: 'function', function: { name: 'mcp_fs__read' } });
    expect(request.parallel_tool_calls).toBe(false);
    expect(warnings.map((w) => w.param)).toEqual(['tools[1].format', 'tools[4]']);
    expect(warnings[1].message).toContain("'web_search'");
    expect(facts.tools.get('apply_patch')).toEqual({ kind: 'custom', name: 'apply_patch' });
    expect(facts.tools.get('mcp_fs__read')).toEqual({ kind: 'function', name: 'read', namespace: 'mcp_fs' });
  });

  it('only built-in tools: no tools, tool_choice or parallel_tool_calls reach the provider', () => {
    const { request, warnings } = decode({ input: 'x', tools: [{ type: 'web_search' }], tool_choice: 'auto', parallel_tool_calls: true });
    expect(request.tools).toBeUndefined();
    expect(request.tool_choice).toBeUndefined();
    expect(request.parallel_tool_calls).toBeUndefined();
    expect(warnings.map((w) => w.param)).toEqual(['tools[0]']);
  });

  it('a namespaced function call in the input keeps its canonical name', () => {
    const { request } = decode({ input: [{ type: 'function_call', call_id: 'c', name: 'read', namespace: 'mcp_fs', arguments: '{}' }] });
    expect(request.messages[0].tool_calls?.[0].function.name).toBe('mcp_fs__read');
  });

  it('text.format, reasoning, max_output_tokens, sampling, include', () => {
    const { request, facts, warnings } = decode({
      input: 'json please',
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true }, verbosity: 'low' },
      reasoning: { effort: 'xhigh', summary: 'auto' },
      max_output_tokens: 500,
      temperature: 0.2,
      top_p: 0.9,
      top_logprobs: 2,
      include: ['reasoning.encrypted_content', 'file_search_call.results'],
      metadata: { ticket: '7' },
      user: 'u1',
    });
    expect(request).toMatchObject({
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } },
      verbosity: 'low',
      reasoning_effort: 'high',
      max_completion_tokens: 500,
      temperature: 0.2,
      top_p: 0.9,
      logprobs: true,
      top_logprobs: 2,
      user: 'u1',
    });
    expect(request.metadata).toBeUndefined();
    expect(facts).toMatchObject({ summaries: true, encryptedReasoning: true, echo: { metadata: { ticket: '7' }, max_output_tokens: 500 } });
    expect(warnings.map((w) => w.param)).toEqual(['reasoning.effort', 'include[1]']);
  });

  it('json_object format; summary not asked for', () => {
    const { request, facts } = decode({ input: 'x', text: { format: { type: 'json_object' } }, reasoning: { effort: 'medium' } });
    expect(request.response_format).toEqual({ type: 'json_object' });
    expect(request.reasoning_effort).toBe('medium');
    expect(facts.summaries).toBe(false);
  });

  it('what the bridge cannot do is warned, never silently dropped', () => {
    const { warnings } = decode({ input: 'x', store: true, truncation: 'auto', background: true, prompt: { id: 'pmpt_1' } });
    // store is the gateway's (api/stored-responses.ts), not a warning of the decoder.
    expect(warnings.map((w) => w.param)).toEqual(['truncation', 'background', 'prompt']);
    expect(decode({ input: 'x', store: false }).warnings).toEqual([]);
  });

  it('stored-response features: a clear 400 naming the field', () => {
    for (const param of ['previous_response_id', 'conversation']) {
      const error = refusal({ input: 'x', [param]: 'resp_1' });
      expect(error.code).toBe('HD_ERR_RESPONSES_NOT_STORED');
      expect(error.param).toBe(param);
      expect(error.message).toContain('send the whole conversation');
    }
  });

  it('bad input: 400 naming the field', () => {
    expect(refusal({}).param).toBe('input');
    expect(refusal({ input: 7 }).param).toBe('input');
    expect(refusal({ input: [{ role: 'robot', content: 'x' }] }).param).toBe('input[0].role');
    expect(refusal({ input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }).param).toBe('input[0].call_id');
    expect(refusal({ input: 'x', tools: [{ type: 'function' }] }).param).toBe('tools[0].name');
    expect(refusal({ input: 'x', text: { format: { type: 'json_schema', schema: {} } } }).param).toBe('text.format.name');
    expect(refusal({ input: 'x', reasoning: { effort: 'extreme' } }).param).toBe('reasoning.effort');
    expect(refusal({ input: [{ type: 'item_reference', id: 'msg_1' }] }).param).toBe('input[0]');
  });

  it('a reference to a reasoning item (the AI SDK sends these with store on) is dropped with a warning; other references are refused', () => {
    const { request, warnings } = decode({
      input: [
        { role: 'user', content: 'hi' },
        { type: 'item_reference', id: 'rs_abc_0' },
        { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'done' },
      ],
    });
    expect(request.messages).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'done' },
    ]);
    expect(warnings).toEqual([{ param: 'input[1]', message: expect.stringContaining("reference to reasoning item 'rs_abc_0' was dropped") }]);
    expect(refusal({ input: [{ role: 'user', content: 'hi' }, { type: 'item_reference', id: 'fc_abc_1' }] }).param).toBe('input[1]');
  });

  it('unknown item and content types are dropped with a warning', () => {
    const { request, warnings } = decode({ input: [{ type: 'web_search_call', id: 'ws_1', status: 'completed' }, { role: 'user', content: [{ type: 'input_video', url: 'x' }, { type: 'input_text', text: 'hi' }] }] });
    expect(request.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    expect(warnings.map((w) => w.param)).toEqual(['input[0]', 'input[1].content[0]']);
  });
});
