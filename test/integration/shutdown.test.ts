/**
 * Graceful shutdown of the real CLI (dist/cli.js) in a child process: on
 * SIGTERM/SIGINT it stops accepting connections, lets the stream in flight
 * finish, and exits 0.
 */
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, killChildren, removeDirs, startCli } from '../support/cli.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { sdk } from './helpers.js';

/** Resolves 'refused' when a new TCP connection is refused, 'accepted' when it opens. */
function tryConnect(port: number): Promise<'refused' | 'accepted'> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', () => resolve('refused'));
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

let mock: MockUpstream;

beforeAll(async () => {
  ensureBuilt();
  mock = await startMockUpstream();
}, 120_000);
afterEach(killChildren);
afterAll(async () => {
  await mock.close();
  removeDirs();
});

describe('graceful shutdown of the CLI', () => {
  it('SIGTERM with a stream in flight: new connections refused, the stream completes, exit 0', async () => {
    mock.reset();
    const cli = await startCli({ OPENAI_API_KEY: 'sk-test-shutdown-123456', OPENAI_BASE_URL: mock.openaiBaseUrl });
    expect(cli.stderr()).toContain('Providers      openai (env)');
    expect(cli.stderr()).not.toContain('sk-test-shutdown-123456');

    mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 250 });
    const words = 'one two three four five six';
    const stream = await sdk(cli.url).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: words }], stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);

    cli.child.kill('SIGTERM');
    let streamDone = false;
    const rest = (async () => {
      let text = first.value?.choices[0]?.delta.content ?? '';
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) text += next.value.choices[0]?.delta.content ?? '';
      streamDone = true;
      return text;
    })();

    // The listener closes at once: a new connection is refused while the stream is still running.
    let refusedWhileStreaming = false;
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const result = await tryConnect(cli.port);
      if (result === 'refused') {
        refusedWhileStreaming = !streamDone;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(refusedWhileStreaming).toBe(true);

    expect(await withTimeout(rest, 10_000, 'the stream end')).toBe(`echo: ${words}`);
    expect(mock.requests[0].aborted).toBe(false);
    const exit = await withTimeout(cli.exited, 10_000, 'the CLI exit');
    expect(exit).toEqual({ code: 0, signal: null });

    const lines = cli.stdout().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.some((line) => line.msg === 'shutting down: draining in-flight requests' && line.in_flight === 1)).toBe(true);
    expect(lines.filter((line) => line.msg === 'request')).toMatchObject([{ route: '/v1/chat/completions', status: 200, stream: true }]);
  });

  it('SIGINT when idle: exit 0 promptly', async () => {
    const cli = await startCli({ OPENAI_API_KEY: 'sk-test-shutdown-123456', OPENAI_BASE_URL: mock.openaiBaseUrl });
    const health = await fetch(`${cli.url}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe('ok');
    cli.child.kill('SIGINT');
    expect(await withTimeout(cli.exited, 5000, 'the CLI exit')).toEqual({ code: 0, signal: null });
  });
});
