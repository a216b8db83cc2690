/**
 * Cross-format translation of today's API features, codec by codec (pure, no
 * sockets): structured outputs, thinking and effort, thinking blocks and
 * thought signatures across turns, system messages in the middle, PDFs,
 * citations, cache hints, tool choice and server-tool blocks. Fixtures follow
 * the providers' documented examples.
 */
import { describe, expect, it } from 'vitest';
import { anthropicChatCodec, anthropicSurfaceCodec } from '../../src/formats/anthropic/index.js';
import { bedrockChatCodec } from '../../src/formats/bedrock/index.js';
import { dropGeminiOnlyFields, geminiChatCodec, geminiSurfaceCodec } from '../../src/formats/gemini/index.js';
import { openaiChatCodec } from '../../src/formats/openai/codec.js';
import type { ChatCompletionChunk, ChatRequest } from '../../src/formats/openai/types.js';
import type { CodecWarning, ProviderChatCodec, SurfaceCodec } from '../../src/formats/types.js';
import { effortForBudget } from '../../src/formats/reasoning-effort.js';
import { sseEvents } from '../integration/helpers.js';

type Body = Record<string, any>;
const context = { id: 'chatcmpl-t1', created: 1_700_000_000, model: 'client-model' };

function encode(codec: ProviderChatCodec, request: ChatRequest, model: string): { body: Body; warnings: CodecWarning[] } {
  const encoded = codec.encodeRequest(request, { model, stream: false });
  return { body: encoded.body as Body, warnings: encoded.warnings };
}

/** Surface body -> canonical -> provider body, as the pipeline does (Gemini-only fields dropped for others). */
function route(surface: SurfaceCodec, body: unknown, codec: ProviderChatCodec, model: string): { body: Body; warnings: CodecWarning[] } {
  const decoded = surface.decodeRequest(body, { model: 'client-name' });
  const request = { ...decoded.request };
  const warnings = [...decoded.warnings];
  if (codec.format !== 'gemini') warnings.push(...dropGeminiOnlyFields(request));
  const encoded = encode(codec, request, model);
  return { body: encoded.body, warnings: [...warnings, ...encoded.warnings] };
}

const params = (warnings: CodecWarning[]) => warnings.map((w) => w.param);

describe('structured outputs', () => {
  const schema = {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 40 },
      age: { type: 'integer', minimum: 0 },
      tags: { type: 'array', items: { type: 'object', properties: { label: { type: 'string' } }, required: ['label'] } },
    },
    required: ['name', 'age', 'tags'],
  };
  const openaiRequest: ChatRequest = {
    model: 'x',
    messages: [{ role: 'user', content: 'Extract the person.' }],
    response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema } },
  };

  it('OpenAI json_schema -> Anthropic output_config.format, objects closed, constraints moved into descriptions', () => {
    const { body, warnings } = encode(anthropicChatCodec, openaiRequest, 'claude-sonnet-4-5');
    expect(body.output_config).toEqual({
      format: {
        type: 'json_schema',
        schema: {
          type: 'object',
          properties: {
            name: { type: 'string', description: '{maxLength: 40}' },
            age: { type: 'integer', description: '{minimum: 0}' },
            tags: { type: 'array', items: { type: 'object', properties: { label: { type: 'string' } }, required: ['label'], additionalProperties: false } },
          },
          required: ['name', 'age', 'tags'],
          additionalProperties: false,
        },
      },
    });
    expect(warnings).toEqual([{ param: 'response_format.json_schema.schema', message: expect.stringContaining('maxLength, minimum') }]);
  });

  it('json_object has no Anthropic equivalent: dropped with a warning', () => {
    const { body, warnings } = encode(anthropicChatCodec, { ...openaiRequest, response_format: { type: 'json_object' } }, 'claude-sonnet-4-5');
    expect(body.output_config).toBeUndefined();
    expect(params(warnings)).toEqual(['response_format']);
  });

  it('Gemini responseSchema (OpenAPI subset) -> Anthropic structured outputs', () => {
    const gemini = {
      contents: [{ role: 'user', parts: [{ text: 'List a cookie recipe.' }] }],
      generationConfig: {
        responseMimeType: 'application/json',
        responseSchema: { type: 'OBJECT', properties: { recipeName: { type: 'STRING' } }, required: ['recipeName'], propertyOrdering: ['recipeName'] },
      },
    };
    const { body, warnings } = route(geminiSurfaceCodec, gemini, anthropicChatCodec, 'claude-sonnet-4-5');
    expect(body.output_config).toEqual({
      format: { type: 'json_schema', schema: { type: 'object', properties: { recipeName: { type: 'string' } }, required: ['recipeName'], additionalProperties: false } },
    });
    expect(warnings).toEqual([]);
  });

  it('Anthropic output_config.format -> OpenAI response_format, Gemini responseSchema, Bedrock outputConfig', () => {
    const anthropic = {
      model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'Extract.' }],
      output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false } } },
    };
    const openai = route(anthropicSurfaceCodec, anthropic, openaiChatCodec, 'gpt-4o-mini');
    expect(openai.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', strict: true, schema: anthropic.output_config.format.schema } });
    expect(openai.body.output_config).toBeUndefined();
    expect(openai.warnings).toEqual([]);
    const gemini = route(anthropicSurfaceCodec, anthropic, geminiChatCodec, 'gemini-2.5-flash');
    expect(gemini.body.generationConfig).toMatchObject({ responseMimeType: 'application/json', responseSchema: { type: 'object', properties: { name: { type: 'string' } } } });
    const bedrock = route(anthropicSurfaceCodec, anthropic, bedrockChatCodec, 'anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(JSON.parse(bedrock.body.outputConfig.textFormat.structure.jsonSchema.schema)).toEqual(anthropic.output_config.format.schema);
  });
});

describe('thinking and effort (one table: src/formats/reasoning-effort.ts)', () => {
  const anthropicBase = { model: 'm', max_tokens: 20_000, messages: [{ role: 'user', content: 'Think.' }] };

  it('a budget maps to the smallest effort that covers it, never above high', () => {
    expect([1024, 2048, 4096, 8192, 10_000, 31_999, 100_000].map(effortForBudget)).toEqual(['minimal', 'low', 'medium', 'medium', 'high', 'high', 'high']);
  });

  it('Anthropic thinking budget -> OpenAI reasoning_effort; adaptive leaves the default; effort wins', () => {
    expect(route(anthropicSurfaceCodec, { ...anthropicBase, thinking: { type: 'enabled', budget_tokens: 10_000 } }, openaiChatCodec, 'gpt-5-mini').body.reasoning_effort).toBe('high');
    expect(route(anthropicSurfaceCodec, { ...anthropicBase, thinking: { type: 'enabled', budget_tokens: 2048 } }, openaiChatCodec, 'gpt-5-mini').body.reasoning_effort).toBe('low');
    const adaptive = route(anthropicSurfaceCodec, { ...anthropicBase, thinking: { type: 'adaptive' } }, openaiChatCodec, 'gpt-5-mini');
    expect(adaptive.body.reasoning_effort).toBeUndefined();
    expect(adaptive.body.thinking).toBeUndefined();
    expect(adaptive.warnings).toEqual([]);
    const withEffort = route(anthropicSurfaceCodec, { ...anthropicBase, thinking: { type: 'adaptive' }, output_config: { effort: 'low' } }, openaiChatCodec, 'gpt-5-mini');
    expect(withEffort.body.reasoning_effort).toBe('low');
    expect(withEffort.warnings).toEqual([]);
  });

  it('Anthropic thinking/effort -> Gemini thinkingBudget (2.5) and thinkingLevel (3)', () => {
    expect(route(anthropicSurfaceCodec, { ...anthropicBase, thinking: { type: 'enabled', budget_tokens: 4096 } }, geminiChatCodec, 'gemini-2.5-flash').body.generationConfig.thinkingConfig)
      .toEqual({ thinkingBudget: 4096, includeThoughts: true });
    expect(route(anthropicSurfaceCodec, { ...anthropicBase, output_config: { effort: 'low' } }, geminiChatCodec, 'gemini-2.5-flash').body.generationConfig.thinkingConfig)
      .toEqual({ thinkingBudget: 1024 });
    expect(route(anthropicSurfaceCodec, { ...anthropicBase, output_config: { effort: 'high' } }, geminiChatCodec, 'gemini-3-pro-preview').body.generationConfig.thinkingConfig)
      .toEqual({ thinkingLevel: 'HIGH' });
    expect(route(anthropicSurfaceCodec, { ...anthropicBase, thinking: { type: 'adaptive' } }, geminiChatCodec, 'gemini-2.5-pro').body.generationConfig.thinkingConfig)
      .toEqual({ thinkingBudget: -1, includeThoughts: true });
  });

  it('Gemini thinkingConfig -> Anthropic thinking and OpenAI reasoning_effort', () => {
    const gemini = (thinkingConfig: Body) => ({ contents: [{ role: 'user', parts: [{ text: 'Think.' }] }], generationConfig: { thinkingConfig } });
    const level = route(geminiSurfaceCodec, gemini({ thinkingLevel: 'HIGH', includeThoughts: true }), anthropicChatCodec, 'claude-sonnet-4-5');
    expect(level.body.thinking).toEqual({ type: 'enabled', budget_tokens: 16_384 });
    expect(route(geminiSurfaceCodec, gemini({ thinkingLevel: 'LOW' }), anthropicChatCodec, 'claude-opus-4-6').body).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'low' } });
    const budget = route(geminiSurfaceCodec, gemini({ thinkingBudget: 4096 }), openaiChatCodec, 'gpt-5-mini');
    expect(budget.body.reasoning_effort).toBe('medium');
    expect(budget.body.thinking).toBeUndefined();
    expect(budget.warnings).toEqual([]);
    expect(route(geminiSurfaceCodec, gemini({ thinkingLevel: 'MINIMAL' }), openaiChatCodec, 'gpt-5-mini').body.reasoning_effort).toBe('minimal');
  });

  it('OpenAI reasoning_effort -> Claude thinking on Bedrock (budget or adaptive), dropped with a warning for other families', () => {
    const request: ChatRequest = { model: 'x', messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'low', temperature: 0.2 };
    const budget = encode(bedrockChatCodec, request, 'anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(budget.body.additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 2048 } });
    expect(budget.body.inferenceConfig).toEqual({ maxTokens: 2048 + 4096 });
    expect(params(budget.warnings)).toEqual(['temperature']);
    const adaptive = encode(bedrockChatCodec, { ...request, temperature: undefined }, 'us.anthropic.claude-opus-4-6-v1');
    expect(adaptive.body.additionalModelRequestFields).toEqual({ thinking: { type: 'adaptive' }, output_config: { effort: 'low' } });
    expect(adaptive.warnings).toEqual([]);
    expect(params(encode(bedrockChatCodec, request, 'meta.llama3-3-70b-instruct-v1:0').warnings)).toContain('reasoning_effort');
  });

  it('OpenAI reasoning_effort xhigh/max -> adaptive Claude effort of the same name', () => {
    const { body, warnings } = encode(anthropicChatCodec, { model: 'x', messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'xhigh' }, 'claude-opus-4-6');
    expect(body).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'xhigh' } });
    expect(warnings).toEqual([]);
  });
});

describe('thinking blocks and signatures across turns', () => {
  // Interleaved thinking with a tool call, as Anthropic documents it.
  const claudeTurn = {
    id: 'msg_01', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', stop_reason: 'tool_use', stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 20 },
    content: [
      { type: 'thinking', thinking: 'I need the weather.', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3h' },
      { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4a' },
      { type: 'thinking', thinking: 'Then the time.', signature: 'EqQBCgIYAhIMsecond' },
      { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
    ],
  };

  it('an Anthropic answer keeps every block exactly; the next Anthropic request sends them back unchanged', () => {
    const completion = anthropicChatCodec.decodeResponse(claudeTurn, context);
    const message = completion.choices[0].message;
    expect(message.thinking_blocks).toEqual(claudeTurn.content.slice(0, 3));
    expect(message.reasoning_content).toBe('I need the weather.Then the time.');
    expect(message.reasoning_signature).toBe('EqQBCgIYAhIMsecond');
    const next = encode(anthropicChatCodec, {
      model: 'x',
      thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [
        { role: 'user', content: 'Weather and time in Paris?' },
        message,
        { role: 'tool', tool_call_id: 'toolu_01', content: '18C' },
      ],
    }, 'claude-sonnet-4-5');
    expect(next.body.messages[1]).toEqual({ role: 'assistant', content: claudeTurn.content });
    expect(next.warnings).toEqual([]);
  });

  it('the same blocks go to Claude on Bedrock as reasoningContent, signatures kept', () => {
    const message = anthropicChatCodec.decodeResponse(claudeTurn, context).choices[0].message;
    const { body } = encode(bedrockChatCodec, { model: 'x', messages: [{ role: 'user', content: 'q' }, message, { role: 'tool', tool_call_id: 'toolu_01', content: '18C' }] }, 'anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(body.messages[1].content.slice(0, 3)).toEqual([
      { reasoningContent: { reasoningText: { text: 'I need the weather.', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3h' } } },
      { reasoningContent: { redactedContent: 'EmwKAhgBEgy3va3pzix/LafPsn4a' } },
      { reasoningContent: { reasoningText: { text: 'Then the time.', signature: 'EqQBCgIYAhIMsecond' } } },
    ]);
  });

  it('the Anthropic surface shows the blocks as they came (from a Claude answer)', () => {
    const completion = anthropicChatCodec.decodeResponse(claudeTurn, context);
    const out = anthropicSurfaceCodec.encodeResponse(completion, context) as Body;
    expect(out.content).toEqual(claudeTurn.content);
  });

  it('Anthropic stream: two thinking blocks with signatures and a redacted block come out as three blocks', () => {
    const decoder = anthropicChatCodec.createStreamDecoder(context);
    const upstream = [
      ['message_start', { type: 'message_start', message: { id: 'msg_02', usage: { input_tokens: 5, output_tokens: 1 } } }],
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'First.' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig-1' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      ['content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'redacted_thinking', data: 'opaque' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 1 }],
      ['content_block_start', { type: 'content_block_start', index: 2, content_block: { type: 'thinking', thinking: '', signature: '' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'thinking_delta', thinking: 'Second.' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'signature_delta', signature: 'sig-2' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 2 }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }],
      ['message_stop', { type: 'message_stop' }],
    ] as const;
    const chunks: ChatCompletionChunk[] = upstream.flatMap(([event, data]) => decoder.onEvent({ event, data: JSON.stringify(data) }));
    expect(chunks.map((c) => c.choices[0]?.delta).filter((d) => d?.redacted_thinking !== undefined)).toEqual([{ redacted_thinking: 'opaque' }]);
    const encoder = anthropicSurfaceCodec.createStreamEncoder(context);
    const text = chunks.map((c) => encoder.onChunk(c)).join('') + encoder.onEnd();
    const starts = sseEvents(text).filter((e) => e.event === 'content_block_start').map((e) => JSON.parse(e.data).content_block.type);
    expect(starts).toEqual(['thinking', 'redacted_thinking', 'thinking']);
    const signatures = sseEvents(text).map((e) => JSON.parse(e.data)).filter((d) => d.delta?.type === 'signature_delta').map((d) => [d.index, d.delta.signature]);
    expect(signatures).toEqual([[0, 'sig-1'], [2, 'sig-2']]);
  });

  // Gemini 3: the signature on the first functionCall of each step.
  const geminiTurn = {
    candidates: [{
      index: 0,
      finishReason: 'STOP',
      content: {
        role: 'model',
        parts: [
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'R2VtaW5pU2lnLTE=' },
          { functionCall: { name: 'get_weather', args: { city: 'Tokyo' } } },
        ],
      },
    }],
    responseId: 'resp-1',
  };

  it('Gemini thought signatures ride on the tool calls and come back on the same functionCall parts', () => {
    const message = geminiChatCodec.decodeResponse(geminiTurn, context).choices[0].message;
    expect(message.tool_calls?.map((call) => call.extra_content)).toEqual([{ google: { thought_signature: 'R2VtaW5pU2lnLTE=' } }, undefined]);
    const conversation: ChatRequest = {
      model: 'x',
      messages: [
        { role: 'user', content: 'Weather in Paris and Tokyo?' },
        message,
        { role: 'tool', tool_call_id: message.tool_calls![0].id, content: '{"temp":18}' },
        { role: 'tool', tool_call_id: message.tool_calls![1].id, content: '{"temp":25}' },
      ],
    };
    const gemini = encode(geminiChatCodec, conversation, 'gemini-3-pro-preview');
    expect(gemini.body.contents[1].parts).toEqual(geminiTurn.candidates[0].content.parts);
    // OpenAI-compatible servers refuse unknown fields: the signature stays behind.
    const openai = encode(openaiChatCodec, conversation, 'gpt-5-mini');
    expect(openai.body.messages[1].tool_calls[0]).toEqual({ id: message.tool_calls![0].id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    expect(openai.body.messages[1].reasoning_signature).toBeUndefined();
  });

  it('an Anthropic signature is never sent to Gemini as a thought signature (the documented skip value is)', () => {
    const message = anthropicChatCodec.decodeResponse(claudeTurn, context).choices[0].message;
    const { body } = encode(geminiChatCodec, { model: 'x', messages: [{ role: 'user', content: 'q' }, message, { role: 'tool', tool_call_id: 'toolu_01', content: '18C' }] }, 'gemini-3-pro-preview');
    expect(body.contents[1].parts).toEqual([{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'skip_thought_signature_validator' }]);
  });
});

describe('system messages, PDFs, citations, cache hints, tool choice, server tools', () => {
  const midSystem: ChatRequest = {
    model: 'x',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'developer', content: 'Now answer in French.' },
      { role: 'user', content: 'Bye' },
    ],
  };

  it('a system message after the conversation started is merged into the system prompt with a warning', () => {
    const anthropic = encode(anthropicChatCodec, midSystem, 'claude-sonnet-4-5');
    expect(anthropic.body.system).toEqual([{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Now answer in French.' }]);
    expect(params(anthropic.warnings)).toEqual(['messages[3]']);
    const gemini = encode(geminiChatCodec, midSystem, 'gemini-2.5-flash');
    expect(gemini.body.systemInstruction).toEqual({ parts: [{ text: 'Be brief.' }, { text: 'Now answer in French.' }] });
    expect(params(gemini.warnings)).toEqual(['messages[3]']);
    // OpenAI keeps the position: no warning.
    expect(encode(openaiChatCodec, midSystem, 'gpt-4o-mini').warnings).toEqual([]);
    // A leading system message is no loss anywhere.
    expect(encode(anthropicChatCodec, { ...midSystem, messages: midSystem.messages.slice(0, 3) }, 'claude-sonnet-4-5').warnings).toEqual([]);
  });

  it('an OpenAI file part with a PDF -> Anthropic document, Gemini inlineData, Bedrock document', () => {
    const pdf = 'JVBERi0xLjQK';
    const request: ChatRequest = {
      model: 'x',
      messages: [{ role: 'user', content: [{ type: 'file', file: { filename: 'report.pdf', file_data: `data:application/pdf;base64,${pdf}` } }, { type: 'text', text: 'Summarise.' }] }],
    };
    expect(encode(anthropicChatCodec, request, 'claude-sonnet-4-5').body.messages[0].content[0])
      .toEqual({ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf }, title: 'report.pdf' });
    expect(encode(geminiChatCodec, request, 'gemini-2.5-flash').body.contents[0].parts[0]).toEqual({ inlineData: { mimeType: 'application/pdf', data: pdf } });
    expect(encode(bedrockChatCodec, request, 'anthropic.claude-sonnet-4-5-20250929-v1:0').body.messages[0].content[0].document)
      .toMatchObject({ format: 'pdf', source: { bytes: pdf } });
  });

  const anthropicHistory = {
    model: 'm', max_tokens: 100,
    system: [{ type: 'text', text: 'Long manual...', cache_control: { type: 'ephemeral' } }],
    tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }, { name: 'lookup', input_schema: { type: 'object', properties: {} } }],
    tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    messages: [
      { role: 'user', content: 'What is new in Node?' },
      {
        role: 'assistant',
        content: [
          { type: 'server_tool_use', id: 'srvtoolu_01', name: 'web_search', input: { query: 'node release' } },
          { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_01', content: [{ type: 'web_search_result', url: 'https://nodejs.org', title: 'Node', encrypted_content: 'EqgfCio' }] },
          { type: 'text', text: 'Node 24 is out.', citations: [{ type: 'web_search_result_location', url: 'https://nodejs.org', title: 'Node', encrypted_index: 'Eo8BCi', cited_text: 'Node 24' }] },
        ],
      },
      { role: 'user', content: 'Thanks' },
    ],
  };

  it('Anthropic cache hints, citations and server-tool blocks: named in warnings for OpenAI, text kept', () => {
    const { body, warnings } = route(anthropicSurfaceCodec, anthropicHistory, openaiChatCodec, 'gpt-4o-mini');
    expect(body.messages[2]).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Node 24 is out.' }] });
    expect(body.messages[0]).toEqual({ role: 'system', content: [{ type: 'text', text: 'Long manual...' }] });
    expect(body.parallel_tool_calls).toBe(false);
    expect(body.tool_choice).toBe('auto');
    expect(warnings.map((w) => w.message)).toEqual(expect.arrayContaining([
      expect.stringContaining("server tool 'web_search_20250305'"),
      expect.stringContaining('cache_control'),
      expect.stringContaining('citations'),
      expect.stringContaining('server-tool blocks (server_tool_use, web_search_tool_result)'),
    ]));
  });

  it('the same history to Gemini: cache hints, citations and server blocks warned; Bedrock keeps cache points', () => {
    const gemini = route(anthropicSurfaceCodec, anthropicHistory, geminiChatCodec, 'gemini-2.5-flash');
    expect(gemini.body.contents[1]).toEqual({ role: 'model', parts: [{ text: 'Node 24 is out.' }] });
    expect(params(gemini.warnings)).toEqual(expect.arrayContaining(['messages[0].content[0].cache_control', 'messages[2].content', 'messages[2]', 'parallel_tool_calls']));
    const bedrock = route(anthropicSurfaceCodec, anthropicHistory, bedrockChatCodec, 'anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(bedrock.body.system).toEqual([{ text: 'Long manual...' }, { cachePoint: { type: 'default' } }]);
    expect(params(bedrock.warnings)).not.toContain('messages[0].content[0].cache_control');
  });

  it('an OpenAI caller sending back a Claude answer with server blocks and citations gets them to Anthropic unchanged', () => {
    const answer = {
      id: 'msg_03', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 },
      content: (anthropicHistory.messages[1] as { content: Body[] }).content,
    };
    const message = anthropicChatCodec.decodeResponse(answer, context).choices[0].message;
    expect(message.anthropic_server_blocks).toEqual(answer.content.slice(0, 2));
    const { body } = encode(anthropicChatCodec, { model: 'x', messages: [{ role: 'user', content: 'q' }, message, { role: 'user', content: 'more' }] }, 'claude-sonnet-4-5');
    expect(body.messages[1].content.slice(0, 2)).toEqual(answer.content.slice(0, 2));
  });

  it('OpenAI web_search_options -> Anthropic web_search tool and Gemini googleSearch; settings without a place warned', () => {
    const request: ChatRequest = {
      model: 'x',
      messages: [{ role: 'user', content: 'News?' }],
      web_search_options: { search_context_size: 'low', user_location: { type: 'approximate', approximate: { city: 'Oslo', country: 'NO' } } },
    };
    const anthropic = encode(anthropicChatCodec, request, 'claude-sonnet-4-5');
    expect(anthropic.body.tools).toEqual([{ type: 'web_search_20250305', name: 'web_search', user_location: { type: 'approximate', city: 'Oslo', country: 'NO' } }]);
    expect(params(anthropic.warnings)).toEqual(['web_search_options.search_context_size']);
    const gemini = encode(geminiChatCodec, request, 'gemini-2.5-flash');
    expect(gemini.body.tools).toEqual([{ googleSearch: {} }]);
    expect(params(gemini.warnings)).toEqual(['web_search_options.search_context_size', 'web_search_options.user_location']);
  });

  it('Anthropic web search citations -> OpenAI url_citation annotations over the cited text', () => {
    const answer = {
      id: 'msg_04', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 },
      content: [
        { type: 'text', text: 'Per the site, ' },
        { type: 'text', text: 'Node 24 is out.', citations: [{ type: 'web_search_result_location', url: 'https://nodejs.org', title: 'Node', encrypted_index: 'x', cited_text: 'Node 24' }] },
      ],
    };
    const message = anthropicChatCodec.decodeResponse(answer, context).choices[0].message;
    expect(message.content).toBe('Per the site, Node 24 is out.');
    expect(message.annotations).toEqual([{ type: 'url_citation', url_citation: { start_index: 14, end_index: 29, url: 'https://nodejs.org', title: 'Node' } }]);
  });
});
