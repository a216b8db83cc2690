/**
 * POST /v1/chat/completions over real sockets: the official SDK against the
 * gateway against the mock upstream. Content, usage and tool calls are the
 * mock's deterministic replies (test/support/mock-upstream/openai.ts).
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MOCK_CREATED, splitWords, startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post, sdk, sseEvents, UUID } from './helpers.js';

const KEY = 'sk-test-chat-key-123456';
let mock: MockUpstream;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startGateway({ env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: mock.openaiBaseUrl } });
  client = sdk(gateway.url);
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'be brief' },
  { role: 'user', content: 'hello there world' },
];

const weather: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};
const time: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_time', parameters: { type: 'object', properties: {} } },
};

describe('chat completions, non-stream', () => {
  it('returns the upstream completion unchanged, with the gateway headers', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages }).withResponse();
    expect({ ...data }).toEqual({
      id: 'chatcmpl-mock-1',
      object: 'chat.completion',
      created: MOCK_CREATED,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'echo: hello there world', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
      system_fingerprint: 'fp_mock',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-request-id')).toMatch(UUID);
    expect(response.headers.get('x-heimdall-provider')).toBe('openai');
    expect(response.headers.get('x-heimdall-model')).toBe('gpt-4o-mini');
    expect(response.headers.get('x-heimdall-attempts')).toBe('1');

    const upstream = mock.requests[0];
    expect(upstream.path).toBe('/v1/chat/completions');
    expect(upstream.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(upstream.body).toEqual({ model: 'gpt-4o-mini', messages });
  });

  it('echoes a client x-request-id, and sends it upstream', async () => {
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages }, { 'x-request-id': 'my-trace-42' });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-request-id']).toBe('my-trace-42');
    expect(mock.requests[0].headers['x-request-id']).toBe('my-trace-42');
  });

  it('generates a fresh x-request-id per request when none is sent', async () => {
    const first = await post(`${gateway.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages });
    const second = await post(`${gateway.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages });
    expect(first.headers['x-request-id']).toMatch(UUID);
    expect(second.headers['x-request-id']).toMatch(UUID);
    expect(second.headers['x-request-id']).not.toBe(first.headers['x-request-id']);
    expect(mock.requests.map((r) => r.headers['x-request-id'])).toEqual([first.headers['x-request-id'], second.headers['x-request-id']]);
  });

  it('returns n identical choices and the usage for all of them', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, n: 3 });
    expect(completion.choices.map((c) => [c.index, c.message.content])).toEqual([
      [0, 'echo: hello there world'],
      [1, 'echo: hello there world'],
      [2, 'echo: hello there world'],
    ]);
    expect(completion.usage).toEqual({ prompt_tokens: 5, completion_tokens: 12, total_tokens: 17 });
  });
});

describe('chat completions, stream', () => {
  it('assembles exactly the upstream content through the SDK', async () => {
    const stream = await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages, stream: true });
    const pieces: string[] = [];
    const finishes: Array<string | null> = [];
    let usageSeen = false;
    for await (const chunk of stream) {
      expect(chunk.id).toBe('chatcmpl-mock-1');
      expect(chunk.model).toBe('gpt-4o-mini');
      if (chunk.usage) usageSeen = true;
      for (const choice of chunk.choices) {
        if (choice.delta.content) pieces.push(choice.delta.content);
        finishes.push(choice.finish_reason);
      }
    }
    expect(pieces).toEqual(splitWords('echo: hello there world'));
    expect(pieces.join('')).toBe('echo: hello there world');
    expect(finishes.at(-1)).toBe('stop');
    expect(usageSeen).toBe(false);
  });

  it('sends the usage chunk when stream_options.include_usage is set', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const usages: unknown[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usages.push({ choices: chunk.choices, usage: chunk.usage });
    }
    expect(text).toBe('echo: hello there world');
    expect(usages).toEqual([{ choices: [], usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } }]);
  });

  it.each([
    ['without include_usage', {}],
    ['with include_usage', { stream_options: { include_usage: true } }],
  ])('forwards the upstream bytes as they are (%s)', async (_name, extra) => {
    const body = { model: 'gpt-4o-mini', messages, stream: true, ...extra };
    const direct = await post(`${mock.url}/v1/chat/completions`, body, { authorization: `Bearer ${KEY}` });
    mock.reset(); // the same completion id again
    const reply = await post(`${gateway.url}/v1/chat/completions`, body);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(reply.headers['cache-control']).toBe('no-cache');
    expect(reply.headers['x-heimdall-provider']).toBe('openai');
    expect(reply.headers['x-request-id']).toMatch(UUID);
    expect(reply.text).toBe(direct.text);
    const events = sseEvents(reply.text);
    expect(events.at(-1)).toEqual({ data: '[DONE]' });
  });
});

describe('tools', () => {
  it('returns one tool call, non-stream', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'weather in Paris' }],
      tools: [weather, time],
    });
    expect(completion.choices[0].finish_reason).toBe('tool_calls');
    expect(completion.choices[0].message.content).toBeNull();
    expect(completion.choices[0].message.tool_calls).toEqual([
      { id: 'call_mock_0', type: 'function', function: { name: 'get_weather', arguments: '{"text":"weather in Paris"}' } },
    ]);
    expect(completion.usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
  });

  it('returns parallel tool calls, non-stream, and honours a named tool_choice', async () => {
    const parallel = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'parallel please' }],
      tools: [weather, time],
    });
    expect(parallel.choices[0].message.tool_calls).toEqual([
      { id: 'call_mock_0', type: 'function', function: { name: 'get_weather', arguments: '{"text":"parallel please"}' } },
      { id: 'call_mock_1', type: 'function', function: { name: 'get_time', arguments: '{"text":"parallel please"}' } },
    ]);
    const named = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'parallel please' }],
      tools: [weather, time],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    expect(named.choices[0].message.tool_calls).toEqual([
      { id: 'call_mock_0', type: 'function', function: { name: 'get_time', arguments: '{"text":"parallel please"}' } },
    ]);
  });

  it('assembles parallel tool calls exactly from the stream', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'parallel "quoted" call' }],
      tools: [weather, time],
      stream: true,
    });
    const calls: Array<{ id: string; name: string; arguments: string }> = [];
    let argumentDeltas = 0;
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice === undefined) continue;
      finish = choice.finish_reason ?? finish;
      for (const delta of choice.delta.tool_calls ?? []) {
        calls[delta.index] ??= { id: '', name: '', arguments: '' };
        const call = calls[delta.index];
        if (delta.id) call.id = delta.id;
        if (delta.function?.name) call.name += delta.function.name;
        if (delta.function?.arguments) {
          call.arguments += delta.function.arguments;
          argumentDeltas++;
        }
      }
    }
    const args = JSON.stringify({ text: 'parallel "quoted" call' });
    expect(calls).toEqual([
      { id: 'call_mock_0', name: 'get_weather', arguments: args },
      { id: 'call_mock_1', name: 'get_time', arguments: args },
    ]);
    expect(JSON.parse(calls[0].arguments)).toEqual({ text: 'parallel "quoted" call' });
    expect(argumentDeltas).toBe(6); // three pieces per call: forwarded event by event, not merged
    expect(finish).toBe('tool_calls');
  });

  it('gives the same final message through the SDK stream helper', async () => {
    const runner = client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'what time is it' }],
      tools: [weather, time],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0].message.tool_calls).toEqual([
      { id: 'call_mock_0', type: 'function', function: { name: 'get_time', arguments: '{"text":"what time is it"}' } },
    ]);
    expect(final.choices[0].finish_reason).toBe('tool_calls');
  });
});

describe('parameters pass through untouched', () => {
  const everything = {
    model: 'openai/gpt-4o-mini',
    messages: [
      { role: 'developer', content: 'answer in JSON' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is in this image?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } },
        ],
      },
    ],
    tools: [weather, time],
    tool_choice: 'auto',
    parallel_tool_calls: false,
    response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { a: { type: 'string' } } }, strict: true } },
    logprobs: true,
    top_logprobs: 2,
    n: 2,
    seed: 42,
    stop: ['\n\n', 'END'],
    temperature: 0.25,
    top_p: 0.9,
    max_completion_tokens: 77,
    presence_penalty: 0.5,
    frequency_penalty: -0.5,
    logit_bias: { '50256': -100 },
    user: 'user-1',
    metadata: { team: 'a' },
    store: false,
    service_tier: 'auto',
    prediction: { type: 'content', content: 'x' },
    modalities: ['text'],
    some_future_field: { nested: [1, 'two', null, true], 'ünïcödé': '✓' },
    fallbacks: ['openai/gpt-4o'],
  };

  it.each([
    ['non-stream', {}],
    ['stream', { stream: true, stream_options: { include_usage: true } }],
  ])('%s: the mock receives the same JSON, only model rewritten and fallbacks removed', async (_name, extra) => {
    const sent = { ...everything, ...extra };
    const reply = await post(`${gateway.url}/v1/chat/completions`, sent);
    expect(reply.status).toBe(200);
    const { fallbacks: _fallbacks, ...expected } = { ...sent, model: 'gpt-4o-mini' };
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0].body).toEqual(expected);
    expect(Object.keys(mock.requests[0].body as object)).toEqual(Object.keys(expected));
  });

  it('passes the same parameters from the SDK', async () => {
    const params: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      response_format: { type: 'json_object' },
      seed: 7,
      stop: 'END',
      logprobs: true,
    };
    await client.chat.completions.create(params);
    expect(mock.requests[0].body).toEqual(params);
  });
});

describe('model resolution', () => {
  it('routes a bare model name and openai/<model> to the same upstream model', async () => {
    const bare = await client.chat.completions.create({ model: 'gpt-4o', messages }).withResponse();
    const prefixed = await client.chat.completions.create({ model: 'openai/gpt-4o', messages }).withResponse();
    expect(mock.requests.map((r) => (r.body as { model: string }).model)).toEqual(['gpt-4o', 'gpt-4o']);
    for (const { data, response } of [bare, prefixed]) {
      expect(data.model).toBe('gpt-4o');
      expect(response.headers.get('x-heimdall-provider')).toBe('openai');
      expect(response.headers.get('x-heimdall-model')).toBe('gpt-4o');
    }
  });

  it('sends an unlisted bare model to the only enabled provider', async () => {
    const completion = await client.chat.completions.create({ model: 'my-fine-tune', messages });
    expect(completion.model).toBe('my-fine-tune');
    expect((mock.requests[0].body as { model: string }).model).toBe('my-fine-tune');
  });

  it('applies aliases and the default provider from the config file', async () => {
    const other = await startMockUpstream({ models: ['llama-local'] });
    const configured = await startGateway({
      config: {
        providers: {
          openai: { api_key: KEY, base_url: mock.openaiBaseUrl },
          local: { type: 'openai-compatible', base_url: other.openaiBaseUrl, models: ['llama-local'] },
        },
        routing: { default_provider: 'local', aliases: { fast: 'openai/gpt-4o-mini', house: 'local/llama-local' } },
      },
    });
    try {
      const c = sdk(configured.url);
      const viaAlias = await c.chat.completions.create({ model: 'fast', messages }).withResponse();
      expect(viaAlias.data.choices[0].message.content).toBe('echo: hello there world');
      expect(viaAlias.response.headers.get('x-heimdall-provider')).toBe('openai');
      expect(viaAlias.response.headers.get('x-heimdall-model')).toBe('gpt-4o-mini');
      expect((mock.requests[0].body as { model: string }).model).toBe('gpt-4o-mini');

      const viaAlias2 = await c.chat.completions.create({ model: 'house', messages }).withResponse();
      expect(viaAlias2.response.headers.get('x-heimdall-provider')).toBe('local');
      const listed = await c.chat.completions.create({ model: 'llama-local', messages }).withResponse();
      expect(listed.response.headers.get('x-heimdall-provider')).toBe('local');
      const unlisted = await c.chat.completions.create({ model: 'some-model', messages }).withResponse();
      expect(unlisted.response.headers.get('x-heimdall-provider')).toBe('local');
      const known = await c.chat.completions.create({ model: 'gpt-4o', messages }).withResponse();
      expect(known.response.headers.get('x-heimdall-provider')).toBe('openai');

      expect(other.requests.map((r) => (r.body as { model: string }).model)).toEqual(['llama-local', 'llama-local', 'some-model']);
      expect(other.requests[0].headers.authorization).toBeUndefined(); // a keyless custom server
      expect(mock.requests.map((r) => (r.body as { model: string }).model)).toEqual(['gpt-4o-mini', 'gpt-4o']);
    } finally {
      await configured.close();
      await other.close();
    }
  });

  it('uses routing.default_model when the body names no model', async () => {
    const configured = await startGateway({
      env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: mock.openaiBaseUrl },
      config: { routing: { default_model: 'openai/gpt-4.1-mini' } },
    });
    try {
      const reply = await post(`${configured.url}/v1/chat/completions`, { messages });
      expect(reply.status).toBe(200);
      expect((reply.json as { model: string }).model).toBe('gpt-4.1-mini');
    } finally {
      await configured.close();
    }
  });
});
