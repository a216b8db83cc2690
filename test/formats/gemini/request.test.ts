import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors/gateway-error.js';
import { geminiChatCodec } from '../../../src/formats/gemini/index.js';
import type { ChatRequest } from '../../../src/formats/openai/types.js';

const encode = (request: Partial<ChatRequest>, model = 'gemini-2.5-flash') =>
  geminiChatCodec.encodeRequest({ model, messages: [], ...request } as ChatRequest, { model, stream: false });

describe('geminiChatCodec.encodeRequest: messages', () => {
  it('maps system/developer to systemInstruction and merges consecutive turns of one role', () => {
    const { body, warnings } = encode({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'Hello' },
        { role: 'user', content: 'Are you there?' },
        { role: 'assistant', content: 'Oui.' },
        { role: 'user', content: '' },
      ],
    });
    expect(body).toEqual({
      systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Answer in French.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'Hello' }, { text: 'Are you there?' }] },
        { role: 'model', parts: [{ text: 'Oui.' }] },
      ],
    });
    expect(warnings).toEqual([]);
    expect(body).not.toHaveProperty('model');
  });

  it('sends data: images as inlineData and http(s) images as fileData with a guessed MIME type', () => {
    const { body } = encode({
      messages: [{
        role: 'user',
        content: [
          { type: 'text', text: 'Compare these' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.JPG?size=large' } },
          { type: 'image_url', image_url: { url: 'https://example.com/render' } },
          { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
          { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' } },
        ],
      }],
    }) as { body: { contents: Array<{ parts: unknown[] }> } };
    expect(body.contents[0].parts).toEqual([
      { text: 'Compare these' },
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
      { fileData: { fileUri: 'https://example.com/cat.JPG?size=large', mimeType: 'image/jpeg' } },
      { fileData: { fileUri: 'https://example.com/render' } },
      { inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } },
      { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
    ]);
  });

  it('turns assistant tool_calls into functionCall parts and tool results into one user turn of functionResponses', () => {
    const { body } = encode({
      messages: [
        { role: 'user', content: 'Weather in Paris and Tokyo?' },
        {
          role: 'assistant',
          content: null,
          reasoning_signature: 'c2ln',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{"city":"Tokyo"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_2', content: '"09:00"' },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temperature":18}' },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny, no JSON' },
      ],
    });
    expect((body as { contents: unknown[] }).contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and Tokyo?' }] },
      {
        role: 'model',
        parts: [
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2ln' },
          { functionCall: { name: 'get_time', args: { city: 'Tokyo' } } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_time', response: { result: '09:00' } } },
          { functionResponse: { name: 'get_weather', response: { temperature: 18 } } },
          { functionResponse: { name: 'get_weather', response: { content: 'sunny, no JSON' } } },
        ],
      },
    ]);
  });

  it('puts the skip-validator signature on unsigned calls for Gemini 3, and none for Gemini 2.5', () => {
    const messages: ChatRequest['messages'] = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c', content: '{}' },
    ];
    const gemini3 = encode({ messages }, 'gemini-3-pro-preview').body as { contents: Array<{ parts: Array<Record<string, unknown>> }> };
    expect(gemini3.contents[1].parts[0].thoughtSignature).toBe('skip_thought_signature_validator');
    const gemini25 = encode({ messages }, 'gemini-2.5-flash').body as { contents: Array<{ parts: Array<Record<string, unknown>> }> };
    expect(gemini25.contents[1].parts[0]).not.toHaveProperty('thoughtSignature');
  });

  it('rejects a tool result whose call id was never issued, naming the field', () => {
    try {
      encode({ messages: [{ role: 'user', content: 'x' }, { role: 'tool', tool_call_id: 'nope', content: '1' }] });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).param).toBe('messages[1].tool_call_id');
      expect((error as GatewayError).status).toBe(400);
    }
  });

  it('warns and sends {} when tool-call arguments are not a JSON object', () => {
    const { body, warnings } = encode({
      messages: [{ role: 'assistant', content: 'x', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{broken' } }] }],
    });
    expect((body as { contents: Array<{ parts: unknown[] }> }).contents[0].parts[1]).toEqual({ functionCall: { name: 'f', args: {} } });
    expect(warnings).toEqual([{ param: 'messages[0].tool_calls[0].function.arguments', message: expect.stringContaining('JSON object') }]);
  });
});

describe('geminiChatCodec.encodeRequest: tools and config', () => {
  it('maps tools to functionDeclarations, strips rejected schema keys with one warning, and maps tool_choice', () => {
    const { body, warnings } = encode({
      messages: [{ role: 'user', content: 'x' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'lookup',
            description: 'Find a record',
            strict: true,
            parameters: {
              $schema: 'http://json-schema.org/draft-07/schema#',
              type: 'object',
              additionalProperties: false,
              properties: {
                id: { type: ['string', 'null'], format: 'uuid' },
                when: { type: 'string', format: 'date-time' },
                kind: { const: 'user' },
                tags: { type: 'array', items: { $ref: '#/$defs/tag' } },
              },
              required: ['id'],
              $defs: { tag: { type: 'string', minLength: 1, examples: ['a'] } },
            },
          },
        },
        { type: 'function', function: { name: 'ping', parameters: { type: 'object', properties: {} } } },
      ],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
    });
    expect(body).toMatchObject({
      tools: [{
        functionDeclarations: [
          {
            name: 'lookup',
            description: 'Find a record',
            parameters: {
              type: 'object',
              properties: {
                id: { type: 'string', nullable: true },
                when: { type: 'string', format: 'date-time' },
                kind: { enum: ['user'] },
                tags: { type: 'array', items: { type: 'string', minLength: 1 } },
              },
              required: ['id'],
            },
          },
          { name: 'ping' },
        ],
      }],
      toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['lookup'] } },
    });
    expect(warnings).toEqual([{
      param: 'tools',
      message: 'Gemini does not accept these JSON-schema keys; removed: $schema, additionalProperties, examples, format:uuid, strict.',
    }]);
  });

  it.each([
    ['auto', { mode: 'AUTO' }],
    ['none', { mode: 'NONE' }],
    ['required', { mode: 'ANY' }],
  ] as const)('maps tool_choice %s', (choice, config) => {
    expect(encode({ messages: [{ role: 'user', content: 'x' }], tool_choice: choice }).body).toMatchObject({ toolConfig: { functionCallingConfig: config } });
  });

  it('maps sampling parameters into generationConfig', () => {
    const { body, warnings } = encode({
      messages: [{ role: 'user', content: 'x' }],
      temperature: 0.3,
      top_p: 0.8,
      top_k: 20,
      max_tokens: 100,
      max_completion_tokens: 200,
      stop: 'END',
      n: 2,
      seed: 42,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      logprobs: true,
      top_logprobs: 3,
      response_format: { type: 'json_object' },
    });
    expect((body as { generationConfig: unknown }).generationConfig).toEqual({
      temperature: 0.3,
      topP: 0.8,
      topK: 20,
      maxOutputTokens: 200,
      stopSequences: ['END'],
      candidateCount: 2,
      seed: 42,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      responseLogprobs: true,
      logprobs: 3,
      responseMimeType: 'application/json',
    });
    expect(warnings).toEqual([]);
  });

  it('maps json_schema to responseMimeType + a cleaned responseSchema', () => {
    const { body, warnings } = encode({
      messages: [{ role: 'user', content: 'x' }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'r', strict: true, schema: { type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: false } },
      },
    });
    expect((body as { generationConfig: unknown }).generationConfig).toEqual({
      responseMimeType: 'application/json',
      responseSchema: { type: 'object', properties: { n: { type: 'integer' } } },
    });
    expect(warnings).toEqual([{ param: 'response_format', message: expect.stringContaining('additionalProperties') }]);
  });

  it.each([
    ['gemini-2.5-flash', 'low', { thinkingBudget: 1024 }],
    ['gemini-2.5-pro', 'high', { thinkingBudget: 24576 }],
    ['gemini-2.5-flash', 'minimal', { thinkingBudget: 512 }],
    ['gemini-3-pro-preview', 'medium', { thinkingLevel: 'MEDIUM' }],
  ] as const)('maps reasoning_effort for %s (%s)', (model, effort, thinkingConfig) => {
    const { body } = encode({ messages: [{ role: 'user', content: 'x' }], reasoning_effort: effort }, model);
    expect((body as { generationConfig: unknown }).generationConfig).toEqual({ thinkingConfig });
  });

  it('maps an Anthropic-style thinking budget and asks for thoughts', () => {
    const { body } = encode({ messages: [{ role: 'user', content: 'x' }], thinking: { type: 'enabled', budget_tokens: 2048 } });
    expect((body as { generationConfig: unknown }).generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 2048, includeThoughts: true } });
  });

  it('drops parameters Gemini cannot take, each with a warning', () => {
    const { body, warnings } = encode({
      messages: [{ role: 'user', content: 'x' }],
      logit_bias: { '50256': -100 },
      user: 'user-1',
      parallel_tool_calls: false,
    });
    expect(body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'x' }] }] });
    expect(warnings.map((w) => w.param)).toEqual(['logit_bias', 'user', 'parallel_tool_calls']);
  });

  it('restores the Gemini-only settings a Gemini-surface request carried', () => {
    const safety = [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }];
    const { body } = encode({
      messages: [{ role: 'user', content: 'x' }],
      reasoning_effort: 'high',
      gemini_safety_settings: safety,
      gemini_thinking_config: { thinkingBudget: -1, includeThoughts: true },
      gemini_tools: [{ googleSearch: {} }],
    });
    expect(body).toMatchObject({
      safetySettings: safety,
      generationConfig: { thinkingConfig: { thinkingBudget: -1, includeThoughts: true } },
      tools: [{ googleSearch: {} }],
    });
  });
});
