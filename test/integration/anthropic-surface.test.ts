/**
 * The official `@anthropic-ai/sdk` as a client of /anthropic, its base URL
 * swapped, against every provider format: Anthropic models pass through,
 * the others answer in Anthropic form. One gateway, one mock upstream.
 */
import Anthropic from '@anthropic-ai/sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import { useMockedGateway, type TestGateway } from '../support/gateway.js';
import { anthropicErrorBody, type MockUpstream } from '../support/mock-upstream/index.js';
import { NATIVE_MODELS, type NativeProvider } from '../support/mock-upstream/provider-env.js';
import { post } from './helpers.js';

const suite = useMockedGateway();
let mock: MockUpstream;
let gateway: TestGateway;
let client: Anthropic;

beforeAll(() => {
  ({ mock, gateway } = suite);
  client = new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: 'client-key', maxRetries: 0 });
});

const PROVIDERS = Object.keys(NATIVE_MODELS) as NativeProvider[];

const tools: Anthropic.Tool[] = ['lookup', 'search'].map((name) => ({
  name,
  description: `${name} a word`,
  input_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
}));

describe.each(PROVIDERS)('Anthropic SDK -> %s', (provider) => {
  const model = NATIVE_MODELS[provider];

  it('messages.create: text, stop_reason, usage', async () => {
    const message = await client.messages.create({ model, max_tokens: 100, system: 'be brief', messages: [{ role: 'user', content: 'hello there' }] });
    expect(message.type).toBe('message');
    expect(message.content).toEqual([{ type: 'text', text: 'echo: hello there' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({ input_tokens: 4, output_tokens: 3 });
    expect(message.id).toMatch(/^msg_/);
  });

  it('messages.stream: the SDK assembles text and usage from the events', async () => {
    const stream = client.messages.stream({ model, max_tokens: 100, messages: [{ role: 'user', content: 'one two three' }] });
    let text = '';
    stream.on('text', (delta) => { text += delta; });
    const message = await stream.finalMessage();
    expect(text).toBe('echo: one two three');
    expect(message.content).toEqual([{ type: 'text', text: 'echo: one two three' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({ input_tokens: 3, output_tokens: 4 });
  });

  it('tools, non-stream and stream: two tool_use blocks with ids, names and inputs', async () => {
    const params = { model, max_tokens: 100, tools, messages: [{ role: 'user' as const, content: 'parallel please' }] };
    const plain = await client.messages.create(params);
    const streamed = await client.messages.stream(params).finalMessage();
    for (const message of [plain, streamed]) {
      const uses = message.content.filter((block) => block.type === 'tool_use');
      expect(uses.map((block) => [block.name, block.input])).toEqual([
        ['lookup', { text: 'parallel please' }],
        ['search', { text: 'parallel please' }],
      ]);
      expect(new Set(uses.map((block) => block.id)).size).toBe(2);
      expect(message.stop_reason).toBe('tool_use');
    }
  });

  it('a tool_result turn goes back to the provider and gets the answer', async () => {
    const first = await client.messages.create({ model, max_tokens: 100, tools, tool_choice: { type: 'tool', name: 'lookup' }, messages: [{ role: 'user', content: 'weather in Oslo' }] });
    const use = first.content.find((block) => block.type === 'tool_use');
    expect(use?.name).toBe('lookup');
    const second = await client.messages.create({
      model, max_tokens: 100, tools,
      messages: [
        { role: 'user', content: 'weather in Oslo' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use!.id, content: 'rainy' }] },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'echo: weather in Oslo' }]);
  });
});

describe('count_tokens', () => {
  it('Anthropic: forwarded to /v1/messages/count_tokens with the model rewritten', async () => {
    const counted = await client.messages.countTokens({ model: NATIVE_MODELS.anthropic, system: 'be brief', messages: [{ role: 'user', content: 'count these words' }] });
    expect(counted).toEqual({ input_tokens: 5 });
    const [call] = mock.requests;
    expect(call.path).toBe('/v1/messages/count_tokens');
    expect(call.body).toMatchObject({ model: 'claude-sonnet-4-5' });
    expect(call.headers['x-api-key']).toBe('sk-ant-mock');
  });

  it('Claude on Vertex: forwarded to the count-tokens publisher model with an OAuth token', async () => {
    const counted = await client.messages.countTokens({ model: NATIVE_MODELS['vertex-anthropic'], messages: [{ role: 'user', content: 'count these words' }] });
    expect(counted).toEqual({ input_tokens: 3 });
    const call = mock.requests.find((r) => r.path !== '/token');
    expect(call?.path).toBe('/v1/projects/mock-project/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict');
    expect(call?.body).toMatchObject({ model: 'claude-sonnet-4-5@20250929' });
    expect(call?.headers.authorization).toMatch(/^Bearer ya29\./);
  });

  it('a provider without a token count: 400 in Anthropic form, nothing sent upstream', async () => {
    const error = await client.messages.countTokens({ model: NATIVE_MODELS.openai, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(mock.requests).toHaveLength(0);
  });
});

describe('errors in Anthropic form', () => {
  it('an upstream error keeps its status and message, whichever format the provider speaks', async () => {
    mock.enqueue({ kind: 'error', status: 400, body: anthropicErrorBody(400, 'messages: too long') });
    const passthrough = await client.messages.create({ model: NATIVE_MODELS.anthropic, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(passthrough).toBeInstanceOf(Anthropic.BadRequestError);
    expect((passthrough as Error).message).toContain('messages: too long');
    mock.enqueue({ kind: 'error', status: 400, body: { message: 'invalid request: bad' } });
    const translated = await client.messages.create({ model: NATIVE_MODELS.cohere, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(translated).toBeInstanceOf(Anthropic.BadRequestError);
    expect((translated as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('invalid request: bad') } });
  });

  it('a request the surface cannot read: 400 naming the field', async () => {
    // A translation reads the blocks: a tool_use without an id cannot become a tool call.
    const reply = await post(`${gateway.url}/anthropic/v1/messages`, {
      model: NATIVE_MODELS.openai,
      max_tokens: 10,
      messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'tool_use', name: 'lookup', input: {} }] }, { role: 'user', content: 'y' }],
    });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('messages[1].content[0].id') } });
    expect(mock.requests).toHaveLength(0);
  });

  it('a stream that fails midway ends with an Anthropic error event the SDK throws', async () => {
    mock.enqueue({ kind: 'stream-error', afterChunks: 3 });
    const stream = client.messages.stream({ model: NATIVE_MODELS.gemini, max_tokens: 50, messages: [{ role: 'user', content: 'one two three four' }] });
    await expect(stream.finalMessage()).rejects.toThrow(/Mock upstream stream error/);
  });
});
