/**
 * POST /v1/rerank in Cohere's shape (src/api/media.ts, src/formats/rerank)
 * to Cohere, Jina and OpenAI-compatible servers (as sent) and to Voyage and
 * Bedrock (translated); POST /v1/moderations to OpenAI with the official SDK;
 * governance on both.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { post } from './helpers.js';

const RANKER = 'hk-rerank-ranker-0123456789abcd';
const CHATTER = 'hk-rerank-chatter-0123456789abc';
const DOCUMENTS = ['Paris is the capital of France', 'Berlin is in Germany', 'The capital of Italy is Rome'];
const QUERY = 'capital of France';

let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({
    env: { ...providers.env, JINA_API_KEY: 'jina-mock', JINA_BASE_URL: `${mock.url}/jina/v1`, VOYAGE_API_KEY: 'voyage-mock', VOYAGE_BASE_URL: `${mock.url}/voyage/v1` },
    config: {
      ...providers.config,
      providers: { ...(providers.config.providers as object), reranker: { type: 'openai-compatible', base_url: `${mock.url}/v1`, models: ['bge-reranker-v2-m3'] } },
      governance: {
        enforce: true,
        virtual_keys: {
          ranker: { key: RANKER },
          chatter: { key: CHATTER, allowed_models: ['openai/gpt-4o-mini'] },
        },
      },
    },
  });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

const rerank = (body: Record<string, unknown>, key = RANKER): ReturnType<typeof post> => post(`${gateway.url}/v1/rerank`, body, { authorization: `Bearer ${key}` });

describe('POST /v1/rerank', () => {
  it('Cohere, Jina and an OpenAI-compatible server get Cohere\'s shape as sent (model rewritten)', async () => {
    for (const [model, path] of [['cohere/rerank-v3.5', '/v2/rerank'], ['jina/jina-reranker-v2-base-multilingual', '/jina/v1/rerank'], ['reranker/bge-reranker-v2-m3', '/v1/rerank']]) {
      mock.reset();
      const reply = await rerank({ model, query: QUERY, documents: DOCUMENTS, top_n: 2, return_documents: true });
      expect(reply.status, model).toBe(200);
      expect((reply.json as { results: unknown[] }).results, model).toEqual([
        { index: 0, relevance_score: 1, document: { text: DOCUMENTS[0] } },
        { index: 2, relevance_score: 0.667, document: { text: DOCUMENTS[2] } },
      ]);
      expect(mock.requests[0].path, model).toBe(path);
      expect(mock.requests[0].body, model).toEqual({ model: model.slice(model.indexOf('/') + 1), query: QUERY, documents: DOCUMENTS, top_n: 2, return_documents: true });
    }
    await expect.poll(() => gateway.logs().filter((l) => l.msg === 'request').at(-1)?.input_tokens).toBeUndefined();
  });

  it('Voyage: top_n as top_k, data back as results; Jina\'s token usage is logged', async () => {
    const reply = await rerank({ model: 'voyage/rerank-2.5', query: QUERY, documents: DOCUMENTS.map((text) => ({ text })), top_n: 1, return_documents: true });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ results: [{ index: 0, relevance_score: 1, document: { text: DOCUMENTS[0] } }] });
    expect(mock.requests[0].body).toEqual({ model: 'rerank-2.5', query: QUERY, documents: DOCUMENTS, top_k: 1, return_documents: true });
    await expect.poll(() => gateway.logs().filter((l) => l.msg === 'request').at(-1)?.input_tokens).toBe(19);
    const jina = await rerank({ model: 'jina/jina-reranker-v2-base-multilingual', query: QUERY, documents: DOCUMENTS });
    expect(jina.status).toBe(200);
    await expect.poll(() => gateway.logs().filter((l) => l.msg === 'request').at(-1)?.input_tokens).toBe(19);
  });

  it('Bedrock: InvokeModel of Cohere\'s rerank model, signed; documents added back by index', async () => {
    const reply = await rerank({ model: 'bedrock/cohere.rerank-v3-5:0', query: QUERY, documents: DOCUMENTS, top_n: 1, return_documents: true });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ results: [{ index: 0, relevance_score: 1, document: { text: DOCUMENTS[0] } }] });
    expect(mock.requests[0].path).toBe('/model/cohere.rerank-v3-5%3A0/invoke');
    expect(mock.requests[0].body).toEqual({ query: QUERY, documents: DOCUMENTS, api_version: 2, top_n: 1 });
    expect(String(mock.requests[0].headers.authorization)).toMatch(/^AWS4-HMAC-SHA256/);
  });

  it('bad input and governance', async () => {
    const missing = await rerank({ model: 'voyage/rerank-2.5', documents: DOCUMENTS });
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ error: { param: 'query' } });
    const refused = await rerank({ model: 'cohere/rerank-v3.5', query: QUERY, documents: DOCUMENTS }, CHATTER);
    expect(refused.status).toBe(403);
    const chatOnly = await rerank({ model: 'anthropic/claude-sonnet-4-5', query: QUERY, documents: DOCUMENTS });
    expect(chatOnly.status).toBe(400);
    expect(chatOnly.json).toMatchObject({ error: { message: expect.stringContaining('does not support reranking') } });
    expect(mock.requests).toHaveLength(0);
  });
});

describe('POST /v1/moderations', () => {
  it('the official SDK, default model: to OpenAI as sent; governance applies', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: RANKER, maxRetries: 0 });
    const result = await client.moderations.create({ input: ['I will kill the process', 'hello'] });
    expect(result.results.map((r) => r.flagged)).toEqual([true, false]);
    expect(mock.requests[0].path).toBe('/v1/moderations');
    expect(mock.requests[0].body).toEqual({ input: ['I will kill the process', 'hello'], model: 'omni-moderation-latest' });
    const chatter = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: CHATTER, maxRetries: 0 });
    await expect(chatter.moderations.create({ input: 'x', model: 'openai/omni-moderation-latest' })).rejects.toMatchObject({ status: 403 });
    expect(mock.requests).toHaveLength(1);
  });
});
