/**
 * Pass-through is liberal on /anthropic: the official `@anthropic-ai/sdk`
 * (system messages inside `messages`, `beta.messages.create({ betas })`)
 * reaches Anthropic with its body and protocol headers, never with its own
 * key; a translation to another format maps system messages where they stand
 * and names what it dropped. The mock refuses what Anthropic refuses (beta
 * fields without their beta header: "Extra inputs are not permitted").
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, useMockedGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { NATIVE_MODELS } from '../support/mock-upstream/provider-env.js';
import { post } from './helpers.js';

const suite = useMockedGateway();
let mock: MockUpstream;
let gateway: TestGateway;
let client: Anthropic;

const CONTEXT_MANAGEMENT = { edits: [{ type: 'clear_tool_uses_20250919', trigger: { type: 'input_tokens', value: 30000 } }] };

beforeAll(() => {
  ({ mock, gateway } = suite);
  client = new Anthropic({ baseURL: `${gateway.url}/anthropic`, apiKey: 'client-key', maxRetries: 0 });
});

const conversation: Anthropic.MessageParam[] = [
  { role: 'user', content: 'hello there' },
  { role: 'assistant', content: 'hi' },
  { role: 'system', content: 'answer tersely' },
  { role: 'user', content: 'again please' },
];

describe('role "system" inside messages (SystemMessageParam)', () => {
  it('to Anthropic: the messages reach the provider unchanged', async () => {
    const message = await client.messages.create({ model: NATIVE_MODELS.anthropic, max_tokens: 100, messages: conversation });
    expect(message.content).toEqual([{ type: 'text', text: 'echo: again please' }]);
    const [call] = mock.requests;
    expect(call.path).toBe('/v1/messages');
    expect((call.body as { messages: unknown }).messages).toEqual(conversation);
  });

  it('to OpenAI: a system message at the same position of the conversation, no warning', async () => {
    const { data, response } = await client.messages.create({ model: NATIVE_MODELS.openai, max_tokens: 100, messages: conversation }).withResponse();
    expect(data.content).toEqual([{ type: 'text', text: 'echo: again please' }]);
    expect(response.headers.get('x-heimdall-warnings')).toBeNull();
    const [call] = mock.requests;
    expect(call.path).toBe('/v1/chat/completions');
    expect((call.body as { messages: unknown }).messages).toEqual([
      { role: 'user', content: 'hello there' },
      { role: 'assistant', content: 'hi' },
      { role: 'system', content: 'answer tersely' },
      { role: 'user', content: 'again please' },
    ]);
  });

  it('to Gemini: the system text becomes systemInstruction', async () => {
    const message = await client.messages.create({ model: NATIVE_MODELS.gemini, max_tokens: 100, system: 'be kind', messages: conversation });
    expect(message.content).toEqual([{ type: 'text', text: 'echo: again please' }]);
    const body = mock.requests[0].body as { systemInstruction: { parts: Array<{ text: string }> }; contents: Array<{ role: string }> };
    expect(body.systemInstruction.parts.map((part) => part.text)).toEqual(['be kind', 'answer tersely']);
    expect(body.contents.map((content) => content.role)).toEqual(['user', 'model', 'user']);
  });
});

describe('what Heimdall does not know is not refused', () => {
  it('pass-through: an unknown role, block type, tool type and field reach Anthropic as sent', async () => {
    mock.enqueue({ kind: 'respond', body: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } });
    const body = {
      model: NATIVE_MODELS.anthropic,
      max_tokens: 50,
      messages: [
        { role: 'developer', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'hologram', frames: 3 }] },
      ],
      tools: [{ type: 'web_search_20260318', name: 'web_search' }],
      tool_choice: { type: 'mind_reader' },
      brand_new_field: { a: 1 },
    };
    const reply = await post(`${gateway.url}/anthropic/v1/messages`, body, { 'x-api-key': 'client-key' });
    expect(reply.status).toBe(200);
    expect(mock.requests[0].body).toEqual({ ...body, model: 'claude-sonnet-4-5' });
  });

  it('pass-through without max_tokens: Anthropic answers with its own error', async () => {
    const reply = await post(`${gateway.url}/anthropic/v1/messages`, { model: NATIVE_MODELS.anthropic, messages: [{ role: 'user', content: 'x' }] });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
    expect(mock.requests).toHaveLength(1);
  });

  it('what the gateway needs is still checked: 400 naming the field, nothing sent', async () => {
    for (const [body, field] of [
      [{ model: NATIVE_MODELS.anthropic, max_tokens: '100', messages: [] }, 'max_tokens'],
      [{ max_tokens: 100, messages: [] }, 'model'],
      [{ model: NATIVE_MODELS.anthropic, max_tokens: 100, messages: 'hi' }, 'messages'],
      [{ model: NATIVE_MODELS.anthropic, max_tokens: 100, messages: ['hi'] }, 'messages[0]'],
    ] as const) {
      const reply = await post(`${gateway.url}/anthropic/v1/messages`, body);
      expect(reply.status).toBe(400);
      expect(reply.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining(field) } });
    }
    expect(mock.requests).toHaveLength(0);
  });

  it('translation: unknown block types and roles are dropped and named in x-heimdall-warnings', async () => {
    const reply = await post(`${gateway.url}/anthropic/v1/messages`, {
      model: NATIVE_MODELS.openai,
      max_tokens: 50,
      messages: [
        { role: 'developer', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'hi there' }, { type: 'hologram', frames: 3 }] },
      ],
      tool_choice: { type: 'mind_reader' },
    });
    expect(reply.status).toBe(200);
    const warnings = String(reply.headers['x-heimdall-warnings']);
    expect(warnings).toContain("'hologram' block");
    expect(warnings).toContain("role 'developer'");
    expect(warnings).toContain("'mind_reader'");
    expect((mock.requests[0].body as { messages: unknown }).messages).toEqual([{ role: 'user', content: 'hi there' }]);
  });

  it("Anthropic's own `fallbacks` (beta) stays in the body; Heimdall's model list is taken out", async () => {
    await post(`${gateway.url}/anthropic/v1/messages`, { model: NATIVE_MODELS.anthropic, max_tokens: 5, messages: [{ role: 'user', content: 'x' }], fallbacks: 'default' }, { 'anthropic-beta': 'server-side-fallback-2026-07-01' });
    expect(mock.requests[0].body).toMatchObject({ fallbacks: 'default' });
    await post(`${gateway.url}/anthropic/v1/messages`, { model: NATIVE_MODELS.anthropic, max_tokens: 5, messages: [{ role: 'user', content: 'x' }], fallbacks: [NATIVE_MODELS.openai] });
    expect(mock.requests[1].body).not.toHaveProperty('fallbacks');
  });
});

describe('protocol headers on pass-through', () => {
  it('client.beta.messages.create({ betas }): the beta header and context_management reach Anthropic unchanged', async () => {
    const message = await client.beta.messages.create({
      model: NATIVE_MODELS.anthropic,
      max_tokens: 100,
      betas: ['context-management-2025-06-27'],
      context_management: CONTEXT_MANAGEMENT as Anthropic.Beta.BetaContextManagementConfig,
      messages: [{ role: 'user', content: 'hello there' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'echo: hello there' }]);
    const [call] = mock.requests;
    expect(call.headers['anthropic-beta']).toBe('context-management-2025-06-27');
    // The version the SDK itself sends (@anthropic-ai/sdk 1.x: 2026-10-21), not one the gateway picks.
    expect(call.headers['anthropic-version']).toBe('2026-10-21');
    expect((call.body as Record<string, unknown>).context_management).toEqual(CONTEXT_MANAGEMENT);
  });

  it('without the beta header Anthropic refuses the beta field, and the caller gets its words', async () => {
    const error = await client.messages.create({
      model: NATIVE_MODELS.anthropic, max_tokens: 100, messages: [{ role: 'user', content: 'x' }],
      context_management: CONTEXT_MANAGEMENT,
    } as Anthropic.MessageCreateParamsNonStreaming).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).error).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'context_management: Extra inputs are not permitted' } });
  });

  it('the beta header also reaches count_tokens, streams and Claude on Vertex', async () => {
    await client.beta.messages.countTokens({ model: NATIVE_MODELS.anthropic, betas: ['token-counting-2024-11-01'], messages: [{ role: 'user', content: 'count me' }] });
    const stream = client.beta.messages.stream({ model: NATIVE_MODELS.anthropic, max_tokens: 50, betas: ['context-management-2025-06-27'], context_management: CONTEXT_MANAGEMENT as Anthropic.Beta.BetaContextManagementConfig, messages: [{ role: 'user', content: 'one two' }] });
    expect((await stream.finalMessage()).content).toEqual([{ type: 'text', text: 'echo: one two' }]);
    await client.beta.messages.create({ model: NATIVE_MODELS['vertex-anthropic'], max_tokens: 50, betas: ['interleaved-thinking-2025-05-14'], messages: [{ role: 'user', content: 'x' }] });
    const calls = mock.requests.filter((r) => r.path !== '/token');
    expect(calls.map((r) => [r.path.split(':').pop(), r.headers['anthropic-beta']])).toEqual([
      ['/v1/messages/count_tokens', 'token-counting-2024-11-01'],
      ['/v1/messages', 'context-management-2025-06-27'],
      ['rawPredict', 'interleaved-thinking-2025-05-14'],
    ]);
    // Vertex takes the version in the body, not the caller's header.
    expect(calls[2].headers['anthropic-version']).toBeUndefined();
  });

  it("credentials, cookies and Heimdall's headers never reach the provider", async () => {
    await post(`${gateway.url}/anthropic/v1/messages`, { model: NATIVE_MODELS.anthropic, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, {
      'x-api-key': 'client-secret-key',
      authorization: 'Bearer client-secret-token',
      cookie: 'session=client-secret-cookie',
      'x-heimdall-key': 'client-secret-heimdall',
      'x-goog-api-key': 'client-secret-goog',
      'anthropic-version': '2023-06-01',
      'x-custom-thing': 'not a protocol header',
    });
    const [call] = mock.requests;
    expect(call.headers['x-api-key']).toBe('sk-ant-mock');
    expect(JSON.stringify(call.headers)).not.toContain('client-secret');
    expect(call.headers['x-custom-thing']).toBeUndefined();
    expect(call.headers.cookie).toBeUndefined();
  });

  it('a cross-format call carries none of the caller\'s protocol headers', async () => {
    await post(`${gateway.url}/anthropic/v1/messages`, { model: NATIVE_MODELS.openai, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, { 'anthropic-beta': 'context-management-2025-06-27' });
    expect(mock.requests[0].headers['anthropic-beta']).toBeUndefined();
  });

  it('OpenAI and Gemini callers: openai-beta and x-goog-api-client go along, account headers do not', async () => {
    await post(`${gateway.url}/v1/chat/completions`, { model: NATIVE_MODELS.openai, messages: [{ role: 'user', content: 'x' }] }, {
      authorization: 'Bearer client-secret', 'openai-beta': 'assistants=v2', 'openai-organization': 'org-client', 'openai-project': 'proj_client',
    });
    await post(`${gateway.url}/genai/v1beta/models/${NATIVE_MODELS.gemini}:generateContent`, { contents: [{ role: 'user', parts: [{ text: 'x' }] }] }, {
      'x-goog-api-key': 'client-secret', 'x-goog-api-client': 'google-genai-sdk/1.0 gl-node/20',
    });
    const [openai, gemini] = mock.requests;
    expect(openai.headers).toMatchObject({ authorization: 'Bearer sk-mock-openai', 'openai-beta': 'assistants=v2' });
    expect(openai.headers['openai-organization']).toBeUndefined();
    expect(openai.headers['openai-project']).toBeUndefined();
    expect(gemini.headers).toMatchObject({ 'x-goog-api-key': 'gemini-mock-key', 'x-goog-api-client': 'google-genai-sdk/1.0 gl-node/20' });
  });
});

describe('per-provider forward_headers and the configured beta', () => {
  let configured: TestGateway;
  beforeAll(async () => {
    configured = await startGateway({
      env: { ANTHROPIC_API_KEY: 'sk-ant-mock', ANTHROPIC_BASE_URL: mock.url, OPENAI_API_KEY: 'sk-mock-openai', OPENAI_BASE_URL: mock.openaiBaseUrl },
      config: {
        providers: {
          anthropic: { options: { beta: ['output-128k-2025-02-19', 'context-management-2025-06-27'] }, forward_headers: { allow: ['x-team-*'], deny: ['anthropic-version'] } },
          openai: { forward_headers: { allow: ['openai-project'], deny: ['*'] } },
        },
      },
    });
  });
  afterAll(async () => {
    await configured.close();
  });

  it("the caller's anthropic-beta joins the configured one; allow adds headers, deny keeps the provider's own", async () => {
    const reply = await post(`${configured.url}/anthropic/v1/messages`, { model: NATIVE_MODELS.anthropic, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, {
      'anthropic-beta': 'context-management-2025-06-27, interleaved-thinking-2025-05-14',
      'anthropic-version': '2099-01-01',
      'x-team-id': 'blue',
      'x-other': 'no',
    });
    expect(reply.status).toBe(200);
    const [call] = mock.requests;
    expect(call.headers['anthropic-beta']).toBe('output-128k-2025-02-19,context-management-2025-06-27,interleaved-thinking-2025-05-14');
    expect(call.headers['anthropic-version']).toBe('2023-06-01');
    expect(call.headers['x-team-id']).toBe('blue');
    expect(call.headers['x-other']).toBeUndefined();
  });

  it('deny "*" wins over allow and the defaults', async () => {
    await post(`${configured.url}/v1/chat/completions`, { model: NATIVE_MODELS.openai, messages: [{ role: 'user', content: 'x' }] }, { 'openai-beta': 'assistants=v2', 'openai-project': 'proj_1' });
    expect(mock.requests[0].headers['openai-beta']).toBeUndefined();
    expect(mock.requests[0].headers['openai-project']).toBeUndefined();
  });

  it('the management API shows the lists and refuses a credential header in allow', async () => {
    const view = await fetch(`${configured.url}/api/providers/anthropic`).then((r) => r.json()) as { forward_headers: unknown };
    expect(view.forward_headers).toEqual({ allow: ['x-team-*'], deny: ['anthropic-version'], defaults: ['anthropic-beta', 'anthropic-version'] });
    const patch = await fetch(`${configured.url}/api/providers/anthropic`, {
      method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ forward_headers: { allow: ['authorization'] } }),
    });
    expect(patch.status).toBe(400);
    const ok = await fetch(`${configured.url}/api/providers/anthropic`, {
      method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ forward_headers: { allow: ['x-trace-tag'] } }),
    });
    expect(ok.status).toBe(200);
    // The store overrides the fields it sets: `deny` from the file stays.
    expect((await ok.json() as { forward_headers: unknown }).forward_headers).toMatchObject({ allow: ['x-trace-tag'], deny: ['anthropic-version'] });
    await post(`${configured.url}/anthropic/v1/messages`, { model: NATIVE_MODELS.anthropic, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, { 'x-trace-tag': 't1', 'x-team-id': 'blue', 'anthropic-version': '2099-01-01' });
    const [call] = mock.requests;
    expect(call.headers['x-trace-tag']).toBe('t1');
    expect(call.headers['x-team-id']).toBeUndefined();
    expect(call.headers['anthropic-version']).toBe('2023-06-01');
  });
});
