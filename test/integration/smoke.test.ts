import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { startGateway, type TestGateway } from '../support/gateway.js';

let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gateway = await startGateway({ env: { OPENAI_API_KEY: 'sk-test-key-123456', OPENAI_BASE_URL: mock.openaiBaseUrl } });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});

describe('smoke', () => {
  it('chat non-stream through the SDK', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'anything', maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] });
    expect(completion.choices[0].message.content).toBe('echo: hello there');
  });
  it('chat stream through the SDK', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'anything', maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one two three' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: one two three');
  });
});
