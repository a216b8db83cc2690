/**
 * The library's calls run in-process (no Fastify inject, no HTTP): streams as async iterables whose
 * `break` aborts the upstream call (logged 499), a stream that fails after it began throws from the
 * iteration, governance refuses in each API's own error format, and concurrent calls each get their
 * own answer.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HeimdallError, type HeimdallGateway } from '../../src/index.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startLibrary, type LibraryUnderTest } from './helpers.js';

const KEY = 'sk-heimdall-library-test-0123456789';

let library: LibraryUnderTest | undefined;
let mock: MockUpstream;
let gw: HeimdallGateway;

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function logOf(id: string): Promise<Record<string, unknown>> {
  const response = await gw.app.inject({ method: 'GET', url: `/api/logs/${id}` });
  expect(response.statusCode).toBe(200);
  return response.json() as Record<string, unknown>;
}

beforeAll(async () => {
  library = await startLibrary({
    logging: { bodies: true },
    governance: {
      enforce: true,
      virtual_keys: { app: { key: 'env.LIBRARY_TEST_KEY', allowed_models: ['openai/*', 'anthropic/*'] } },
    },
  }, { LIBRARY_TEST_KEY: KEY });
  ({ gw, mock } = library);
});
afterAll(async () => {
  await library?.close();
});

const auth = { headers: { authorization: `Bearer ${KEY}` } };

describe('in-process calls', () => {
  it('never go through HTTP: the application is not injected into', async () => {
    const inject = vi.spyOn(gw.app, 'inject');
    try {
      const completion = await gw.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'direct' }] }, auth);
      expect(completion.choices[0].message.content).toBe('echo: direct');
      expect(inject).not.toHaveBeenCalled();
    } finally {
      inject.mockRestore();
    }
  });

  it('governance refuses a call without a key (401) and a model the key may not use (403), in each API\'s format', async () => {
    const missing = await gw.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(HeimdallError);
    expect((missing as HeimdallError).status).toBe(401);
    expect((missing as HeimdallError).body).toMatchObject({ error: { type: expect.any(String), message: expect.any(String) } });
    const forbidden = await gw.messages.create({ model: 'gemini/gemini-2.5-flash', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }, auth).catch((e: unknown) => e);
    expect(forbidden).toBeInstanceOf(HeimdallError);
    expect((forbidden as HeimdallError).status).toBe(403);
    // Anthropic's error envelope, as POST /anthropic/v1/messages answers it.
    expect((forbidden as HeimdallError).body).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    // A refused stream is refused before it starts: the call rejects, nothing to iterate.
    const refusedStream = await gw.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true }).catch((e: unknown) => e);
    expect(refusedStream).toMatchObject({ status: 401 });
  });

  it('breaking out of a stream aborts the upstream call; the request is logged 499', async () => {
    mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 100 });
    const before = mock.requests.length;
    const stream = await gw.chat.completions.create({
      model: 'openai/gpt-4o-mini',
      messages: [{ role: 'user', content: 'one two three four five six seven eight nine ten' }],
      stream: true,
    }, { headers: { ...auth.headers, 'x-request-id': 'library-break-1' } });
    let chunks = 0;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      if (++chunks === 2) break;
    }
    const upstream = mock.requests[before];
    await waitFor(() => upstream.aborted);
    expect(upstream.finished).toBe(false);
    const log = await logOf('library-break-1');
    expect(log).toMatchObject({ status: 499, provider: 'openai' });
  });

  it('a stream that fails after it began throws a HeimdallError from the iteration', async () => {
    mock.enqueue({ kind: 'stream-error', afterChunks: 2 });
    const stream = await gw.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'a b c d e f' }], stream: true }, auth);
    const seen: string[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(HeimdallError);
    expect((failure as HeimdallError).status).toBeGreaterThanOrEqual(500);
    expect(seen.join('')).not.toBe('');
  });

  it('concurrent calls, whole and streamed, each get their own answer', async () => {
    const words = Array.from({ length: 12 }, (_, i) => `word${i}`);
    const whole = words.map((word) => gw.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: word }] }, auth));
    const streamed = words.map(async (word) => {
      let text = '';
      for await (const event of await gw.messages.create({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content: word }], stream: true }, auth)) {
        const delta = (event as { delta?: { text?: string } }).delta;
        if (event.type === 'content_block_delta' && typeof delta?.text === 'string') text += delta.text;
      }
      return text;
    });
    const [answers, texts] = await Promise.all([Promise.all(whole), Promise.all(streamed)]);
    expect(answers.map((answer) => answer.choices[0].message.content)).toEqual(words.map((word) => `echo: ${word}`));
    expect(texts).toEqual(words.map((word) => `echo: ${word}`));
  });

  it('the request id of the call is the log\'s, with the route, usage and bodies', async () => {
    await gw.responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'logged' }, { headers: { ...auth.headers, 'x-request-id': 'library-log-1' } });
    const log = await logOf('library-log-1');
    expect(log).toMatchObject({ status: 200, route: '/v1/responses', provider: 'anthropic' });
    expect(Number(log.input_tokens)).toBeGreaterThan(0);
    expect(Number(log.output_tokens)).toBeGreaterThan(0);
    // logging.bodies: what the call sent and got, as for an HTTP request.
    expect(String(log.request_body)).toContain('"input":"logged"');
    expect(JSON.parse(String(log.response_body))).toMatchObject({ object: 'response', status: 'completed' });
  });
});
