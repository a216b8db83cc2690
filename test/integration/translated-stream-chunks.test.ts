/**
 * A translated stream (OpenAI client, Anthropic provider) whose upstream chunks each hold several
 * events: the client gets every event's translation in order, the error event after the text before
 * it, and usage once at the end, however the provider's bytes were cut.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { post, sseEvents } from './helpers.js';

let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({ env: providers.env, config: providers.config });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

const event = (payload: Record<string, unknown>): string => `event: ${String(payload.type)}\ndata: ${JSON.stringify(payload)}\n\n`;
const START = [
  event({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, usage: { input_tokens: 7, output_tokens: 1 } } }),
  event({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
];
const delta = (text: string): string => event({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } });
const END = [
  event({ type: 'content_block_stop', index: 0 }),
  event({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 3 } }),
  event({ type: 'message_stop' }),
];

async function streamOf(body: string): Promise<ReturnType<typeof sseEvents>> {
  mock.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'text/event-stream' }, body }, { path: '/v1/messages' });
  const reply = await post(`${gateway.url}/v1/chat/completions`, {
    model: 'anthropic/claude-sonnet-4-5',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'hi' }],
  });
  expect(reply.status).toBe(200);
  return sseEvents(reply.text);
}

describe('translated stream, several events per upstream chunk', () => {
  it('a whole stream in one chunk: role, the three deltas, the finish, usage, [DONE], in order', async () => {
    const events = await streamOf([...START, delta('one'), delta(' two'), delta(' three'), ...END].join(''));
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data) as { choices: Array<{ delta: { content?: string; role?: string }; finish_reason: string | null }>; usage?: unknown });
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? null)).toEqual(['', 'one', ' two', ' three', null, null]);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks[4].choices[0].finish_reason).toBe('stop');
    expect(chunks[5]).toMatchObject({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });
  });

  it('an error event in the same chunk as text: the text first, then the error in OpenAI format, no [DONE]', async () => {
    const error = event({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    const events = await streamOf([...START, delta('one'), delta(' two'), error].join(''));
    const texts = events.slice(0, -1).map((e) => (JSON.parse(e.data) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content);
    expect(texts).toEqual(['', 'one', ' two']);
    const last = JSON.parse(events.at(-1)!.data) as { error: { message: string; type: string } };
    expect(last.error).toMatchObject({ message: 'Overloaded', type: 'overloaded_error' });
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
  });
});
