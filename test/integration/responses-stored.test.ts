/**
 * Stored responses over real sockets with the official `openai` SDK: `store` (the default) and
 * `previous_response_id` to bridged providers (Anthropic, Gemini), the stored-response routes
 * (retrieve, input items, delete, cancel), scoping per virtual key, the id mapping of OpenAI
 * pass-through, and a restart on the same data dir.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call, startGov, type GovGateway } from '../governance/helpers.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { thinkingSignature } from '../support/mock-upstream/conversation-rules.js';

let mock: MockUpstream;
let env: Record<string, string>;
let config: Record<string, unknown>;
let gw: GovGateway;
let keyA: string;
let keyB: string;
let keyBId: string;

function client(apiKey = 'sk-none'): OpenAI {
  return new OpenAI({ baseURL: `${gw.url}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
}

async function setEnforce(enforce: boolean): Promise<void> {
  const reply = await call('PATCH', `${gw.url}/api/settings`, { governance: { enforce } });
  expect(reply.status).toBe(200);
}

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  env = providers.env;
  config = providers.config;
  gw = await startGov({ env, config });
  keyA = (await call('POST', `${gw.url}/api/virtual-keys`, { name: 'a' })).json.key;
  const b = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'b' });
  keyB = b.json.key;
  keyBId = b.json.id;
});
afterAll(async () => {
  await gw.close();
  await mock.close();
});
beforeEach(() => mock.reset());

const tools: OpenAI.Responses.Tool[] = [
  { type: 'function', name: 'lookup', description: 'look a word up', strict: false, parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
];

type Create = (openai: OpenAI, params: OpenAI.Responses.ResponseCreateParamsNonStreaming) => Promise<OpenAI.Responses.Response>;
const MODES: Array<[string, Create]> = [
  ['json', (openai, params) => openai.responses.create(params)],
  ['stream', (openai, params) => openai.responses.stream({ ...params, stream: undefined }).finalResponse()],
];

/** What the provider got on the second turn, as [role, kinds of blocks] pairs plus the tool ids. */
function anthropicConversation(body: unknown): Array<[string, string[]]> {
  const messages = (body as { messages: Array<{ role: string; content: string | Array<{ type: string }> }> }).messages;
  return messages.map((message) => [message.role, typeof message.content === 'string' ? ['text'] : message.content.map((block) => block.type)]);
}

describe.each(MODES)('store and previous_response_id, bridged (%s)', (_mode, create) => {
  it('Anthropic: the second turn sends the whole conversation, the tool call and its result matched', async () => {
    const openai = client();
    const first = await create(openai, { model: 'anthropic/claude-sonnet-4-5', input: 'weather in Oslo', tools, tool_choice: { type: 'function', name: 'lookup' } });
    expect((first as { store?: boolean }).store).toBe(true);
    const fc = first.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    expect(fc).toMatchObject({ name: 'lookup', arguments: '{"text":"weather in Oslo"}' });

    mock.reset();
    const second = await create(openai, {
      model: 'anthropic/claude-sonnet-4-5', tools, previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: fc.call_id, output: 'sunny' }],
    });
    expect(second.status).toBe('completed');
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toBe('echo: weather in Oslo');
    const sent = mock.requests[0].body as { messages: Array<{ role: string; content: Array<Record<string, unknown>> }> };
    expect(anthropicConversation(sent)).toEqual([['user', ['text']], ['assistant', ['tool_use']], ['user', ['tool_result']]]);
    expect(JSON.stringify(sent.messages[0].content)).toContain('weather in Oslo');
    expect(sent.messages[1].content[0]).toMatchObject({ type: 'tool_use', id: fc.call_id, name: 'lookup', input: { text: 'weather in Oslo' } });
    expect(sent.messages[2].content[0]).toMatchObject({ type: 'tool_result', tool_use_id: fc.call_id, content: 'sunny' });
  });

  it('Gemini: the same, as functionCall and functionResponse parts', async () => {
    const openai = client();
    const first = await create(openai, { model: 'gemini/gemini-2.5-flash', input: 'weather in Oslo', tools, tool_choice: { type: 'function', name: 'lookup' } });
    const fc = first.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    expect(fc.name).toBe('lookup');
    mock.reset();
    const second = await create(openai, {
      model: 'gemini/gemini-2.5-flash', tools, previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: fc.call_id, output: 'sunny' }],
    });
    expect(second.status).toBe('completed');
    const contents = (mock.requests[0].body as { contents: Array<{ role: string; parts: Array<Record<string, unknown>> }> }).contents;
    expect(contents.map((content) => content.role)).toEqual(['user', 'model', 'user']);
    expect(contents[0].parts[0]).toEqual({ text: 'weather in Oslo' });
    expect(contents[1].parts.find((part) => part.functionCall !== undefined)).toMatchObject({ functionCall: { name: 'lookup', args: { text: 'weather in Oslo' } } });
    expect(contents[2].parts[0]).toMatchObject({ functionResponse: { name: 'lookup' } });
    expect(JSON.stringify(contents[2].parts[0])).toContain('sunny');
  });
});

describe.each(MODES)('reasoning restored from the stored response (%s)', (_mode, create) => {
  it('Anthropic thinking with its signature comes back on the previous_response_id turn without include', async () => {
    const openai = client();
    const model = 'anthropic/claude-sonnet-4-5';
    const params = { model, tools, reasoning: { effort: 'low' as const } };
    const first = await create(openai, { ...params, input: 'weather in Oslo' });
    expect(first.output[0].type).toBe('reasoning');
    const fc = first.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    mock.reset();
    const second = await create(openai, { ...params, previous_response_id: first.id, input: [{ type: 'function_call_output', call_id: fc.call_id, output: 'sunny' }] });
    // The mock refuses a tool turn whose thinking block is missing or unsigned, as Anthropic does.
    expect(second.status).toBe('completed');
    const sent = mock.requests[0].body as { messages: Array<{ role: string; content: Array<Record<string, unknown>> }> };
    expect(sent.messages[1].content[0]).toMatchObject({ type: 'thinking', thinking: 'Thinking about: weather in Oslo', signature: thinkingSignature('Thinking about: weather in Oslo') });
  });
});

describe('stored-response routes, bridged', () => {
  it('retrieve, input_items (order, limit, after), delete, then 404', async () => {
    const openai = client();
    const first = await openai.responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'one', instructions: 'be brief' });
    const second = await openai.responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'two', previous_response_id: first.id });

    const got = await openai.responses.retrieve(second.id);
    expect(got).toEqual(second);
    expect(got.output_text).toBe('echo: two');

    const asc = await openai.responses.inputItems.list(second.id, { order: 'asc' });
    const texts = asc.data.map((item) => {
      const content = (item as { content: Array<{ text: string }> }).content;
      return `${(item as { role: string }).role}:${content[0].text}`;
    });
    expect(texts).toEqual(['user:one', 'assistant:echo: one', 'user:two']);
    expect(asc.data.every((item) => typeof item.id === 'string' && item.id !== '')).toBe(true);
    const desc = await openai.responses.inputItems.list(second.id);
    expect(desc.data.map((item) => item.id)).toEqual(asc.data.map((item) => item.id).reverse());

    const page = await call('GET', `${gw.url}/v1/responses/${second.id}/input_items?order=asc&limit=2`);
    expect(page.json).toMatchObject({ object: 'list', has_more: true, first_id: asc.data[0].id, last_id: asc.data[1].id });
    const rest = await call('GET', `${gw.url}/v1/responses/${second.id}/input_items?order=asc&limit=2&after=${asc.data[1].id}`);
    expect(rest.json).toMatchObject({ has_more: false, first_id: asc.data[2].id, last_id: asc.data[2].id });
    // The SDK's auto-pagination walks the same pages.
    const all: string[] = [];
    for await (const item of openai.responses.inputItems.list(second.id, { order: 'asc', limit: 1 })) all.push(item.id!);
    expect(all).toEqual(asc.data.map((item) => item.id));

    const deleted = await openai.responses.delete(second.id).asResponse();
    expect(await deleted.json()).toEqual({ id: second.id, object: 'response', deleted: true });
    const gone = await openai.responses.retrieve(second.id).catch((error: unknown) => error);
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError);
    expect((gone as InstanceType<typeof OpenAI.NotFoundError>).message).toContain(`Response with id '${second.id}' not found.`);
    const again = await call('DELETE', `${gw.url}/v1/responses/${second.id}`);
    expect(again.status).toBe(404);
    expect(again.json).toMatchObject({ error: { type: 'invalid_request_error', code: 'not_found' } });
    // The first response is still there, and its continuation from a deleted one is refused.
    expect((await openai.responses.retrieve(first.id)).output_text).toBe('echo: one');
    const orphan = await call('POST', `${gw.url}/v1/responses`, { model: 'anthropic/claude-sonnet-4-5', input: 'x', previous_response_id: second.id });
    expect(orphan.status).toBe(400);
    expect(orphan.json).toMatchObject({ error: { code: 'previous_response_not_found', param: 'previous_response_id', message: `Previous response with id '${second.id}' not found.` } });
  });

  it('store: false keeps nothing; cancel of a stored one is 400 as OpenAI answers it', async () => {
    const openai = client();
    const unstored = await openai.responses.create({ model: 'gemini/gemini-2.5-flash', input: 'hi', store: false });
    expect((unstored as { store?: boolean }).store).toBe(false);
    expect((await call('GET', `${gw.url}/v1/responses/${unstored.id}`)).status).toBe(404);
    const stored = await openai.responses.create({ model: 'gemini/gemini-2.5-flash', input: 'hi' });
    const cancel = await openai.responses.cancel(stored.id).catch((error: unknown) => error);
    expect(cancel).toBeInstanceOf(OpenAI.BadRequestError);
    expect((cancel as Error).message).toContain('Only responses created with background=true can be cancelled');
  });

  it('a wrong limit or order is a 400 naming it', async () => {
    const stored = await client().responses.create({ model: 'gemini/gemini-2.5-flash', input: 'hi' });
    expect((await call('GET', `${gw.url}/v1/responses/${stored.id}/input_items?limit=0`)).json).toMatchObject({ error: { param: 'limit' } });
    expect((await call('GET', `${gw.url}/v1/responses/${stored.id}/input_items?order=up`)).json).toMatchObject({ error: { param: 'order' } });
  });
});

describe('OpenAI pass-through: the provider keeps its responses, the gateway maps ids', () => {
  it('retrieve, input_items, previous_response_id and delete reach the provider; unknown ids are 404 here', async () => {
    const openai = client();
    const first = await openai.responses.create({ model: 'openai/gpt-4o-mini', input: 'hello there' });
    expect(first.id).toMatch(/^resp_mock_/);
    const got = await openai.responses.retrieve(first.id);
    expect(got).toMatchObject({ id: first.id, output_text: 'echo: hello there' });
    const items = await openai.responses.inputItems.list(first.id);
    expect(items.data).toHaveLength(1);

    const second = await openai.responses.create({ model: 'openai/gpt-4o-mini', input: 'again', previous_response_id: first.id });
    expect(second.previous_response_id).toBe(first.id);

    const cancel = await openai.responses.cancel(first.id).catch((error: unknown) => error);
    expect(cancel).toBeInstanceOf(OpenAI.BadRequestError);

    const deleted = await openai.responses.delete(first.id).asResponse();
    expect(await deleted.json()).toEqual({ id: first.id, object: 'response', deleted: true });
    expect((await call('GET', `${gw.url}/v1/responses/${first.id}`)).status).toBe(404);
    const unknown = await call('GET', `${gw.url}/v1/responses/resp_mock_999`);
    expect(unknown.status).toBe(404);
    expect(mock.requests.filter((request) => request.path.includes('resp_mock_999'))).toHaveLength(0);
  });

  it('a streamed pass-through response is mapped by the id of its final event', async () => {
    const openai = client();
    const streamed = await openai.responses.stream({ model: 'openai/gpt-4o-mini', input: 'one two' }).finalResponse();
    expect((await openai.responses.retrieve(streamed.id)).output_text).toBe('echo: one two');
  });

  it('a pass-through id cannot be continued on a bridged provider (the gateway does not have its items)', async () => {
    const openai = client();
    const passed = await openai.responses.create({ model: 'openai/gpt-4o-mini', input: 'hi' });
    const toBridge = await call('POST', `${gw.url}/v1/responses`, { model: 'anthropic/claude-sonnet-4-5', input: 'x', previous_response_id: passed.id });
    expect(toBridge.status).toBe(400);
    expect(toBridge.json).toMatchObject({ error: { code: 'previous_response_unavailable', param: 'previous_response_id' } });
  });

  it('a bridged response continues on OpenAI: its items go as input, without ids and without the sealed reasoning (a warning says so)', async () => {
    const openai = client();
    const bridged = await openai.responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'weather in Oslo', tools, reasoning: { effort: 'low' } });
    expect(bridged.output.map((item) => item.type)).toEqual(['reasoning', 'function_call']);
    const fc = bridged.output[1] as OpenAI.Responses.ResponseFunctionToolCall;
    mock.reset();
    const { data: next, response } = await openai.responses.create({
      model: 'openai/gpt-4o-mini', tools, previous_response_id: bridged.id,
      input: [{ type: 'function_call_output', call_id: fc.call_id, output: 'sunny' }],
    }).withResponse();
    expect(next.id).toMatch(/^resp_mock_/);
    expect(response.headers.get('x-heimdall-warnings')).toContain('1 reasoning item of a response the gateway stored');
    const sent = mock.requests[0].body as Record<string, unknown>;
    expect(sent.previous_response_id).toBeUndefined();
    expect(sent.input).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'weather in Oslo' }] },
      { type: 'function_call', status: 'completed', call_id: fc.call_id, name: 'lookup', arguments: fc.arguments },
      { type: 'function_call_output', call_id: fc.call_id, output: 'sunny' },
    ]);
    // The new response is OpenAI's: it continues there by its own id.
    const third = await openai.responses.create({ model: 'openai/gpt-4o-mini', input: 'and tomorrow?', previous_response_id: next.id });
    expect(third.previous_response_id).toBe(next.id);
  });
});

describe('scoped to the virtual key', () => {
  beforeAll(() => setEnforce(true));
  afterAll(() => setEnforce(false));

  it('another key gets 404 for retrieve, input_items, delete and cancel, and 400 for previous_response_id', async () => {
    const a = client(keyA);
    const b = client(keyB);
    for (const model of ['anthropic/claude-sonnet-4-5', 'openai/gpt-4o-mini']) {
      const mine = await a.responses.create({ model, input: 'secret plan' });
      for (const attempt of [
        () => b.responses.retrieve(mine.id),
        () => b.responses.inputItems.list(mine.id),
        () => b.responses.delete(mine.id),
        () => b.responses.cancel(mine.id),
      ]) {
        expect(await attempt().then(() => 'ok', (error: unknown) => error)).toBeInstanceOf(OpenAI.NotFoundError);
      }
      const next = await b.responses.create({ model, input: 'x', previous_response_id: mine.id }).catch((error: unknown) => error);
      expect(next).toBeInstanceOf(OpenAI.BadRequestError);
      expect((next as Error).message).toContain('not found');
      // The owner still has it.
      expect((await a.responses.retrieve(mine.id)).output_text).toBe('echo: secret plan');
    }
    // The refused calls are in the request log, under the key that made them.
    gw.app.store.logs.flush();
    const logged = gw.app.store.logQueries.listLogs({ virtual_key_id: keyBId, limit: 100 }).items;
    const routes = logged.map((log) => `${log.method} ${log.route} ${log.status}`);
    expect(routes).toContain('GET /v1/responses/:id 404');
    expect(routes).toContain('DELETE /v1/responses/:id 404');
    expect(routes).toContain('GET /v1/responses/:id/input_items 404');
    expect(routes).toContain('POST /v1/responses/:id/cancel 404');
  });

  it('the routes run the admission of the stored response\'s model: a key that may not use it any more gets 403, and each call counts against its rate limit', async () => {
    const created = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'narrowed', rate_limits: [{ requests: 4, window: '1m' }] });
    const openai = client(created.json.key);
    const mine = await openai.responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'hello' });
    expect((await openai.responses.retrieve(mine.id)).output_text).toBe('echo: hello'); // 2 of 4
    const narrowed = await call('PATCH', `${gw.url}/api/virtual-keys/${created.json.id}`, { allowed_models: ['openai/*'] });
    expect(narrowed.status).toBe(200);
    for (const attempt of [() => openai.responses.retrieve(mine.id), () => openai.responses.inputItems.list(mine.id), () => openai.responses.delete(mine.id)]) {
      const refused = await attempt().then(() => 'ok', (error: unknown) => error);
      expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect((refused as Error).message).toContain('may not use the model');
    }
    // Widened again: the refused calls did not count (refused before the rate limit), the retrieve did.
    await call('PATCH', `${gw.url}/api/virtual-keys/${created.json.id}`, { allowed_models: null });
    expect((await openai.responses.retrieve(mine.id)).id).toBe(mine.id); // 3 of 4
    expect((await openai.responses.inputItems.list(mine.id)).data).toHaveLength(1); // 4 of 4
    const limited = await openai.responses.retrieve(mine.id).then(() => 'ok', (error: unknown) => error);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('an item_reference resolves only to the key\'s own stored items', async () => {
    const a = client(keyA);
    const first = await a.responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'weather in Oslo', tools, tool_choice: { type: 'function', name: 'lookup' } });
    const fc = first.output.find((item) => item.type === 'function_call')!;
    const turn = { model: 'anthropic/claude-sonnet-4-5', tools, input: [{ role: 'user' as const, content: 'weather in Oslo' }, { type: 'item_reference' as const, id: fc.id! }, { type: 'function_call_output' as const, call_id: (fc as OpenAI.Responses.ResponseFunctionToolCall).call_id, output: 'sunny' }] };
    mock.reset();
    const resolved = await a.responses.create(turn);
    expect(resolved.status).toBe('completed');
    const sent = mock.requests[0].body as { messages: Array<{ role: string; content: Array<Record<string, unknown>> }> };
    expect(sent.messages[1].content[0]).toMatchObject({ type: 'tool_use', name: 'lookup' });
    const other = await client(keyB).responses.create(turn).catch((error: unknown) => error);
    expect(other).toBeInstanceOf(OpenAI.BadRequestError);
    expect((other as Error).message).toContain(`Item with id '${fc.id}' not found`);
  });

  it('the routes need a key like every model route', async () => {
    const reply = await call('GET', `${gw.url}/v1/responses/resp_anything`);
    expect(reply.status).toBe(401);
    expect(reply.json).toMatchObject({ error: { type: expect.any(String) } });
  });
});

describe('POST /v1/responses/input_tokens', () => {
  it('counted by Anthropic (count_tokens), Gemini (countTokens) and OpenAI (its own), translated', async () => {
    const openai = client();
    const params = { instructions: 'be brief', input: 'how many words here', tools };
    const counts: Record<string, number> = {};
    for (const model of ['anthropic/claude-sonnet-4-5', 'gemini/gemini-2.5-flash', 'openai/gpt-4o-mini']) {
      mock.reset();
      const { data, response } = await openai.responses.inputTokens.count({ model, ...params }).withResponse();
      expect(data.object).toBe('response.input_tokens');
      counts[model] = data.input_tokens;
      expect(response.headers.get('x-heimdall-provider')).toBe(model.split('/')[0]);
      const sent = mock.requests[0];
      if (model.startsWith('anthropic')) {
        expect(sent.path).toBe('/v1/messages/count_tokens');
        expect(sent.body).not.toHaveProperty('max_tokens');
        expect(sent.body).toMatchObject({ model: 'claude-sonnet-4-5', system: 'be brief', tools: [{ name: 'lookup' }] });
      } else if (model.startsWith('gemini')) {
        expect(sent.path).toBe('/v1beta/models/gemini-2.5-flash:countTokens');
        expect(sent.body).toMatchObject({ generateContentRequest: { model: 'models/gemini-2.5-flash', systemInstruction: { parts: [{ text: 'be brief' }] } } });
      } else {
        expect(sent.path).toBe('/v1/responses/input_tokens');
        expect(sent.body).toMatchObject({ model: 'gpt-4o-mini', input: 'how many words here' });
      }
    }
    // The mock counts words (instructions + input): every provider agrees.
    expect(Object.values(counts)).toEqual([6, 6, 6]);
  });

  it('counts the stored conversation of previous_response_id', async () => {
    const openai = client();
    const first = await openai.responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'one two three' });
    const alone = await openai.responses.inputTokens.count({ model: 'anthropic/claude-sonnet-4-5', input: 'four' });
    const chained = await openai.responses.inputTokens.count({ model: 'anthropic/claude-sonnet-4-5', input: 'four', previous_response_id: first.id });
    expect(alone.input_tokens).toBe(1);
    expect(chained.input_tokens).toBe(1 + 3 + 4); // 'one two three' + 'echo: one two three' + 'four'
  });

  it('a provider without a token count: a clear 400 naming the model', async () => {
    const reply = await call('POST', `${gw.url}/v1/responses/input_tokens`, { model: 'cohere/command-a-03-2025', input: 'hi' });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: { param: 'model' } });
    expect(reply.json.error.message).toContain('cannot count input tokens');
  });
});

describe('restart', () => {
  it('a new gateway on the same data dir reads the stored response and continues it', async () => {
    const first = await client().responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'remember me' });
    const dataDir = gw.dataDir;
    await gw.close(false);
    gw = await startGov({ env, config, dataDir });
    const got = await client().responses.retrieve(first.id);
    expect(got).toEqual(first);
    mock.reset();
    const next = await client().responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'and now?', previous_response_id: first.id });
    expect(next.output_text).toBe('echo: and now?');
    expect(anthropicConversation(mock.requests[0].body)).toEqual([['user', ['text']], ['assistant', ['text']], ['user', ['text']]]);
  });
});
