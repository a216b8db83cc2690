import { describe, expect, it } from 'vitest';
import { anthropicChatCodec, anthropicSurfaceCodec } from '../../../src/formats/anthropic/index.js';

/** An Anthropic client's request, routed to Anthropic: surface decode, then provider encode. */
function route(body: Record<string, unknown>, stream = false) {
  const decoded = anthropicSurfaceCodec.decodeRequest(body, { model: 'anthropic/claude-sonnet-4-5' });
  const encoded = anthropicChatCodec.encodeRequest(decoded.request, { model: 'claude-sonnet-4-5', stream });
  return { body: encoded.body as Record<string, unknown>, warnings: [...decoded.warnings, ...encoded.warnings] };
}

const cache = { type: 'ephemeral' };

describe('anthropic -> anthropic round trip', () => {
  it('keeps a rich multi-turn request intact', () => {
    const original = {
      model: 'claude-sonnet-4-5',
      max_tokens: 2048,
      system: [{ type: 'text', text: 'You are a weather bot.' }, { type: 'text', text: 'Reference manual...', cache_control: cache }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/sky.jpg' } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'Forecast' },
            { type: 'text', text: 'Weather in SF and NYC?', cache_control: cache },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Two lookups needed.', signature: 'EqQBCgIYAhIM' },
            { type: 'redacted_thinking', data: 'EmwKAhgBEgy3' },
            { type: 'text', text: 'Looking up both.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'San Francisco' } },
            { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { location: 'New York', unit: 'f' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: '15C, foggy' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'error: timeout' }], is_error: true, cache_control: cache },
            { type: 'text', text: 'Summarise please.' },
          ],
        },
      ],
      tools: [{
        name: 'get_weather',
        description: 'Get the current weather',
        input_schema: { type: 'object', properties: { location: { type: 'string' }, unit: { type: 'string' } }, required: ['location'] },
        cache_control: cache,
      }],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      stop_sequences: ['END'],
      temperature: 1,
      top_p: 0.99,
      metadata: { user_id: 'user-123' },
      thinking: { type: 'enabled', budget_tokens: 1024 },
      service_tier: 'standard_only',
      container: 'container_1',
    };
    const { body, warnings } = route(original, true);
    expect(warnings).toEqual([]);
    expect(body).toEqual({
      ...original,
      model: 'claude-sonnet-4-5',
      messages: [
        original.messages[0],
        original.messages[1],
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: '15C, foggy' },
            // a single plain text block in a tool result comes back as the equivalent string
            { type: 'tool_result', tool_use_id: 'toolu_2', content: 'error: timeout', is_error: true, cache_control: cache },
            { type: 'text', text: 'Summarise please.' },
          ],
        },
      ],
      stream: true,
    });
  });

  it('keeps a simple string request as it was', () => {
    const original = { model: 'claude-sonnet-4-5', max_tokens: 256, system: 'Be brief.', messages: [{ role: 'user', content: 'Hello' }, { role: 'assistant', content: 'Hi!' }, { role: 'user', content: 'Bye' }] };
    expect(route(original)).toEqual({ body: original, warnings: [] });
  });

  it('keeps tool_choice any / tool / none and adaptive thinking with output_config', () => {
    const base = { model: 'claude-sonnet-4-5', max_tokens: 256, messages: [{ role: 'user', content: 'x' }], tools: [{ name: 'f', input_schema: { type: 'object' } }] };
    for (const choice of [{ type: 'any' }, { type: 'tool', name: 'f' }, { type: 'none' }]) {
      expect(route({ ...base, tool_choice: choice }).body.tool_choice).toEqual(choice);
    }
    const adaptive = { ...base, thinking: { type: 'adaptive' }, output_config: { effort: 'high', format: { type: 'json_schema', schema: { type: 'object' } } } };
    const { body, warnings } = route(adaptive);
    expect(body.thinking).toEqual({ type: 'adaptive' });
    // format and effort travel as response_format and reasoning_effort, and come back the same
    // (objects get the additionalProperties: false that Anthropic requires).
    expect(body.output_config).toEqual({ effort: 'high', format: { type: 'json_schema', schema: { type: 'object', additionalProperties: false } } });
    expect(warnings).toEqual([]);
  });
});
