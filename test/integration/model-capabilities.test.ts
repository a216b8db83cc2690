/**
 * `capabilities` of GET /v1/models (src/api/model-capabilities.ts): each model lists the operations
 * it serves through the gateway, from what kind of model it is (name, catalog unit prices) and what
 * its provider serves; the openai SDK reads the list with the extra field in it.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { get } from './helpers.js';

let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startGateway({
    env: {
      OPENAI_API_KEY: 'k', OPENAI_BASE_URL: mock.openaiBaseUrl, GEMINI_API_KEY: 'k', ANTHROPIC_API_KEY: 'k', VOYAGE_API_KEY: 'k',
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 's', AWS_REGION: 'us-east-1',
    },
    config: {
      providers: {
        openai: { models: ['gpt-4o-mini', 'gpt-image-1', 'dall-e-3', 'tts-1', 'whisper-1', 'gpt-4o-transcribe', 'omni-moderation-latest', 'gpt-3.5-turbo-instruct'] },
        gemini: { models: ['gemini-2.5-flash', 'gemini-2.5-flash-image', 'imagen-4.0-generate-001', 'gemini-2.5-flash-preview-tts'] },
        bedrock: { models: ['amazon.nova-pro-v1:0', 'amazon.nova-canvas-v1:0', 'stability.sd3-5-large-v1:0', 'cohere.rerank-v3-5:0'] },
        voyage: { models: ['rerank-2.5'] },
      },
    },
  });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});

async function capabilities(): Promise<Map<string, string[]>> {
  const reply = await get(`${gateway.url}/v1/models`);
  const list = reply.json as { data: Array<{ id: string; capabilities?: string[] }> };
  return new Map(list.data.map((model) => [model.id, model.capabilities ?? []]));
}

describe('GET /v1/models capabilities', () => {
  it('each model names the operations it serves, by kind and by what its provider offers', async () => {
    const caps = await capabilities();
    expect(caps.get('openai/gpt-4o-mini')).toEqual(['chat', 'responses', 'batches']);
    expect(caps.get('openai/text-embedding-3-small')).toEqual(['embeddings', 'batches']);
    expect(caps.get('openai/gpt-image-1')).toEqual(['images.generations', 'images.edits']);
    expect(caps.get('openai/dall-e-3')).toEqual(['images.generations', 'images.edits']);
    expect(caps.get('openai/tts-1')).toEqual(['audio.speech']);
    expect(caps.get('openai/whisper-1')).toEqual(['audio.transcriptions', 'audio.translations']);
    expect(caps.get('openai/gpt-4o-transcribe')).toEqual(['audio.transcriptions']);
    expect(caps.get('openai/omni-moderation-latest')).toEqual(['moderations']);
    expect(caps.get('openai/gpt-3.5-turbo-instruct')).toEqual(['completions']);
    expect(caps.get('anthropic/claude-sonnet-4-5')).toEqual(['chat', 'responses', 'batches']);
    expect(caps.get('gemini/gemini-2.5-flash')).toEqual(['chat', 'responses', 'audio.transcriptions', 'audio.translations']);
    expect(caps.get('gemini/gemini-2.5-flash-image')).toEqual(['chat', 'images.generations']);
    expect(caps.get('gemini/imagen-4.0-generate-001')).toEqual(['images.generations']);
    expect(caps.get('gemini/gemini-2.5-flash-preview-tts')).toEqual(['audio.speech']);
    expect(caps.get('gemini/gemini-embedding-001')).toEqual(['embeddings']);
    expect(caps.get('bedrock/amazon.nova-pro-v1:0')).toEqual(['chat', 'responses']);
    expect(caps.get('bedrock/amazon.nova-canvas-v1:0')).toEqual(['images.generations']);
    expect(caps.get('bedrock/stability.sd3-5-large-v1:0')).toEqual(['images.generations']);
    expect(caps.get('bedrock/cohere.rerank-v3-5:0')).toEqual(['rerank']);
    expect(caps.get('bedrock/amazon.titan-embed-text-v2:0')).toEqual(['embeddings']);
    expect(caps.get('voyage/rerank-2.5')).toEqual(['rerank']);
    expect(caps.get('voyage/voyage-3.5')).toEqual(['embeddings']);
  });

  it('GET /v1/models/{id} carries them too, and the openai SDK reads the list', async () => {
    const one = await get(`${gateway.url}/v1/models/${encodeURIComponent('gemini/gemini-2.5-flash-preview-tts')}`);
    expect(one.json).toMatchObject({ id: 'gemini/gemini-2.5-flash-preview-tts', capabilities: ['audio.speech'] });
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain('bedrock/amazon.nova-canvas-v1:0');
  });
});
