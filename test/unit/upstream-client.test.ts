import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBody, splitUrl, UpstreamClient } from '../../src/gateway/upstream.js';

const TIMEOUTS = { connectMs: 5000, firstByteMs: 5000, idleMs: 5000, totalMs: 10_000 };

function listen(name: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ server: name, path: request.url }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

describe('upstream client: pool and path per URL', () => {
  const servers: Server[] = [];
  let a = '';
  let b = '';
  beforeAll(async () => {
    const first = await listen('a');
    const second = await listen('b');
    servers.push(first.server, second.server);
    a = first.origin;
    b = second.origin;
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  async function call(client: UpstreamClient, url: string, timeouts = TIMEOUTS): Promise<unknown> {
    const response = await client.request({ url, method: 'GET', headers: {}, timeouts, whole: true });
    return JSON.parse((await readBody(response.body, { aborted: false, reason: undefined })).toString('utf8'));
  }

  it('sends each URL to its own origin and path, again and again, past the remembered count', async () => {
    const client = new UpstreamClient();
    try {
      // More distinct URLs than are remembered: the cache is emptied and filled again without a wrong answer.
      for (let i = 0; i < 300; i++) {
        const origin = i % 2 === 0 ? a : b;
        expect(await call(client, `${origin}/v1/models/m-${i}?x=${i}`)).toEqual({ server: i % 2 === 0 ? 'a' : 'b', path: `/v1/models/m-${i}?x=${i}` });
      }
      expect(await call(client, `${a}/v1/chat/completions`)).toEqual({ server: 'a', path: '/v1/chat/completions' });
      expect(await call(client, `${a}/v1/chat/completions`, { ...TIMEOUTS, connectMs: 1000 })).toEqual({ server: 'a', path: '/v1/chat/completions' });
      expect(await call(client, `${b}`)).toEqual({ server: 'b', path: '/' });
    } finally {
      await client.close();
    }
  });

  it('splits a URL into origin and path', () => {
    expect(splitUrl('http://127.0.0.1:8080/v1/chat?x=1')).toEqual({ origin: 'http://127.0.0.1:8080', path: '/v1/chat?x=1' });
    expect(splitUrl('https://api.example.com')).toEqual({ origin: 'https://api.example.com', path: '/' });
  });
});
