#!/usr/bin/env node
// Costly requests from a client with hundreds of connections: where the backlog waits, and whether the
// capacity limit sees it. See bench/README.md ("Overload from a client with hundreds of connections").
//
// The shape of test/integration/capacity-limit.test.ts: `heimdall start` as shipped (the capacity limit on),
// an Anthropic request to an OpenAI-format mock provider (in this process) whose answer carries
// `--logprobs` entries the gateway parses and translates, sent open loop at `--rate` for `--duration-ms`
// on `--connections` keep-alive connections (undici, as the test). Every 250 ms it samples with `ss`
// (Linux) the gateway's listen queue (connections the kernel completed that the process has not accepted
// yet) and how many of the gateway's connections hold bytes it has not read. Bounded: rate × duration
// requests, each answered or timed out within 30 s; the gateway and the mock are stopped at the end.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { GATEWAY_CLI } from './lib/targets.mjs';

const { values } = parseArgs({
  options: {
    cli: { type: 'string', default: GATEWAY_CLI },
    rate: { type: 'string', default: '2000' },
    'duration-ms': { type: 'string', default: '1500' },
    connections: { type: 'string', default: '256' },
    logprobs: { type: 'string', default: '2500' },
    'hold-ms': { type: 'string', default: '0' },
  },
});
const rate = Number(values.rate);
const durationMs = Number(values['duration-ms']);
const holdMs = Number(values['hold-ms']);

const content = Array.from({ length: Number(values.logprobs) }, (_, i) => ({ token: `t${i % 97}`, logprob: -0.01 * (i % 13), bytes: [116, 111, 107], top_logprobs: [] }));
const heavy = Buffer.from(JSON.stringify({
  id: 'chatcmpl-heavy', object: 'chat.completion', created: 1, model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, logprobs: { content }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
}));
const mock = createServer((request, response) => {
  request.resume();
  request.on('end', () => setTimeout(() => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': heavy.length });
    response.end(heavy);
  }, holdMs));
});
await new Promise((resolve) => mock.listen(0, '127.0.0.1', resolve));

const dir = mkdtempSync(join(tmpdir(), 'heimdall-listen-queue-'));
writeFileSync(join(dir, 'config.json'), JSON.stringify({
  providers: { heavy: { type: 'openai-compatible', base_url: `http://127.0.0.1:${mock.address().port}/v1`, models: ['m'], api_key: 'sk-listen-queue-0123456789', max_retries: 0 } },
}));
const gateway = spawn(process.execPath, [values.cli, 'start', '--port', '0', '--host', '127.0.0.1', '--data-dir', dir, '--log-level', 'warn', '--config', join(dir, 'config.json')], {
  env: { PATH: process.env.PATH ?? '', HOME: dir },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let output = '';
gateway.stdout.on('data', (chunk) => (output += chunk));
gateway.stderr.on('data', (chunk) => (output += chunk));
const stop = () => {
  if (gateway.exitCode === null) gateway.kill('SIGKILL');
  mock.close();
  rmSync(dir, { recursive: true, force: true });
};

try {
  const deadline = Date.now() + 30_000;
  let match;
  while (!(match = /OpenAI API\s+http:\/\/127\.0\.0\.1:(\d+)\/v1/.exec(output))) {
    if (Date.now() > deadline || gateway.exitCode !== null) throw new Error(`no banner:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const port = Number(match[1]);
  const origin = `http://127.0.0.1:${port}`;
  const body = JSON.stringify({ model: 'heavy/m', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
  const request = (pool) => pool.request({ path: '/anthropic/v1/messages', method: 'POST', headers: { 'content-type': 'application/json' }, body });

  // Warm-up, one at a time, as the test does; then a pause so the loop is on time again.
  const warm = new Pool(origin, { connections: 1 });
  for (let i = 0; i < 30; i++) await (await request(warm)).body.text();
  await warm.close();
  await new Promise((resolve) => setTimeout(resolve, 2000));

  const pool = new Pool(origin, { connections: Number(values.connections), headersTimeout: 30_000, bodyTimeout: 30_000 });
  const total = Math.round((rate * durationMs) / 1000);
  const answers = [];
  const samples = [];
  const start = performance.now();
  const burstStartedAt = Date.now();
  const ss = (args) => execFileSync('ss', ['-tnH', ...args], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map((line) => line.trim().split(/\s+/));
  const sampler = setInterval(() => {
    try {
      // The listening socket's line: State, Recv-Q (connections waiting to be accepted), Send-Q (the backlog).
      const listen = ss(['-l', `sport = :${port}`])[0];
      const sockets = ss(['state', 'established', `sport = :${port}`]);
      samples.push({ ms: Math.round(performance.now() - start), acceptQueue: Number(listen?.[1]), sockets: sockets.length, unread: sockets.filter((s) => Number(s[0]) > 0).length, clientQueued: pool.stats.pending });
    } catch {
      // No `ss` (not Linux): the answers are still measured.
    }
  }, 250);
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
      while (answers.length < due) {
        const intended = start + (answers.length * 1000) / rate;
        answers.push(request(pool).then(async (response) => {
          await response.body.text();
          return { status: response.statusCode, ms: performance.now() - intended };
        }, () => ({ status: 0, ms: performance.now() - intended })));
      }
      if (answers.length >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  const results = await Promise.all(answers);
  clearInterval(sampler);
  await pool.close();

  const statuses = {};
  for (const { status } of results) statuses[status] = (statuses[status] ?? 0) + 1;
  const served = results.filter((r) => r.status === 200).map((r) => r.ms).sort((a, b) => a - b);
  const quantile = (q) => (served.length === 0 ? '–' : served[Math.floor(q * (served.length - 1))].toFixed(0));
  const sets = output.split('\n').filter((line) => line.includes('capacity limit set')).map((line) => JSON.parse(line));
  const fmtSet = (s) => `${s.sign ?? '(no sign)'} at ${Date.parse(s.time) - burstStartedAt} ms, rate ${s.rate}`;
  console.log(`${total} requests at ${rate}/s on ${values.connections} connections, ${values.logprobs} logprobs, hold ${holdMs} ms, ${values.cli}`);
  console.log(`answers ${JSON.stringify(statuses)}; served p50 ${quantile(0.5)} ms, p99 ${quantile(0.99)} ms; limit set: ${sets.length === 0 ? 'no' : sets.map(fmtSet).join('; ')}`);
  console.log('\n| ms since the burst began | listen queue | gateway connections | with unread bytes | queued in the client |\n| --- | --- | --- | --- | --- |');
  for (const s of samples) console.log(`| ${s.ms} | ${s.acceptQueue} | ${s.sockets} | ${s.unread} | ${s.clientQueued} |`);
} finally {
  stop();
}
