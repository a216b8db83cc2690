#!/usr/bin/env node
// The floor: one Node hop with nothing else. node:http in, one undici Pool out, bytes piped both ways.
//   node bench/bare-proxy.mjs --upstream http://127.0.0.1:<port> [--port 0] [--connections 256]
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({ options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' }, connections: { type: 'string', default: '256' } } });
const pool = new Pool(/** @type {string} */ (values.upstream), { connections: Number(values.connections), keepAliveTimeout: 60_000 });
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'];

const server = http.createServer((request, response) => {
  const headers = { ...request.headers };
  for (const name of HOP_BY_HOP) delete headers[name];
  delete headers.host;
  pool.stream(
    { path: request.url ?? '/', method: /** @type {import('undici').Dispatcher.HttpMethod} */ (request.method), headers, body: request.method === 'GET' || request.method === 'HEAD' ? null : request },
    ({ statusCode, headers: upstreamHeaders }) => {
      for (const name of HOP_BY_HOP) delete upstreamHeaders[name];
      response.writeHead(statusCode, /** @type {import('node:http').OutgoingHttpHeaders} */ (upstreamHeaders));
      return response;
    },
    (error) => {
      if (!error) return;
      if (response.headersSent) response.destroy();
      else response.writeHead(502).end();
    },
  );
});
server.keepAliveTimeout = 120_000;
server.listen(Number(values.port), '127.0.0.1', () => process.stdout.write(`READY ${/** @type {import('node:net').AddressInfo} */ (server.address()).port}\n`));
if (process.env.BENCH_EXIT_WITH_PARENT === '1') process.stdin.on('end', () => process.exit(0)).resume();
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
