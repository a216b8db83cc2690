/**
 * MCP tools on model calls (x-heimdall-mcp), against the mock upstream in each provider format and
 * server-everything over stdio: tools added for the client to run, and the server-side tool loop
 * (x-heimdall-mcp-execute) for chat and Responses, streamed token by token and not, with the
 * OpenAI SDK as client.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { NATIVE_MODELS, startMockProviders, type MockProviders } from '../support/mock-upstream/provider-env.js';
import { SCRIPT_MARKER } from '../support/mock-upstream/scripted-turn.js';
import { EVERYTHING, FLAKY, stdioServer, waitForStatus } from './support.js';

const KEY = 'hk-mcp-model-tools-key-00001';
const NO_EVERYTHING = 'hk-mcp-model-tools-key-00002';
const PROMPT = `${SCRIPT_MARKER}: echo something`;
const ECHO_CHOICE = { type: 'function', function: { name: 'everything__echo' } } as const;

describe('MCP tools on model calls', () => {
  let providers: MockProviders;
  let gw: TestGateway;
  let openai: OpenAI;

  beforeAll(async () => {
    providers = await startMockProviders();
    gw = await startGateway({
      env: providers.env,
      config: {
        ...(providers.config as object),
        governance: { virtual_keys: { dev: { key: KEY }, other: { key: NO_EVERYTHING, allowed_mcp_servers: ['flaky'] } } },
        mcp: { servers: { everything: stdioServer(EVERYTHING, ['stdio']), flaky: stdioServer(FLAKY) }, tool_loop: { max_turns: 4 } },
      },
    });
    await Promise.all([waitForStatus(gw.app, 'everything', 'ready'), waitForStatus(gw.app, 'flaky', 'ready')]);
    openai = new OpenAI({ apiKey: KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  }, 60_000);
  beforeEach(() => providers.mock.reset());
  afterAll(async () => {
    await gw?.close();
    await providers?.mock.close();
  });

  const upstreamBodies = () => providers.mock.requests.map((request) => request.body as Record<string, unknown>);

  it('adds the named servers\' tools to a chat request; the client gets the tool call', async () => {
    const completion = await openai.chat.completions.create(
      { model: NATIVE_MODELS.openai, messages: [{ role: 'user', content: PROMPT }], tool_choice: ECHO_CHOICE },
      { headers: { 'x-heimdall-mcp': 'everything' } },
    );
    const call = completion.choices[0].message.tool_calls![0] as { function: { name: string; arguments: string } };
    expect(call.function.name).toBe('everything__echo');
    expect(JSON.parse(call.function.arguments)).toHaveProperty('message');
    const sent = upstreamBodies()[0];
    const names = (sent.tools as Array<{ function: { name: string } }>).map((tool) => tool.function.name);
    expect(names).toContain('everything__echo');
    expect(names.some((name) => name.startsWith('flaky__'))).toBe(false);
    expect(sent).not.toHaveProperty('heimdall_mcp');
  });

  it('takes the servers from the body field too, and keeps the caller\'s own tools', async () => {
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({
        model: NATIVE_MODELS.openai, messages: [{ role: 'user', content: 'hi' }], heimdall_mcp: ['flaky'],
        tools: [{ type: 'function', function: { name: 'mine', parameters: { type: 'object', properties: {} } } }],
      }),
    });
    expect(response.status).toBe(200);
    const names = (upstreamBodies()[0].tools as Array<{ function: { name: string } }>).map((tool) => tool.function.name);
    expect(names[0]).toBe('mine');
    expect(names).toContain('flaky__ok');
  });

  it('refuses an unknown server (400) and a server the key may not use (403), in the OpenAI format', async () => {
    const unknown = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-heimdall-mcp': 'nope' },
      body: JSON.stringify({ model: NATIVE_MODELS.openai, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('mcp_server_unknown');
    const forbidden = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${NO_EVERYTHING}`, 'x-heimdall-mcp': 'everything' },
      body: JSON.stringify({ model: NATIVE_MODELS.openai, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe('mcp_tool_not_allowed');
    expect(providers.mock.requests).toHaveLength(0);
  });

  for (const provider of ['openai', 'anthropic', 'gemini'] as const) {
    it(`runs the tool loop itself with ${provider} (chat, not streamed)`, async () => {
      const response = await openai.chat.completions.create(
        { model: NATIVE_MODELS[provider], messages: [{ role: 'user', content: PROMPT }], tool_choice: ECHO_CHOICE },
        { headers: { 'x-heimdall-mcp': 'everything', 'x-heimdall-mcp-execute': 'true' } },
      ).withResponse();
      const completion = response.data;
      expect(completion.choices[0].message.content).toMatch(/^tool result: .*Echo: /);
      expect(completion.choices[0].message.tool_calls ?? []).toEqual([]);
      expect(response.response.headers.get('x-heimdall-mcp-turns')).toBe('2');
      expect(response.response.headers.get('x-heimdall-mcp-tool-calls')).toBe('1');
      expect(response.response.headers.get('x-heimdall-provider')).toBe(provider);
      // Two model calls in the provider's own format; the second carries the tool result.
      expect(providers.mock.requests).toHaveLength(2);
      expect(JSON.stringify(providers.mock.requests[1].body)).toContain('Echo: ');
      const usage = completion.usage!;
      expect(usage.total_tokens).toBeGreaterThan(0);
      const row = gw.app.mcp.store!.calls({ server: 'everything', tool: 'echo', limit: 1 })[0];
      expect(row).toMatchObject({ origin: 'loop', request_id: response.response.headers.get('x-request-id') });
    });
  }

  /** Was this upstream call a streamed one, in its provider's own way? */
  const streamedUpstream = (index: number): boolean => {
    const request = providers.mock.requests[index];
    return request.path.includes('streamGenerateContent') || (request.body as { stream?: unknown }).stream === true;
  };

  /** The SSE events of a response as they arrive: comments as `:` lines, data parsed. */
  async function events(response: Response): Promise<Array<{ comment?: string; event?: string; data?: Record<string, unknown> | '[DONE]' }>> {
    const out: Array<{ comment?: string; event?: string; data?: Record<string, unknown> | '[DONE]' }> = [];
    for (const block of (await response.text()).split('\n\n')) {
      if (block.trim() === '') continue;
      if (block.startsWith(':')) {
        out.push({ comment: block.slice(1).trim() });
        continue;
      }
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
      out.push({ event, data: data === '[DONE]' ? '[DONE]' : (JSON.parse(data) as Record<string, unknown>) });
    }
    return out;
  }

  const loopRequest = (path: string, body: Record<string, unknown>): Promise<Response> => fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-heimdall-mcp': 'everything', 'x-heimdall-mcp-execute': 'true' },
    body: JSON.stringify(body),
  });

  for (const provider of ['openai', 'anthropic', 'gemini'] as const) {
    it(`streams every turn of the loop token by token with ${provider} (chat chunks)`, async () => {
      const response = await loopRequest('/v1/chat/completions', {
        model: NATIVE_MODELS[provider], messages: [{ role: 'user', content: PROMPT }], tool_choice: ECHO_CHOICE, stream: true, stream_options: { include_usage: true },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      expect(response.headers.get('x-heimdall-provider')).toBe(provider);
      const stream = await events(response);
      // Both model calls were streamed upstream, in the provider's format.
      expect(providers.mock.requests).toHaveLength(2);
      expect([streamedUpstream(0), streamedUpstream(1)]).toEqual([true, true]);
      const progress = stream.findIndex((event) => event.comment !== undefined && /^mcp everything__echo ok \d+ms$/.test(event.comment));
      expect(progress).toBeGreaterThanOrEqual(0);
      const chunks = stream.filter((event) => typeof event.data === 'object').map((event) => event.data as { choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }>; usage?: Record<string, number> });
      const contentChunks = chunks.filter((chunk) => typeof chunk.choices[0]?.delta.content === 'string');
      // The answer arrives in pieces, after the tool ran, as the model streams it.
      expect(contentChunks.length).toBeGreaterThan(1);
      expect(stream.indexOf(stream.find((event) => event.data === contentChunks[0])!)).toBeGreaterThan(progress);
      expect(contentChunks.map((chunk) => chunk.choices[0].delta.content).join('')).toMatch(/^tool result: .*Echo: /);
      // The loop's own tool calls never reach the caller; the stream ends as a chat stream does.
      expect(chunks.some((chunk) => chunk.choices[0]?.delta.tool_calls !== undefined)).toBe(false);
      expect(chunks.filter((chunk) => chunk.choices[0]?.finish_reason != null).map((chunk) => chunk.choices[0].finish_reason)).toEqual(['stop']);
      expect(chunks.filter((chunk) => chunk.choices[0]?.delta.role === 'assistant')).toHaveLength(1);
      const usage = chunks.find((chunk) => chunk.usage !== undefined)?.usage;
      expect(usage?.total_tokens).toBeGreaterThan(0);
      expect(stream.at(-1)!.data).toBe('[DONE]');
    });
  }

  it('streams the loop to the OpenAI SDK (chat), content then usage', async () => {
    const stream = await openai.chat.completions.create(
      { model: NATIVE_MODELS.gemini, messages: [{ role: 'user', content: PROMPT }], tool_choice: ECHO_CHOICE, stream: true, stream_options: { include_usage: true } },
      { headers: { 'x-heimdall-mcp': 'everything', 'x-heimdall-mcp-execute': 'true' } },
    );
    let content = '';
    let usage: unknown;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      usage ??= chunk.usage ?? undefined;
    }
    expect(content).toMatch(/^tool result: .*Echo: /);
    expect(usage).toMatchObject({ total_tokens: expect.any(Number) });
  });

  for (const provider of ['openai', 'anthropic', 'gemini'] as const) {
    it(`streams every turn of the loop with ${provider} (Responses events)`, async () => {
      const response = await loopRequest('/v1/responses', {
        model: NATIVE_MODELS[provider], input: PROMPT, tool_choice: { type: 'function', name: 'everything__echo' }, stream: true,
      });
      expect(response.status).toBe(200);
      const stream = await events(response);
      expect([streamedUpstream(0), streamedUpstream(1)]).toEqual([true, true]);
      const typed = stream.filter((event) => typeof event.data === 'object').map((event) => event.data as Record<string, unknown> & { type: string; sequence_number: number });
      const types = typed.map((event) => event.type);
      expect(types[0]).toBe('response.created');
      expect(types.filter((type) => type === 'response.created')).toHaveLength(1);
      expect(types.at(-1)).toBe('response.completed');
      expect(typed.map((event) => event.sequence_number)).toEqual(typed.map((_, index) => index));
      // No function call of the loop's tools reaches the caller.
      expect(typed.some((event) => (event.item as { type?: string } | undefined)?.type === 'function_call')).toBe(false);
      const deltas = typed.filter((event) => event.type === 'response.output_text.delta');
      expect(deltas.length).toBeGreaterThan(1);
      const progress = stream.findIndex((event) => event.comment?.startsWith('mcp everything__echo ok') === true);
      expect(progress).toBeGreaterThan(0);
      expect(stream.findIndex((event) => event.data === deltas[0])).toBeGreaterThan(progress);
      const text = deltas.map((event) => event.delta).join('');
      expect(text).toMatch(/^tool result: .*Echo: /);
      const completed = typed.at(-1)!.response as { output: Array<{ type: string; content?: Array<{ text: string }> }>; usage: { total_tokens: number } };
      expect(completed.output.map((item) => item.type)).toEqual(['message']);
      expect(completed.output[0].content![0].text).toBe(text);
      expect(completed.usage.total_tokens).toBeGreaterThan(0);
      expect(typed.filter((event) => event.type === 'response.output_text.delta').every((event) => event.output_index === 0)).toBe(true);
    });
  }

  it('runs the loop for the Responses API with the OpenAI SDK, streamed and not', async () => {
    const headers = { 'x-heimdall-mcp': 'everything', 'x-heimdall-mcp-execute': 'true' };
    for (const provider of ['openai', 'anthropic'] as const) {
      const response = await openai.responses.create({ model: NATIVE_MODELS[provider], input: PROMPT, tool_choice: { type: 'function', name: 'everything__echo' } }, { headers });
      expect(response.output_text).toMatch(/^tool result: .*Echo: /);
    }
    const stream = await openai.responses.create({ model: NATIVE_MODELS.gemini, input: PROMPT, tool_choice: { type: 'function', name: 'everything__echo' }, stream: true }, { headers });
    let text = '';
    let completed = false;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = true;
    }
    expect(text).toMatch(/^tool result: .*Echo: /);
    expect(completed).toBe(true);
  });

  it('ends with a clear error when the turns run out', async () => {
    gw.app.mcp.hub.settings.toolLoop.maxTurns = 1;
    try {
      const response = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-heimdall-mcp': 'everything', 'x-heimdall-mcp-execute': 'true' },
        body: JSON.stringify({ model: NATIVE_MODELS.openai, messages: [{ role: 'user', content: PROMPT }], tool_choice: ECHO_CHOICE }),
      });
      expect(response.status).toBe(504);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('mcp_tool_loop_limit');
      expect(body.error.message).toMatch(/made 1 model calls and 1 tool calls/);
    } finally {
      gw.app.mcp.hub.settings.toolLoop.maxTurns = 4;
    }
  });
});
