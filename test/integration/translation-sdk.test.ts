/**
 * Today's API features across formats with the official SDKs as clients, over
 * real sockets, against a mock upstream that checks conversations the way the
 * real APIs do (test/support/mock-upstream/conversation-rules.ts): thinking
 * signatures that must come back unchanged, tool results matched to calls,
 * Gemini 3 thought signatures, structured outputs, PDFs.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI, type Content } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { thinkingSignature, thoughtSignature } from '../support/mock-upstream/conversation-rules.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { sdk } from './helpers.js';

let mock: MockUpstream;
let gateway: TestGateway;
let anthropic: Anthropic;
let openai: OpenAI;
let genai: GoogleGenAI;

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({ env: providers.env, config: providers.config });
  anthropic = new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: 'client-key', maxRetries: 0 });
  openai = sdk(gateway.url);
  genai = new GoogleGenAI({ apiKey: 'client-key', httpOptions: { baseUrl: `${gateway.url}/genai` } });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

type Json = Record<string, any>;

/** The body the mock received on the n-th call (0-based). */
function upstream(n: number): Json {
  return mock.requests[n].body as Json;
}

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather of a city',
  input_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
};

describe('Anthropic SDK, extended thinking with a tool turn', () => {
  const question = 'weather in Oslo';

  it('to Claude: the signed thinking block comes back unchanged and the mock accepts the turn', async () => {
    const params = { model: 'anthropic/claude-sonnet-4-5', max_tokens: 4096, thinking: { type: 'enabled' as const, budget_tokens: 2048 }, tools: [weatherTool] };
    const first = await anthropic.messages.create({ ...params, messages: [{ role: 'user', content: question }] });
    const thinking = first.content[0];
    expect(thinking).toEqual({ type: 'thinking', thinking: `Thinking about: ${question}`, signature: thinkingSignature(`Thinking about: ${question}`) });
    const use = first.content.find((block) => block.type === 'tool_use');
    expect(use?.name).toBe('get_weather');

    const second = await anthropic.messages.create({
      ...params,
      messages: [
        { role: 'user', content: question },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use!.id, content: '12C and rain' }] },
      ],
    });
    expect(second.content.at(-1)).toEqual({ type: 'text', text: `echo: ${question}` });
    expect(upstream(1).messages[1].content[0]).toEqual(thinking);
  });

  it('to Claude, streamed: the SDK assembles the signature from signature_delta, and it is valid on the next turn', async () => {
    const params = { model: 'anthropic/claude-sonnet-4-5', max_tokens: 4096, thinking: { type: 'enabled' as const, budget_tokens: 2048 }, tools: [weatherTool] };
    const first = await anthropic.messages.stream({ ...params, messages: [{ role: 'user', content: question }] }).finalMessage();
    expect(first.content[0]).toMatchObject({ type: 'thinking', signature: thinkingSignature(`Thinking about: ${question}`) });
    const use = first.content.find((block) => block.type === 'tool_use')!;
    const history: Anthropic.MessageParam[] = [
      { role: 'user', content: question },
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '12C' }] },
    ];
    const second = await anthropic.messages.stream({ ...params, messages: history }).finalMessage();
    expect(second.stop_reason).toBe('end_turn');
  });

  it('to Claude: a changed signature or a dropped thinking block is refused as Anthropic refuses it', async () => {
    const params = { model: 'anthropic/claude-sonnet-4-5', max_tokens: 4096, thinking: { type: 'enabled' as const, budget_tokens: 2048 }, tools: [weatherTool] };
    const first = await anthropic.messages.create({ ...params, messages: [{ role: 'user', content: question }] });
    const [thinking, use] = first.content as [Anthropic.ThinkingBlock, Anthropic.ToolUseBlock];
    const result: Anthropic.MessageParam = { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '12C' }] };
    const tampered = anthropic.messages.create({
      ...params,
      messages: [{ role: 'user', content: question }, { role: 'assistant', content: [{ ...thinking, signature: `${thinking.signature}x` }, use] }, result],
    });
    await expect(tampered).rejects.toMatchObject({ status: 400, message: expect.stringContaining('Invalid `signature` in `thinking` block') });
    const dropped = anthropic.messages.create({ ...params, messages: [{ role: 'user', content: question }, { role: 'assistant', content: [use] }, result] });
    await expect(dropped).rejects.toMatchObject({ status: 400, message: expect.stringContaining('Expected `thinking` or `redacted_thinking`, but found `tool_use`') });
  });

  it('to an OpenAI reasoning model: thinking becomes reasoning_effort and the tool result answers the call', async () => {
    const params = { model: 'openai/gpt-5-mini', max_tokens: 4096, thinking: { type: 'enabled' as const, budget_tokens: 4096 }, tools: [weatherTool] };
    const first = await anthropic.messages.create({ ...params, messages: [{ role: 'user', content: question }] });
    expect(upstream(0).reasoning_effort).toBe('medium');
    expect(upstream(0).thinking).toBeUndefined();
    const use = first.content.find((block) => block.type === 'tool_use')!;
    const second = await anthropic.messages.create({
      ...params,
      messages: [
        { role: 'user', content: question },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '12C' }] },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: `echo: ${question}` }]);
    expect(upstream(1).messages.slice(1)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: use.id, type: 'function', function: { name: 'get_weather', arguments: JSON.stringify({ text: question }) } }] },
      { role: 'tool', tool_call_id: use.id, content: '12C' },
    ]);
  });

  it('output_config.effort to an OpenAI reasoning model becomes reasoning_effort', async () => {
    await anthropic.messages.create({ model: 'openai/gpt-5-mini', max_tokens: 1000, output_config: { effort: 'high' }, messages: [{ role: 'user', content: 'hi' }] });
    expect(upstream(0).reasoning_effort).toBe('high');
    expect(upstream(0).output_config).toBeUndefined();
  });
});

describe('thinking across a tool turn from other formats to Claude', () => {
  const question = 'weather in Oslo';

  it('OpenAI SDK: reasoning_effort turns thinking on; the assistant message sent back as received keeps the signed block', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { text: { type: 'string' } } } } }];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: question }];
    const first = await openai.chat.completions.create({ model: 'anthropic/claude-sonnet-4-5', messages, tools, reasoning_effort: 'low' });
    expect(upstream(0).thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    const message = first.choices[0].message as OpenAI.ChatCompletionMessage & Json;
    const thinking = `Thinking about: ${question}`;
    expect(message.reasoning_content).toBe(thinking);
    expect(message.thinking_blocks).toEqual([{ type: 'thinking', thinking, signature: thinkingSignature(thinking) }]);
    messages.push(message, { role: 'tool', tool_call_id: message.tool_calls![0].id, content: '12C' });
    const second = await openai.chat.completions.create({ model: 'anthropic/claude-sonnet-4-5', messages, tools, reasoning_effort: 'low' });
    expect(second.choices[0].message.content).toBe(`echo: ${question}`);
    expect(upstream(1).messages[1].content[0]).toEqual({ type: 'thinking', thinking, signature: thinkingSignature(thinking) });
  });

  it('Gemini SDK: thinkingConfig turns thinking on; the thought part sent back carries the signature Claude checks', async () => {
    const config = {
      thinkingConfig: { thinkingBudget: 2048, includeThoughts: true },
      tools: [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: { type: 'object', properties: { text: { type: 'string' } } } }] }],
    };
    const contents: Content[] = [{ role: 'user', parts: [{ text: question }] }];
    const first = await genai.models.generateContent({ model: 'anthropic/claude-sonnet-4-5', contents, config });
    expect(upstream(0).thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    const turn = first.candidates![0].content!;
    expect(turn.parts![0]).toMatchObject({ thought: true, text: `Thinking about: ${question}` });
    contents.push(turn, { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temp: 12 } } }] });
    const second = await genai.models.generateContent({ model: 'anthropic/claude-sonnet-4-5', contents, config });
    expect(second.text).toBe(`echo: ${question}`);
  });
});

describe('OpenAI SDK, structured output to Claude', () => {
  it('response_format json_schema becomes output_config.format and the answer parses against the schema', async () => {
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' }, temperature: { type: 'number' }, rainy: { type: 'boolean' } },
      required: ['city', 'temperature', 'rainy'],
      additionalProperties: false,
    };
    const { data, response } = await openai.chat.completions.create({
      model: 'anthropic/claude-sonnet-4-5',
      messages: [{ role: 'user', content: 'Oslo today' }],
      response_format: { type: 'json_schema', json_schema: { name: 'weather', strict: true, schema } },
    }).withResponse();
    expect(JSON.parse(data.choices[0].message.content ?? '')).toEqual({ city: 'Oslo today', temperature: 1, rainy: true });
    expect(upstream(0).output_config).toEqual({ format: { type: 'json_schema', schema } });
    expect(upstream(0).response_format).toBeUndefined();
    expect(response.headers.get('x-heimdall-warnings')).toBeNull();
  });

  it('a schema Anthropic would refuse (an open object) is closed on the way, and the call succeeds', async () => {
    const completion = await openai.chat.completions.create({
      model: 'anthropic/claude-sonnet-4-5',
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'item', schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } } },
    });
    expect(JSON.parse(completion.choices[0].message.content ?? '')).toEqual({ name: 'x' });
    expect(upstream(0).output_config.format.schema.additionalProperties).toBe(false);
  });
});

describe('Gemini 3 thought signatures across a tool round trip', () => {
  const tools: OpenAI.ChatCompletionTool[] = [{
    type: 'function',
    function: { name: 'get_weather', parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
  }];

  it('OpenAI SDK -> gemini-3: the signature rides on the tool call and goes back on the functionCall part', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'weather in Rome' }];
    const first = await openai.chat.completions.create({ model: 'gemini/gemini-3-pro-preview', messages, tools });
    const message = first.choices[0].message;
    const call = message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall & { extra_content?: Json };
    const signature = thoughtSignature('get_weather', { text: 'weather in Rome' });
    expect(call.extra_content).toEqual({ google: { thought_signature: signature } });

    messages.push(message, { role: 'tool', tool_call_id: call.id, content: '{"temp":21}' });
    const second = await openai.chat.completions.create({ model: 'gemini/gemini-3-pro-preview', messages, tools });
    expect(second.choices[0].message.content).toBe('echo: weather in Rome');
    expect(upstream(1).contents[1].parts).toEqual([{ functionCall: { name: 'get_weather', args: { text: 'weather in Rome' } }, thoughtSignature: signature }]);
  });

  it('OpenAI SDK -> gemini-3, streamed: the signature comes with the tool call delta', async () => {
    const stream = await openai.chat.completions.create({ model: 'gemini/gemini-3-pro-preview', messages: [{ role: 'user', content: 'weather in Rome' }], tools, stream: true });
    const calls: Json[] = [];
    for await (const chunk of stream) calls.push(...((chunk.choices[0]?.delta.tool_calls ?? []) as Json[]));
    expect(calls.map((call) => call.extra_content)).toEqual([{ google: { thought_signature: thoughtSignature('get_weather', { text: 'weather in Rome' }) } }]);
  });

  it('Gemini SDK -> gemini-3: the SDK sends the model turn back with its signature and the mock accepts it', async () => {
    const config = { tools: [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: { type: 'object', properties: { text: { type: 'string' } } } }] }] };
    const contents: Content[] = [{ role: 'user', parts: [{ text: 'weather in Rome' }] }];
    const first = await genai.models.generateContent({ model: 'gemini/gemini-3-pro-preview', contents, config });
    const turn = first.candidates![0].content!;
    expect(turn.parts![0].thoughtSignature).toBe(thoughtSignature('get_weather', { text: 'weather in Rome' }));
    contents.push(turn, { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temp: 21 } } }] });
    const second = await genai.models.generateContent({ model: 'gemini/gemini-3-pro-preview', contents, config });
    expect(second.text).toBe('echo: weather in Rome');
  });

  it('Gemini SDK -> Claude: the tool turn reaches Anthropic with its tool_result and the answer comes back', async () => {
    const config = { tools: [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: { type: 'object', properties: { text: { type: 'string' } } } }] }] };
    const contents: Content[] = [{ role: 'user', parts: [{ text: 'weather in Rome' }] }];
    const first = await genai.models.generateContent({ model: 'anthropic/claude-sonnet-4-5', contents, config });
    contents.push(first.candidates![0].content!, { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temp: 21 } } }] });
    const second = await genai.models.generateContent({ model: 'anthropic/claude-sonnet-4-5', contents, config });
    expect(second.text).toBe('echo: weather in Rome');
  });
});

describe('a PDF document to every provider', () => {
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n').toString('base64');

  it.each([
    ['openai/gpt-4o-mini', (body: Json) => body.messages[0].content[0], { type: 'file', file: { filename: 'report.pdf', file_data: `data:application/pdf;base64,${pdf}` } }],
    ['anthropic/claude-sonnet-4-5', (body: Json) => body.messages[0].content[0], { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf }, title: 'report.pdf' }],
    ['gemini/gemini-2.5-flash', (body: Json) => body.contents[0].parts[0], { inlineData: { mimeType: 'application/pdf', data: pdf } }],
    ['bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0', (body: Json) => body.messages[0].content[0].document, expect.objectContaining({ format: 'pdf', source: { bytes: pdf } })],
  ] as const)('OpenAI SDK file part -> %s', async (model, pick, expected) => {
    const completion = await openai.chat.completions.create({
      model,
      messages: [{ role: 'user', content: [{ type: 'file', file: { filename: 'report.pdf', file_data: `data:application/pdf;base64,${pdf}` } }, { type: 'text', text: 'summarise' }] }],
    });
    expect(completion.choices[0].message.content).toBe('echo: summarise');
    expect(pick(upstream(0))).toEqual(expected);
  });

  it.each([
    ['openai/gpt-4o-mini', (body: Json) => body.messages[0].content[0], { type: 'file', file: { filename: 'report.pdf', file_data: `data:application/pdf;base64,${pdf}` } }],
    ['gemini/gemini-2.5-flash', (body: Json) => body.contents[0].parts[0], { inlineData: { mimeType: 'application/pdf', data: pdf } }],
  ] as const)('Anthropic SDK document block -> %s', async (model, pick, expected) => {
    const message = await anthropic.messages.create({
      model,
      max_tokens: 100,
      messages: [{ role: 'user', content: [{ type: 'document', title: 'report.pdf', source: { type: 'base64', media_type: 'application/pdf', data: pdf } }, { type: 'text', text: 'summarise' }] }],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'echo: summarise' }]);
    expect(pick(upstream(0))).toEqual(expected);
  });
});
