/**
 * Every error of the OpenAI surface, over real sockets: malformed input
 * (raw HTTP), routing errors, limits, and upstream failures carried through
 * in OpenAI form (the SDK's error classes where a client would see them).
 */
import { createServer } from 'node:net';
import OpenAI, { APIError, AuthenticationError, BadRequestError, InternalServerError, NotFoundError, RateLimitError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openaiErrorBody, startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { get, post, sdk, UUID, waitFor } from './helpers.js';

const KEY = 'sk-test-errors-123456';
const messages = [{ role: 'user', content: 'hi there' }];
const ok = { model: 'gpt-4o-mini', messages };

let mock: MockUpstream;
let other: MockUpstream;
/** openai, no retries */
let gateway: TestGateway;
/** openai with one retry */
let retrying: TestGateway;
/** openai + groq (chat only) + a custom OpenAI-compatible provider */
let multi: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockUpstream();
  other = await startMockUpstream({ models: ['llama-local'] });
  const env = { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: mock.openaiBaseUrl };
  [gateway, retrying, multi] = await Promise.all([
    startGateway({ env, config: { providers: { openai: { max_retries: 0 } } } }),
    startGateway({ env, config: { providers: { openai: { max_retries: 1 } } } }),
    startGateway({
      env,
      config: {
        providers: {
          groq: { api_key: 'gsk-test-123456789', base_url: other.openaiBaseUrl },
          local: { type: 'openai-compatible', base_url: other.openaiBaseUrl, models: ['llama-local'] },
        },
      },
    }),
  ]);
  client = sdk(gateway.url);
});
afterAll(async () => {
  await Promise.all([gateway.close(), retrying.close(), multi.close()]);
  await Promise.all([mock.close(), other.close()]);
});
beforeEach(() => {
  mock.reset();
  other.reset();
});

function invalid(message: string, param: string | null, code = 'invalid_value') {
  return { error: { message, type: 'invalid_request_error', param, code } };
}

describe('malformed requests: 400 naming the field, nothing sent upstream', () => {
  const cases: Array<[string, unknown, unknown]> = [
    ['invalid JSON', '{"model": "gpt-4o-mini",', invalid(expect.stringMatching(/^The request body is not valid JSON: /) as unknown as string, null, 'invalid_json')],
    ['an empty body', '', invalid('The request body is empty; send a JSON object.', null, 'invalid_json')],
    ['an array body', '[1,2]', invalid('The request body must be a JSON object.', null, 'invalid_json')],
    ['a string body', '"hello"', invalid('The request body must be a JSON object.', null, 'invalid_json')],
    ['null', 'null', invalid('The request body must be a JSON object.', null, 'invalid_json')],
    ['no model', { messages }, invalid("Missing required parameter: 'model'.", 'model')],
    ['a numeric model', { model: 42, messages }, invalid("Invalid type for 'model': expected a non-empty string, but got number.", 'model')],
    ['an empty model', { model: '', messages }, invalid("Invalid type for 'model': expected a non-empty string, but got string.", 'model')],
    ['no messages', { model: 'gpt-4o-mini' }, invalid("Missing required parameter: 'messages'.", 'messages')],
    ['messages not an array', { model: 'gpt-4o-mini', messages: 'hi' }, invalid("Invalid type for 'messages': expected an array, but got string.", 'messages')],
    ['empty messages', { model: 'gpt-4o-mini', messages: [] }, invalid("Invalid 'messages': empty array. Expected an array with minimum length 1.", 'messages')],
    [
      'a bad role',
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a' }, { role: 'robot', content: 'b' }] },
      invalid("Invalid value for 'messages[1].role': expected one of system, developer, user, assistant, tool, function.", 'messages[1].role'),
    ],
    ['a missing role', { model: 'gpt-4o-mini', messages: [{ content: 'b' }] }, invalid("Invalid value for 'messages[0].role': expected one of system, developer, user, assistant, tool, function.", 'messages[0].role')],
    ['a message that is not an object', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a' }, 'b'] }, invalid("Invalid type for 'messages[1]': expected an object, but got string.", 'messages[1]')],
    ['numeric content', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 5 }] }, invalid("Invalid type for 'messages[0].content': expected a string or an array of content parts, but got number.", 'messages[0].content')],
    ['a string temperature', { ...ok, temperature: 'hot' }, invalid("Invalid type for 'temperature': expected a number, but got string.", 'temperature')],
    ['a string max_tokens', { ...ok, max_tokens: '10' }, invalid("Invalid type for 'max_tokens': expected a number, but got string.", 'max_tokens')],
    ['a string stream', { ...ok, stream: 'yes' }, invalid("Invalid type for 'stream': expected a boolean, but got string.", 'stream')],
    ['tools not an array', { ...ok, tools: {} }, invalid("Invalid type for 'tools': expected an array, but got object.", 'tools')],
    ['a numeric stop', { ...ok, stop: 3 }, invalid("Invalid type for 'stop': expected a string or an array of strings, but got number.", 'stop')],
    ['stream_options an array', { ...ok, stream: true, stream_options: [] }, invalid("Invalid type for 'stream_options': expected an object, but got array.", 'stream_options')],
    ['fallbacks not an array', { ...ok, fallbacks: 'openai/gpt-4o' }, invalid("Invalid type for 'fallbacks': expected an array of model names, but got string.", 'fallbacks')],
    ['a bad fallbacks item', { ...ok, fallbacks: ['openai/gpt-4o', 7] }, invalid("Invalid 'fallbacks[1]': expected a model name string.", 'fallbacks[1]')],
  ];

  it.each(cases)('%s', async (_name, body, expected) => {
    const reply = await post(`${gateway.url}/v1/chat/completions`, body);
    expect(reply.status).toBe(400);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.headers['x-request-id']).toMatch(UUID);
    expect(reply.json).toEqual(expected);
    expect(mock.requests).toHaveLength(0);
  });

  it('the SDK sees a BadRequestError with param', async () => {
    const error = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).param).toBe('messages');
    expect((error as BadRequestError).code).toBe('invalid_value');
  });
});

describe('routing errors', () => {
  it('unknown provider prefix: 404 with a hint', async () => {
    const reply = await post(`${multi.url}/v1/chat/completions`, { model: 'nope/x', messages });
    expect(reply.status).toBe(404);
    expect(reply.json).toEqual({
      error: {
        message: 'Unknown provider "nope" in model "nope/x". Use "provider/model" with an enabled provider (openai, groq, local); GET /v1/models lists known models.',
        type: 'invalid_request_error',
        param: 'model',
        code: 'provider_not_found',
      },
    });
  });

  it('unknown bare model with two providers: 404 model_not_found with a hint', async () => {
    const error = await sdk(multi.url).chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).error).toEqual({
      message: 'The model "no-such-model" is not served by any enabled provider. Use "provider/model" with an enabled provider (openai, groq, local); GET /v1/models lists known models.',
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_found',
    });
    expect(mock.requests.length + other.requests.length).toBe(0);
  });

  it('a request fallback that cannot be resolved names fallbacks[i]', async () => {
    const reply = await post(`${multi.url}/v1/chat/completions`, { ...ok, fallbacks: ['local/llama-local', 'nope/x'] });
    expect(reply.status).toBe(404);
    expect((reply.json as { error: { param: string; code: string } }).error).toMatchObject({ param: 'fallbacks[1]', code: 'provider_not_found' });
  });

  it('a known provider without a key: 400 provider_not_configured naming its variable', async () => {
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'mistral/mistral-small-latest', messages });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({
      error: {
        message: 'Provider "mistral" is not configured: set MISTRAL_API_KEY (and optionally MISTRAL_BASE_URL) or add it to the config file.',
        type: 'invalid_request_error',
        param: 'model',
        code: 'provider_not_configured',
      },
    });
  });

  it('anthropic/claude-x without ANTHROPIC_API_KEY: 400 provider_not_configured', async () => {
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'anthropic/claude-x', messages });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({
      error: {
        message: 'Provider "anthropic" is not configured: set ANTHROPIC_API_KEY (and optionally ANTHROPIC_BASE_URL) or add it to the config file.',
        type: 'invalid_request_error',
        param: 'model',
        code: 'provider_not_configured',
      },
    });
  });

  it('an operation the provider does not offer: 400 unsupported_operation', async () => {
    const reply = await post(`${multi.url}/v1/embeddings`, { model: 'groq/some-embedder', input: 'x' });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({
      error: { message: 'Provider "groq" does not support embeddings.', type: 'invalid_request_error', param: 'model', code: 'unsupported_operation' },
    });
  });

  it('unknown route: 404 in OpenAI form', async () => {
    for (const [method, path] of [['GET', '/v1/nope'], ['POST', '/v1/chat'], ['GET', '/v1/chat/completions']] as const) {
      const reply = method === 'GET' ? await get(`${gateway.url}${path}`) : await post(`${gateway.url}${path}`, ok);
      expect(reply.status).toBe(404);
      expect(reply.headers['x-request-id']).toMatch(UUID);
      expect(reply.json).toEqual({ error: { message: `No route for ${method} ${path}.`, type: 'invalid_request_error', param: null, code: 'not_found' } });
    }
  });
});

describe('limits', () => {
  it('a body over limits.max_body_bytes: 413', async () => {
    const small = await startGateway({ env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: mock.openaiBaseUrl }, config: { limits: { max_body_bytes: 1024 } } });
    try {
      const fits = await post(`${small.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(900) }] });
      expect(fits.status).toBe(200);
      const reply = await post(`${small.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(2000) }] });
      expect(reply.status).toBe(413);
      expect(reply.json).toEqual({
        error: { message: expect.stringMatching(/^The request body is larger than the limit of /), type: 'invalid_request_error', param: null, code: 'request_too_large' },
      });
      expect(mock.requests).toHaveLength(1);
    } finally {
      await small.close();
    }
  });
});

describe('upstream errors carried through', () => {
  it('400: status, message, type and code', async () => {
    mock.enqueue({ kind: 'error', status: 400, body: openaiErrorBody(400, "Invalid 'messages[0].content': string too long.", { param: 'messages[0].content', code: 'string_above_max_length' }) });
    const error = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    const e = error as BadRequestError;
    expect(e.status).toBe(400);
    expect(e.message).toBe("400 Invalid 'messages[0].content': string too long.");
    expect(e.error).toMatchObject({ message: "Invalid 'messages[0].content': string too long.", type: 'invalid_request_error', code: 'string_above_max_length' });
    expect(e.headers.get('x-heimdall-attempts')).toBe('1');
    expect(mock.requests).toHaveLength(1);
  });

  it('401 from the upstream key', async () => {
    mock.enqueue({ kind: 'error', status: 401, body: openaiErrorBody(401, 'Incorrect API key provided: wrong.') });
    const error = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).error).toMatchObject({ message: 'Incorrect API key provided: wrong.', type: 'invalid_request_error', code: 'invalid_api_key' });
  });

  it('404 from the upstream', async () => {
    mock.enqueue({ kind: 'error', status: 404, body: openaiErrorBody(404, 'The model `gpt-9` does not exist or you do not have access to it.', { code: 'model_not_found' }) });
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'openai/gpt-9', messages });
    expect(reply.status).toBe(404);
    expect((reply.json as { error: unknown }).error).toMatchObject({
      message: 'The model `gpt-9` does not exist or you do not have access to it.',
      type: 'invalid_request_error',
      code: 'model_not_found',
    });
  });

  it('429 with Retry-After carried, not retried when max_retries is 0', async () => {
    mock.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '7' }, body: openaiErrorBody(429, 'Rate limit reached for gpt-4o-mini.') });
    const error = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    const e = error as RateLimitError;
    expect(e.headers.get('retry-after')).toBe('7');
    expect(e.error).toEqual({ message: 'Rate limit reached for gpt-4o-mini.', type: 'requests', param: null, code: 'rate_limit_exceeded' });
    expect(mock.requests).toHaveLength(1);
  });

  it('500 then success: retried, x-heimdall-attempts 2', async () => {
    mock.enqueue({ kind: 'error', status: 500 });
    const { data, response } = await sdk(retrying.url).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'again' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('echo: again');
    expect(response.headers.get('x-heimdall-attempts')).toBe('2');
    expect(response.headers.get('x-heimdall-provider')).toBe('openai');
    expect(mock.requests).toHaveLength(2);
    expect(mock.requests[1].body).toEqual(mock.requests[0].body);
  });

  it('500 every time: 500 after 1 + max_retries attempts', async () => {
    mock.enqueue({ kind: 'error', status: 500, body: openaiErrorBody(500, 'The server had an error while processing your request.') }, { times: Infinity });
    const error = await sdk(retrying.url).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    const e = error as InternalServerError;
    expect(e.status).toBe(500);
    expect(e.error).toEqual({ message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: 'upstream_error' });
    expect(e.headers.get('x-heimdall-attempts')).toBe('2');
    expect(mock.requests).toHaveLength(2);
  });

  it('x-should-retry: false from the upstream stops the retries', async () => {
    mock.enqueue({ kind: 'error', status: 503, headers: { 'x-should-retry': 'false' } }, { times: Infinity });
    const reply = await post(`${retrying.url}/v1/chat/completions`, ok);
    expect(reply.status).toBe(503);
    expect(reply.headers['x-heimdall-attempts']).toBe('1');
    expect(mock.requests).toHaveLength(1);
  });

  it('an HTML error page: its status and text, in OpenAI form', async () => {
    mock.enqueue({ kind: 'raw', status: 502, headers: { 'content-type': 'text/html' }, body: '<html><body><h1>502 Bad Gateway</h1></body></html>\n' });
    const reply = await post(`${gateway.url}/v1/chat/completions`, ok);
    expect(reply.status).toBe(502);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.json).toEqual({
      error: { message: 'upstream returned HTTP 502: <html><body><h1>502 Bad Gateway</h1></body></html>', type: 'api_error', param: null, code: 'upstream_error' },
    });
  });

  it('an invalid JSON or empty error body', async () => {
    mock.enqueue({ kind: 'raw', status: 500, headers: { 'content-type': 'application/json' }, body: '{"error": {"message": ' });
    const broken = await post(`${gateway.url}/v1/chat/completions`, ok);
    expect(broken.status).toBe(500);
    expect(broken.json).toEqual({ error: { message: 'upstream returned HTTP 500: {"error": {"message":', type: 'api_error', param: null, code: 'upstream_error' } });

    mock.enqueue({ kind: 'raw', status: 503, body: '' });
    const empty = await post(`${gateway.url}/v1/chat/completions`, ok);
    expect(empty.status).toBe(503);
    expect(empty.json).toEqual({ error: { message: 'upstream returned HTTP 503', type: 'api_error', param: null, code: 'upstream_error' } });

    mock.enqueue({ kind: 'respond', status: 422, body: { message: 'unprocessable thing' } });
    const plain = await post(`${gateway.url}/v1/chat/completions`, ok);
    expect(plain.status).toBe(422);
    expect(plain.json).toEqual({ error: { message: 'unprocessable thing', type: 'api_error', param: null, code: 'upstream_error' } });
  });

  it('a truncated JSON reply: 502, not a hang', async () => {
    mock.enqueue({ kind: 'stream-break', afterChunks: 0 });
    const reply = await post(`${gateway.url}/v1/chat/completions`, ok);
    expect(reply.status).toBe(502);
    expect((reply.json as { error: { type: string } }).error.type).toBe('api_error');
  });
});

describe('upstream transport failures', () => {
  it('unreachable (closed port): 502 upstream_unreachable', async () => {
    const port = await closedPort();
    const down = await startGateway({
      env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` },
      config: { providers: { openai: { max_retries: 0 } } },
    });
    try {
      const error = await sdk(down.url).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(APIError);
      const e = error as APIError;
      expect(e.status).toBe(502);
      expect(e.error).toEqual({ message: 'openai could not be reached: connection refused (ECONNREFUSED)', type: 'api_error', param: null, code: 'upstream_unreachable' });
      expect(e.headers?.get('x-heimdall-attempts')).toBe('1');
    } finally {
      await down.close();
    }
  });

  it('connection reset: 502 upstream_unreachable', async () => {
    mock.enqueue({ kind: 'reset' });
    const reply = await post(`${gateway.url}/v1/chat/completions`, ok);
    expect(reply.status).toBe(502);
    expect((reply.json as { error: { code: string; message: string } }).error).toMatchObject({ code: 'upstream_unreachable', message: expect.stringMatching(/^openai could not be reached: /) });
  });

  it('no answer before timeouts.first_byte_ms: 504, and the upstream call is dropped', async () => {
    const slow = await startGateway({
      env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: mock.openaiBaseUrl },
      config: { timeouts: { first_byte_ms: 300 }, providers: { openai: { max_retries: 0 } } },
    });
    try {
      mock.enqueue({ kind: 'hang' });
      const started = Date.now();
      const reply = await post(`${slow.url}/v1/chat/completions`, ok);
      expect(reply.status).toBe(504);
      expect(reply.json).toEqual({ error: { message: 'openai: no response before the first-byte timeout', type: 'timeout_error', param: null, code: 'upstream_timeout' } });
      expect(Date.now() - started).toBeLessThan(5000);
      await waitFor(() => mock.requests[0]?.aborted === true, 3000, 'the hung upstream request to be aborted');
    } finally {
      await slow.close();
    }
  });
});

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
