/**
 * Graceful shutdown of the real CLI (dist/cli.js) in a child process: on
 * SIGTERM/SIGINT it stops accepting connections, lets the stream in flight
 * finish, and exits 0. When the store fails during the final flush (the data
 * dir removed right after SIGTERM), shutdown is still bounded: exit 1 within
 * its deadline, with what could not be written in the log.
 */
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { ensureBuilt, killChildren, removeDirs, startCli, tryConnect, withTimeout } from '../support/cli.js';
import { sdk } from './helpers.js';

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

  it('the data dir removed right after SIGTERM: exit 1 within the shutdown deadline, the loss said in the log', async () => {
    mock.reset();
    const cli = await startCli({ OPENAI_API_KEY: 'sk-test-shutdown-123456', OPENAI_BASE_URL: mock.openaiBaseUrl });
    const client = sdk(cli.url);
    await Promise.all(Array.from({ length: 20 }, () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })));
    const started = performance.now();
    cli.child.kill('SIGTERM');
    rmSync(cli.dataDir, { recursive: true, force: true });
    // Drain (idle: at once) + the store's 5 s flush budget + 5 s for the rest: 20 s at the very most.
    const exit = await withTimeout(cli.exited, 25_000, 'the CLI exit');
    const elapsed = performance.now() - started;
    expect(exit.code).toBe(1);
    expect(elapsed).toBeLessThan(20_000);
    const said = cli.stdout() + cli.stderr();
    expect(said).toMatch(/no longer exists: what this process wrote to it is lost|request log records? could not be written/);
    expect(cli.stderr()).toContain('heimdall: shutdown failed:');
  }, 40_000);
});
