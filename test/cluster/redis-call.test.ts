/**
 * The script calls the shared ledger writes itself (src/cluster/redis-call.ts), against a real Redis: a
 * script Redis does not know yet is sent by its text once (NOSCRIPT) and by its SHA1 after; keys and
 * arguments of several bytes per character arrive whole; a script's error rejects; and over a connection
 * that stalls or drops, a call fails within the command timeout and works again once ioredis reconnects.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ScriptCall } from '../../src/cluster/redis-call.js';
import { testRedisUrl } from '../support/cluster-services.js';

const url = testRedisUrl('test/cluster/redis-call.test.ts');
const clients: Redis[] = [];
const servers: Server[] = [];

afterAll(async () => {
  for (const client of clients) client.disconnect();
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
});

function client(target: string, timeoutMs = 1_000): Redis {
  // As RedisLedger connects: no offline queue, no retries of a failed command.
  const redis = new Redis(target, { commandTimeout: timeoutMs, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 50, lazyConnect: true });
  redis.on('error', () => undefined);
  clients.push(redis);
  return redis;
}

/** A loopback TCP relay to Redis that can stall (swallow what the client sends) or drop every connection. */
async function relay(target: URL): Promise<{ url: string; stall(on: boolean): void; drop(): void }> {
  const sockets = new Set<Socket>();
  let stalled = false;
  const server = createServer((inbound) => {
    const outbound = connect(Number(target.port), target.hostname);
    sockets.add(inbound).add(outbound);
    inbound.on('data', (chunk) => {
      if (!stalled) outbound.write(chunk);
    });
    outbound.pipe(inbound);
    const close = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', close).on('error', close);
    outbound.on('close', close).on('error', close);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    stall: (on) => void (stalled = on),
    drop: () => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
  };
}

/** Redis's counts of EVALSHA and EVAL calls (INFO commandstats; other clients of a shared Redis count too). */
async function scriptCalls(redis: Redis): Promise<{ evalsha: number; eval: number }> {
  const info = await redis.info('commandstats');
  const count = (name: string): number => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  return { evalsha: count('evalsha'), eval: count('eval') };
}

async function eventually(check: () => Promise<unknown>, ms: number): Promise<unknown> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe.skipIf(url === undefined)('script calls written by the ledger', () => {
  it('a script Redis does not know is sent once by its text (NOSCRIPT), then by its SHA1; multi-byte keys and arguments arrive whole', async () => {
    const redis = client(url!);
    await redis.connect();
    // A script no one has loaded: its own text.
    const call = new ScriptCall(`-- ${randomBytes(8).toString('hex')}\nreturn {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}`);
    expect(await redis.script('EXISTS', call.sha)).toEqual([0]);
    const keys = ['heimdall-test:{customer:Zoë}:s', 'heimdall-test:{customer:Zoë}:q'];
    expect(await call.run(redis, keys, ['0.000125', 'été 🙂', ''])).toEqual([keys[0], keys[1], '0.000125', 'été 🙂', 2, 3]);
    expect(await redis.script('EXISTS', call.sha)).toEqual([1]);
    // Loaded now: the next call goes by SHA1.
    const before = await scriptCalls(redis);
    expect(await call.run(redis, keys, ['a', 'b'])).toEqual([keys[0], keys[1], 'a', 'b', 2, 2]);
    const after = await scriptCalls(redis);
    expect(after.evalsha).toBeGreaterThan(before.evalsha);
  });

  it('an error raised by the script rejects the call', async () => {
    const redis = client(url!);
    await redis.connect();
    const call = new ScriptCall("return redis.error_reply('HD_TEST refused by the script')");
    await expect(call.run(redis, [], [])).rejects.toThrow('HD_TEST refused by the script');
  });

  it('a stalled connection fails within the command timeout; a dropped one fails at once and works again after ioredis reconnects', async () => {
    const line = await relay(new URL(url!));
    const redis = client(line.url, 200);
    await redis.connect();
    const call = new ScriptCall('return ARGV[1]');
    expect(await call.run(redis, [], ['before'])).toBe('before');

    line.stall(true);
    const began = Date.now();
    await expect(call.run(redis, [], ['stalled'])).rejects.toThrow(/timed out/i);
    expect(Date.now() - began).toBeLessThan(1_000);
    line.stall(false);

    line.drop();
    const dropped = Date.now();
    await expect(eventually(() => call.run(redis, [], ['after']), 0)).rejects.toThrow();
    expect(Date.now() - dropped).toBeLessThan(1_000);
    expect(await eventually(() => call.run(redis, [], ['after']), 3_000)).toBe('after');
  });
});
