import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
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

describe('drop-in surfaces to an OpenAI-format provider', () => {
  it('Anthropic SDK, non-stream and stream', async () => {
    const client = new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: 'x', maxRetries: 0 });
    const message = await client.messages.create({ model: 'openai/gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hi there' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'echo: hi there' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.input_tokens).toBe(2);
    const stream = client.messages.stream({ model: 'openai/gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'a b c' }] });
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'echo: a b c' }]);
    expect(final.usage.output_tokens).toBe(4);
  });

  it('Google Gen AI SDK, non-stream and stream', async () => {
    const ai = new GoogleGenAI({ apiKey: 'x', httpOptions: { baseUrl: `${gateway.url}/genai` } });
    const response = await ai.models.generateContent({ model: 'openai/gpt-4o-mini', contents: 'hello gemini' });
    expect(response.text).toBe('echo: hello gemini');
    expect(response.usageMetadata?.promptTokenCount).toBe(2);
    let text = '';
    for await (const chunk of await ai.models.generateContentStream({ model: 'openai/gpt-4o-mini', contents: 'one two' })) text += chunk.text ?? '';
    expect(text).toBe('echo: one two');
  });
});
