/**
 * What the client sees when things go wrong around a stream: an upstream that
 * breaks or errors mid-stream, an idle upstream, request fallbacks, and a
 * client that goes away (the upstream call must be cancelled).
 */
import OpenAI, { APIError } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { splitWords, startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { post, sdk, sseEvents, waitFor } from './helpers.js';

const KEY = 'sk-test-streams-123456';
let mock: MockUpstream;
let other: MockUpstream;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockUpstream();
  other = await startMockUpstream({ models: ['llama-local'] });
  gateway = await startGateway({
    env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: mock.openaiBaseUrl },
    config: {
      timeouts: { idle_ms: 400 },
      providers: {
        openai: { max_retries: 0 },
        local: { type: 'openai-compatible', base_url: other.openaiBaseUrl, models: ['llama-local'] },
      },
      routing: { fallbacks: { 'openai/gpt-4.1': ['local/llama-local'] } },
    },
  });
  client = sdk(gateway.url);
});
afterAll(async () => {
  await gateway.close();
  await Promise.all([mock.close(), other.close()]);
});
beforeEach(() => {
  mock.reset();
  other.reset();
});

const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'one two three four' }];
const CONTENT = 'echo: one two three four';

/** Reads an SDK stream until it ends or throws; returns the text so far and the error. */
async function drain(stream: AsyncIterable<OpenAI.Chat.ChatCompletionChunk>): Promise<{ text: string; error: unknown }> {
  let text = '';
  try {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  } catch (error) {
    return { text, error };
  }
  return { text, error: undefined };
}

describe('failures in the middle of a stream', () => {
  it('upstream connection breaks: the chunks so far, then an error event; the SDK throws', async () => {
    mock.enqueue({ kind: 'stream-break', afterChunks: 3 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const { text, error } = await drain(stream);
    expect(text).toBe(splitWords(CONTENT).slice(0, 2).join('')); // role chunk, 'echo:', ' one'
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).error).toEqual({
      message: expect.stringMatching(/^upstream stream failed: /),
      type: 'api_error',
      param: null,
      code: '502',
    });
  });

  it('the raw stream ends with the error event and no [DONE]', async () => {
    mock.enqueue({ kind: 'stream-break', afterChunks: 2 });
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages, stream: true });
    expect(reply.status).toBe(200);
    const events = sseEvents(reply.text);
    expect(events).toHaveLength(3);
    expect(JSON.parse(events[1].data).choices[0].delta).toEqual({ content: 'echo:' });
    expect(JSON.parse(events[2].data)).toEqual({ error: { message: expect.stringMatching(/^upstream stream failed: /), type: 'api_error', param: null, code: '502' } });
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
  });

  it('an upstream error event is forwarded as it is', async () => {
    mock.enqueue({ kind: 'stream-error', afterChunks: 2, error: { message: 'The model is overloaded.', code: 'overloaded' } });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const { text, error } = await drain(stream);
    expect(text).toBe('echo:');
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).message).toBe('The model is overloaded.');
    expect((error as APIError).error).toEqual({ message: 'The model is overloaded.', type: 'server_error', param: null, code: 'overloaded' });
  });

  it('an upstream idle longer than timeouts.idle_ms: an error event, and the upstream call is dropped', async () => {
    mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 5000 });
    const started = Date.now();
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const { text, error } = await drain(stream);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(text).toBe('');
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).error).toEqual({
      message: 'upstream timeout: response stalled longer than the idle timeout',
      type: 'timeout_error',
      param: null,
      code: '504',
    });
    await waitFor(() => mock.requests[0]?.aborted === true, 3000, 'the idle upstream request to be aborted');
  });
});

describe('fallbacks', () => {
  it('request fallbacks: the first target 500s, the second serves (non-stream)', async () => {
    mock.enqueue({ kind: 'error', status: 500 }, { times: Infinity });
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'openai/gpt-4o-mini', messages, fallbacks: ['local/llama-local'] });
    expect(reply.status).toBe(200);
    expect((reply.json as { choices: Array<{ message: { content: string } }> }).choices[0].message.content).toBe(CONTENT);
    expect(reply.headers['x-heimdall-provider']).toBe('local');
    expect(reply.headers['x-heimdall-model']).toBe('llama-local');
    expect(reply.headers['x-heimdall-attempts']).toBe('2');
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0].body).toEqual({ model: 'gpt-4o-mini', messages });
    expect(other.requests).toHaveLength(1);
    expect(other.requests[0].body).toEqual({ model: 'llama-local', messages });
  });

  it('request fallbacks with a stream, through the SDK', async () => {
    mock.enqueue({ kind: 'error', status: 503 }, { times: Infinity });
    const params = { model: 'openai/gpt-4o-mini', messages, stream: true as const, fallbacks: ['local/llama-local'] };
    const { data: stream, response } = await client.chat.completions.create(params).withResponse();
    expect(response.headers.get('x-heimdall-provider')).toBe('local');
    expect(response.headers.get('x-heimdall-attempts')).toBe('2');
    const { text, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(text).toBe(CONTENT);
    // The gateway asks for the usage the client did not (for cost) and strips it from the client's stream.
    expect(other.requests[0].body).toEqual({ model: 'llama-local', messages, stream: true, stream_options: { include_usage: true } });
  });

  it('configured fallbacks (routing.fallbacks) apply when the request has none', async () => {
    mock.enqueue({ kind: 'error', status: 500 }, { times: Infinity });
    const { data, response } = await client.chat.completions.create({ model: 'openai/gpt-4.1', messages }).withResponse();
    expect(data.choices[0].message.content).toBe(CONTENT);
    expect(response.headers.get('x-heimdall-provider')).toBe('local');
  });

  it('a client error (400) is not retried on the fallback', async () => {
    mock.enqueue({ kind: 'error', status: 400, body: { error: { message: 'bad input', type: 'invalid_request_error', param: null, code: null } } });
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'openai/gpt-4o-mini', messages, fallbacks: ['local/llama-local'] });
    expect(reply.status).toBe(400);
    expect(other.requests).toHaveLength(0);
  });
});

describe('client abort cancels the upstream request', () => {
  it('non-stream: the client goes away while the upstream is still working', async () => {
    mock.enqueue({ kind: 'delay', ms: 10_000 });
    const controller = new AbortController();
    const pending = request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    await mock.waitForRequests(1, 3000);
    expect(mock.requests[0].aborted).toBe(false);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await waitFor(() => mock.requests[0].aborted, 3000, 'the upstream request to be aborted');
    await waitFor(() => gateway.app.gateway.inFlight === 0, 3000, 'the gateway to finish the request');
    expect(gateway.logs().filter((line) => line.msg === 'request').at(-1)).toMatchObject({ stream: false, status: 499 });
  });

  it('stream: the client stops reading after the first chunk', async () => {
    mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 300 });
    const slow = sdk(gateway.url);
    const stream = await slow.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    let chunks = 0;
    for await (const _chunk of stream) {
      chunks++;
      break; // the SDK aborts its request when the loop exits early
    }
    expect(chunks).toBe(1);
    await waitFor(() => mock.requests[0]?.aborted === true, 3000, 'the upstream stream to be aborted');
    await waitFor(() => gateway.app.gateway.inFlight === 0, 3000, 'the gateway to finish the stream');
    expect(gateway.logs().filter((line) => line.msg === 'request').at(-1)).toMatchObject({ stream: true, status: 499 });
  });

  it('stream: an explicit abort signal mid-stream', async () => {
    mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 300 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, { signal: controller.signal });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const chunk of stream) {
        seen.push(chunk.choices[0]?.delta.content ?? '');
        if (seen.length === 2) controller.abort();
      }
    })().catch((error: unknown) => error);
    expect(await reading).toBeUndefined(); // the SDK ends the iteration quietly on its own abort
    expect(seen).toEqual(['', 'echo:']);
    await waitFor(() => mock.requests[0]?.aborted === true, 3000, 'the upstream stream to be aborted');
  });
});

describe('a client that reads slowly', () => {
  it('the upstream is paused while the client does not read, and every byte arrives once it does', async () => {
    // 32 MB of events: far more than the kernel's socket buffers hold, so without backpressure the
    // gateway would have to take it all in (and the mock would finish) while the client reads nothing.
    const content = 'x'.repeat(1000);
    const event = `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
    const count = Math.ceil((32 * 1024 * 1024) / event.length);
    const body = Buffer.from(event.repeat(count) + 'data: [DONE]\n\n');
    mock.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'text/event-stream' }, body });
    const response = await request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true }),
    });
    expect(response.statusCode).toBe(200);
    await mock.waitForRequests(1);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the client reads nothing meanwhile
    expect(mock.requests[0].finished).toBe(false);
    const received = Buffer.from(await response.body.arrayBuffer());
    expect(received.length).toBe(body.length);
    expect(received.equals(body)).toBe(true);
    await waitFor(() => mock.requests[0].finished, 3000, 'the mock to finish its response');
    await waitFor(() => gateway.app.gateway.inFlight === 0, 3000, 'the gateway to finish the stream');
    expect(gateway.logs().filter((line) => line.msg === 'request').at(-1)).toMatchObject({ stream: true, status: 200 });
  }, 20_000);
});

