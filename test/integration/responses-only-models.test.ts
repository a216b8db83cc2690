/**
 * OpenAI models served only by the Responses API (`-codex`, `-pro`), called from the chat
 * completions, Anthropic and Gemini surfaces: the gateway sends them to /v1/responses, translated,
 * where the mock (like OpenAI) refuses them on /v1/chat/completions.
 */
import Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { post, sdk } from './helpers.js';

let mock: MockUpstream;
let gateway: TestGateway;
let client: OpenAI;
let providers: Awaited<ReturnType<typeof startMockProviders>>;

beforeAll(async () => {
  providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({ env: providers.env, config: providers.config });
  client = sdk(gateway.url);
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

const MODEL = 'openai/gpt-5-codex';
const tools: OpenAI.Chat.ChatCompletionTool[] = ['lookup', 'search'].map((name) => ({
  type: 'function',
  function: { name, description: `${name} a word`, parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
}));

describe('chat completions to a Responses-only model', () => {
  it('the mock refuses it on chat completions, as OpenAI does (the premise)', async () => {
    const reply = await post(`${mock.url}/v1/chat/completions`, { model: 'gpt-5-codex', messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer sk-mock-openai' });
    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply.json)).toContain('only supported in v1/responses');
  });

  it('text: sent to /v1/responses, answered as a chat completion', async () => {
    const completion = await client.chat.completions.create({ model: MODEL, max_tokens: 50, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there' }] });
    expect(mock.requests[0].path).toBe('/v1/responses');
    expect(mock.requests[0].body).toMatchObject({
      model: 'gpt-5-codex', store: false, max_output_tokens: 50,
      input: [{ type: 'message', role: 'system', content: 'be brief' }, { type: 'message', role: 'user', content: 'hello there' }],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]).toMatchObject({ message: { role: 'assistant', content: 'echo: hello there' }, finish_reason: 'stop' });
    expect(completion.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
  });

  it('stream: the Responses events become chat chunks', async () => {
    const stream = await client.chat.completions.create({ model: MODEL, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'one two three' }] });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('echo: one two three');
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4 });
  });

  it('tools, then the tool results turn, non-stream and stream', async () => {
    const first = await client.chat.completions.create({ model: MODEL, tools, messages: [{ role: 'user', content: 'parallel please' }] });
    const calls = first.choices[0].message.tool_calls ?? [];
    expect(calls.map((call) => call.type === 'function' && [call.function.name, call.function.arguments])).toEqual([
      ['lookup', '{"text":"parallel please"}'],
      ['search', '{"text":"parallel please"}'],
    ]);
    expect(first.choices[0].finish_reason).toBe('tool_calls');

    const streamed = await client.chat.completions.create({ model: MODEL, tools, stream: true, messages: [{ role: 'user', content: 'parallel please' }] });
    const args = new Map<number, string>();
    for await (const chunk of streamed) for (const call of chunk.choices[0]?.delta.tool_calls ?? []) args.set(call.index, (args.get(call.index) ?? '') + (call.function?.arguments ?? ''));
    expect([...args.values()]).toEqual(['{"text":"parallel please"}', '{"text":"parallel please"}']);

    mock.reset();
    const second = await client.chat.completions.create({
      model: MODEL,
      tools,
      messages: [
        { role: 'user', content: 'parallel please' },
        first.choices[0].message,
        ...calls.map((call) => ({ role: 'tool' as const, tool_call_id: call.id, content: 'result' })),
      ],
    });
    expect(second.choices[0].message.content).toBe('echo: parallel please');
    const input = (mock.requests[0].body as { input: Array<Record<string, unknown>> }).input;
    expect(input.map((item) => item.type)).toEqual(['message', 'function_call', 'function_call', 'function_call_output', 'function_call_output']);
    expect(input[3]).toMatchObject({ call_id: calls[0].id, output: 'result' });
  });

  it('max_tokens: cut, finish_reason length', async () => {
    const completion = await client.chat.completions.create({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'one two three' }] });
    expect(completion.choices[0]).toMatchObject({ message: { content: 'echo: one' }, finish_reason: 'length' });
  });

  it('a chat parameter the Responses API lacks is dropped with a warning', async () => {
    const { response } = await client.chat.completions.create({ model: MODEL, stop: ['x'], messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-heimdall-warnings')).toContain("stop: The Responses API has no 'stop'")
  });

  it('a dated snapshot of a Responses-only model goes there too; other OpenAI models stay on chat completions', async () => {
    await client.chat.completions.create({ model: 'openai/o3-pro-2025-06-10', messages: [{ role: 'user', content: 'hi' }] });
    await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(mock.requests.map((request) => request.path)).toEqual(['/v1/responses', '/v1/chat/completions']);
  });
});

describe('other surfaces to a Responses-only model', () => {
  it('the Anthropic SDK, streamed', async () => {
    const anthropic = new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: 'client-key', maxRetries: 0 });
    const message = await anthropic.messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'hello there' }] }).finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: 'echo: hello there' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(mock.requests[0].path).toBe('/v1/responses');
  });

  it('the Gemini surface', async () => {
    const reply = await post(`${gateway.url}/genai/v1beta/models/${MODEL}:generateContent`, { contents: [{ role: 'user', parts: [{ text: 'hello there' }] }] }, { 'x-goog-api-key': 'client-key' });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ candidates: [{ content: { role: 'model', parts: [{ text: 'echo: hello there' }] }, finishReason: 'STOP' }] });
    expect(mock.requests[0].path).toBe('/v1/responses');
  });

  it('the Responses surface itself passes through', async () => {
    const response = await client.responses.create({ model: MODEL, input: 'hello there' });
    expect(response.id).toMatch(/^resp_mock_/);
    expect(mock.requests[0].path).toBe('/v1/responses');
  });
});

describe('the catalog decides, and the config file overrides it per model', () => {
  let overridden: TestGateway;
  beforeAll(async () => {
    const catalog = { overrides: { 'openai/gpt-4o-mini': { responses_only: true }, 'openai/o3-pro': { responses_only: false } } };
    overridden = await startGateway({ env: providers.env, config: { ...providers.config, catalog } });
  });
  afterAll(async () => {
    await overridden.close();
  });

  it('responses_only: true sends a chat model to /v1/responses; false keeps a -pro model on chat completions', async () => {
    const openai = sdk(overridden.url);
    const completion = await openai.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] });
    expect(completion.choices[0].message.content).toBe('echo: hello there');
    expect(mock.requests[0]).toMatchObject({ path: '/v1/responses', body: { model: 'gpt-4o-mini' } });
    // OpenAI (and the mock) refuse o3-pro on chat completions: the operator's override is obeyed, and the refusal comes back.
    const refused = await post(`${overridden.url}/v1/chat/completions`, { model: 'openai/o3-pro', messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer client-key' });
    expect(refused.status).toBe(400);
    expect(mock.requests[1].path).toBe('/v1/chat/completions');
  });
});
