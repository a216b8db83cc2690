import { describe, expect, it } from 'vitest';
import { anthropicSurfaceCodec } from '../../../src/formats/anthropic/index.js';
import { GatewayError } from '../../../src/errors/gateway-error.js';

const decode = (body: unknown) => anthropicSurfaceCodec.decodeRequest(body, { model: 'openai/gpt-4o' });

function paramOf(body: unknown): string | null {
  try {
    decode(body);
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(400);
    return (error as GatewayError).param;
  }
  throw new Error('expected a GatewayError');
}

const base = { model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'Hello, Claude' }] };

describe('anthropicSurfaceCodec.decodeRequest', () => {
  it('decodes the documented basic request', () => {
    const { request, warnings } = decode(base);
    expect(request).toEqual({ model: 'openai/gpt-4o', max_tokens: 1024, messages: [{ role: 'user', content: 'Hello, Claude' }] });
    expect(warnings).toEqual([]);
  });

  it('system messages anywhere become canonical system messages in place; unknown roles, blocks and choices are warned about', () => {
    const { request, warnings } = decode({
      model: 'claude-sonnet-4-5',
      messages: [
        { role: 'system', content: 'first' },
        { role: 'user', content: 'hi' },
        { role: 'system', content: [{ type: 'text', text: 'mid' }, { type: 'text', text: 'way' }] },
        { role: 'critic', content: 'x' },
        { role: 'user', content: [{ type: 'text', text: 'again' }, { type: 'sparkle' }] },
      ],
      tool_choice: { type: 'sometimes' },
    });
    expect(request.max_tokens).toBeUndefined();
    expect(request.messages).toEqual([
      { role: 'system', content: 'first' },
      { role: 'user', content: 'hi' },
      { role: 'system', content: [{ type: 'text', text: 'mid' }, { type: 'text', text: 'way' }] },
      { role: 'user', content: 'again' },
    ]);
    expect(request.tool_choice).toBe('auto');
    expect(warnings.map((w) => w.param)).toEqual(['messages[3].role', 'messages[4].content[1]', 'tool_choice.type']);
    expect(warnings[1].message).toContain("'sparkle' block");
  });

  it('validates with errors that name the field', () => {
    expect(paramOf(null)).toBe('body');
    expect(paramOf({ ...base, model: 3 })).toBe('model');
    expect(paramOf({ ...base, max_tokens: '10' })).toBe('max_tokens');
    expect(paramOf({ ...base, messages: [] })).toBe('messages');
    expect(paramOf({ ...base, messages: [{ role: 'system', content: 5 }] })).toBe('messages[0].content');
    expect(paramOf({ ...base, messages: ['hi'] })).toBe('messages[0]');
    expect(paramOf({ ...base, messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 5 }] }))
      .toBe('messages[2].content');
    expect(paramOf({ ...base, messages: [{ role: 'user', content: [{ type: 'text' }] }] })).toBe('messages[0].content[0].text');
    expect(paramOf({ ...base, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', data: 'x' } }] }] }))
      .toBe('messages[0].content[0].source.media_type');
    expect(paramOf({ ...base, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: 'x' }] }] }))
      .toBe('messages[0].content[0].input');
    expect(paramOf({ ...base, system: 5 })).toBe('system');
    expect(paramOf({ ...base, tools: [{ name: 'f' }] })).toBe('tools[0].input_schema');
    expect(paramOf({ ...base, tool_choice: { type: 'tool' } })).toBe('tool_choice.name');
    expect(paramOf({ ...base, stop_sequences: [1] })).toBe('stop_sequences[0]');
    expect(paramOf({ ...base, temperature: 'hot' })).toBe('temperature');
    expect(paramOf({ ...base, stream: 'yes' })).toBe('stream');
    expect(paramOf({ ...base, thinking: { budget_tokens: 10 } })).toBe('thinking.type');
  });

  it('maps system prompts as a string or blocks, keeping cache_control', () => {
    expect(decode({ ...base, system: 'Be brief.' }).request.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    const { request } = decode({
      ...base,
      system: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Huge doc', cache_control: { type: 'ephemeral', ttl: '1h' } }],
    });
    expect(request.messages[0]).toEqual({
      role: 'system',
      content: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Huge doc', cache_control: { type: 'ephemeral', ttl: '1h' } }],
    });
  });

  it('maps images, PDFs and plain-text documents', () => {
    const { request, warnings } = decode({
      ...base,
      messages: [{
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
          { type: 'image', source: { type: 'url', url: 'https://upload.wikimedia.org/a.jpg' } },
          { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'Paper' },
          { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'The grass is green.' } },
          { type: 'image', source: { type: 'file', file_id: 'file_011' } },
          { type: 'text', text: 'Describe these.' },
        ],
      }],
    });
    expect(request.messages[0].content).toEqual([
      { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
      { type: 'image_url', image_url: { url: 'https://upload.wikimedia.org/a.jpg' } },
      { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'Paper' } },
      { type: 'text', text: 'The grass is green.' },
      { type: 'text', text: 'Describe these.' },
    ]);
    expect(warnings.map((w) => w.param)).toEqual(['messages[0].content[4]']);
  });

  it('maps tool use, tool results (string, blocks, is_error) and thinking in a multi-turn conversation', () => {
    const { request, warnings } = decode({
      ...base,
      messages: [
        { role: 'user', content: 'Weather in SF and NYC?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Two lookups.', signature: 'sig' },
            { type: 'redacted_thinking', data: 'opaque' },
            { type: 'text', text: 'Looking up.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'SF' } },
            { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { location: 'NYC' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: '15C' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'API down' }], is_error: true, cache_control: { type: 'ephemeral' } },
            { type: 'text', text: 'And tomorrow?' },
          ],
        },
      ],
    });
    expect(warnings).toEqual([]);
    expect(request.messages).toEqual([
      { role: 'user', content: 'Weather in SF and NYC?' },
      {
        role: 'assistant',
        content: 'Looking up.',
        reasoning_content: 'Two lookups.',
        reasoning_signature: 'sig',
        redacted_thinking: ['opaque'],
        thinking_blocks: [{ type: 'thinking', thinking: 'Two lookups.', signature: 'sig' }, { type: 'redacted_thinking', data: 'opaque' }],
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"SF"}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'get_weather', arguments: '{"location":"NYC"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: '15C' },
      { role: 'tool', tool_call_id: 'toolu_2', content: 'API down', is_error: true, cache_control: { type: 'ephemeral' } },
      { role: 'user', content: 'And tomorrow?' },
    ]);
  });

  it('maps tools, every tool_choice, stop sequences, sampling, metadata, thinking and stream', () => {
    const body = {
      ...base,
      tools: [
        { name: 'get_weather', description: 'Get weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } }, cache_control: { type: 'ephemeral' } },
        { type: 'web_search_20250305', name: 'web_search', max_uses: 5 },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      stop_sequences: ['\n\nHuman:'],
      temperature: 0.3,
      top_p: 0.8,
      top_k: 10,
      metadata: { user_id: '13803d75-b4b5-4c3e-b2a2-6f21399b021b' },
      thinking: { type: 'enabled', budget_tokens: 2048 },
      stream: true,
    };
    const { request, warnings } = decode(body);
    expect(request.tools).toEqual([{
      type: 'function',
      function: { name: 'get_weather', description: 'Get weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } },
      cache_control: { type: 'ephemeral' },
    }]);
    expect(warnings.map((w) => w.param)).toEqual(['tools[1]']);
    expect(request.tool_choice).toBe('required');
    expect(request.parallel_tool_calls).toBe(false);
    expect(request.stop).toEqual(['\n\nHuman:']);
    expect([request.temperature, request.top_p, request.top_k]).toEqual([0.3, 0.8, 10]);
    expect(request.user).toBe('13803d75-b4b5-4c3e-b2a2-6f21399b021b');
    expect(request.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    expect(request.stream).toBe(true);
    expect(request.stream_options).toEqual({ include_usage: true });
    expect(decode({ ...base, tool_choice: { type: 'auto' } }).request.tool_choice).toBe('auto');
    expect(decode({ ...base, tool_choice: { type: 'none' } }).request.tool_choice).toBe('none');
    expect(decode({ ...base, tool_choice: { type: 'tool', name: 'get_weather' } }).request.tool_choice)
      .toEqual({ type: 'function', function: { name: 'get_weather' } });
  });

  it('carries Anthropic-native fields, maps output_config.format to response_format and effort to reasoning_effort', () => {
    const schema = { type: 'object', properties: { name: { type: 'string' } } };
    const { request, warnings } = decode({
      ...base,
      service_tier: 'auto',
      container: 'container_abc',
      output_config: { format: { type: 'json_schema', schema }, effort: 'xhigh', task_budget: 5 },
      frobnicate: true,
    });
    expect(request.service_tier).toBe('auto');
    expect(request.container).toBe('container_abc');
    // What canonical fields say is taken out; a newer key stays for an Anthropic target.
    expect(request.output_config).toEqual({ task_budget: 5 });
    expect(request.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema, strict: true } });
    expect(request.reasoning_effort).toBe('xhigh');
    expect(warnings.map((w) => w.param)).toEqual(['frobnicate']);
  });
});
