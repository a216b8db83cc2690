// Starting what the benchmark measures: the mock upstream, the bare proxy, the gateway and a peer gateway.
// Each is its own process on 127.0.0.1; each target says where to send the chat request and how.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { CLIENT_FORMATS } from '../load.mjs';
import { freePort, removeAtExit, startProcess, waitForHttp, waitForPort, waitForReadyLine } from './proc.mjs';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const REPO_DIR = join(BENCH_DIR, '..');
export const GATEWAY_CLI = join(REPO_DIR, 'dist', 'cli.js');
const CHILD_ENV = { BENCH_EXIT_WITH_PARENT: '1' };

/**
 * `format` is the client format the target is sent (the OpenAI chat surface unless said otherwise).
 * @typedef {{ name: string, url: string, model: string, headers: Record<string, string>, format?: 'openai' | 'anthropic',
 *   proc?: import('./proc.mjs').Managed, metricsUrl?: string, info?: Record<string, unknown> }} Target
 */

/**
 * The upstream the mock plays: OpenAI (chat completions) or Anthropic (messages). direct and proxy are sent
 * the upstream's own format; the gateway is always sent OpenAI's chat format, so with `anthropic` it
 * translates (OpenAI client → Anthropic provider), and the proxy relays the Anthropic stream it would read.
 */
export const UPSTREAMS = {
  openai: { format: 'openai', clientModel: 'gpt-4o-mini', gatewayModel: 'openai/gpt-4o-mini' },
  anthropic: { format: 'anthropic', clientModel: 'claude-3-5-haiku-latest', gatewayModel: 'anthropic/claude-3-5-haiku-latest' },
};

export async function startMock({ latencyMs, chunks, chunkDelayMs }) {
  const proc = startProcess(
    'mock-upstream',
    [process.execPath, join(BENCH_DIR, 'mock-upstream.mjs'), '--port', '0', '--latency-ms', String(latencyMs), '--chunks', String(chunks), '--chunk-delay-ms', String(chunkDelayMs)],
    { env: CHILD_ENV },
  );
  const port = await waitForReadyLine(proc);
  return { proc, port, origin: `http://127.0.0.1:${port}` };
}

/**
 * The gateway's profiles. `production`: `heimdall start` as installed (log level info, one JSON line per
 * request on stdout, request logs in SQLite with bodies off as shipped, metrics) with bench/production.json,
 * a virtual key with a budget and rate limits, whose secret is made up per run for its environment and
 * header. `lean`: the same with `--log-level warn` (no per-request line). `default`: zero config.
 */
export const PROFILES = ['production', 'lean', 'default'];

export function gatewayProfile(profile) {
  if (!PROFILES.includes(profile)) throw new Error(`unknown gateway profile ${profile} (${PROFILES.join(', ')})`);
  if (profile === 'default') return { extraArgs: [], extraEnv: {}, headers: {} };
  const virtualKey = `hk-bench-${randomBytes(16).toString('hex')}`;
  return {
    extraArgs: ['--config', join(REPO_DIR, 'bench', 'production.json'), ...(profile === 'lean' ? ['--log-level', 'warn'] : [])],
    extraEnv: { HEIMDALL_BENCH_VIRTUAL_KEY: virtualKey },
    headers: { authorization: `Bearer ${virtualKey}` },
  };
}

export function productionProfile() {
  return gatewayProfile('production');
}

/** @returns {Target} */
export function directTarget(mock, headers, upstream = 'openai') {
  const { format, clientModel } = UPSTREAMS[upstream];
  return { name: 'direct', url: `${mock.origin}${CLIENT_FORMATS[format].path}`, model: clientModel, headers, format };
}

/** @returns {Promise<Target>} */
export async function startProxy(mock, headers, { nodeArgs = [], upstream = 'openai' } = {}) {
  const proc = startProcess(
    'bare-proxy',
    [process.execPath, ...nodeArgs, join(BENCH_DIR, 'bare-proxy.mjs'), '--upstream', mock.origin, '--port', '0', '--connections', '1024'],
    { env: CHILD_ENV },
  );
  const port = await waitForReadyLine(proc);
  const { format, clientModel } = UPSTREAMS[upstream];
  return { name: 'proxy', url: `http://127.0.0.1:${port}${CLIENT_FORMATS[format].path}`, model: clientModel, headers, format, proc };
}

/**
 * Starts `node dist/cli.js start` against the mock, or returns null when the gateway is not built.
 * Measures cold start: spawn → /health 200 → first chat completion served.
 * @returns {Promise<Target | null>}
 */
export async function startGateway(mock, { name = 'gateway', headers, cli = GATEWAY_CLI, extraArgs = [], extraEnv = {}, nodeArgs = [], upstream = 'openai' }) {
  if (!existsSync(cli)) return null;
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'heimdall-bench-'));
  removeAtExit(dataDir);
  const origin = `http://127.0.0.1:${port}`;
  const spawnedAt = performance.now();
  const logFile = join(dataDir, 'gateway.log');
  const proc = startProcess(
    name,
    [process.execPath, ...nodeArgs, cli, 'start', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, ...extraArgs],
    {
      cwd: REPO_DIR,
      // The log level is the profile's: info as shipped unless it says otherwise.
      env: {
        OPENAI_API_KEY: 'bench-key',
        OPENAI_BASE_URL: `${mock.origin}/v1`,
        ...(upstream === 'anthropic' ? { ANTHROPIC_API_KEY: 'bench-key', ANTHROPIC_BASE_URL: mock.origin } : {}),
        ...extraEnv,
      },
      stdoutFile: logFile,
    },
  );
  await waitForHttp(`${origin}/health`, proc, { timeoutMs: 30_000 });
  const healthyMs = performance.now() - spawnedAt;
  /** @type {Target} */
  const target = { name, url: `${origin}/v1/chat/completions`, model: UPSTREAMS[upstream].gatewayModel, headers, format: 'openai', proc, metricsUrl: `${origin}/metrics` };
  const first = await firstChat(target);
  target.info = { port, dataDir, logFile, coldStartHealthMs: healthyMs, coldStartFirstRequestMs: performance.now() - spawnedAt, firstStatus: first.status };
  if (first.status !== 200) throw new Error(`gateway: first chat completion answered ${first.status}: ${first.body.slice(0, 500)}`);
  return target;
}

/**
 * Runs another gateway's command line (through /bin/sh) and measures it as one more target.
 * `{port}` in the command, URL and headers becomes a free port; `{mockPort}` and `{mockUrl}` the mock's.
 * @returns {Promise<Target>}
 */
export async function startPeer(mock, { command, url, name = 'peer', model = 'gpt-4o-mini', headers, readyUrl }) {
  const port = /\{port\}/.test(command + url) ? String(await freePort()) : '';
  const fill = (text) => text.replaceAll('{port}', port).replaceAll('{mockPort}', String(mock.port)).replaceAll('{mockUrl}', mock.origin);
  const targetUrl = new URL(fill(url));
  if (targetUrl.hostname !== '127.0.0.1' && targetUrl.hostname !== 'localhost') throw new Error('--peer-url must be on 127.0.0.1');
  /** @type {Record<string, string>} */
  const filledHeaders = {};
  for (const [key, value] of Object.entries(headers)) filledHeaders[key] = fill(value);
  const spawnedAt = performance.now();
  const proc = startProcess(name, fill(command), { env: { MOCK_PORT: String(mock.port), MOCK_URL: mock.origin, PORT: port || targetUrl.port } });
  if (readyUrl) await waitForHttp(fill(readyUrl), proc, { timeoutMs: 60_000, anyStatus: true });
  else await waitForPort('127.0.0.1', Number(targetUrl.port || 80), proc, 60_000);
  /** @type {Target} */
  const target = { name, url: targetUrl.href, model, headers: filledHeaders, proc };
  const first = await firstChat(target);
  target.info = { command: fill(command), coldStartFirstRequestMs: performance.now() - spawnedAt, firstStatus: first.status };
  if (first.status !== 200) throw new Error(`${name}: first chat completion answered ${first.status}: ${first.body.slice(0, 500)}`);
  return target;
}

/** One chat completion with a fresh connection: proves the target works before it is loaded. */
async function firstChat(target) {
  // A 503 with Retry-After (a gateway shedding load while it starts) is retried, as a client would, for up to 10 s.
  for (let attempt = 0; ; attempt++) {
    let answer;
    try {
      const response = await request(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...target.headers },
        body: JSON.stringify({ model: target.model, messages: [{ role: 'user', content: 'hi' }] }),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      answer = { status: response.statusCode, body: await response.body.text(), retryAfter: response.headers['retry-after'] };
    } catch (error) {
      return { status: 0, body: String(error) };
    }
    if (answer.status !== 503 || answer.retryAfter === undefined || attempt >= 9) return answer;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
