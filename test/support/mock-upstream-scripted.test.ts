/**
 * The mock's scripted turns (scripted-turn.ts), per-model parameter rules
 * (model-rules.ts) and conversation rules (conversation-rules.ts), checked
 * with the official SDKs as clients.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from './mock-upstream/index.js';
import { exampleOf } from './mock-upstream/scripted-turn.js';

let mock: MockUpstream;
let openai: OpenAI;
let anthropic: Anthropic;
let genai: GoogleGenAI;

beforeAll(async () => {
  mock = await startMockUpstream();
  openai = new OpenAI({ baseURL: mock.openaiBaseUrl, apiKey: 'sk-test', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: mock.url, apiKey: 'sk-ant-test', maxRetries: 0 });
  genai = new GoogleGenAI({ apiKey: 'gemini-key', httpOptions: { baseUrl: mock.url, apiVersion: 'v1beta' } });
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => mock.reset());

const READ = { name: 'Read', description: 'Reads a file', input_schema: { type: 'object' as const, properties: { file_path: { type: 'string' }, limit: { type: 'number' } }, required: ['file_path'] } };
const BASH = { name: 'Bash', description: 'Runs a command', input_schema: { type: 'object' as const, properties: { command: { type: 'string' } }, required: ['command'] } };
const WEATHER = { type: 'object', properties: { city: { type: 'string' }, temperature: { type: 'number' }, unit: { enum: ['C', 'F'] } }, required: ['city', 'temperature', 'unit'] };

describe('scripted turns', () => {
  it('read:<path> calls the file-reading tool with the path in its own parameter, then answers with the tool result', async () => {
    const prompt = 'heimdall-script read:/tmp/work/notes.txt please';
    const first = await anthropic.messages.create({ model: 'claude-x', max_tokens: 100, tools: [BASH, READ], messages: [{ role: 'user', content: prompt }] });
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content).toEqual([{ type: 'tool_use', id: 'toolu_mock_0', name: 'Read', input: { file_path: '/tmp/work/notes.txt' } }]);
    const second = await anthropic.messages.create({
      model: 'claude-x', max_tokens: 100, tools: [BASH, READ],
      messages: [
        { role: 'user', content: prompt },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_mock_0', content: 'the file text' }, { type: 'text', text: 'a reminder' }] },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'tool result: the file text' }]);
    expect(second.stop_reason).toBe('end_turn');
  });

  it('with only a shell tool, runs `cat <path>` (an array command when the schema says array)', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'shell', parameters: { type: 'object', properties: { command: { type: 'array', items: { type: 'string' } } }, required: ['command'] } } }];
    const reply = await openai.chat.completions.create({ model: 'gpt-4o-mini', tools, messages: [{ role: 'user', content: 'heimdall-script read:/srv/a.txt' }] });
    expect(reply.choices[0].message.tool_calls?.[0]).toMatchObject({ function: { name: 'shell', arguments: '{"command":["cat","/srv/a.txt"]}' } });
    const answer = await openai.chat.completions.create({
      model: 'gpt-4o-mini', tools,
      messages: [
        { role: 'user', content: 'heimdall-script read:/srv/a.txt' },
        reply.choices[0].message,
        { role: 'tool', tool_call_id: 'call_mock_0', content: 'file body' },
      ],
    });
    expect(answer.choices[0].message.content).toBe('tool result: file body');
  });

  it('calls a declared tool with arguments that satisfy its schema', async () => {
    const parameters = { type: 'OBJECT', properties: { key: { type: 'STRING' }, count: { type: 'INTEGER', minimum: 2 } }, required: ['key', 'count'] };
    const reply = await genai.models.generateContent({
      model: 'gemini-2.5-flash', contents: 'heimdall-script look it up',
      config: { tools: [{ functionDeclarations: [{ name: 'lookup', parameters: parameters as never }] }] },
    });
    expect(reply.functionCalls).toEqual([{ name: 'lookup', args: { key: 'heimdall', count: 2 } }]);
  });

  it('answers a structured-output request with JSON built from the schema, in every format', async () => {
    const expected = { city: 'heimdall', temperature: 42, unit: 'C' };
    const chat = await openai.chat.completions.create({
      model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'heimdall-script weather' }],
      response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: WEATHER } },
    });
    expect(JSON.parse(chat.choices[0].message.content ?? '')).toEqual(expected);
    const claude = await anthropic.messages.create({
      model: 'claude-x', max_tokens: 100, messages: [{ role: 'user', content: 'heimdall-script weather' }],
      output_config: { format: { type: 'json_schema', schema: { ...WEATHER, additionalProperties: false } } },
    } as never) as Anthropic.Message;
    expect(JSON.parse((claude.content[0] as Anthropic.TextBlock).text)).toEqual(expected);
    const gemini = await genai.models.generateContent({
      model: 'gemini-2.5-flash', contents: 'heimdall-script weather', config: { responseMimeType: 'application/json', responseJsonSchema: WEATHER },
    });
    expect(JSON.parse(gemini.text ?? '')).toEqual(expected);
  });

  it('Responses API: function_call items, plain and streamed, then the answer to function_call_output', async () => {
    const tools = [{ type: 'function' as const, name: 'lookup', parameters: { type: 'object', properties: { key: { type: 'string' } }, required: ['key'] }, strict: true }];
    const first = await openai.responses.create({ model: 'gpt-5-mini', input: 'heimdall-script find it', tools });
    expect(first.output).toEqual([expect.objectContaining({ type: 'function_call', call_id: 'call_mock_0', name: 'lookup', arguments: '{"key":"heimdall"}' })]);
    const types: string[] = [];
    let args = '';
    for await (const event of await openai.responses.create({ model: 'gpt-5-mini', input: 'heimdall-script find it', tools, stream: true })) {
      types.push(event.type);
      if (event.type === 'response.function_call_arguments.delta') args += event.delta;
    }
    expect(args).toBe('{"key":"heimdall"}');
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    const final = await openai.responses.create({
      model: 'gpt-5-mini', tools,
      input: [{ role: 'user', content: 'heimdall-script find it' }, first.output[0] as never, { type: 'function_call_output', call_id: 'call_mock_0', output: 'found' }],
    });
    expect(final.output_text).toBe('tool result: found');
  });

  it('without the marker, the echo rules are unchanged', async () => {
    const reply = await anthropic.messages.create({ model: 'claude-x', max_tokens: 100, tools: [READ], messages: [{ role: 'user', content: 'read:/tmp/x' }] });
    expect(reply.content).toEqual([{ type: 'tool_use', id: 'toolu_mock_0', name: 'Read', input: { text: 'read:/tmp/x' } }]);
  });

  it('exampleOf follows $ref, anyOf with null, enums and nested arrays', () => {
    const schema = {
      type: 'object',
      properties: { a: { $ref: '#/$defs/A' }, b: { anyOf: [{ type: 'null' }, { type: 'boolean' }] }, c: { type: 'array', items: { type: 'integer' }, minItems: 2 } },
      $defs: { A: { type: 'string', enum: ['x', 'y'] } },
    };
    expect(exampleOf(schema, schema)).toEqual({ a: 'x', b: true, c: [42, 42] });
  });
});

describe('per-model parameter rules, with the real error texts', () => {
  it('OpenAI reasoning models refuse max_tokens and a temperature other than 1', async () => {
    const error = await openai.chat.completions.create({ model: 'gpt-5-mini', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, param: 'max_tokens', code: 'unsupported_parameter' });
    expect((error as Error).message).toContain("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.");
    const hot = await openai.chat.completions.create({ model: 'o3', temperature: 0.2, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(hot).toMatchObject({ status: 400, param: 'temperature', code: 'unsupported_value' });
    const fine = await openai.chat.completions.create({ model: 'gpt-5-mini', max_completion_tokens: 100, temperature: 1, messages: [{ role: 'user', content: 'hi' }] });
    expect(fine.choices[0].message.content).toBe('echo: hi');
  });

  it('gpt-4o-mini refuses an output limit above 16,384', async () => {
    const error = await openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 32_000, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, param: 'max_tokens', code: 'invalid_value' });
    expect((error as Error).message).toContain('max_tokens is too large: 32000. This model supports at most 16384 completion tokens, whereas you provided 32000.');
  });

  it('current Claude models refuse temperature and top_p together; older ones take both', async () => {
    const body = { max_tokens: 10, temperature: 0.5, top_p: 0.9, messages: [{ role: 'user' as const, content: 'hi' }] };
    const error = await anthropic.messages.create({ model: 'claude-sonnet-4-5', ...body }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as Error).message).toContain('`temperature` and `top_p` cannot both be specified for this model. Please use only one.');
    const older = await anthropic.messages.create({ model: 'claude-sonnet-4-20250514', ...body });
    expect(older.content).toEqual([{ type: 'text', text: 'echo: hi' }]);
  });
});

describe('Gemini conversation rules', () => {
  const tools = [{ functionDeclarations: [{ name: 'lookup', parametersJsonSchema: { type: 'object', properties: { key: { type: 'string' } }, required: ['key'] } }] }];
  const answer = (name: string) => ({ role: 'user', parts: [{ functionResponse: { name, response: { result: 'found' } } }] });

  it('Gemini 3 signs its call and wants the signature back unchanged in the current turn', async () => {
    const user = { role: 'user', parts: [{ text: 'heimdall-script find it' }] };
    const first = await genai.models.generateContent({ model: 'gemini-3-pro-preview', contents: [user], config: { tools } });
    const call = first.candidates?.[0].content;
    expect(call?.parts?.[0].thoughtSignature).toEqual(expect.any(String));
    const ok = await genai.models.generateContent({ model: 'gemini-3-pro-preview', contents: [user, call!, answer('lookup')], config: { tools } });
    expect(ok.text).toBe('tool result: {"result":"found"}');
    const unsigned = { role: 'model', parts: [{ functionCall: call?.parts?.[0].functionCall }] };
    const missing = await genai.models.generateContent({ model: 'gemini-3-pro-preview', contents: [user, unsigned, answer('lookup')], config: { tools } }).catch((e: unknown) => e);
    expect((missing as Error).message).toContain('Function call is missing a thought_signature in functionCall parts.');
    const changed = { role: 'model', parts: [{ ...call?.parts?.[0], thoughtSignature: 'c29tZXRoaW5nIGVsc2U=' }] };
    const corrupted = await genai.models.generateContent({ model: 'gemini-3-pro-preview', contents: [user, changed, answer('lookup')], config: { tools } }).catch((e: unknown) => e);
    expect((corrupted as Error).message).toContain('Corrupted thought signature.');
    const placeholder = { role: 'model', parts: [{ ...call?.parts?.[0], thoughtSignature: 'skip_thought_signature_validator' }] };
    const accepted = await genai.models.generateContent({ model: 'gemini-3-pro-preview', contents: [user, placeholder, answer('lookup')], config: { tools } });
    expect(accepted.text).toBe('tool result: {"result":"found"}');
    const older = await genai.models.generateContent({ model: 'gemini-2.5-flash', contents: [user, unsigned, answer('lookup')], config: { tools } });
    expect(older.text).toBe('tool result: {"result":"found"}');
  });

  it('a function response turn must answer every call', async () => {
    const contents = [
      { role: 'user', parts: [{ text: 'go' }] },
      { role: 'model', parts: [{ functionCall: { name: 'lookup', args: {} } }, { functionCall: { name: 'search', args: {} } }] },
      answer('lookup'),
    ];
    const error = await genai.models.generateContent({ model: 'gemini-2.5-flash', contents }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.');
  });
});

describe('Anthropic extended thinking', () => {
  const thinking = { type: 'enabled' as const, budget_tokens: 2048 };
  const tools = [{ name: 'lookup', input_schema: { type: 'object' as const, properties: { key: { type: 'string' } }, required: ['key'] } }];
  const prompt = { role: 'user' as const, content: 'heimdall-script find it' };

  it('replies with a signed thinking block first, plain and streamed, and takes it back unchanged after the tool turn', async () => {
    const first = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 4096, thinking, tools, messages: [prompt] });
    expect(first.content.map((block) => block.type)).toEqual(['thinking', 'tool_use']);
    const streamed = await anthropic.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 4096, thinking, tools, messages: [prompt] }).finalMessage();
    expect(streamed.content).toEqual(first.content);
    const results = { role: 'user' as const, content: [{ type: 'tool_result' as const, tool_use_id: 'toolu_mock_0', content: 'found' }] };
    const next = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 4096, thinking, tools, messages: [prompt, { role: 'assistant', content: first.content }, results] });
    expect(next.content.map((block) => block.type)).toEqual(['thinking', 'text']);
    expect(next.content[1]).toMatchObject({ type: 'text', text: 'tool result: found' });
  });

  it('refuses a tool turn without its thinking block, a changed signature, and budgets and temperatures the API refuses', async () => {
    const first = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 4096, thinking, tools, messages: [prompt] });
    const results = { role: 'user' as const, content: [{ type: 'tool_result' as const, tool_use_id: 'toolu_mock_0', content: 'found' }] };
    const refused = async (body: Record<string, unknown>): Promise<string> => {
      const error = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 4096, thinking, tools, messages: [prompt], ...body } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Anthropic.BadRequestError);
      return (error as Error).message;
    };
    const withoutThinking = [prompt, { role: 'assistant', content: first.content.slice(1) }, results];
    expect(await refused({ messages: withoutThinking })).toContain('messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`.');
    const changed = [prompt, { role: 'assistant', content: [{ ...first.content[0], signature: 'Zm9v' }, first.content[1]] }, results];
    expect(await refused({ messages: changed })).toContain('messages.1.content.0: Invalid `signature` in `thinking` block');
    expect(await refused({ thinking: { type: 'enabled', budget_tokens: 500 } })).toContain('budget_tokens: Input should be greater than or equal to 1024');
    expect(await refused({ max_tokens: 2048 })).toContain('`max_tokens` must be greater than `thinking.budget_tokens`.');
    expect(await refused({ temperature: 0.5 })).toContain('`temperature` may only be set to 1 when thinking is enabled.');
  });
});

describe('tool calls and results must match', () => {
  it('OpenAI: every tool_call_id answered right after its assistant turn, no tool message without a call', async () => {
    const call = { id: 'call_a', type: 'function' as const, function: { name: 'f', arguments: '{}' } };
    const other = { ...call, id: 'call_b' };
    const unanswered = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: [call, other] }, { role: 'tool', tool_call_id: 'call_a', content: 'r' }],
    }).catch((e: unknown) => e);
    expect(unanswered).toMatchObject({ status: 400, param: 'messages.[2].role' });
    expect((unanswered as Error).message).toContain("The following tool_call_ids did not have response messages: call_b");
    const orphan = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }, { role: 'tool', tool_call_id: 'call_a', content: 'r' }] }).catch((e: unknown) => e);
    expect((orphan as Error).message).toContain("messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.");
  });

  it('Anthropic: every tool_use answered by a tool_result in the next message, no tool_result without its tool_use', async () => {
    const use = { type: 'tool_use' as const, id: 'toolu_a', name: 'f', input: {} };
    const unanswered = await anthropic.messages.create({
      model: 'claude-x', max_tokens: 10,
      messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: [use] }, { role: 'user', content: 'next' }],
    }).catch((e: unknown) => e);
    expect((unanswered as Error).message).toContain('messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_a.');
    const orphan = await anthropic.messages.create({
      model: 'claude-x', max_tokens: 10,
      messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: [use] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_a', content: 'r' }, { type: 'tool_result', tool_use_id: 'toolu_z', content: 'r' }] }],
    }).catch((e: unknown) => e);
    expect((orphan as Error).message).toContain('messages.2.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_z.');
  });
});
