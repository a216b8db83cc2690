/**
 * The semantic cache over real sockets: the mock's embeddings put paraphrases near and unrelated
 * texts far, so a paraphrase is served from the cache (with its similarity) and each guard is seen
 * refusing a near match: negation, other tools, another system prompt; tool results and a high
 * temperature are never looked up; a per-request threshold; shadow mode counts and records
 * matches (both answers) without serving them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call, chat, CHAT_PATHS, EMBEDDING_PATHS, startCacheSuite, upstreamCalls, type CacheSuite } from './helpers.js';

let suite: CacheSuite;

beforeAll(async () => {
  suite = await startCacheSuite({
    enabled: true,
    semantic: { enabled: true, embedding_model: 'openai/text-embedding-3-small', dimensions: 256, threshold: 0.9, mode: 'serve' },
  });
});
afterAll(async () => {
  await suite.gw.close();
  await suite.mock.close();
});
beforeEach(() => suite.mock.reset());

const chats = (): number => upstreamCalls(suite.mock, CHAT_PATHS);
const embeddings = (): number => upstreamCalls(suite.mock, EMBEDDING_PATHS);
const url = (): string => `${suite.gw.url}/v1/chat/completions`;

async function ask(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ cache: string; similarity: string | undefined; json: any; status: number }> {
  const reply = await call('POST', url(), body, headers);
  expect(reply.status, reply.text).toBe(200);
  return { cache: String(reply.headers['x-heimdall-cache']), similarity: reply.headers['x-heimdall-cache-similarity'] as string | undefined, json: reply.json, status: reply.status };
}

async function guardCount(guard: string): Promise<number> {
  const text = (await call('GET', `${suite.gw.url}/metrics`)).text;
  const match = new RegExp(`heimdall_cache_semantic_matches_total\\{mode="serve",guard="${guard}"\\} (\\d+)`).exec(text);
  return match === null ? 0 : Number(match[1]);
}

describe('semantic matches', () => {
  it('a paraphrase is served from the cache with its similarity; an unrelated question is not', async () => {
    const first = await ask(chat('What is the capital city of France?'));
    expect(first.cache).toBe('miss');
    expect(embeddings()).toBe(1);
    const sent = suite.mock.requests.find((request) => EMBEDDING_PATHS.test(request.path))!;
    expect(sent.body).toMatchObject({ model: 'text-embedding-3-small', input: 'What is the capital city of France?', dimensions: 256 });
    const paraphrase = await ask(chat("Tell me France's capital"));
    expect(paraphrase.cache).toBe('semantic-hit');
    expect(Number(paraphrase.similarity)).toBeGreaterThanOrEqual(0.9);
    expect(Number(paraphrase.similarity)).toBeLessThanOrEqual(1);
    expect(paraphrase.json.choices[0].message.content).toBe(first.json.choices[0].message.content);
    expect(chats()).toBe(1);
    const unrelated = await ask(chat('How do I bake sourdough bread?'));
    expect(unrelated.cache).toBe('miss');
    expect(chats()).toBe(2);
  });

  it('a per-request threshold above the similarity refuses the match', async () => {
    await ask(chat('Recommend a good film for tonight'));
    const strict = await ask(chat('Please recommend a good movie for tonight.'), { 'x-heimdall-cache-threshold': '0.9999' });
    expect(strict.cache).toBe('miss');
    // (The strict request's own answer is now stored: another wording.)
    const loose = await ask(chat('Recommend me a good movie tonight'), { 'x-heimdall-cache-threshold': '0.9' });
    expect(loose.cache).toBe('semantic-hit');
  });
});

describe('guards', () => {
  it('negation: a question and its negation are near, but never match', async () => {
    const before = await guardCount('negation');
    await ask(chat('Is ibuprofen safe during pregnancy?'));
    const negated = await ask(chat('Is ibuprofen not safe during pregnancy?'));
    expect(negated.cache).toBe('miss');
    expect(await guardCount('negation')).toBe(before + 1);
    expect(chats()).toBe(2);
  });

  it('other tools or response format: no match', async () => {
    const tool = (name: string) => [{ type: 'function', function: { name, parameters: { type: 'object', properties: {} } } }];
    const before = await guardCount('tools');
    await ask(chat('What is the weather in Oslo right now?', { tools: tool('get_weather') }));
    expect((await ask(chat('Tell me the weather in Oslo right now', { tools: tool('get_forecast') }))).cache).toBe('miss');
    expect((await ask(chat('Tell me the weather in Oslo right now', { response_format: { type: 'json_object' } }))).cache).toBe('miss');
    expect(await guardCount('tools')).toBeGreaterThanOrEqual(before + 2);
    expect((await ask(chat('Tell me the weather in Oslo right now', { tools: tool('get_weather') }))).cache).toBe('semantic-hit');
  });

  it('another system prompt: no match', async () => {
    const system = (content: string) => ({ model: 'openai/gpt-4o-mini', messages: [{ role: 'system', content }, { role: 'user', content: 'Summarise the history of Rome' }] });
    const before = await guardCount('system_prompt');
    await ask(system('You are a historian.'));
    const other = await ask({ ...system('You are a pirate.'), messages: [{ role: 'system', content: 'You are a pirate.' }, { role: 'user', content: 'Please summarise the history of Rome.' }] });
    expect(other.cache).toBe('miss');
    expect(await guardCount('system_prompt')).toBe(before + 1);
  });

  it('tool results and a temperature above the bound are never looked up (no embedding call)', async () => {
    const withResults = {
      model: 'openai/gpt-4o-mini',
      messages: [
        { role: 'user', content: 'What is the weather in Bergen?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Bergen"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'rain, 9 C' },
        { role: 'user', content: 'What is the weather in Bergen?' },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    };
    expect((await ask(withResults)).cache).toBe('miss');
    expect(embeddings()).toBe(0);
    expect((await ask(withResults)).cache).toBe('hit'); // the exact cache still serves the same request
    expect((await ask(chat('Write a wild poem about the sea', { temperature: 1.5 }))).cache).toBe('miss');
    expect((await ask(chat('Write a wild poem about the sea!', { temperature: 1.5 }))).cache).toBe('miss');
    expect(embeddings()).toBe(0);
    const metrics = (await call('GET', `${suite.gw.url}/metrics`)).text;
    expect(metrics).toMatch(/heimdall_cache_semantic_skipped_total\{reason="tool_results"\} [1-9]/);
    expect(metrics).toMatch(/heimdall_cache_semantic_skipped_total\{reason="temperature"\} [1-9]/);
  });
});

describe('shadow mode', () => {
  it('computes, counts and records matches with both answers, and serves none; the mode is set through PATCH /api/settings', async () => {
    const patched = await call('PATCH', `${suite.gw.url}/api/settings`, { cache: { semantic: { mode: 'shadow' } } });
    expect(patched.status, patched.text).toBe(200);
    await call('DELETE', `${suite.gw.url}/api/cache/shadow`);
    const first = await ask(chat('How tall is the Eiffel tower?'));
    expect(first.cache).toBe('miss');
    const second = await ask(chat('Tell me how tall the Eiffel tower is'));
    expect(second.cache).toBe('miss');
    expect(chats()).toBe(2);
    const shadow = (await call('GET', `${suite.gw.url}/api/cache/shadow`)).json.data;
    expect(shadow).toHaveLength(1);
    expect(shadow[0]).toMatchObject({
      question: 'Tell me how tall the Eiffel tower is',
      cached_question: 'How tall is the Eiffel tower?',
      cached_answer: first.json.choices[0].message.content,
      real_answer: second.json.choices[0].message.content,
      guard: null,
      threshold: 0.9,
    });
    expect(shadow[0].similarity).toBeGreaterThanOrEqual(0.9);
    const metrics = (await call('GET', `${suite.gw.url}/metrics`)).text;
    expect(metrics).toMatch(/heimdall_cache_semantic_matches_total\{mode="shadow",guard="none"\} [1-9]/);
    await call('PATCH', `${suite.gw.url}/api/settings`, { cache: { semantic: { mode: 'serve' } } });
    expect((await ask(chat('Tell me how tall the Eiffel tower is, please'))).cache).toBe('semantic-hit');
  });
});
