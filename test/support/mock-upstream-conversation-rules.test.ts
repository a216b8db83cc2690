/**
 * The mock upstream refuses conversations the way the real APIs do, with
 * their error texts (conversation-rules.ts), and issues the signatures those
 * checks verify. Raw HTTP straight to the mock: no gateway in between.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { post } from '../integration/helpers.js';
import { SKIP_THOUGHT_SIGNATURE, thinkingSignature, thoughtSignature } from './mock-upstream/conversation-rules.js';
import { startMockUpstream, type MockUpstream } from './mock-upstream/index.js';

let mock: MockUpstream;

beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => mock.reset());

type Json = Record<string, any>;

const ANTHROPIC_HEADERS = { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' };
const tool = { name: 'get_weather', input_schema: { type: 'object', properties: { text: { type: 'string' } } } };

function messages(body: Json) {
  return post(`${mock.url}/v1/messages`, { model: 'claude-sonnet-4-5', max_tokens: 2048, ...body }, ANTHROPIC_HEADERS);
}

describe('Anthropic conversation rules', () => {
  const thinking = { type: 'enabled', budget_tokens: 1024 };

  it('issues a signed thinking block when thinking is on, and accepts it back unchanged', async () => {
    const first = await messages({ thinking, tools: [tool], messages: [{ role: 'user', content: 'rain?' }] });
    expect(first.status).toBe(200);
    const content = (first.json as Json).content;
    expect(content[0]).toEqual({ type: 'thinking', thinking: 'Thinking about: rain?', signature: thinkingSignature('Thinking about: rain?') });
    const second = await messages({
      thinking, tools: [tool],
      messages: [{ role: 'user', content: 'rain?' }, { role: 'assistant', content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: content[1].id, content: 'no' }] }],
    });
    expect(second.status).toBe(200);
  });

  it('refuses a tool_use without its tool_result, a stray tool_result, a changed signature and a missing thinking block', async () => {
    const use = { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} };
    const missing = await messages({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [use] }, { role: 'user', content: 'hello?' }] });
    expect(missing.status).toBe(400);
    expect((missing.json as Json).error).toEqual({ type: 'invalid_request_error', message: 'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. Each `tool_use` block must have a corresponding `tool_result` block in the next message.' });

    const stray = await messages({ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: 'x' }] }] });
    expect((stray.json as Json).error.message).toMatch(/^messages\.0\.content\.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9\./);

    const result = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'x' }] };
    const forged = await messages({ thinking, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 'forged' }, use] }, result] });
    expect((forged.json as Json).error.message).toBe('messages.1.content.0: Invalid `signature` in `thinking` block');

    const bare = await messages({ thinking, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }, use] }, result] });
    expect((bare.json as Json).error.message).toMatch(/^messages\.1\.content\.0\.type: Expected `thinking` or `redacted_thinking`, but found `text`\. When `thinking` is enabled, a final `assistant` message must start with a thinking block/);
    // Without thinking, the same turn is fine.
    expect((await messages({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }, use] }, result] })).status).toBe(200);
  });

  it('honours output_config.format with JSON matching the schema, and refuses an open object', async () => {
    const schema = { type: 'object', properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } }, required: ['name'], additionalProperties: false };
    const reply = await messages({ output_config: { format: { type: 'json_schema', schema } }, messages: [{ role: 'user', content: 'Ada' }] });
    expect(JSON.parse((reply.json as Json).content[0].text)).toEqual({ name: 'Ada', tags: ['Ada'] });
    const open = await messages({ output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: {} } } }, messages: [{ role: 'user', content: 'x' }] });
    expect((open.json as Json).error.message).toBe("output_config.format.schema: For 'object' type, 'additionalProperties' must be explicitly set to false");
  });
});

describe('OpenAI conversation rules', () => {
  it('refuses tool_calls without tool messages, and a tool message without tool_calls', async () => {
    const headers = { authorization: 'Bearer k' };
    const call = { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } };
    const missing = await post(`${mock.openaiBaseUrl}/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'q' }, { role: 'assistant', tool_calls: [call] }, { role: 'user', content: 'and?' }] }, headers);
    expect(missing.status).toBe(400);
    expect((missing.json as Json).error).toMatchObject({
      message: "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: call_1",
      param: 'messages.[2].role',
    });
    const stray = await post(`${mock.openaiBaseUrl}/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'q' }, { role: 'tool', tool_call_id: 'call_1', content: 'x' }] }, headers);
    expect((stray.json as Json).error.message).toMatch(/messages with role 'tool' must be a response to a preceeding message with 'tool_calls'/);
    const answered = await post(`${mock.openaiBaseUrl}/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'q' }, { role: 'assistant', tool_calls: [call] }, { role: 'tool', tool_call_id: 'call_1', content: 'x' }] }, headers);
    expect(answered.status).toBe(200);
  });
});

describe('Gemini conversation rules', () => {
  const declarations = [{ functionDeclarations: [{ name: 'get_weather', parameters: { type: 'OBJECT', properties: { text: { type: 'STRING' } } } }] }];
  const generate = (model: string, body: Json) => post(`${mock.url}/v1beta/models/${model}:generateContent`, body, { 'x-goog-api-key': 'k' });

  it('gemini-3 signs the first function call; 2.5 does not', async () => {
    const body = { contents: [{ role: 'user', parts: [{ text: 'Rome' }] }], tools: declarations };
    const three = await generate('gemini-3-pro-preview', body);
    expect((three.json as Json).candidates[0].content.parts[0]).toEqual({ functionCall: { name: 'get_weather', args: { text: 'Rome' } }, thoughtSignature: thoughtSignature('get_weather', { text: 'Rome' }) });
    const two = await generate('gemini-2.5-flash', body);
    expect((two.json as Json).candidates[0].content.parts[0].thoughtSignature).toBeUndefined();
  });

  it('refuses unequal call and response counts, and a gemini-3 call without its signature', async () => {
    const call = { functionCall: { name: 'get_weather', args: { text: 'Rome' } } };
    const response = { functionResponse: { name: 'get_weather', response: { temp: 20 } } };
    const unequal = await generate('gemini-2.5-flash', { contents: [{ role: 'user', parts: [{ text: 'Rome' }] }, { role: 'model', parts: [call, call] }, { role: 'user', parts: [response] }] });
    expect(unequal.status).toBe(400);
    expect((unequal.json as Json).error).toEqual({ code: 400, status: 'INVALID_ARGUMENT', message: 'Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.' });

    const history = (part: Json) => ({ contents: [{ role: 'user', parts: [{ text: 'Rome' }] }, { role: 'model', parts: [part] }, { role: 'user', parts: [response] }] });
    const unsigned = await generate('gemini-3-pro-preview', history(call));
    expect(unsigned.status).toBe(400);
    expect((unsigned.json as Json).error.message).toMatch(/^Function call is missing a thought_signature in functionCall parts\. This is required for tools to work correctly.*`default_api:get_weather` , position 2\./);
    expect((await generate('gemini-2.5-flash', history(call))).status).toBe(200);
    expect((await generate('gemini-3-pro-preview', history({ ...call, thoughtSignature: SKIP_THOUGHT_SIGNATURE }))).status).toBe(200);
  });
});
