/**
 * Graceful shutdown of the real CLI (dist/cli.js) in a child process: on
 * SIGTERM/SIGINT it stops accepting connections, lets the stream in flight
 * finish, and exits 0. When the store fails during the final flush (the data
 * dir removed right after SIGTERM), shutdown is still bounded: exit 1 within
 * its deadline, with what could not be written in the log. Responses
 * WebSockets close with 1001 once their running response has ended, or are
 * cut at server.shutdown_timeout_ms.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import WebSocket from 'ws';
import { dirs, ensureBuilt, killChildren, removeDirs, startCli, tryConnect, withTimeout } from '../support/cli.js';
import { sdk, waitFor } from './helpers.js';

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

/** A Responses WebSocket opened to the CLI, its events and its close code. */
interface Socket {
  socket: WebSocket;
  events: Array<{ type: string; delta?: string }>;
  closed: Promise<number>;
}

async function open(url: string): Promise<Socket> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/responses`, { headers: { authorization: 'Bearer k', 'openai-beta': 'responses_websockets=2026-02-06' } });
  const events: Socket['events'] = [];
  socket.on('message', (data) => events.push(JSON.parse(data.toString()) as Socket['events'][number]));
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, events, closed };
}

const env = () => ({ ANTHROPIC_API_KEY: 'sk-ant-shutdown-123456', ANTHROPIC_BASE_URL: mock.url });

describe('SIGTERM with Responses WebSockets open', () => {
  it('the running response completes, then 1001; an idle socket gets 1001 at once; exit 0', async () => {
    mock.reset();
    const cli = await startCli(env());
    mock.enqueue({ kind: 'slow-stream', chunkDelayMs: 150 });
    const busy = await open(cli.url);
    const idle = await open(cli.url);
    busy.socket.send(JSON.stringify({ type: 'response.create', model: 'anthropic/claude-sonnet-4-5', input: 'one two three four five' }));
    await waitFor(() => busy.events.some((event) => event.type === 'response.output_text.delta'), 5000, 'the first delta');
    cli.child.kill('SIGTERM');
    expect(await withTimeout(idle.closed, 3000, 'the idle socket to close')).toBe(1001);
    expect(await withTimeout(busy.closed, 10_000, 'the busy socket to close')).toBe(1001);
    expect(busy.events.at(-1)?.type).toBe('response.completed');
    expect(busy.events.filter((event) => event.type === 'response.output_text.delta').map((event) => event.delta).join('')).toBe('echo: one two three four five');
    expect(mock.requests[0].aborted).toBe(false);
    expect(await withTimeout(cli.exited, 10_000, 'the CLI exit')).toEqual({ code: 0, signal: null });
    const lines = cli.stdout().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.filter((line) => line.msg === 'request')).toMatchObject([{ route: '/v1/responses', status: 200, stream: true, provider: 'anthropic' }]);
  }, 30_000);

  it('a response that outlives server.shutdown_timeout_ms is cut: its upstream call is aborted, the CLI exits', async () => {
    mock.reset();
    const dir = mkdtempSync(join(tmpdir(), 'heimdall-ws-shutdown-'));
    dirs.push(dir);
    const configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify({ server: { shutdown_timeout_ms: 500 } }));
    const cli = await startCli(env(), { args: ['--config', configPath] });
    mock.enqueue({ kind: 'hang' });
    const hung = await open(cli.url);
    hung.socket.send(JSON.stringify({ type: 'response.create', model: 'anthropic/claude-sonnet-4-5', input: 'never answered' }));
    await mock.waitForRequests(1, 5000);
    const started = Date.now();
    cli.child.kill('SIGTERM');
    const code = await withTimeout(hung.closed, 5000, 'the socket to be cut');
    expect(code).not.toBe(1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    await waitFor(() => mock.requests[0].aborted, 5000, 'the upstream call to be aborted');
    const exit = await withTimeout(cli.exited, 15_000, 'the CLI exit');
    expect(exit.signal).toBeNull();
  }, 30_000);
});
