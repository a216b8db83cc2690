import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors/gateway-error.js';
import { dropGeminiOnlyFields, geminiChatCodec, geminiSurfaceCodec } from '../../../src/formats/gemini/index.js';
import { sdkRequest } from './fixtures.js';

const decode = (body: unknown) => geminiSurfaceCodec.decodeRequest(body, { model: 'openai/gpt-4o-mini' });

function fieldOf(body: unknown): string | null {
  try {
    decode(body);
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(400);
    return (error as GatewayError).param;
  }
  throw new Error('expected a GatewayError');
}

describe('geminiSurfaceCodec.decodeRequest', () => {
  it('decodes an SDK request: system, calls matched to responses, tools, tool config, generation config', () => {
    const { request, warnings } = decode(sdkRequest);
    expect(warnings).toEqual([]);
    expect(request).toEqual({
      model: 'openai/gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are a weather bot.' },
        { role: 'user', content: 'What is the weather in Paris and Tokyo?' },
        {
          role: 'assistant',
          content: null,
          reasoning_signature: 'c2ln',
          tool_calls: [
            { id: 'call_1_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' }, extra_content: { google: { thought_signature: 'c2ln' } } },
            { id: 'call_1_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Tokyo"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1_0', content: '{"temperature":18}' },
        { role: 'tool', tool_call_id: 'call_1_1', content: '{"temperature":25}' },
      ],
      tools: [{
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Current weather in a city',
          parameters: { type: 'object', properties: { city: { type: ['string', 'null'] } }, required: ['city'] },
        },
      }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      temperature: 0.4,
      top_p: 0.9,
      top_k: 32,
      max_tokens: 256,
      stop: ['END'],
      n: 1,
      seed: 7,
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
      logprobs: true,
      top_logprobs: 3,
      gemini_safety_settings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_ONLY_HIGH' }],
    });
  });

  it('round-trips an SDK request through the Gemini provider encoder (gemini -> gemini)', () => {
    const { request } = decode(sdkRequest);
    const { body, warnings } = geminiChatCodec.encodeRequest(request, { model: 'gemini-2.5-flash', stream: false });
    expect(warnings).toEqual([]);
    expect(body).toEqual({
      contents: sdkRequest.contents,
      systemInstruction: sdkRequest.systemInstruction,
      tools: [{
        functionDeclarations: [{
          name: 'get_weather',
          description: 'Current weather in a city',
          parameters: { type: 'object', properties: { city: { type: 'string', nullable: true } }, required: ['city'] },
        }],
      }],
      toolConfig: sdkRequest.toolConfig,
      generationConfig: sdkRequest.generationConfig,
      safetySettings: sdkRequest.safetySettings,
    });
  });

  it('matches function responses to calls by id first, then by name', () => {
    const { request } = decode({
      contents: [
        { role: 'user', parts: [{ text: 'go' }] },
        { role: 'model', parts: [{ functionCall: { id: 'a1', name: 'f', args: {} } }, { functionCall: { name: 'g' } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'g', response: { ok: 1 } } }, { functionResponse: { id: 'a1', name: 'f', response: {} } }, { text: 'and?' }] },
      ],
    });
    expect(request.messages.slice(2)).toEqual([
      { role: 'tool', tool_call_id: 'call_1_1', content: '{"ok":1}' },
      { role: 'tool', tool_call_id: 'a1', content: '{}' },
      { role: 'user', content: 'and?' },
    ]);
  });

  it('decodes media parts and a string systemInstruction', () => {
    const { request } = decode({
      systemInstruction: 'Describe things.',
      contents: [{
        parts: [
          { text: 'What is in these?' },
          { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQ' } },
          { inlineData: { mimeType: 'audio/mpeg', data: 'SUQz' } },
          { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=', displayName: 'doc.pdf' } },
          { fileData: { fileUri: 'https://generativelanguage.googleapis.com/v1beta/files/abc', mimeType: 'video/mp4' } },
          { fileData: { fileUri: 'gs://bucket/photo.png' } },
        ],
      }],
    });
    expect(request.messages).toEqual([
      { role: 'system', content: 'Describe things.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in these?' },
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
          { type: 'input_audio', input_audio: { data: 'SUQz', format: 'mp3' } },
          { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'doc.pdf' } },
          { type: 'file', file: { file_id: 'https://generativelanguage.googleapis.com/v1beta/files/abc' } },
          { type: 'image_url', image_url: { url: 'gs://bucket/photo.png' } },
        ],
      },
    ]);
  });

  it('maps responseMimeType + responseSchema / responseJsonSchema to response_format', () => {
    const schema = decode({
      contents: [{ parts: [{ text: 'x' }] }],
      generationConfig: { responseMimeType: 'application/json', responseSchema: { type: 'ARRAY', items: { type: 'STRING' } } },
    }).request;
    expect(schema.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema: { type: 'array', items: { type: 'string' } } } });
    const jsonSchema = decode({
      contents: [{ parts: [{ text: 'x' }] }],
      generationConfig: { responseMimeType: 'application/json', responseJsonSchema: { type: 'object', additionalProperties: false } },
    }).request;
    expect(jsonSchema.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema: { type: 'object', additionalProperties: false } } });
    const jsonMode = decode({ contents: [{ parts: [{ text: 'x' }] }], generationConfig: { responseMimeType: 'application/json' } }).request;
    expect(jsonMode.response_format).toEqual({ type: 'json_object' });
  });

  it('maps thinkingConfig and keeps the original for Gemini targets', () => {
    const budget = decode({ contents: [{ parts: [{ text: 'x' }] }], generationConfig: { thinkingConfig: { thinkingBudget: 1024, includeThoughts: true } } }).request;
    expect(budget.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
    expect(budget.gemini_thinking_config).toEqual({ thinkingBudget: 1024, includeThoughts: true });
    const off = decode({ contents: [{ parts: [{ text: 'x' }] }], generationConfig: { thinkingConfig: { thinkingBudget: 0 } } }).request;
    expect(off.thinking).toEqual({ type: 'disabled' });
    const level = decode({ contents: [{ parts: [{ text: 'x' }] }], generationConfig: { thinkingConfig: { thinkingLevel: 'LOW' } } }).request;
    expect(level.reasoning_effort).toBe('low');
  });

  it('maps function calling modes', () => {
    const modeOf = (functionCallingConfig: unknown) =>
      decode({ contents: [{ parts: [{ text: 'x' }] }], toolConfig: { functionCallingConfig } });
    expect(modeOf({ mode: 'AUTO' }).request.tool_choice).toBe('auto');
    expect(modeOf({ mode: 'NONE' }).request.tool_choice).toBe('none');
    expect(modeOf({ mode: 'ANY' }).request.tool_choice).toBe('required');
    const several = modeOf({ mode: 'ANY', allowedFunctionNames: ['a', 'b'] });
    expect(several.request.tool_choice).toBe('required');
    expect(several.warnings).toEqual([{ param: 'toolConfig.functionCallingConfig.allowedFunctionNames', message: expect.any(String) }]);
  });

  it('keeps server-side tools and safety settings for Gemini; dropGeminiOnlyFields removes them for others with warnings', () => {
    const { request, warnings } = decode({
      contents: [{ parts: [{ text: 'x' }] }],
      tools: [{ googleSearch: {} }, { functionDeclarations: [{ name: 'f', parametersJsonSchema: { type: 'object' } }] }],
      safetySettings: [{ category: 'HARM_CATEGORY_HATE_SPEECH', threshold: 'BLOCK_NONE' }],
      generationConfig: { thinkingConfig: { thinkingBudget: -1 } },
      cachedContent: 'cachedContents/abc',
    });
    expect(request.tools).toEqual([{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }]);
    expect(request.gemini_tools).toEqual([{ googleSearch: {} }]);
    expect(warnings).toEqual([{ param: 'cachedContent', message: expect.any(String) }]);
    const dropped = dropGeminiOnlyFields(request);
    expect(dropped.map((w) => w.param)).toEqual(['safetySettings', 'tools']);
    expect(request).not.toHaveProperty('gemini_safety_settings');
    expect(request).not.toHaveProperty('gemini_tools');
    expect(request).not.toHaveProperty('gemini_thinking_config');
  });

  it('warns about generationConfig fields with no equivalent', () => {
    const { warnings } = decode({ contents: [{ parts: [{ text: 'x' }] }], generationConfig: { responseModalities: ['AUDIO'], temperature: 1 } });
    expect(warnings).toEqual([{ param: 'generationConfig.responseModalities', message: expect.any(String) }]);
  });

  it('drops parts and turns it does not know, with a warning naming them', () => {
    const { request, warnings } = geminiSurfaceCodec.decodeRequest({
      contents: [{ role: 'critic', parts: [{ text: 'x' }] }, { parts: [{ text: 'hi' }, { hologram: { frames: 3 } }] }],
    }, { model: 'openai/gpt-4o' });
    expect(request.messages).toEqual([{ role: 'user', content: 'hi' }]);
    expect(warnings.map((w) => w.param)).toEqual(['contents[0].role', 'contents[1].parts[1]']);
    expect(warnings[1].message).toContain("'hologram'");
    const sometimes = geminiSurfaceCodec.decodeRequest({ contents: [{ parts: [{ text: 'x' }] }], toolConfig: { functionCallingConfig: { mode: 'SOMETIMES' } } }, { model: 'openai/gpt-4o' });
    expect(sometimes.request.tool_choice).toBe('auto');
    expect(sometimes.warnings).toEqual([{ param: 'toolConfig.functionCallingConfig.mode', message: "mode 'SOMETIMES' has no equivalent; AUTO is used." }]);
  });

  it.each([
    [null, 'contents'],
    [{ contents: [] }, 'contents'],
    [{ contents: [{ role: 'user', parts: [] }] }, 'contents[0].parts'],
    [{ contents: [{ parts: [{ text: 'x' }] }, { role: 'model', parts: [{ text: 5 }] }] }, 'contents[1].parts[0].text'],
    [{ contents: [{ parts: [{ inlineData: { data: 'AAAA' } }] }] }, 'contents[0].parts[0].inlineData.mimeType'],
    [{ contents: [{ parts: [{ functionResponse: { response: {} } }] }] }, 'contents[0].parts[0].functionResponse.name'],
    [{ contents: [{ role: 'model', parts: [{ functionCall: { name: 'f', args: [1] } }] }] }, 'contents[0].parts[0].functionCall.args'],
    [{ contents: [{ parts: [{ text: 'x' }] }], systemInstruction: 3 }, 'systemInstruction'],
    [{ contents: [{ parts: [{ text: 'x' }] }], tools: [{ functionDeclarations: [{ description: 'no name' }] }] }, 'tools[0].functionDeclarations[0].name'],
    [{ contents: [{ parts: [{ text: 'x' }] }], generationConfig: { temperature: 'hot' } }, 'generationConfig.temperature'],
    [{ contents: [{ parts: [{ text: 'x' }] }], generationConfig: { stopSequences: 'END' } }, 'generationConfig.stopSequences'],
    [{ contents: [{ parts: [{ text: 'x' }] }], safetySettings: {} }, 'safetySettings'],
  ])('rejects bad input naming the field (%#: %s)', (body, param) => {
    expect(fieldOf(body)).toBe(param);
  });
});
