/**
 * The exact cache over real sockets, with the mock upstream: a miss then a hit on each surface
 * (OpenAI chat, Anthropic Messages, Gemini generateContent), whole and streamed (a stored answer
 * replayed as a stream in the caller's format, usage included), the request controls (bypass,
 * refresh, only, the body field, a TTL), what the log row and the metrics say, and invalidation.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call, chat, CHAT_PATHS, sseData, startCacheSuite, upstreamCalls, logRow, type CacheSuite } from './helpers.js';

let suite: CacheSuite;

beforeAll(async () => {
  suite = await startCacheSuite({ enabled: true, ttl: '1h' });
});
afterAll(async () => {
  await suite.gw.close();
  await suite.mock.close();
});
beforeEach(() => suite.mock.reset());

const chats = (): number => upstreamCalls(suite.mock, CHAT_PATHS);

const logOf = (id: string): Promise<Record<string, any>> => logRow(suite.gw.url, id);

describe('OpenAI chat', () => {
  it('a miss goes upstream and is stored; the same request is then a hit, with no upstream call', async () => {
    const body = chat('the exact cache one', { temperature: 0 });
    const first = await call('POST', `${suite.gw.url}/v1/chat/completions`, body, { 'x-request-id': 'exact-miss-1' });
    expect(first.status).toBe(200);
    expect(first.headers['x-heimdall-cache']).toBe('miss');
    expect(chats()).toBe(1);
    const second = await call('POST', `${suite.gw.url}/v1/chat/completions`, body, { 'x-request-id': 'exact-hit-1' });
    expect(second.status).toBe(200);
    expect(second.headers['x-heimdall-cache']).toBe('hit');
    expect(Number(second.headers['x-heimdall-cache-age'])).toBeGreaterThanOrEqual(0);
    expect(second.headers['x-heimdall-cache-entry']).toMatch(/^[\w-]{32}$/);
    expect(second.headers['x-heimdall-cache-similarity']).toBeUndefined();
    expect(chats()).toBe(1);
    expect(second.json.choices[0].message.content).toBe(first.json.choices[0].message.content);
    expect(second.json.usage).toEqual(first.json.usage);

    // The log rows: the miss cost what it cost; the hit cost $0 and says which entry and what it saved.
    const miss = await logOf('exact-miss-1');
    const hit = await logOf('exact-hit-1');
    expect(miss.cache).toBe('miss');
    expect(miss.cost_usd).toBeGreaterThan(0);
    expect(hit.cache).toBe('hit');
    expect(hit.cost_usd).toBe(0);
    expect(hit.upstream_ms).toBeNull();
    expect(hit.metadata.cache).toMatchObject({ result: 'hit', entry_id: second.headers['x-heimdall-cache-entry'], saved_usd: miss.cost_usd });
  });

  it('a different question, model or parameter is a different entry; request ids and user are not part of the key', async () => {
    const url = `${suite.gw.url}/v1/chat/completions`;
    await call('POST', url, chat('key facts'), { 'x-request-id': 'k1' });
    expect((await call('POST', url, chat('key facts', { user: 'someone', metadata: { a: '1' } }), { 'x-request-id': 'k2' })).headers['x-heimdall-cache']).toBe('hit');
    expect((await call('POST', url, chat('key facts', { max_tokens: 5 }))).headers['x-heimdall-cache']).toBe('miss');
    expect((await call('POST', url, chat('key facts', { seed: 7 }))).headers['x-heimdall-cache']).toBe('miss');
    expect((await call('POST', url, chat('key facts?'))).headers['x-heimdall-cache']).toBe('miss');
    expect((await call('POST', url, { ...chat('key facts'), model: 'openai/gpt-4o' })).headers['x-heimdall-cache']).toBe('miss');
    expect(chats()).toBe(5);
  });

  it('a stream is stored once complete and replayed as a stream, usage included; a whole request hits it too', async () => {
    const client = new OpenAI({ baseURL: `${suite.gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const ask = async (): Promise<{ text: string; usage: unknown; cache: string | null }> => {
      const { data: stream, response } = await client.chat.completions
        .create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'stream me a fairly long answer about caching please' }], stream: true, stream_options: { include_usage: true } })
        .withResponse();
      let text = '';
      let usage: unknown;
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(chunks).toBeGreaterThan(2);
      return { text, usage, cache: response.headers.get('x-heimdall-cache') };
    };
    const first = await ask();
    expect(first.cache).toBe('miss');
    const second = await ask();
    expect(second.cache).toBe('hit');
    expect(second.text).toBe(first.text);
    expect(second.usage).toEqual(first.usage);
    expect(chats()).toBe(1);
    const whole = await call('POST', `${suite.gw.url}/v1/chat/completions`, chat('stream me a fairly long answer about caching please'));
    expect(whole.headers['x-heimdall-cache']).toBe('hit');
    expect(whole.json.choices[0].message.content).toBe(first.text);
    expect(chats()).toBe(1);
  });

  it('a stream cut before its end, or an upstream error, is not stored', async () => {
    const body = { ...chat('a stream that breaks halfway through its answer'), stream: true };
    suite.mock.enqueue({ kind: 'stream-break', afterChunks: 2 });
    const cut = await call('POST', `${suite.gw.url}/v1/chat/completions`, body).catch(() => undefined);
    expect(cut?.headers['x-heimdall-cache'] ?? 'miss').toBe('miss');
    suite.mock.enqueue({ kind: 'error', status: 400, body: { error: { message: 'bad', type: 'invalid_request_error', param: null, code: null } } });
    const refused = await call('POST', `${suite.gw.url}/v1/chat/completions`, chat('an error is not an answer'));
    expect(refused.status).toBe(400);
    expect((await call('POST', `${suite.gw.url}/v1/chat/completions`, body)).headers['x-heimdall-cache']).toBe('miss');
    expect((await call('POST', `${suite.gw.url}/v1/chat/completions`, chat('an error is not an answer'))).headers['x-heimdall-cache']).toBe('miss');
    expect(chats()).toBe(4);
  });

  it('a stream hit without include_usage gets no usage chunk, as OpenAI streams do', async () => {
    const body = { ...chat('replay without usage'), stream: true };
    await call('POST', `${suite.gw.url}/v1/chat/completions`, body);
    const hit = await call('POST', `${suite.gw.url}/v1/chat/completions`, body);
    expect(hit.headers['x-heimdall-cache']).toBe('hit');
    expect(hit.headers['content-type']).toMatch(/text\/event-stream/);
    const events = sseData(hit.text);
    expect(events.every((event) => event.usage === undefined || event.usage === null)).toBe(true);
    expect(events.map((event) => event.choices[0]?.delta?.content ?? '').join('')).toBe('echo: replay without usage');
    expect(hit.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });
});

describe('Anthropic Messages and Gemini surfaces', () => {
  it('Anthropic SDK: a miss, then a hit in the Anthropic format, whole and streamed', async () => {
    const client = new Anthropic({ baseURL: `${suite.gw.url}/anthropic`, apiKey: 'unused', maxRetries: 0 });
    const params = { model: 'openai/gpt-4o-mini', max_tokens: 200, messages: [{ role: 'user' as const, content: 'anthropic surface question' }] };
    const miss = await client.messages.create(params).withResponse();
    expect(miss.response.headers.get('x-heimdall-cache')).toBe('miss');
    const hit = await client.messages.create(params).withResponse();
    expect(hit.response.headers.get('x-heimdall-cache')).toBe('hit');
    expect(hit.data.type).toBe('message');
    expect(hit.data.content).toEqual(miss.data.content);
    expect(hit.data.usage.input_tokens).toBe(miss.data.usage.input_tokens);
    const stream = client.messages.stream(params);
    const message = await stream.finalMessage();
    expect(message.content).toEqual(miss.data.content);
    expect(message.usage.output_tokens).toBe(miss.data.usage.output_tokens);
    expect(chats()).toBe(1);
  });

  it('Anthropic to Anthropic (a pass-through): the provider\'s answer is decoded and stored, and replayed', async () => {
    const url = `${suite.gw.url}/anthropic/v1/messages`;
    const body = { model: 'anthropic/claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'native anthropic' }] };
    const miss = await call('POST', url, body, { 'anthropic-version': '2023-06-01' });
    expect(miss.status).toBe(200);
    expect(miss.headers['x-heimdall-cache']).toBe('miss');
    expect(miss.headers['x-heimdall-warnings']).toBeUndefined();
    const hit = await call('POST', url, body, { 'anthropic-version': '2023-06-01' });
    expect(hit.headers['x-heimdall-cache']).toBe('hit');
    expect(hit.json.content[0].text).toBe(miss.json.content[0].text);
    expect(chats()).toBe(1);
  });

  it('Gemini generateContent and streamGenerateContent: a miss, then hits in the Gemini format', async () => {
    const base = `${suite.gw.url}/genai/v1beta/models/gemini/gemini-2.5-flash`;
    const body = { contents: [{ role: 'user', parts: [{ text: 'gemini surface question' }] }] };
    const miss = await call('POST', `${base}:generateContent`, body);
    expect(miss.status).toBe(200);
    expect(miss.headers['x-heimdall-cache']).toBe('miss');
    const hit = await call('POST', `${base}:generateContent`, body);
    expect(hit.headers['x-heimdall-cache']).toBe('hit');
    expect(hit.json.candidates[0].content.parts[0].text).toBe(miss.json.candidates[0].content.parts[0].text);
    expect(hit.json.usageMetadata.promptTokenCount).toBe(miss.json.usageMetadata.promptTokenCount);
    const streamed = await call('POST', `${base}:streamGenerateContent?alt=sse`, body);
    expect(streamed.headers['x-heimdall-cache']).toBe('hit');
    const events = sseData(streamed.text);
    expect(events.map((event) => event.candidates?.[0]?.content?.parts?.[0]?.text ?? '').join('')).toBe(miss.json.candidates[0].content.parts[0].text);
    expect(events.some((event) => event.usageMetadata?.promptTokenCount === miss.json.usageMetadata.promptTokenCount)).toBe(true);
    expect(chats()).toBe(1);
  });
});

describe('request controls', () => {
  const url = (): string => `${suite.gw.url}/v1/chat/completions`;

  it('bypass neither reads nor writes; refresh replaces; only answers from the cache or refuses with 504', async () => {
    const body = chat('controls question');
    const only = await call('POST', url(), body, { 'x-heimdall-cache': 'only' });
    expect(only.status).toBe(504);
    expect(only.json.error.code).toBe('cache_miss');
    expect(chats()).toBe(0);
    const bypass = await call('POST', url(), body, { 'x-heimdall-cache': 'bypass' });
    expect(bypass.headers['x-heimdall-cache']).toBe('bypass');
    expect((await call('POST', url(), body, { 'x-heimdall-cache': 'only' })).status).toBe(504);
    expect((await call('POST', url(), body)).headers['x-heimdall-cache']).toBe('miss');
    expect((await call('POST', url(), body, { 'x-heimdall-cache': 'only' })).headers['x-heimdall-cache']).toBe('hit');
    const refresh = await call('POST', url(), body, { 'x-heimdall-cache': 'refresh' });
    expect(refresh.headers['x-heimdall-cache']).toBe('miss');
    expect(chats()).toBe(3);
    expect((await call('POST', url(), body)).headers['x-heimdall-cache']).toBe('hit');
    expect(chats()).toBe(3);
  });

  it('the heimdall_cache body field does what the headers do, and never reaches the provider', async () => {
    const body = chat('body field question');
    const bypass = await call('POST', url(), { ...body, heimdall_cache: 'bypass' });
    expect(bypass.status).toBe(200);
    expect(bypass.headers['x-heimdall-cache']).toBe('bypass');
    const sent = suite.mock.requests.find((request) => CHAT_PATHS.test(request.path))!;
    expect(sent.body).not.toHaveProperty('heimdall_cache');
    expect((await call('POST', url(), { ...body, heimdall_cache: { mode: 'only' } })).status).toBe(504);
  });

  it('bad controls get a 400 naming the header or field', async () => {
    const bad = await call('POST', url(), chat('x'), { 'x-heimdall-cache': 'sometimes' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.param).toBe('x-heimdall-cache');
    const ttl = await call('POST', url(), chat('x'), { 'x-heimdall-cache-ttl': 'forever' });
    expect(ttl.status).toBe(400);
    expect(ttl.json.error.param).toBe('x-heimdall-cache-ttl');
    const field = await call('POST', url(), { ...chat('x'), heimdall_cache: { threshold: 2 } });
    expect(field.status).toBe(400);
    expect(field.json.error.param).toBe('heimdall_cache.threshold');
    expect(chats()).toBe(0);
  });

  it('x-heimdall-cache-ttl: an entry expires after its TTL', async () => {
    const body = chat('short lived');
    expect((await call('POST', url(), body, { 'x-heimdall-cache-ttl': '1' })).headers['x-heimdall-cache']).toBe('miss');
    expect((await call('POST', url(), body)).headers['x-heimdall-cache']).toBe('hit');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect((await call('POST', url(), body)).headers['x-heimdall-cache']).toBe('miss');
    expect(chats()).toBe(2);
  });
});

describe('management API and metrics', () => {
  it('stats count hits and misses; DELETE /api/cache invalidates by model; metrics have the cache series', async () => {
    const before = (await call('GET', `${suite.gw.url}/api/cache/stats`)).json;
    const url = `${suite.gw.url}/v1/chat/completions`;
    await call('POST', url, chat('stats one'));
    await call('POST', url, chat('stats one'));
    const stats = (await call('GET', `${suite.gw.url}/api/cache/stats`)).json;
    expect(stats.requests.hit).toBe(before.requests.hit + 1);
    expect(stats.requests.miss).toBe(before.requests.miss + 1);
    expect(stats.saved_usd).toBeGreaterThan(before.saved_usd);
    expect(stats.store.entries).toBeGreaterThan(0);
    expect(stats.largest[0]).toMatchObject({ model: expect.any(String), bytes: expect.any(Number) });
    expect(stats.savings.at(-1).hits).toBeGreaterThan(0);

    const wrongModel = await call('DELETE', `${suite.gw.url}/api/cache?model=openai/none`);
    expect(wrongModel.json.deleted).toBe(0);
    const deleted = await call('DELETE', `${suite.gw.url}/api/cache?model=openai/gpt-4o-mini`);
    expect(deleted.json.deleted).toBeGreaterThan(0);
    expect((await call('POST', url, chat('stats one'))).headers['x-heimdall-cache']).toBe('miss');

    const metrics = (await call('GET', `${suite.gw.url}/metrics`)).text;
    expect(metrics).toMatch(/heimdall_cache_requests_total\{result="hit"\} [1-9]/);
    expect(metrics).toMatch(/heimdall_cache_saved_usd_total [0-9.e-]+/);
    expect(metrics).toMatch(/heimdall_cache_lookup_duration_seconds_count\{kind="exact"\} [1-9]/);
    expect(metrics).toMatch(/heimdall_requests_total\{surface="openai",provider="openai",model="gpt-4o-mini",status_class="2xx",cache="hit"\} [1-9]/);
  });
});
