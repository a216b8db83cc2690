/**
 * The official `openai` SDK's `client.responses.create` against /v1/responses, over real sockets,
 * for every native provider of the mock: OpenAI passes through (its own ids), the others are
 * bridged through their chat formats and answer in the Responses format.
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { thinkingSignature, thoughtSignature } from '../support/mock-upstream/conversation-rules.js';
import { post, sdk, sseEvents } from './helpers.js';

let mock: MockUpstream;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({ env: providers.env, config: providers.config });
  client = sdk(gateway.url);
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

const BRIDGED = {
  anthropic: 'anthropic/claude-sonnet-4-5',
  gemini: 'gemini/gemini-2.5-flash',
  bedrock: 'bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0',
  cohere: 'cohere/command-a-03-2025',
} as const;

const tools: OpenAI.Responses.Tool[] = [
  { type: 'function', name: 'lookup', description: 'look a word up', strict: false, parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
];

describe.each(Object.entries(BRIDGED))('responses.create -> %s (bridged)', (_provider, model) => {
  it('text: a message item with output_text, usage in Responses form', async () => {
    const response = await client.responses.create({ model, instructions: 'be brief', input: 'hello there' });
    expect(response.object).toBe('response');
    expect(response.id).toMatch(/^resp_/);
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe('echo: hello there');
    expect(response.output).toHaveLength(1);
    expect(response.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'echo: hello there' }] });
    expect(response.usage).toMatchObject({ input_tokens: 4, output_tokens: 3, total_tokens: 7 });
    expect(response.instructions).toBe('be brief');
  });

  it('stream: the full event sequence, numbered, and the same text', async () => {
    const stream = await client.responses.create({ model, input: 'one two three', stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const types = events.map((event) => event.type);
    expect(types[0]).toBe('response.created');
    expect(types[1]).toBe('response.in_progress');
    expect(types.slice(2, 4)).toEqual(['response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    expect(new Set(types.slice(4, -4))).toEqual(new Set(['response.output_text.delta']));
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, i) => i));
    const text = events.filter((event) => event.type === 'response.output_text.delta').map((event) => (event as { delta: string }).delta).join('');
    expect(text).toBe('echo: one two three');
    const done = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(done.response.output[0]).toMatchObject({ type: 'message', content: [{ type: 'output_text', text: 'echo: one two three' }] });
    expect(done.response.usage).toMatchObject({ input_tokens: 3, output_tokens: 4, total_tokens: 7 });
  });

  it('a function tool round trip, stateless: the call, then the items sent back with its output', async () => {
    const first = await client.responses.create({ model, input: 'weather in Oslo', tools, tool_choice: { type: 'function', name: 'lookup' } });
    const call = first.output.find((item) => item.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'lookup', arguments: '{"text":"weather in Oslo"}', status: 'completed' });
    expect(typeof (call as { call_id: string }).call_id).toBe('string');
    const second = await client.responses.create({
      model,
      tools,
      input: [
        { role: 'user', content: 'weather in Oslo' },
        ...(first.output as OpenAI.Responses.ResponseInputItem[]),
        { type: 'function_call_output', call_id: (call as { call_id: string }).call_id, output: 'sunny' },
      ],
    });
    expect(second.status).toBe('completed');
    expect(second.output.some((item) => item.type === 'function_call')).toBe(false);
    expect(second.output_text).toMatch(/^echo: /);
  });

  it('stream with tools: function_call_arguments deltas add up to the arguments; the SDK helper assembles the call', async () => {
    const stream = client.responses.stream({ model, input: 'weather in Oslo', tools, tool_choice: { type: 'function', name: 'lookup' } });
    let args = '';
    let doneArgs = '';
    stream.on('response.function_call_arguments.delta', (event) => { args += event.delta; });
    stream.on('response.function_call_arguments.done', (event) => { doneArgs = event.arguments; });
    const response = await stream.finalResponse();
    expect(args).toBe('{"text":"weather in Oslo"}');
    expect(doneArgs).toBe(args);
    const call = response.output.find((item) => item.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'lookup', arguments: args, status: 'completed' });
  });

  it('max_output_tokens: cut at the limit, status incomplete with reason max_output_tokens', async () => {
    // The mock cuts its text to the limit in words: the echo is 21 words, the limit 16.
    const words = Array.from({ length: 20 }, (_, i) => `w${i}`).join(' ');
    const response = await client.responses.create({ model, input: words, max_output_tokens: 16 });
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.usage?.output_tokens).toBe(16);
    expect(response.output_text.split(' ')).toHaveLength(16);
    const stream = await client.responses.create({ model, input: words, max_output_tokens: 16, stream: true });
    let last: OpenAI.Responses.ResponseStreamEvent | undefined;
    for await (const event of stream) last = event;
    expect(last?.type).toBe('response.incomplete');
    expect((last as OpenAI.Responses.ResponseIncompleteEvent).response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
  });

  it('structured output: text.format json_schema reaches the provider as its structured-output setting', async () => {
    const schema = { type: 'object', properties: { forecast_celsius: { type: 'number' } }, required: ['forecast_celsius'], additionalProperties: false };
    const { data: response, response: raw } = await client.responses.create({
      model,
      input: 'give me json',
      text: { format: { type: 'json_schema', name: 'answer', strict: true, schema } },
    }).withResponse();
    expect(response.status).toBe('completed');
    expect(response.text?.format).toMatchObject({ type: 'json_schema', name: 'answer' });
    const sent = JSON.stringify(mock.requests.at(-1)?.body);
    // Every bridged provider has structured output (Anthropic's is output_config.format): the schema reaches it.
    expect(sent).toContain('forecast_celsius');
    if (_provider === 'anthropic') {
      expect(raw.headers.get('x-heimdall-warnings') ?? '').not.toContain('response_format');
      expect(JSON.parse(response.output_text)).toEqual({ forecast_celsius: expect.any(Number) });
    }
  });
});

describe('responses.create -> openai (pass-through)', () => {
  it('the provider answers with its own ids; the gateway forwards its bytes', async () => {
    const response = await client.responses.create({ model: 'openai/gpt-4o-mini', input: 'hello there' });
    expect(response.id).toMatch(/^resp_mock_/);
    expect(response.output_text).toBe('echo: hello there');
  });

  it('streamed', async () => {
    const stream = await client.responses.create({ model: 'openai/gpt-4o-mini', input: 'one two', stream: true });
    let text = '';
    for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
    expect(text).toBe('echo: one two');
  });
});

describe('bridge errors and warnings', () => {
  it('an unknown previous_response_id to a bridged provider: 400 in OpenAI form naming the field', async () => {
    const reply = await post(`${gateway.url}/v1/responses`, { model: BRIDGED.anthropic, input: 'hi', previous_response_id: 'resp_123' });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: { type: 'invalid_request_error', code: 'previous_response_not_found', param: 'previous_response_id' } });
    expect((reply.json as { error: { message: string } }).error.message).toBe("Previous response with id 'resp_123' not found.");
  });

  it('a missing input: 400 naming input', async () => {
    const reply = await post(`${gateway.url}/v1/responses`, { model: BRIDGED.gemini });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: { param: 'input' } });
  });

  it('built-in tools are named in x-heimdall-warnings; store is honoured, not warned', async () => {
    const reply = await post(`${gateway.url}/v1/responses`, { model: BRIDGED.anthropic, input: 'hi', store: true, tools: [{ type: 'web_search' }] });
    expect(reply.status).toBe(200);
    const warnings = String(reply.headers['x-heimdall-warnings']);
    expect(warnings).toContain("tools[0]: The built-in tool 'web_search' runs only on OpenAI");
    expect(warnings).not.toContain('store: ');
    expect((reply.json as { store: boolean }).store).toBe(true);
    expect(reply.headers['x-heimdall-provider']).toBe('anthropic');
  });

  it('the raw stream ends with response.completed, each event named by its type', async () => {
    const reply = await post(`${gateway.url}/v1/responses`, { model: BRIDGED.gemini, input: 'hi', stream: true });
    const events = sseEvents(reply.text);
    for (const event of events) expect(JSON.parse(event.data).type).toBe(event.event);
    expect(events.at(-1)?.event).toBe('response.completed');
  });
});

/** The final response of a stream, as the SDK's stream helper assembles it from the events (it checks their order). */
async function streamed(params: OpenAI.Responses.ResponseCreateParamsNonStreaming): Promise<OpenAI.Responses.Response> {
  return client.responses.stream({ ...params, stream: undefined }).finalResponse();
}

type Create = (params: OpenAI.Responses.ResponseCreateParamsNonStreaming) => Promise<OpenAI.Responses.Response>;
const MODES: Array<[string, Create]> = [
  ['json', (params) => client.responses.create(params)],
  ['stream', streamed],
];

/** The turn after a tool call: the first turn's items sent back with the call's output (stateless, as Codex does). */
function nextTurn(first: OpenAI.Responses.Response, question: string): OpenAI.Responses.ResponseInputItem[] {
  const call = first.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
  return [
    { role: 'user', content: question },
    ...(first.output as OpenAI.Responses.ResponseInputItem[]),
    { type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21 degrees' },
  ];
}

describe.each(MODES)('reasoning carried across a tool turn (%s)', (_mode, create) => {
  const reasoningParams = { reasoning: { effort: 'low' as const, summary: 'auto' as const }, include: ['reasoning.encrypted_content' as const], store: false, tools };

  it('Anthropic thinking: summary shown, signature sealed, the thinking block restored on the next turn', async () => {
    const model = BRIDGED.anthropic;
    const first = await create({ model, input: 'weather in Oslo', ...reasoningParams });
    const reasoning = first.output[0] as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.type).toBe('reasoning');
    expect(reasoning.summary).toEqual([{ type: 'summary_text', text: 'Thinking about: weather in Oslo' }]);
    const signature = thinkingSignature('Thinking about: weather in Oslo');
    expect(reasoning.encrypted_content).toMatch(/^heimdall\.r1\./);
    expect(reasoning.encrypted_content).not.toContain(signature);
    expect(Buffer.from(reasoning.encrypted_content!.split(':').at(-1)!, 'base64').toString('latin1')).not.toContain('Thinking');
    expect(first.output[1]).toMatchObject({ type: 'function_call', name: 'lookup' });

    mock.reset();
    const second = await create({ model, input: nextTurn(first, 'weather in Oslo'), ...reasoningParams });
    expect(second.status).toBe('completed');
    expect(second.output_text).toBe('echo: weather in Oslo');
    const sent = mock.requests[0].body as { messages: Array<{ role: string; content: Array<Record<string, unknown>> }> };
    expect(sent.messages[1].role).toBe('assistant');
    expect(sent.messages[1].content[0]).toEqual({ type: 'thinking', thinking: 'Thinking about: weather in Oslo', signature });
  });

  it('Anthropic refuses the tool turn when the reasoning item is left out (the check the seal satisfies)', async () => {
    const model = BRIDGED.anthropic;
    const first = await create({ model, input: 'weather in Oslo', ...reasoningParams });
    const input = nextTurn(first, 'weather in Oslo').filter((item) => (item as { type?: string }).type !== 'reasoning');
    await expect(client.responses.create({ model, input, ...reasoningParams })).rejects.toMatchObject({ status: 400, message: expect.stringContaining('Expected `thinking` or `redacted_thinking`') });
  });

  it('an altered encrypted_content is not opened: a warning, and the provider refuses the turn', async () => {
    const model = BRIDGED.anthropic;
    const first = await create({ model, input: 'weather in Oslo', ...reasoningParams });
    const input = nextTurn(first, 'weather in Oslo').map((item) => {
      const reasoning = item as OpenAI.Responses.ResponseReasoningItem;
      if (reasoning.type !== 'reasoning') return item;
      const sealed = reasoning.encrypted_content!;
      return { ...reasoning, encrypted_content: sealed.slice(0, -4) + (sealed.endsWith('AAAA') ? 'BBBB' : 'AAAA') };
    });
    const reply = await post(`${gateway.url}/v1/responses`, { model, input, ...reasoningParams });
    expect(reply.status).toBe(400);
    expect(String(reply.headers['x-heimdall-warnings'])).toContain('encrypted_content: This encrypted reasoning was not sealed by this gateway');
  });

  it('a Gemini 3 thought signature comes back on the function call of the next turn', async () => {
    const model = 'gemini/gemini-3-pro-preview';
    const first = await create({ model, input: 'weather in Oslo', ...reasoningParams });
    const reasoning = first.output.find((item) => item.type === 'reasoning') as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.encrypted_content).toMatch(/^heimdall\.r1\./);
    expect(first.output.some((item) => item.type === 'function_call')).toBe(true);

    mock.reset();
    const second = await create({ model, input: nextTurn(first, 'weather in Oslo'), ...reasoningParams });
    expect(second.output_text).toBe('echo: weather in Oslo');
    const sent = mock.requests[0].body as { contents: Array<{ role: string; parts: Array<Record<string, unknown>> }> };
    const modelTurn = sent.contents.find((content) => content.role === 'model')!;
    const call = modelTurn.parts.find((part) => part.functionCall !== undefined)!;
    expect(call.thoughtSignature).toBe(thoughtSignature('lookup', { text: 'weather in Oslo' }));
  });
});

describe('reasoning items referenced by id (store on)', () => {
  const referencedTurn = (reasoningId: string, call: OpenAI.Responses.ResponseFunctionToolCall): OpenAI.Responses.ResponseInputItem[] => [
    { role: 'user', content: 'weather in Oslo' },
    { type: 'item_reference', id: reasoningId },
    { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
    { type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21 degrees' },
  ];

  it('store on (as the AI SDK sends it): the reference is resolved from the stored response, and Gemini 3 gets its real thought signature back', async () => {
    const model = 'gemini/gemini-3-pro-preview';
    const first = await client.responses.create({ model, input: 'weather in Oslo', reasoning: { effort: 'low' }, tools });
    const reasoning = first.output.find((item) => item.type === 'reasoning') as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.id).toMatch(/^rs_/);
    const call = first.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;

    mock.reset();
    const { data: second, response } = await client.responses.create({ model, reasoning: { effort: 'low' }, tools, input: referencedTurn(reasoning.id, call) }).withResponse();
    expect(second.output_text).toBe('echo: weather in Oslo');
    expect(response.headers.get('x-heimdall-warnings')).toBeNull();
    const sent = mock.requests[0].body as { contents: Array<{ role: string; parts: Array<Record<string, unknown>> }> };
    const sentCall = sent.contents.find((content) => content.role === 'model')!.parts.find((part) => part.functionCall !== undefined)!;
    expect(sentCall.thoughtSignature).toBe(thoughtSignature('lookup', { text: 'weather in Oslo' }));
  });

  it('a reference the store does not hold (the first turn was not stored): a reasoning item is dropped with a warning, another item is a 400', async () => {
    const model = 'gemini/gemini-3-pro-preview';
    const first = await client.responses.create({ model, input: 'weather in Oslo', reasoning: { effort: 'low' }, tools, store: false });
    const reasoning = first.output.find((item) => item.type === 'reasoning') as OpenAI.Responses.ResponseReasoningItem;
    const call = first.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;

    mock.reset();
    const { data: second, response } = await client.responses.create({ model, reasoning: { effort: 'low' }, tools, input: referencedTurn(reasoning.id, call) }).withResponse();
    expect(second.output_text).toBe('echo: weather in Oslo');
    expect(response.headers.get('x-heimdall-warnings')).toContain(`reference to reasoning item '${reasoning.id}' was dropped`);
    const sent = mock.requests[0].body as { contents: Array<{ role: string; parts: Array<Record<string, unknown>> }> };
    const sentCall = sent.contents.find((content) => content.role === 'model')!.parts.find((part) => part.functionCall !== undefined)!;
    expect(sentCall.thoughtSignature).toBe('skip_thought_signature_validator');

    const refused = await post(`${gateway.url}/v1/responses`, { model, input: [{ type: 'item_reference', id: 'msg_nowhere' }] });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: { param: 'input[0]', message: expect.stringContaining("Item with id 'msg_nowhere' not found") } });
  });
});

describe('bridged streams under failure', () => {
  it('the upstream breaks mid-stream: response.failed then error, the SDK raises nothing silently', async () => {
    mock.enqueue({ kind: 'stream-error', afterChunks: 3 });
    const reply = await post(`${gateway.url}/v1/responses`, { model: BRIDGED.anthropic, input: 'one two three four five', stream: true });
    const events = sseEvents(reply.text).map((event) => JSON.parse(event.data) as Record<string, unknown>);
    expect(events.slice(-2)).toMatchObject([
      { type: 'response.failed', response: { status: 'failed', error: { code: 'server_error' } } },
      { type: 'error', code: 'server_error' },
    ]);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.some((event) => event.type === 'response.completed')).toBe(false);
  });

  it('a failure before the first byte is retried; the client sees one clean stream', async () => {
    mock.enqueue({ kind: 'error', status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
    const { data: stream, response } = await client.responses.create({ model: BRIDGED.anthropic, input: 'one two', stream: true }).withResponse();
    let text = '';
    for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
    expect(text).toBe('echo: one two');
    expect(response.headers.get('x-heimdall-attempts')).toBe('2');
  });

  it('a fallback to another format: Anthropic fails, Gemini answers in the same Responses form', async () => {
    mock.enqueue({ kind: 'error', status: 500 }, { times: 10, path: '/v1/messages' });
    const fallen = await client.responses.create({ model: BRIDGED.anthropic, input: 'hi', fallbacks: [BRIDGED.gemini] } as OpenAI.Responses.ResponseCreateParamsNonStreaming).withResponse();
    expect(fallen.data.output_text).toBe('echo: hi');
    expect(fallen.response.headers.get('x-heimdall-provider')).toBe('gemini');
  });

  it('a stream chopped at awkward byte boundaries decodes to the same events', async () => {
    mock.enqueue({ kind: 'chop' });
    const response = await client.responses.stream({ model: BRIDGED.gemini, input: 'naïve café ☕ done', tools, tool_choice: 'none' }).finalResponse();
    expect(response.output_text).toBe('echo: naïve café ☕ done');
  });
});

describe('Codex-shaped tools over the bridge', () => {
  it('a namespaced tool (MCP, as Codex sends it) is called by name and namespace, and goes back the same way', async () => {
    const namespaced = [{ type: 'namespace', name: 'mcp_fs', description: 'files', tools: [{ type: 'function', name: 'read', parameters: { type: 'object', properties: { text: { type: 'string' } } } }] }];
    const first = await post(`${gateway.url}/v1/responses`, { model: BRIDGED.anthropic, input: 'read it', tools: namespaced, store: false });
    expect(first.status).toBe(200);
    const sentTools = (mock.requests[0].body as { tools: Array<{ name: string }> }).tools;
    expect(sentTools.map((tool) => tool.name)).toEqual(['mcp_fs__read']);
    const output = (first.json as { output: Array<Record<string, unknown>> }).output;
    expect(output[0]).toMatchObject({ type: 'function_call', name: 'read', namespace: 'mcp_fs', arguments: '{"text":"read it"}' });
    mock.reset();
    const second = await post(`${gateway.url}/v1/responses`, {
      model: BRIDGED.anthropic,
      tools: namespaced,
      input: [{ role: 'user', content: 'read it' }, ...output, { type: 'function_call_output', call_id: output[0].call_id, output: 'file body' }],
    });
    expect(second.status).toBe(200);
    const messages = (mock.requests[0].body as { messages: Array<{ content: Array<Record<string, unknown>> }> }).messages;
    expect(messages[1].content[0]).toMatchObject({ type: 'tool_use', name: 'mcp_fs__read', id: output[0].call_id });
  });

  it('a custom (freeform) tool: called as a function of one string, answered as custom_tool_call; the round trip is accepted', async () => {
    const custom = [{ type: 'custom', name: 'apply_patch', description: 'edit files' }];
    const first = await client.responses.create({ model: BRIDGED.gemini, input: 'patch it', tools: custom as OpenAI.Responses.Tool[] });
    const call = first.output[0] as OpenAI.Responses.ResponseCustomToolCall;
    expect(call.type).toBe('custom_tool_call');
    expect(call.name).toBe('apply_patch');
    // The mock calls every tool with {"text": ...}; a model following the schema writes {"input": ...}.
    expect(call.input).toBe('{"text":"patch it"}');
    const declared = (mock.requests[0].body as { tools: Array<{ functionDeclarations: Array<{ name: string; parameters: { required: string[] } }> }> }).tools[0].functionDeclarations[0];
    expect(declared.name).toBe('apply_patch');
    expect(declared.parameters.required).toEqual(['input']);
    const second = await client.responses.create({
      model: BRIDGED.gemini,
      tools: custom as OpenAI.Responses.Tool[],
      input: [{ role: 'user', content: 'patch it' }, call, { type: 'custom_tool_call_output', call_id: call.call_id, output: 'applied' }],
    });
    expect(second.output_text).toBe('echo: patch it');
  });
});

describe('strict mode', () => {
  it('a dropped parameter is refused with a 400 naming it', async () => {
    const strict = await startGateway({ env: { ANTHROPIC_API_KEY: 'sk-ant-mock', ANTHROPIC_BASE_URL: mock.url }, config: { routing: { strict_params: true } } });
    try {
      const reply = await post(`${strict.url}/v1/responses`, { model: BRIDGED.anthropic, input: 'hi', tools: [{ type: 'web_search' }] });
      expect(reply.status).toBe(400);
      expect(reply.json).toMatchObject({ error: { code: 'unsupported_parameter', param: 'tools[0]' } });
    } finally {
      await strict.close();
    }
  });
});
