import OpenAI from 'openai';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from '../../src/gateway/sse.js';
import {
  float32Base64,
  mockEmbedding,
  MOCK_CREATED,
  splitWords,
  startMockUpstream,
  type MockUpstream,
} from './mock-upstream/index.js';

let mock: MockUpstream;

beforeEach(async () => {
  mock = await startMockUpstream();
});

afterEach(async () => {
  await mock.close();
});

const sdk = (apiKey = 'test-key'): OpenAI => new OpenAI({ apiKey, baseURL: mock.openaiBaseUrl, maxRetries: 0 });

async function postJson(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await request(`${mock.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

function sseEvents(text: string): SseEvent[] {
  const parser = new SseParser();
  return [...parser.push(text), ...parser.end()];
}

const chatBody = { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there world' }] };

describe('mock upstream: OpenAI chat completions', () => {
  it('echoes the last user message with word-count usage and records the request', async () => {
    const reply = await postJson('/v1/chat/completions?trace=1', chatBody, { authorization: 'Bearer sk-test' });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(JSON.parse(reply.text)).toEqual({
      id: 'chatcmpl-mock-1',
      object: 'chat.completion',
      created: MOCK_CREATED,
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'echo: hello there world', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
      system_fingerprint: 'fp_mock',
    });
    expect(mock.requests).toHaveLength(1);
    const recorded = mock.requests[0];
    expect(recorded.method).toBe('POST');
    expect(recorded.path).toBe('/v1/chat/completions');
    expect(recorded.query.get('trace')).toBe('1');
    expect(recorded.headers.authorization).toBe('Bearer sk-test');
    expect(recorded.body).toEqual(chatBody);
    expect(recorded.rawBody.toString()).toBe(JSON.stringify(chatBody));
    expect(recorded.aborted).toBe(false);
    expect(recorded.behavior).toBeUndefined();
  });

  it('joins text parts, honours n and counts ids up', async () => {
    const body = { model: 'm', n: 2, messages: [{ role: 'user', content: [{ type: 'text', text: 'a b' }, { type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: 'c' }] }] };
    await postJson('/v1/chat/completions', body);
    const reply = JSON.parse((await postJson('/v1/chat/completions', body)).text);
    expect(reply.id).toBe('chatcmpl-mock-2');
    expect(reply.choices.map((c: { index: number; message: { content: string } }) => [c.index, c.message.content])).toEqual([
      [0, 'echo: a b c'],
      [1, 'echo: a b c'],
    ]);
    expect(reply.usage).toEqual({ prompt_tokens: 3, completion_tokens: 8, total_tokens: 11 });
  });

  it('streams one word per chunk, then finish, usage and [DONE]', async () => {
    const reply = await postJson('/v1/chat/completions', { ...chatBody, stream: true, stream_options: { include_usage: true } });
    expect(reply.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const events = sseEvents(reply.text);
    expect(events.at(-1)).toEqual({ data: '[DONE]' });
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.data));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta ?? null)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'echo:' },
      { content: ' hello' },
      { content: ' there' },
      { content: ' world' },
      {},
      null,
    ]);
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason ?? null)).toEqual([null, null, null, null, null, 'stop', null]);
    expect(chunks.every((chunk) => chunk.id === 'chatcmpl-mock-1' && chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[6]).toMatchObject({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } });
    expect(chunks[0].usage).toBeNull();
  });

  it('works with the openai SDK, plain and streamed', async () => {
    const client = sdk();
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi  you ' }] });
    expect(completion.choices[0].message.content).toBe('echo: hi  you ');
    expect(completion.usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });

    const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'one two three' }] });
    let content = '';
    const finishReasons: Array<string | null> = [];
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      finishReasons.push(chunk.choices[0]?.finish_reason ?? null);
    }
    expect(content).toBe('echo: one two three');
    expect(finishReasons).toEqual([null, null, null, null, null, 'stop']);
    expect(splitWords('echo: one two three')).toEqual(['echo:', ' one', ' two', ' three']);
  });

  it('calls tools: first tool, named tool_choice, two in parallel, none', async () => {
    const client = sdk();
    const tools = ['get_weather', 'get_time', 'get_news'].map((name) => ({ type: 'function' as const, function: { name, parameters: { type: 'object' } } }));
    const one = await client.chat.completions.create({ model: 'm', tools, messages: [{ role: 'user', content: 'weather in Oslo' }] });
    expect(one.choices[0].finish_reason).toBe('tool_calls');
    expect(one.choices[0].message.content).toBeNull();
    expect(one.choices[0].message.tool_calls).toEqual([
      { id: 'call_mock_0', type: 'function', function: { name: 'get_weather', arguments: '{"text":"weather in Oslo"}' } },
    ]);
    expect(one.usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });

    const named = await client.chat.completions.create({ model: 'm', tools, tool_choice: { type: 'function', function: { name: 'get_news' } }, messages: [{ role: 'user', content: 'parallel x' }] });
    expect(named.choices[0].message.tool_calls?.map((call) => call.type === 'function' && call.function.name)).toEqual(['get_news']);

    const parallel = await client.chat.completions.create({ model: 'm', tools, messages: [{ role: 'user', content: 'do parallel' }] });
    expect(parallel.choices[0].message.tool_calls?.map((call) => [call.id, call.type === 'function' && call.function.name])).toEqual([
      ['call_mock_0', 'get_weather'],
      ['call_mock_1', 'get_time'],
    ]);
    expect(parallel.usage?.completion_tokens).toBe(10);

    const none = await client.chat.completions.create({ model: 'm', tools, tool_choice: 'none', messages: [{ role: 'user', content: 'x' }] });
    expect(none.choices[0].message.content).toBe('echo: x');
  });

  it('streams tool calls as name first, then arguments in three pieces', async () => {
    const tools = [{ type: 'function', function: { name: 'a' } }, { type: 'function', function: { name: 'b' } }];
    const reply = await postJson('/v1/chat/completions', { model: 'm', stream: true, tools, messages: [{ role: 'user', content: 'parallel please' }] });
    const chunks = sseEvents(reply.text).slice(0, -1).map((event) => JSON.parse(event.data));
    const deltas = chunks.map((chunk) => chunk.choices[0].delta);
    expect(deltas[1]).toEqual({ tool_calls: [{ index: 0, id: 'call_mock_0', type: 'function', function: { name: 'a', arguments: '' } }] });
    expect(deltas[5]).toEqual({ tool_calls: [{ index: 1, id: 'call_mock_1', type: 'function', function: { name: 'b', arguments: '' } }] });
    const args = (index: number) =>
      deltas.flatMap((d) => d.tool_calls ?? []).filter((t: { index: number }) => t.index === index).map((t: { function: { arguments: string } }) => t.function.arguments);
    expect(args(0)).toHaveLength(4);
    expect(args(0).join('')).toBe('{"text":"parallel please"}');
    expect(args(1).join('')).toBe('{"text":"parallel please"}');
    expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
  });

  it('rejects Bearer bad-key with 401 invalid_api_key and a body without messages with 400', async () => {
    const error = await sdk('bad-key').chat.completions.create({ model: 'm', messages: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
    const reply = await postJson('/v1/chat/completions', { model: 'm' });
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text)).toEqual({ error: { message: "Missing required parameter: 'messages'.", type: 'invalid_request_error', param: 'messages', code: null } });
  });
});

describe('mock upstream: other OpenAI routes', () => {
  it('answers legacy completions, plain and streamed', async () => {
    const plain = JSON.parse((await postJson('/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'say this' })).text);
    expect(plain).toEqual({
      id: 'cmpl-mock-1',
      object: 'text_completion',
      created: MOCK_CREATED,
      model: 'gpt-3.5-turbo-instruct',
      choices: [{ text: 'echo: say this', index: 0, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 },
    });
    const streamed = await postJson('/v1/completions', { model: 'x', prompt: 'say this', stream: true });
    const events = sseEvents(streamed.text);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const choices = events.slice(0, -1).map((event) => JSON.parse(event.data).choices[0]);
    expect(choices.map((c) => c.text)).toEqual(['echo:', ' say', ' this', '']);
    expect(choices.map((c) => c.finish_reason)).toEqual([null, null, null, 'stop']);
  });

  it('embeds deterministically, as floats and as base64 the SDK decodes', async () => {
    const client = sdk();
    const decoded = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'bye'] });
    expect(mock.requests[0].body).toMatchObject({ encoding_format: 'base64' });
    expect(decoded.data.map((d) => d.embedding)).toEqual([mockEmbedding('hello world'), mockEmbedding('bye')]);
    expect(decoded.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });

    const floats = await client.embeddings.create({ model: 'e', input: 'hello world', encoding_format: 'float', dimensions: 4 });
    expect(floats.data).toEqual([{ object: 'embedding', index: 0, embedding: mockEmbedding('hello world', 4) }]);
    expect(floats.data[0].embedding).toEqual(mockEmbedding('hello world').slice(0, 4));
    expect(mockEmbedding('hello world')).not.toEqual(mockEmbedding('hello world!'));
    expect(mockEmbedding('a').every((value) => value >= -1 && value < 1)).toBe(true);

    const raw = JSON.parse((await postJson('/v1/embeddings', { model: 'e', input: 'bye', encoding_format: 'base64' })).text);
    expect(raw.data[0].embedding).toBe(float32Base64(mockEmbedding('bye')));
    expect(raw.data[0].embedding).toHaveLength(44); // 8 floats * 4 bytes = 32 bytes of base64
  });

  it('lists and retrieves models, 404 for an unknown one', async () => {
    await mock.close();
    mock = await startMockUpstream({ models: ['alpha', 'org/beta'] });
    const client = sdk();
    const list = await client.models.list();
    expect(list.data).toEqual([
      { id: 'alpha', object: 'model', created: 0, owned_by: 'mock' },
      { id: 'org/beta', object: 'model', created: 0, owned_by: 'mock' },
    ]);
    expect(await client.models.retrieve('org/beta')).toEqual({ id: 'org/beta', object: 'model', created: 0, owned_by: 'mock' });
    const error = await client.models.retrieve('gamma').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  });

  it('answers the Responses API, plain and streamed', async () => {
    const client = sdk();
    const response = await client.responses.create({ model: 'gpt-4o', instructions: 'be nice', input: 'tell me' });
    expect(response).toMatchObject({
      id: 'resp_mock_1',
      object: 'response',
      status: 'completed',
      model: 'gpt-4o',
      output: [{ id: 'msg_mock_1', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'echo: tell me' }] }],
      usage: { input_tokens: 4, output_tokens: 3, total_tokens: 7 },
    });
    expect(response.output_text).toBe('echo: tell me');

    const stream = await client.responses.create({
      model: 'gpt-4o',
      stream: true,
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'a b' }] }],
    });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    expect(text).toBe('echo: a b');
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
  });

  it('answers an unknown path with a 404 OpenAI error', async () => {
    const reply = await postJson('/v2/nothing', {});
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.text)).toEqual({ error: { message: 'Invalid URL (POST /v2/nothing)', type: 'invalid_request_error', param: null, code: null } });
  });

  it('answers 500 when a route handler throws', async () => {
    mock.route('GET', /^\/broken$/, () => {
      throw new Error('kaput');
    });
    const reply = await request(`${mock.url}/broken`);
    expect(reply.statusCode).toBe(500);
    expect(await reply.body.json()).toEqual({ error: { message: 'mock upstream handler failed: kaput', type: 'server_error', param: null, code: null } });
  });

  it('takes extra routes, newest first', async () => {
    mock.route('GET', /^\/custom\/(\w+)$/, (context) => context.json(201, { got: context.match[1] }));
    mock.route('POST', /^\/v1\/chat\/completions$/, (context) => context.raw(200, { 'content-type': 'text/plain' }, 'overridden'));
    const custom = await request(`${mock.url}/custom/abc`);
    expect(custom.statusCode).toBe(201);
    expect(await custom.body.json()).toEqual({ got: 'abc' });
    expect((await postJson('/v1/chat/completions', chatBody)).text).toBe('overridden');
  });
});

describe('mock upstream: behaviours', () => {
  it('error: default OpenAI body per status, headers such as retry-after, custom body', async () => {
    mock.enqueue({ kind: 'error', status: 429, headers: { 'Retry-After': '2' } });
    mock.enqueue({ kind: 'error', status: 503, body: { error: { message: 'overloaded' } } });
    const limited = await postJson('/v1/chat/completions', chatBody);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('2');
    expect(JSON.parse(limited.text)).toEqual({ error: { message: 'Mock upstream error (HTTP 429)', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
    const unavailable = await postJson('/v1/chat/completions', chatBody);
    expect([unavailable.status, JSON.parse(unavailable.text)]).toEqual([503, { error: { message: 'overloaded' } }]);
    expect((await postJson('/v1/chat/completions', chatBody)).status).toBe(200);
    expect(mock.requests.map((r) => r.behavior?.kind)).toEqual(['error', 'error', undefined]);
  });

  it('enqueue: FIFO, path filters (string and RegExp) and times', async () => {
    mock.enqueue({ kind: 'respond', body: { n: 1 } }, { path: '/v1/embeddings' });
    mock.enqueue({ kind: 'respond', body: { n: 2 }, status: 202 }, { path: /completions$/, times: 2 });
    mock.enqueue({ kind: 'respond', body: { n: 3 } });
    const chat1 = await postJson('/v1/chat/completions', chatBody);
    expect([chat1.status, JSON.parse(chat1.text)]).toEqual([202, { n: 2 }]);
    expect(JSON.parse((await postJson('/v1/embeddings', {})).text)).toEqual({ n: 1 });
    expect(JSON.parse((await postJson('/v1/completions', {})).text)).toEqual({ n: 2 });
    expect(JSON.parse((await postJson('/v1/embeddings', {})).text)).toEqual({ n: 3 });
    expect(JSON.parse((await postJson('/v1/chat/completions', chatBody)).text).object).toBe('chat.completion');
  });

  it('delay: waits before replying normally', async () => {
    mock.enqueue({ kind: 'delay', ms: 150 });
    const started = Date.now();
    const reply = await postJson('/v1/chat/completions', chatBody);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(JSON.parse(reply.text).choices[0].message.content).toBe('echo: hello there world');
  });

  it('hang: no answer; a client abort is recorded; close() ends a hung request at once', async () => {
    mock.enqueue({ kind: 'hang' }, { times: 2 });
    const controller = new AbortController();
    const first = request(`${mock.url}/v1/models`, { signal: controller.signal }).catch((e: unknown) => e);
    await mock.waitForRequests(1);
    controller.abort();
    expect(await first).toBeInstanceOf(Error);
    await expect.poll(() => mock.requests[0].aborted).toBe(true);

    const second = request(`${mock.url}/v1/models`).catch((e: unknown) => e);
    await mock.waitForRequests(2);
    expect(mock.openConnections()).toBeGreaterThanOrEqual(1);
    const started = Date.now();
    await mock.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await second).toBeInstanceOf(Error);
    expect(mock.requests[1].aborted).toBe(false);
    expect(mock.openConnections()).toBe(0);
  });

  it('reset: destroys the socket without a reply', async () => {
    mock.enqueue({ kind: 'reset' });
    const error = await postJson('/v1/chat/completions', chatBody).catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(mock.requests).toHaveLength(1);
    expect((await postJson('/v1/chat/completions', chatBody)).status).toBe(200);
  });

  it('stream-break: sends N events then destroys the socket', async () => {
    mock.enqueue({ kind: 'stream-break', afterChunks: 3 });
    const response = await request(`${mock.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ ...chatBody, stream: true }) });
    const parser = new SseParser();
    const received: SseEvent[] = [];
    const error = await (async () => {
      for await (const chunk of response.body) received.push(...parser.push(chunk as Buffer));
    })().catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).toBe('UND_ERR_SOCKET');
    expect(received.map((event) => JSON.parse(event.data).choices[0].delta)).toEqual([{ role: 'assistant', content: '' }, { content: 'echo:' }, { content: ' hello' }]);
  });

  it('stream-break on a JSON reply truncates the body', async () => {
    mock.enqueue({ kind: 'stream-break', afterChunks: 0 });
    const error = await postJson('/v1/chat/completions', chatBody).catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).toBe('UND_ERR_SOCKET');
  });

  it('stream-error: an error event after N chunks, which the SDK throws', async () => {
    mock.enqueue({ kind: 'stream-error', afterChunks: 2, error: { message: 'boom', code: 'overloaded' } });
    const reply = await postJson('/v1/chat/completions', { ...chatBody, stream: true });
    const events = sseEvents(reply.text);
    expect(events).toHaveLength(3);
    expect(JSON.parse(events[2].data)).toEqual({ error: { message: 'boom', type: 'server_error', param: null, code: 'overloaded' } });

    mock.enqueue({ kind: 'stream-error', afterChunks: 1, error: { message: 'sdk boom' } });
    const stream = await sdk().chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['']);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toContain('sdk boom');
  });

  it('stream-error on the Responses stream uses its error event', async () => {
    mock.enqueue({ kind: 'stream-error', afterChunks: 1, error: { message: 'bad', code: 'server_error' } });
    const reply = await postJson('/v1/responses', { model: 'm', input: 'x', stream: true });
    const events = sseEvents(reply.text);
    expect(events.map((event) => event.event)).toEqual(['response.created', 'error']);
    expect(JSON.parse(events[1].data)).toEqual({ type: 'error', code: 'server_error', message: 'bad', param: null, sequence_number: 1 });
  });

  it('slow-stream: spaces the events', async () => {
    mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 30 });
    const started = Date.now();
    const reply = await postJson('/v1/chat/completions', { ...chatBody, stream: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(6 * 30 - 10); // 7 events, 6 gaps
    expect(sseEvents(reply.text)).toHaveLength(7);
  });

  it('raw: exact status, headers and bytes', async () => {
    mock.enqueue({ kind: 'raw', status: 502, headers: { 'content-type': 'text/html' }, body: '<html>Bad Gateway</html>' });
    mock.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body: '{"truncated": ' });
    const html = await postJson('/v1/chat/completions', chatBody);
    expect([html.status, html.headers['content-type'], html.text]).toEqual([502, 'text/html', '<html>Bad Gateway</html>']);
    expect((await postJson('/v1/chat/completions', chatBody)).text).toBe('{"truncated": ');
  });
});

describe('mock upstream: bookkeeping', () => {
  it('waitForRequests resolves on arrival and rejects on timeout; reset clears everything', async () => {
    const waiting = mock.waitForRequests(2);
    await postJson('/v1/chat/completions', chatBody);
    await postJson('/v1/chat/completions', chatBody);
    expect(await waiting).toHaveLength(2);
    await expect(mock.waitForRequests(3, 50)).rejects.toThrow('expected 3 requests within 50 ms, got 2');

    const requests = mock.requests;
    mock.enqueue({ kind: 'error', status: 500 });
    mock.reset();
    expect(requests).toHaveLength(0);
    const reply = await postJson('/v1/chat/completions', chatBody);
    expect(JSON.parse(reply.text).id).toBe('chatcmpl-mock-1');
    expect(mock.requests).toHaveLength(1);
  });

  it('close() is idempotent and rejects pending waiters', async () => {
    const waiting = mock.waitForRequests(1, 5000);
    await Promise.all([mock.close(), mock.close()]);
    await expect(waiting).rejects.toThrow('closed');
  });
});
