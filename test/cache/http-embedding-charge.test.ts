/**
 * The semantic cache's embedding calls are the caller's: their cost and tokens are charged to the
 * virtual key with the request (its spend, tokens and budget), and the request's log row carries
 * them (cost_usd includes them; metadata.cache.embedding says what the call was). A semantic hit
 * then costs the embedding call, not $0.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call, chat, CHAT_PATHS, EMBEDDING_PATHS, PRICE, startCacheSuite, upstreamCalls, logRow, type CacheSuite } from './helpers.js';

let suite: CacheSuite;

/** $0.5 per embedded word (the mock counts a token per word). */
const EMBEDDING_PRICE = { input: 500_000, output: 0 };

beforeAll(async () => {
  suite = await startCacheSuite(
    { enabled: true, semantic: { enabled: true, embedding_model: 'openai/text-embedding-3-small', dimensions: 256, threshold: 0.9, mode: 'serve' } },
    { governance: { pricing: { 'openai/gpt-4o-mini': PRICE, 'openai/text-embedding-3-small': EMBEDDING_PRICE } } },
  );
});
afterAll(async () => {
  await suite.gw.close();
  await suite.mock.close();
});
beforeEach(() => suite.mock.reset());

async function createKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const reply = await call('POST', `${suite.gw.url}/api/virtual-keys`, body);
  expect(reply.status, reply.text).toBe(201);
  return { id: reply.json.id, key: reply.json.key };
}

const logOf = (id: string): Promise<Record<string, any>> => logRow(suite.gw.url, id);

const ask = (content: string, key: string, id: string) =>
  call('POST', `${suite.gw.url}/v1/chat/completions`, chat(content), { authorization: `Bearer ${key}`, 'x-request-id': id });

describe('embedding calls of the semantic cache', () => {
  it('are charged to the key: spend, tokens and the log row include them; a semantic hit costs the embedding', async () => {
    const key = await createKey({ name: 'embedding-payer', budget: { max_usd: 1000 } });
    const question = 'What is the capital city of France?'; // 7 words
    const miss = await ask(question, key.key, 'charge-miss');
    expect(miss.headers['x-heimdall-cache']).toBe('miss');
    const hit = await ask("Tell me France's capital", key.key, 'charge-hit'); // 4 words
    expect(hit.headers['x-heimdall-cache']).toBe('semantic-hit');
    expect(upstreamCalls(suite.mock, CHAT_PATHS)).toBe(1);
    expect(upstreamCalls(suite.mock, EMBEDDING_PATHS)).toBe(2);

    const chatCost = 7 * 1 + 8 * 2; // 7 prompt words; "echo: What is the capital city of France?" 8 words
    const missRow = await logOf('charge-miss');
    expect(missRow.cost_usd).toBeCloseTo(chatCost + 7 * 0.5, 6);
    expect(missRow.metadata.cache.embedding).toMatchObject({ provider: 'openai', model: 'text-embedding-3-small', tokens: 7, cost_usd: 3.5 });
    const hitRow = await logOf('charge-hit');
    expect(hitRow.cache).toBe('hit');
    expect(hitRow.cost_usd).toBeCloseTo(4 * 0.5, 6);
    expect(hitRow.metadata.cache).toMatchObject({ result: 'semantic-hit', saved_usd: chatCost, embedding: { tokens: 4, cost_usd: 2 } });

    const view = (await call('GET', `${suite.gw.url}/api/virtual-keys/${key.id}`)).json;
    expect(view.spend_usd).toBeCloseTo(chatCost + 3.5 + 2, 6);
    expect(view.tokens).toBe(7 + 8 + 7 + 4);
  });

  it('count against the budget: a key whose budget only the embedding call exhausts is refused next', async () => {
    const question = 'How tall is the Eiffel tower in Paris?'; // 8 words; the answer "echo: ..." 9
    const chatCost = 8 * 1 + 9 * 2;
    const embeddingCost = 8 * 0.5;
    // Without the embedding call's charge the key would still have $4 left.
    const key = await createKey({ name: 'embedding-budget', budget: { max_usd: chatCost + embeddingCost } });
    const first = await ask(question, key.key, 'budget-1');
    expect(first.status).toBe(200);
    const view = (await call('GET', `${suite.gw.url}/api/virtual-keys/${key.id}`)).json;
    expect(view.spend_usd).toBeCloseTo(chatCost + embeddingCost, 6);
    const refused = await ask('Something else entirely, about bread', key.key, 'budget-2');
    expect(refused.status).toBe(402);
    expect(refused.json.error.message).toContain('Budget exceeded');
  });
});
