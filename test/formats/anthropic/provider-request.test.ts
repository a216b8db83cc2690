import { describe, expect, it } from 'vitest';
import { anthropicChatCodec, thinkingStyleForModel } from '../../../src/formats/anthropic/index.js';
import type { ChatRequest } from '../../../src/formats/openai/types.js';
import { GatewayError } from '../../../src/errors/gateway-error.js';

const opts = { model: 'claude-sonnet-4-5', stream: false };

function encode(request: Partial<ChatRequest>, options: Partial<typeof opts> & { defaultMaxTokens?: number; maxOutputTokens?: number } = {}) {
  const result = anthropicChatCodec.encodeRequest(
    { model: 'anthropic/claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hi' }], ...request } as ChatRequest,
    { ...opts, ...options },
  );
  return { body: result.body as Record<string, any>, warnings: result.warnings, params: result.warnings.map((w) => w.param) };
}

function thrown(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

describe('anthropicChatCodec.encodeRequest', () => {
  it('encodes a basic request with the default max_tokens and no warnings', () => {
    const { body, warnings } = encode({});
    expect(body).toEqual({ model: 'claude-sonnet-4-5', max_tokens: 4096, messages: [{ role: 'user', content: 'Hi' }] });
    expect(warnings).toEqual([]);
  });

  it('uses options.defaultMaxTokens, max_tokens and max_completion_tokens (which wins)', () => {
    expect(encode({}, { defaultMaxTokens: 1000 }).body.max_tokens).toBe(1000);
    expect(encode({ max_tokens: 300 }).body.max_tokens).toBe(300);
    expect(encode({ max_tokens: 300, max_completion_tokens: 200 }).body.max_tokens).toBe(200);
    expect(thrown(() => encode({ max_tokens: 0 })).param).toBe('max_tokens');
  });

  it('hoists system and developer messages into a top-level system prompt', () => {
    const { body } = encode({
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Hi' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
      ],
    });
    expect(body.system).toEqual([
      { type: 'text', text: 'You are terse.' },
      { type: 'text', text: 'Answer in French.' },
    ]);
    expect(body.messages).toEqual([{ role: 'user', content: 'Hi' }]);
    expect(encode({ messages: [{ role: 'system', content: 'One' }, { role: 'user', content: 'Hi' }] }).body.system).toBe('One');
  });

  it('keeps cache_control markers on system, content parts and tools', () => {
    const marker = { type: 'ephemeral' };
    const { body } = encode({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Long context', cache_control: marker }] },
        { role: 'user', content: [{ type: 'text', text: 'Question', cache_control: marker }] },
      ],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } }, cache_control: marker } as never],
    });
    expect(body.system).toEqual([{ type: 'text', text: 'Long context', cache_control: marker }]);
    expect(body.messages[0].content).toEqual([{ type: 'text', text: 'Question', cache_control: marker }]);
    expect(body.tools[0]).toEqual({ name: 'f', input_schema: { type: 'object' }, cache_control: marker });
  });

  it('merges consecutive same-role messages into one turn', () => {
    const { body } = encode({
      messages: [
        { role: 'user', content: 'First' },
        { role: 'user', content: 'Second' },
        { role: 'assistant', content: 'A' },
        { role: 'assistant', content: 'B' },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'First' }, { type: 'text', text: 'Second' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'A' }, { type: 'text', text: 'B' }] },
    ]);
  });

  it('maps images: data URLs to base64 sources, http URLs to url sources, PDFs to documents', () => {
    const { body, params } = encode({
      messages: [{
        role: 'user',
        content: [
          { type: 'text', text: 'What is in these?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://upload.wikimedia.org/ant.jpg', detail: 'high' } },
          { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'paper.pdf' } },
        ],
      }],
    });
    expect(body.messages[0].content).toEqual([
      { type: 'text', text: 'What is in these?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://upload.wikimedia.org/ant.jpg' } },
      { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'paper.pdf' },
    ]);
    expect(params).toEqual(['messages[0].content[2].image_url.detail']);
  });

  it('rejects image URLs it cannot send, naming the field', () => {
    expect(thrown(() => encode({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }] })).param)
      .toBe('messages[0].content[0].image_url.url');
    expect(thrown(() => encode({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png,raw' } }] }] })).param)
      .toBe('messages[0].content[0].image_url.url');
  });

  it('drops audio parts and OpenAI file ids with warnings', () => {
    const { body, params } = encode({
      messages: [{
        role: 'user',
        content: [
          { type: 'text', text: 'Listen' },
          { type: 'input_audio', input_audio: { data: 'AAA', format: 'wav' } },
          { type: 'file', file: { file_id: 'file-abc' } },
        ],
      }],
    });
    expect(body.messages[0].content).toBe('Listen');
    expect(params).toEqual(['messages[0].content[1]', 'messages[0].content[2].file']);
  });

  it('encodes tools, tool calls and grouped tool results', () => {
    const { body, warnings } = encode({
      messages: [
        { role: 'user', content: 'Weather in SF and time in LA?' },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA"}' } },
            { id: 'toolu_2', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: '15 degrees' },
        { role: 'tool', tool_call_id: 'toolu_2', content: [{ type: 'text', text: '10:00' }] },
        { role: 'user', content: 'Thanks' },
      ],
      tools: [{
        type: 'function',
        function: { name: 'get_weather', description: 'Get the weather', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } },
      }, { type: 'function', function: { name: 'get_time' } }],
      tool_choice: 'auto',
    });
    expect(warnings).toEqual([]);
    expect(body.tools).toEqual([
      { name: 'get_weather', description: 'Get the weather', input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } },
      { name: 'get_time', input_schema: { type: 'object', properties: {} } },
    ]);
    expect(body.tool_choice).toEqual({ type: 'auto' });
    expect(body.messages).toEqual([
      { role: 'user', content: 'Weather in SF and time in LA?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'San Francisco, CA' } },
          { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '15 degrees' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: '10:00' }] },
          { type: 'text', text: 'Thanks' },
        ],
      },
    ]);
  });

  it('names the bad tool call arguments field', () => {
    const error = thrown(() => encode({
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{"a":' } }] },
      ],
    }));
    expect(error.param).toBe('messages[1].tool_calls[0].function.arguments');
    expect(error.code).toBe('HD_ERR_REQUEST_INVALID_FIELD');
    expect(error.status).toBe(400);
  });

  it('maps every tool_choice form and parallel_tool_calls:false', () => {
    const tools = [{ type: 'function' as const, function: { name: 'f' } }];
    expect(encode({ tools, tool_choice: 'required' }).body.tool_choice).toEqual({ type: 'any' });
    expect(encode({ tools, tool_choice: 'none' }).body.tool_choice).toEqual({ type: 'none' });
    expect(encode({ tools, tool_choice: { type: 'function', function: { name: 'f' } } }).body.tool_choice).toEqual({ type: 'tool', name: 'f' });
    expect(encode({ tools, parallel_tool_calls: false }).body.tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(encode({ tools, tool_choice: 'required', parallel_tool_calls: false }).body.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    expect(encode({ tools, parallel_tool_calls: true }).body.tool_choice).toBeUndefined();
  });

  it('maps stop, sampling, user and stream', () => {
    const { body, warnings } = encode({ stop: 'END', temperature: 0.2, top_p: 0.9, top_k: 40, user: 'user-42' }, { stream: true });
    expect(body.stop_sequences).toEqual(['END']);
    expect(body.temperature).toBe(0.2);
    expect(body.top_p).toBe(0.9);
    expect(body.top_k).toBe(40);
    expect(body.metadata).toEqual({ user_id: 'user-42' });
    expect(body.stream).toBe(true);
    expect(warnings).toEqual([]);
    expect(encode({ stop: ['a', 'b'] }).body.stop_sequences).toEqual(['a', 'b']);
  });

  it('lowers a temperature above 1 with a warning', () => {
    const { body, params } = encode({ temperature: 1.5 });
    expect(body.temperature).toBe(1);
    expect(params).toEqual(['temperature']);
  });

  it('drops OpenAI-only parameters with one warning each, and ignores their defaults', () => {
    const { body, params } = encode({
      n: 2, logprobs: true, top_logprobs: 3, seed: 7, presence_penalty: 0.5, frequency_penalty: 0.1, logit_bias: { '50256': -100 },
      response_format: { type: 'json_object' },
    });
    expect(params.sort()).toEqual(['frequency_penalty', 'logit_bias', 'logprobs', 'n', 'presence_penalty', 'response_format', 'seed', 'top_logprobs']);
    for (const key of ['n', 'logprobs', 'seed', 'presence_penalty', 'logit_bias', 'response_format']) expect(body).not.toHaveProperty(key);
    expect(encode({ n: 1, logprobs: false, presence_penalty: 0, frequency_penalty: 0, seed: null, response_format: { type: 'text' } }).warnings).toEqual([]);
  });

  it('drops unknown fields with a warning but passes Anthropic-native ones', () => {
    const { body, params } = encode({
      store: true, prediction: { type: 'content', content: 'x' }, service_tier: 'auto', container: 'container_1',
      output_config: { format: { type: 'json_schema', schema: { type: 'object' } } },
      metadata: { user_id: 'u1', session: 's' },
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
    });
    expect(body.service_tier).toBe('auto');
    expect(body.container).toBe('container_1');
    expect(body.output_config).toEqual({ format: { type: 'json_schema', schema: { type: 'object' } } });
    expect(body.metadata).toEqual({ user_id: 'u1' });
    expect(body).not.toHaveProperty('store');
    expect(body).not.toHaveProperty('prediction');
    // response_format is covered by the native output_config.format: no warning for it.
    expect(params.sort()).toEqual(['metadata.session', 'prediction', 'store']);
    expect(encode({ service_tier: 'flex' }).params).toEqual(['service_tier']);
  });

  it('sends assistant reasoning with a signature back as a thinking block first', () => {
    const { body, params } = encode({
      messages: [
        { role: 'user', content: 'Q' },
        { role: 'assistant', content: 'A', reasoning_content: 'Thinking...', reasoning_signature: 'sig-1', redacted_thinking: ['opaque'] },
        { role: 'user', content: 'Q2' },
        { role: 'assistant', content: 'B', reasoning_content: 'from another provider' },
      ],
    });
    expect(body.messages[1].content).toEqual([
      { type: 'thinking', thinking: 'Thinking...', signature: 'sig-1' },
      { type: 'redacted_thinking', data: 'opaque' },
      { type: 'text', text: 'A' },
    ]);
    expect(body.messages[3].content).toBe('B');
    expect(params).toEqual(['messages[3].reasoning_content']);
  });

  it('passes an explicit thinking setting through and drops sampling Anthropic refuses while thinking', () => {
    const { body, params } = encode({ thinking: { type: 'enabled', budget_tokens: 2000 }, max_tokens: 8000, temperature: 0.5, top_k: 5, top_p: 0.5 });
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 2000 });
    expect(body.max_tokens).toBe(8000);
    expect(body).not.toHaveProperty('temperature');
    expect(body).not.toHaveProperty('top_k');
    expect(body).not.toHaveProperty('top_p');
    expect(params).toEqual(['temperature', 'top_k', 'top_p']);
  });

  it('maps reasoning_effort to a thinking budget on budget-style models', () => {
    const low = encode({ reasoning_effort: 'low' });
    expect(low.body.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    expect(low.body.max_tokens).toBe(2048 + 4096);
    const high = encode({ reasoning_effort: 'high', max_tokens: 64000 });
    expect(high.body.thinking).toEqual({ type: 'enabled', budget_tokens: 16384 });
    expect(high.body.max_tokens).toBe(64000);
    const shrunk = encode({ reasoning_effort: 'medium', max_tokens: 4000 });
    expect(shrunk.body.thinking).toEqual({ type: 'enabled', budget_tokens: 2000 });
    expect(shrunk.params).toEqual(['reasoning_effort']);
    const tooSmall = encode({ reasoning_effort: 'medium', max_tokens: 1500 });
    expect(tooSmall.body).not.toHaveProperty('thinking');
    expect(tooSmall.params).toEqual(['reasoning_effort']);
    expect(encode({ reasoning_effort: 'none' as never }).body).not.toHaveProperty('thinking');
  });

  it("keeps the derived max_tokens within the model's largest output (EncodeOptions.maxOutputTokens)", () => {
    // max: a 65,536 budget plus the answer's room is above Sonnet 4.5's 64,000.
    const capped = encode({ reasoning_effort: 'max' }, { maxOutputTokens: 64_000 });
    expect(capped.body.max_tokens).toBe(64_000);
    expect(capped.body.thinking).toEqual({ type: 'enabled', budget_tokens: 32_000 });
    expect(capped.warnings).toEqual([{ param: 'reasoning_effort', message: "The thinking budget for 'max' (65536) must be below max_tokens (64000); it was lowered to 32000." }]);
    // Room enough: unchanged.
    const roomy = encode({ reasoning_effort: 'low' }, { maxOutputTokens: 64_000 });
    expect(roomy.body).toMatchObject({ max_tokens: 2048 + 4096, thinking: { type: 'enabled', budget_tokens: 2048 } });
    expect(roomy.warnings).toEqual([]);
  });

  it('maps reasoning_effort to adaptive thinking with effort on adaptive models', () => {
    const { body, warnings } = encode({ reasoning_effort: 'medium' }, { model: 'claude-opus-4-7' });
    expect(body.thinking).toEqual({ type: 'adaptive' });
    expect(body.output_config).toEqual({ effort: 'medium' });
    expect(body.max_tokens).toBe(4096);
    expect(warnings).toEqual([]);
    expect(thinkingStyleForModel('claude-sonnet-4-6')).toBe('adaptive');
    expect(thinkingStyleForModel('claude-fable-5')).toBe('adaptive');
    expect(thinkingStyleForModel('claude-haiku-4-5-20251001')).toBe('budget');
    expect(thinkingStyleForModel('claude-sonnet-4-20250514')).toBe('budget');
    expect(thinkingStyleForModel('claude-3-7-sonnet-latest')).toBe('budget');
  });

  it('does not think while a tool is forced by the caller', () => {
    const { body, params } = encode({ reasoning_effort: 'high', tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'required' });
    expect(body).not.toHaveProperty('thinking');
    expect(body.tool_choice).toEqual({ type: 'any' });
    expect(params).toEqual(['reasoning_effort']);
  });

  it('rejects the legacy function role and tool messages without ids', () => {
    expect(thrown(() => encode({ messages: [{ role: 'function', content: 'x', name: 'f' }] })).param).toBe('messages[0].role');
    expect(thrown(() => encode({ messages: [{ role: 'tool', content: 'x' }] })).param).toBe('messages[0].tool_call_id');
    expect(thrown(() => encode({ messages: [] })).param).toBe('messages');
    expect(thrown(() => encode({ messages: [{ role: 'system', content: 'only a system prompt' }] })).param).toBe('messages');
    expect(thrown(() => encode({ thinking: 'yes' as never })).param).toBe('thinking');
  });

  it('drops empty messages and participant names with warnings', () => {
    const { body, params } = encode({ messages: [{ role: 'user', content: 'Hi', name: 'bob' }, { role: 'assistant', content: '' }] });
    expect(body.messages).toEqual([{ role: 'user', content: 'Hi' }]);
    expect(params).toEqual(['messages[0].name', 'messages[1].content']);
  });
});
