/**
 * The servers cluster-mode tests run against: the machine's Redis and Postgres,
 * named by HEIMDALL_TEST_REDIS_URL / HEIMDALL_TEST_DATABASE_URL (a test without
 * them is skipped, and says so loudly), and a private redis-server a test may
 * stop and start again (never the shared one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { RedisConfig } from '../../src/cluster/redis-config.js';
import { RedisLedger } from '../../src/cluster/redis-ledger.js';

/** The shared Redis for tests, or undefined (after a loud note on stderr). */
export function testRedisUrl(suite: string): string | undefined {
  const url = process.env.HEIMDALL_TEST_REDIS_URL;
  if (url === undefined || url === '') {
    process.stderr.write(`\n!!! ${suite}: SKIPPED — set HEIMDALL_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run the cluster-mode tests against a real Redis\n\n`);
    return undefined;
  }
  return url;
}

/** A key prefix no other run uses. */
export function uniquePrefix(): string {
  return `heimdall-test:${Date.now().toString(36)}-${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under a prefix (SCAN, never KEYS). */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) {
      if (keys.length > 0) await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
}

/** A free loopback port (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Starts (again) on the same port. */
  start(): Promise<void>;
  /** Stops it by its PID (SIGKILL: an outage, not a shutdown). */
  stop(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

/** A redis-server of this test's own on a free loopback port, without persistence. */
export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'heimdall-redis-'));
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const ready = async (): Promise<void> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const handle: PrivateRedis = {
    url,
    port,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
      await ready();
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
    async dispose() {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}

/**
 * RedisLedgers for a test file, all under `prefix`, each with its own connection: `ledger(url, overrides)`
 * starts one on `defaults`; `close()` closes them all and drops the prefix's keys.
 */
export function testLedgers(prefix: string, defaults: Partial<RedisConfig> = {}): {
  ledger(redisUrl: string, overrides?: Partial<RedisConfig>): Promise<RedisLedger>;
  close(url: string | undefined): Promise<void>;
} {
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const made: RedisLedger[] = [];
  return {
    async ledger(redisUrl, overrides = {}) {
      const ledger = new RedisLedger({
        url: redisUrl, keyPrefix: prefix, timeoutMs: 1_000, connectTimeoutMs: 1_000, reservationTtlMs: 60_000,
        failMode: { budgets: 'open', rateLimits: 'open' }, maxPendingSettlements: 1_000, settleBatchMs: 0, ...defaults, ...overrides,
      }, quiet);
      made.push(ledger);
      await ledger.start();
      return ledger;
    },
    async close(url) {
      for (const ledger of made) await ledger.close(500);
      if (url !== undefined) await dropPrefix(url, prefix);
    },
  };
}
