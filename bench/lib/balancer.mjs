#!/usr/bin/env node
// A minimal HTTP/1.1 load balancer for the cluster benchmarks (nginx is not installed where they run):
// each request goes to the next backend in turn (round robin), over a keep-alive connection pool per
// backend; bodies stream through both ways. It runs as its own process so that its CPU is measured
// apart and reported as part of the cluster's cost.
//
//   node bench/lib/balancer.mjs --port 0 --backend http://127.0.0.1:8081 --backend http://127.0.0.1:8082
//
// Prints `READY <port>` when it listens. Only loopback backends are accepted.
import http from 'node:http';
import { parseArgs } from 'node:util';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function forwardHeaders(headers) {
  const out = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
  return out;
}

function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      backend: { type: 'string', multiple: true, default: [] },
      connections: { type: 'string', default: '512' },
    },
  });
  if (values.backend.length === 0) throw new Error('at least one --backend is needed');
  const backends = values.backend.map((url) => {
    const parsed = new URL(url);
    if (parsed.hostname !== '127.0.0.1') throw new Error(`backend ${url}: only 127.0.0.1 is accepted`);
    return {
      hostname: parsed.hostname,
      port: Number(parsed.port),
      agent: new http.Agent({ keepAlive: true, maxSockets: Number(values.connections), scheduling: 'lifo' }),
    };
  });
  let next = 0;
  const server = http.createServer((request, response) => {
    const backend = backends[next];
    next = (next + 1) % backends.length;
    const upstream = http.request(
      { hostname: backend.hostname, port: backend.port, agent: backend.agent, method: request.method, path: request.url, headers: forwardHeaders(request.headers) },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, forwardHeaders(answer.headers));
        answer.pipe(response);
      },
    );
    upstream.on('error', (error) => {
      if (response.headersSent) response.destroy(error);
      else {
        response.writeHead(502, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: `balancer: ${error.message}`, type: 'bad_gateway' } }));
      }
    });
    request.pipe(upstream);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(Number(values.port), '127.0.0.1', () => {
    process.stdout.write(`READY ${server.address().port}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Exits with the benchmark that started it (its stdin closes).
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

main();
