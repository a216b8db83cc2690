/**
 * The two stages a response cache stands on: a plugin answering early (a
 * whole response or a stream, rendered in the caller's format, streamed when
 * the caller streams, with the gateway's headers, log line and metrics, and
 * no upstream call), and the final answer (the canonical response, usage,
 * cost, status, whether it completed; after a stream completed), on every
 * surface, through the official SDKs.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChatCompletion, ChatCompletionChunk, FinalAnswer, Plugin, PluginRequest } from '../../src/plugins/types.js';
import { contextOf } from '../../src/plugins/request-view.js';
import type { RequestContext } from '../../src/gateway/request-context.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { post, sdk } from '../integration/helpers.js';

let mock: MockUpstream;
let gateway: TestGateway;
const finished: RequestContext[] = [];

const CANNED: ChatCompletion = {
  id: 'chatcmpl-canned', object: 'chat.completion', created: 1700000000, model: 'canned-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'from the plugin' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
};

async function* cannedStream(): AsyncGenerator<ChatCompletionChunk> {
  const base = { id: 'chatcmpl-s', object: 'chat.completion.chunk' as const, created: 1700000000, model: 'canned-model' };
  for (const piece of ['from ', 'the ', 'stream']) {
    await new Promise((resolve) => setImmediate(resolve));
    yield { ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] };
  }
  yield { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
  yield { ...base, choices: [], usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } };
}

/** Answers early when the request carries `x-answer: response` or `x-answer: stream`. */
const answering: Plugin = {
  name: 'answering',
  beforeRouting(request) {
    const mode = request.headers['x-answer'];
    if (mode === 'response') return { response: CANNED, headers: { 'x-answered': 'yes' } };
    if (mode === 'stream') return { stream: cannedStream() };
    return undefined;
  },
};

interface Seen {
  status: number;
  stream: boolean;
  completed: boolean;
  source: string;
  text: unknown;
  usage: unknown;
  costUsd: unknown;
  provider: string | undefined;
}
const seen: Seen[] = [];
const recording: Plugin = {
  name: 'recording',
  finalAnswer(request: PluginRequest, answer: FinalAnswer) {
    const response = answer.response() as ChatCompletion | undefined;
    seen.push({
      status: answer.status, stream: answer.stream, completed: answer.completed, source: answer.source,
      text: response?.choices?.[0]?.message.content, usage: answer.usage, costUsd: answer.costUsd, provider: request.target?.provider,
    });
    if (request.headers['x-replace'] === 'yes') {
      answer.replace({ ...(response as ChatCompletion), choices: [{ index: 0, message: { role: 'assistant', content: 'replaced' }, finish_reason: 'stop' }] });
    }
  },
};

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({ env: providers.env, config: providers.config, logLevel: 'warn' });
  gateway.app.gateway.lifecycle.use({ name: 'test-finished', afterResponse: (request) => finished.push(contextOf(request)) });
  gateway.app.gateway.lifecycle.setConfigured([{ plugin: answering }, { plugin: recording }]);
});
afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});
beforeEach(() => {
  mock.reset();
  seen.length = 0;
  finished.length = 0;
});

describe('answer early', () => {
  it('OpenAI, not streamed: the response as JSON with the gateway headers, no upstream call, logged with its usage', async () => {
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { 'x-answer': 'response' });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ choices: [{ message: { content: 'from the plugin' } }] });
    expect(reply.headers['x-answered']).toBe('yes');
    expect(reply.headers['x-request-id']).toEqual(expect.any(String));
    expect(mock.requests).toHaveLength(0);
    await expect.poll(() => finished.length).toBe(1);
    expect(finished[0]).toMatchObject({ status: 200, answeredBy: 'answering', usage: { prompt_tokens: 3 } });
    expect(seen).toEqual([expect.objectContaining({ source: 'plugin', stream: false, completed: true, text: 'from the plugin' })]);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/heimdall_plugin_duration_seconds_count\{plugin="answering",stage="beforeRouting"\} [1-9]/);
  });

  it('OpenAI SDK streaming: a whole response is cut into chunks; a plugin stream is forwarded chunk by chunk', async () => {
    const client = sdk(gateway.url);
    let text = '';
    const first = await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }, { headers: { 'x-answer': 'response' } });
    let usage: unknown;
    for await (const chunk of first) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('from the plugin');
    expect(usage).toMatchObject({ total_tokens: 6 });
    text = '';
    const second = await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true }, { headers: { 'x-answer': 'stream' } });
    for await (const chunk of second) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('from the stream');
    expect(mock.requests).toHaveLength(0);
    await expect.poll(() => seen.length).toBe(2);
    expect(seen[1]).toMatchObject({ source: 'plugin', stream: true, completed: true, text: 'from the stream', usage: { total_tokens: 5 } });
  });

  it('Anthropic and Gemini SDKs: the canonical answer in their formats, streamed and not', async () => {
    const anthropic = new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: 'x', maxRetries: 0, defaultHeaders: { 'x-answer': 'stream' } });
    const message = await anthropic.messages.create({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'from the stream' }]);
    const streamed = await anthropic.messages.stream({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    expect(streamed.content).toEqual([{ type: 'text', text: 'from the stream' }]);
    const ai = new GoogleGenAI({ apiKey: 'x', httpOptions: { baseUrl: `${gateway.url}/genai`, headers: { 'x-answer': 'response' } } });
    expect((await ai.models.generateContent({ model: 'gemini/gemini-2.5-flash', contents: 'hi' })).text).toBe('from the plugin');
    let text = '';
    for await (const chunk of await ai.models.generateContentStream({ model: 'gemini/gemini-2.5-flash', contents: 'hi' })) text += chunk.text ?? '';
    expect(text).toBe('from the plugin');
    expect(mock.requests).toHaveLength(0);
  });

  it('the Responses API: rendered as a Responses object', async () => {
    const client = sdk(gateway.url);
    const response = await client.responses.create({ model: 'openai/gpt-4o-mini', input: 'hi' }, { headers: { 'x-answer': 'response' } });
    expect(response.output_text).toBe('from the plugin');
    expect(mock.requests).toHaveLength(0);
  });
});

describe('final answer', () => {
  it('a pass-through answer, decoded for the plugin: text, usage, provider; replaced when the plugin says so', async () => {
    const client = sdk(gateway.url);
    const completion = await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'one two' }] });
    expect(completion.choices[0].message.content).toBe('echo: one two');
    expect(seen).toEqual([expect.objectContaining({ source: 'upstream', stream: false, completed: true, status: 200, text: 'echo: one two', provider: 'openai' })]);
    expect(seen[0].usage).toMatchObject({ prompt_tokens: 2 });
    const replaced = await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-replace': 'yes' } });
    expect(replaced.choices[0].message.content).toBe('replaced');
  });

  it('a translated answer (Anthropic caller, OpenAI provider) replaced, in the caller\'s format', async () => {
    const anthropic = new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: 'x', maxRetries: 0, defaultHeaders: { 'x-replace': 'yes' } });
    const message = await anthropic.messages.create({ model: 'openai/gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'replaced' }]);
    expect(seen[0]).toMatchObject({ text: 'echo: hi' });
  });

  it('streams: after the stream completed, with the collected text and usage, on pass-through and translated streams', async () => {
    const client = sdk(gateway.url);
    let text = '';
    for await (const chunk of await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'a b c' }], stream: true })) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: a b c');
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]).toMatchObject({ source: 'upstream', stream: true, completed: true, text: 'echo: a b c', usage: { completion_tokens: 4 } });
    const anthropic = new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: 'x', maxRetries: 0 });
    const final = await anthropic.messages.stream({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'd e' }] }).finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'echo: d e' }]);
    await expect.poll(() => seen.length).toBe(2);
    expect(seen[1]).toMatchObject({ stream: true, completed: true, text: 'echo: d e', provider: 'anthropic' });
  });

  it('a stream cut by the provider: completed false', async () => {
    mock.enqueue({ kind: 'stream-break', afterChunks: 2 });
    const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'a b c d e f' }], stream: true });
    expect(reply.status).toBe(200);
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]).toMatchObject({ stream: true, completed: false });
  });
});
