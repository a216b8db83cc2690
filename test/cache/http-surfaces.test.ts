/**
 * The exact cache on the other OpenAI surfaces, over real sockets with the openai SDK: embeddings
 * (keyed by model, input, dimensions and encoding format; base64 as the SDK asks by default), legacy
 * completions (whole and streamed), and the Responses API, whole and streamed (a hit replayed as
 * the event sequence the SDK reads, usage included), passed through to a provider with the
 * Responses API and bridged to one without it; requests that depend on stored state are bypassed.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call, sseData, startCacheSuite, upstreamCalls, type CacheSuite } from './helpers.js';

let suite: CacheSuite;
let client: OpenAI;

beforeAll(async () => {
  suite = await startCacheSuite({ enabled: true, ttl: '1h' });
  client = new OpenAI({ baseURL: `${suite.gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  await suite.gw.close();
  await suite.mock.close();
});
beforeEach(() => suite.mock.reset());

const calls = (path: RegExp): number => upstreamCalls(suite.mock, path);

describe('embeddings', () => {
  it('a repeated request is a hit with the same vectors, base64 (the SDK default) and float alike; no upstream call', async () => {
    const ask = () => client.embeddings.create({ model: 'openai/text-embedding-3-small', input: ['the embeddings cache', 'second text'], dimensions: 16 }).withResponse();
    const first = await ask();
    expect(first.response.headers.get('x-heimdall-cache')).toBe('miss');
    const second = await ask();
    expect(second.response.headers.get('x-heimdall-cache')).toBe('hit');
    expect(calls(/\/embeddings$/)).toBe(1);
    expect(second.data.data).toHaveLength(2);
    expect(second.data.data[0].embedding).toHaveLength(16);
    expect(second.data.data[1].embedding).toEqual(first.data.data[1].embedding);
    expect(second.data.usage).toEqual(first.data.usage);

    const float = async () => call('POST', `${suite.gw.url}/v1/embeddings`, { model: 'openai/text-embedding-3-small', input: ['the embeddings cache', 'second text'], dimensions: 16, encoding_format: 'float' });
    const floatMiss = await float();
    expect(floatMiss.headers['x-heimdall-cache']).toBe('miss'); // another encoding format: another entry
    const floatHit = await float();
    expect(floatHit.headers['x-heimdall-cache']).toBe('hit');
    expect(floatHit.json.data[0].embedding).toEqual(floatMiss.json.data[0].embedding);
    expect(floatHit.json.data[0].embedding[0]).toBeCloseTo(first.data.data[0].embedding[0], 5);
    expect(calls(/\/embeddings$/)).toBe(2);
  });

  it('another input, dimensions or model is another entry; user is not part of the key', async () => {
    const url = `${suite.gw.url}/v1/embeddings`;
    const base = { model: 'openai/text-embedding-3-small', input: 'key of embeddings', encoding_format: 'float' };
    expect((await call('POST', url, base)).headers['x-heimdall-cache']).toBe('miss');
    expect((await call('POST', url, { ...base, user: 'someone' })).headers['x-heimdall-cache']).toBe('hit');
    expect((await call('POST', url, { ...base, dimensions: 8 })).headers['x-heimdall-cache']).toBe('miss');
    expect((await call('POST', url, { ...base, input: 'key of embeddings!' })).headers['x-heimdall-cache']).toBe('miss');
    expect((await call('POST', url, { ...base, model: 'openai/text-embedding-3-large' })).headers['x-heimdall-cache']).toBe('miss');
    expect(calls(/\/embeddings$/)).toBe(4);
  });
});

describe('legacy completions', () => {
  it('whole: a hit returns the stored text_completion', async () => {
    const ask = () => client.completions.create({ model: 'openai/gpt-3.5-turbo-instruct', prompt: 'Say something about legacy caches', max_tokens: 30 }).withResponse();
    const first = await ask();
    expect(first.response.headers.get('x-heimdall-cache')).toBe('miss');
    const second = await ask();
    expect(second.response.headers.get('x-heimdall-cache')).toBe('hit');
    expect(calls(/\/completions$/)).toBe(1);
    expect(second.data.object).toBe('text_completion');
    expect(second.data.choices[0].text).toBe(first.data.choices[0].text);
    expect(second.data.choices[0].text.length).toBeGreaterThan(0);
    expect(second.data.usage).toEqual(first.data.usage);
  });

  it('streamed: stored once complete, replayed as legacy chunks with usage; a whole request hits it too', async () => {
    const ask = async (): Promise<{ text: string; usage: unknown; finish: string | null; cache: string | null }> => {
      const { data: stream, response } = await client.completions
        .create({ model: 'openai/gpt-3.5-turbo-instruct', prompt: 'Stream a legacy answer about the weather in spring please', stream: true, stream_options: { include_usage: true } })
        .withResponse();
      let text = '';
      let usage: unknown;
      let finish: string | null = null;
      for await (const chunk of stream) {
        for (const choice of chunk.choices) {
          text += choice.text;
          finish = choice.finish_reason ?? finish;
        }
        if (chunk.usage) usage = chunk.usage;
      }
      return { text, usage, finish, cache: response.headers.get('x-heimdall-cache') };
    };
    const first = await ask();
    expect(first.cache).toBe('miss');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await ask();
    expect(second.cache).toBe('hit');
    expect(second.text).toBe(first.text);
    expect(second.text.length).toBeGreaterThan(10);
    expect(second.finish).toBe(first.finish);
    expect(second.usage).toEqual(first.usage);
    const whole = await client.completions.create({ model: 'openai/gpt-3.5-turbo-instruct', prompt: 'Stream a legacy answer about the weather in spring please' }).withResponse();
    expect(whole.response.headers.get('x-heimdall-cache')).toBe('hit');
    expect(whole.data.choices[0].text).toBe(first.text);
    expect(calls(/\/completions$/)).toBe(1);
  });
});

describe('Responses API', () => {
  for (const [label, model] of [['passed through', 'openai/gpt-4o-mini'], ['bridged', 'anthropic/claude-sonnet-4-5']] as const) {
    it(`${label}: whole, then a streamed hit in the SDK's event sequence with usage`, async () => {
      const input = `Tell me about response caches (${label})`;
      const first = await client.responses.create({ model, input, max_output_tokens: 200 }).withResponse();
      expect(first.response.headers.get('x-heimdall-cache')).toBe('miss');
      expect(first.data.output_text.length).toBeGreaterThan(0);
      const upstream = suite.mock.requests.length;

      const whole = await client.responses.create({ model, input, max_output_tokens: 200 }).withResponse();
      expect(whole.response.headers.get('x-heimdall-cache')).toBe('hit');
      expect(whole.data.object).toBe('response');
      expect(whole.data.status).toBe('completed');
      expect(whole.data.output_text).toBe(first.data.output_text);
      expect(whole.data.usage?.input_tokens).toBe(first.data.usage?.input_tokens);
      expect(whole.data.usage?.output_tokens).toBe(first.data.usage?.output_tokens);
      expect(whole.data.id).not.toBe(first.data.id);

      const stream = client.responses.stream({ model, input, max_output_tokens: 200 });
      const types: string[] = [];
      let deltas = '';
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'response.output_text.delta') deltas += event.delta;
      }
      const final = await stream.finalResponse();
      expect(types[0]).toBe('response.created');
      expect(types.at(-1)).toBe('response.completed');
      expect(types).toContain('response.output_text.done');
      expect(types.filter((type) => type === 'response.output_text.delta').length).toBeGreaterThanOrEqual(1);
      expect(deltas).toBe(first.data.output_text);
      expect(final.output_text).toBe(first.data.output_text);
      expect(final.usage?.output_tokens).toBe(first.data.usage?.output_tokens);
      expect(suite.mock.requests.length).toBe(upstream);
    });
  }

  it('a streamed miss is stored once complete and served to a whole request', async () => {
    const input = 'Stream first, about cached responses';
    const reply = await call('POST', `${suite.gw.url}/v1/responses`, { model: 'openai/gpt-4o-mini', input, stream: true });
    expect(reply.headers['x-heimdall-cache']).toBe('miss');
    const completed = sseData(reply.text).find((event) => event.type === 'response.completed');
    expect(completed).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const whole = await client.responses.create({ model: 'openai/gpt-4o-mini', input }).withResponse();
    expect(whole.response.headers.get('x-heimdall-cache')).toBe('hit');
    const text = completed.response.output.find((item: any) => item.type === 'message').content[0].text;
    expect(whole.data.output_text).toBe(text);
  });

  it('instructions, tools and parameters are part of the key', async () => {
    const url = `${suite.gw.url}/v1/responses`;
    const base = { model: 'openai/gpt-4o-mini', input: 'keyed responses', instructions: 'Be brief.' };
    expect((await call('POST', url, base)).headers['x-heimdall-cache']).toBe('miss');
    expect((await call('POST', url, { ...base, metadata: { a: '1' }, store: false })).headers['x-heimdall-cache']).toBe('hit');
    expect((await call('POST', url, { ...base, instructions: 'Be long.' })).headers['x-heimdall-cache']).toBe('miss');
    expect((await call('POST', url, { ...base, temperature: 0.2 })).headers['x-heimdall-cache']).toBe('miss');
  });

  it('a request that depends on stored state is bypassed: previous_response_id, conversation, item references', async () => {
    const url = `${suite.gw.url}/v1/responses`;
    const first = await call('POST', url, { model: 'openai/gpt-4o-mini', input: 'the first turn' });
    expect(first.status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const next = await call('POST', url, { model: 'openai/gpt-4o-mini', input: 'and then?', previous_response_id: first.json.id });
      expect(next.status, next.text).toBe(200);
      expect(next.headers['x-heimdall-cache']).toBe('bypass');
    }
    const refused = await call('POST', url, { model: 'openai/gpt-4o-mini', input: 'and then?', previous_response_id: first.json.id }, { 'x-heimdall-cache': 'only' });
    expect(refused.status).toBe(504);
    expect(refused.json.error.message).toContain('previous_response_id');
    const reference = await call('POST', url, { model: 'openai/gpt-4o-mini', input: [{ type: 'item_reference', id: 'msg_x' }] }, { 'x-heimdall-cache': 'only' });
    expect(reference.status).toBe(504);
    expect(reference.json.error.message).toContain('item_reference');
  });
});
