/**
 * Background responses (`background: true`) over real sockets with the official `openai` SDK:
 * bridged providers run in the gateway (queued at once, polled, cancelled, streamed and resumed,
 * refused at once by governance, bounded), OpenAI pass-through keeps OpenAI's own background mode,
 * and a gateway that stops with one running marks it failed.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call, startGov, type GovGateway } from '../governance/helpers.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';

let mock: MockUpstream;
let env: Record<string, string>;
let config: Record<string, unknown>;
let gw: GovGateway;

const ANTHROPIC = 'anthropic/claude-sonnet-4-5';
const GEMINI = 'gemini/gemini-2.5-flash';
const BEDROCK = 'bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0';

function client(apiKey = 'sk-none', url = gw.url): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 15_000 });
}

/** Polls GET /v1/responses/{id} until it leaves queued and in_progress. */
async function settled(openai: OpenAI, id: string): Promise<OpenAI.Responses.Response> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const response = await openai.responses.retrieve(id);
    if (response.status !== 'queued' && response.status !== 'in_progress') return response;
    if (Date.now() > deadline) throw new Error(`response ${id} still ${response.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  env = providers.env;
  config = { ...providers.config, responses: { background: { max_jobs: 2 } } };
  gw = await startGov({ env, config });
});
afterAll(async () => {
  await gw.close();
  await mock.close();
});
beforeEach(() => mock.reset());

describe('background responses to bridged providers', () => {
  it.each([ANTHROPIC, GEMINI, BEDROCK])('%s: answered at once as queued, run in the gateway, polled to completion', async (model) => {
    const openai = client();
    const { data: created, response } = await openai.responses.create({ model, input: 'one two three', background: true }).withResponse();
    expect(created.status).toBe('queued');
    expect(created.background).toBe(true);
    expect(created.id).toMatch(/^resp_/);
    expect(response.headers.get('x-heimdall-provider')).toBe(model.split('/')[0]);
    expect(response.headers.get('x-heimdall-attempts')).toBe('1');
    const done = await settled(openai, created.id);
    expect(done).toMatchObject({ id: created.id, status: 'completed', background: true, store: true });
    expect(done.output_text).toBe('echo: one two three');
    expect(done.usage?.output_tokens).toBeGreaterThan(0);
    expect((await openai.responses.inputItems.list(created.id)).data).toMatchObject([{ type: 'message', role: 'user' }]);
    // One log line, under the POST's request id, with the usage of the upstream call.
    const mine = () => {
      gw.app.store.logs.flush();
      return gw.app.store.logQueries.listLogs({ limit: 100 }).items.filter((log) => log.id === response.headers.get('x-request-id'));
    };
    await until(() => mine().length > 0, 'the log line');
    const logged = mine();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ status: 200, route: '/v1/responses', provider: model.split('/')[0] });
    expect(logged[0].output_tokens).toBeGreaterThan(0);
    // It continues like any stored response.
    const next = await openai.responses.create({ model, input: 'four', previous_response_id: created.id });
    expect(next.status).toBe('completed');
  });

  it('cancel stops the upstream call and keeps status cancelled; cancelling again returns the same object', async () => {
    mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 400 }, { path: '/v1/messages' });
    const openai = client();
    const created = await openai.responses.create({ model: ANTHROPIC, input: 'alpha beta gamma delta epsilon zeta eta theta', background: true });
    await until(() => mock.requests.length === 1, 'the upstream call');
    const cancelled = await openai.responses.cancel(created.id);
    expect(cancelled).toMatchObject({ id: created.id, status: 'cancelled', background: true });
    await until(() => mock.requests[0].aborted || mock.requests[0].finished, 'the upstream call to end');
    expect(mock.requests[0].aborted).toBe(true);
    expect((await openai.responses.retrieve(created.id)).status).toBe('cancelled');
    expect((await openai.responses.cancel(created.id)).status).toBe('cancelled');
    // The request is logged as ended by its client (499): the upstream was stopped.
    await until(() => {
      gw.app.store.logs.flush();
      return gw.app.store.logQueries.listLogs({ limit: 100 }).items.some((log) => log.route === '/v1/responses' && log.status === 499);
    }, 'the 499 log line');
  });

  it('a response not made in background mode cannot be cancelled (400)', async () => {
    const openai = client();
    const plain = await openai.responses.create({ model: ANTHROPIC, input: 'hi' });
    expect(await openai.responses.cancel(plain.id).catch((error: unknown) => error)).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('stream: true streams the events; GET ?stream=true&starting_after=N resumes after event N', async () => {
    const openai = client();
    const stream = await openai.responses.create({ model: GEMINI, input: 'one two three', background: true, stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events[0].type).toBe('response.created');
    expect(events.at(-1)?.type).toBe('response.completed');
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_event, n) => n));
    const id = (events[0] as OpenAI.Responses.ResponseCreatedEvent).response.id;
    expect((events.at(-1) as OpenAI.Responses.ResponseCompletedEvent).response).toMatchObject({ id, background: true, status: 'completed' });

    const resumed: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of await openai.responses.retrieve(id, { stream: true, starting_after: 2 })) resumed.push(event);
    expect(resumed.map((event) => event.sequence_number)).toEqual(events.slice(3).map((event) => event.sequence_number));
    expect(resumed.at(-1)?.type).toBe('response.completed');

    // A response created without stream: true cannot be streamed.
    const polled = await openai.responses.create({ model: GEMINI, input: 'x', background: true });
    await settled(openai, polled.id);
    const refused = await call('GET', `${gw.url}/v1/responses/${polled.id}?stream=true`);
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: { message: expect.stringContaining('created with stream=true') } });
  });

  it('a streaming reader who leaves does not stop the response', async () => {
    mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 100 }, { path: '/v1/messages' });
    const openai = client();
    const stream = await openai.responses.create({ model: ANTHROPIC, input: 'one two three four', background: true, stream: true });
    let id = '';
    for await (const event of stream) {
      if (event.type === 'response.created') {
        id = event.response.id;
        break; // closes the connection
      }
    }
    const done = await settled(openai, id);
    expect(done.status).toBe('completed');
    expect(done.output_text).toBe('echo: one two three four');
  });

  it('a cancel ends the stream of a reader who follows it, after the events so far', async () => {
    mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 300 }, { path: '/v1/messages' });
    const openai = client();
    const stream = await openai.responses.create({ model: ANTHROPIC, input: 'one two three four five six seven eight', background: true, stream: true });
    const seen: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) {
      seen.push(event);
      if (event.type === 'response.output_text.delta' && seen.filter((e) => e.type === event.type).length === 1) {
        expect((await openai.responses.cancel((seen[0] as OpenAI.Responses.ResponseCreatedEvent).response.id)).status).toBe('cancelled');
      }
    }
    expect(seen.some((event) => event.type === 'response.completed')).toBe(false);
    const id = (seen[0] as OpenAI.Responses.ResponseCreatedEvent).response.id;
    const after = await openai.responses.retrieve(id);
    expect(after.status).toBe('cancelled');
  });

  it('an upstream failure after acceptance ends in status failed with the error', async () => {
    mock.enqueue({ kind: 'error', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long' } } }, { path: '/v1/messages' });
    const openai = client();
    const created = await openai.responses.create({ model: ANTHROPIC, input: 'x', background: true });
    expect(created.status).toBe('queued');
    const failed = await settled(openai, created.id);
    expect(failed.status).toBe('failed');
    expect(failed.error?.message).toContain('prompt is too long');
  });

  it('store: false is refused (400), and past responses.background.max_jobs a request gets 429', async () => {
    const openai = client();
    const stateless = await openai.responses.create({ model: ANTHROPIC, input: 'x', background: true, store: false }).catch((error: unknown) => error);
    expect(stateless).toBeInstanceOf(OpenAI.BadRequestError);
    expect((stateless as Error).message).toContain('requires store=true');

    mock.enqueue({ kind: 'hang' }, { path: '/v1/messages', times: 2 });
    const first = await openai.responses.create({ model: ANTHROPIC, input: 'x', background: true });
    const second = await openai.responses.create({ model: ANTHROPIC, input: 'y', background: true });
    const third = await openai.responses.create({ model: ANTHROPIC, input: 'z', background: true }).catch((error: unknown) => error);
    expect(third).toBeInstanceOf(OpenAI.RateLimitError);
    expect((third as Error).message).toContain('max_jobs');
    await openai.responses.cancel(first.id);
    await openai.responses.cancel(second.id);
    const fourth = await openai.responses.create({ model: ANTHROPIC, input: 'w', background: true });
    expect((await settled(openai, fourth.id)).status).toBe('completed');
  });
});

describe('governance on background responses', () => {
  beforeAll(async () => {
    expect((await call('PATCH', `${gw.url}/api/settings`, { governance: { enforce: true } })).status).toBe(200);
  });
  afterAll(async () => {
    await call('PATCH', `${gw.url}/api/settings`, { governance: { enforce: false } });
  });

  it('refused at once in the caller\'s form (401, 403), nothing stored; another key cannot see or cancel one', async () => {
    expect(await client('hk-wrong').responses.create({ model: ANTHROPIC, input: 'x', background: true }).catch((error: unknown) => error)).toBeInstanceOf(OpenAI.AuthenticationError);
    const narrow = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'bg-narrow', allowed_models: ['openai/*'] });
    const refused = await client(narrow.json.key).responses.create({ model: ANTHROPIC, input: 'x', background: true }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(mock.requests).toHaveLength(0);

    const owner = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'bg-owner' });
    const other = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'bg-other' });
    mock.enqueue({ kind: 'hang' }, { path: '/v1/messages' });
    const mine = await client(owner.json.key).responses.create({ model: ANTHROPIC, input: 'x', background: true });
    expect(await client(other.json.key).responses.cancel(mine.id).catch((error: unknown) => error)).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await client(other.json.key).responses.retrieve(mine.id).catch((error: unknown) => error)).toBeInstanceOf(OpenAI.NotFoundError);
    expect((await client(owner.json.key).responses.cancel(mine.id)).status).toBe('cancelled');
  });
});

describe('OpenAI pass-through keeps OpenAI\'s background mode', () => {
  it('the request goes as it is, and retrieve and cancel are forwarded', async () => {
    const openai = client();
    const created = await openai.responses.create({ model: 'openai/gpt-4o-mini', input: 'hello', background: true });
    expect(created.id).toMatch(/^resp_mock_/);
    expect((mock.requests[0].body as Record<string, unknown>).background).toBe(true);
    const cancelled = await openai.responses.cancel(created.id);
    expect(mock.requests.at(-1)?.path).toBe(`/v1/responses/${created.id}/cancel`);
    expect(cancelled.id).toBe(created.id);
  });
});

describe('two gateways on one data dir (as --workers runs them)', () => {
  it('the other one sees the running response without failing it at its start, and its cancel stops the upstream call', async () => {
    mock.enqueue({ kind: 'hang' }, { path: '/v1/messages' });
    const created = await client().responses.create({ model: ANTHROPIC, input: 'x', background: true });
    await until(() => mock.requests.length === 1, 'the upstream call');
    const other = await startGov({ env, config, dataDir: gw.dataDir });
    try {
      const seen = await client('sk-none', other.url).responses.retrieve(created.id);
      expect(seen.status).toBe('queued');
      expect((await client('sk-none', other.url).responses.cancel(created.id)).status).toBe('cancelled');
      // The gateway that runs it reads the cancel from the store (about once a second) and stops the call.
      await until(() => mock.requests[0].aborted, 'the upstream call to be aborted');
      expect((await client().responses.retrieve(created.id)).status).toBe('cancelled');
    } finally {
      await other.close(false);
    }
  });
});

describe('a gateway that stops with background responses running', () => {
  it('marks them failed, and the next start on the same data dir shows it', async () => {
    // Its drain time (server.shutdown_timeout_ms) is short: the hanging response cannot finish in it.
    const own = await startGov({ env, config: { ...config, server: { shutdown_timeout_ms: 300 } } });
    mock.enqueue({ kind: 'hang' }, { path: '/v1/messages' });
    const openai = client('sk-none', own.url);
    const created = await openai.responses.create({ model: ANTHROPIC, input: 'x', background: true });
    await own.close(false);
    const again = await startGov({ env, config, dataDir: own.dataDir });
    try {
      const after = await client('sk-none', again.url).responses.retrieve(created.id);
      expect(after.status).toBe('failed');
      expect(after.error).toMatchObject({ code: 'server_error', message: expect.stringContaining('shut down') });
    } finally {
      await again.close();
    }
  });
});
