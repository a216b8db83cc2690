/**
 * Starts the real gateway on an ephemeral loopback port for a test:
 * configuration from an env object and/or a config object (never the
 * process environment), logs captured in memory so tests can read them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/telemetry/logger.js';
import type { MockUpstream } from './mock-upstream/index.js';
import { startMockProviders } from './mock-upstream/provider-env.js';

export interface TestGateway {
  app: FastifyInstance;
  /** http://127.0.0.1:PORT */
  url: string;
  /** Every log line written so far, parsed. */
  logs(): Array<Record<string, unknown>>;
  /** Raw log text (for "no secret anywhere" checks). */
  logText(): string;
  dataDir: string;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  env?: Record<string, string>;
  config?: unknown;
  logLevel?: string;
}

export async function startGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'heimdall-test-'));
  const config = loadConfig({
    env: { ...options.env },
    config: options.config ?? {},
    overrides: { port: 0, host: '127.0.0.1', dataDir, logLevel: options.logLevel ?? 'info' },
    // The capacity limit off unless a test sets it: it watches this process's loop, which the test's own clients share.
    capacityTargetDelayMs: 0,
  });
  let text = '';
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  const logger = createLogger({ level: config.server.logLevel, destination });
  const app = await buildApp(config, { logger, processMetrics: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    logText: () => text,
    logs: () =>
      text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface MockedGateway {
  mock: MockUpstream;
  gateway: TestGateway;
  /** Closes the gateway, then the mock. */
  close(): Promise<void>;
}

/** The gateway with every native provider pointed at one mock upstream (provider-env.ts). */
export async function startMockedGateway(): Promise<MockedGateway> {
  const providers = await startMockProviders();
  const gateway = await startGateway({ env: providers.env, config: providers.config });
  return {
    mock: providers.mock,
    gateway,
    async close() {
      await gateway.close();
      await providers.mock.close();
    },
  };
}

/**
 * For a test file: the mocked gateway started before its tests, closed after them, the mock's
 * records cleared before each test. The returned object is filled in once beforeAll has run.
 */
export function useMockedGateway(): MockedGateway {
  const suite = {} as MockedGateway;
  beforeAll(async () => {
    Object.assign(suite, await startMockedGateway());
  });
  afterAll(() => suite.close());
  beforeEach(() => suite.mock.reset());
  return suite;
}
