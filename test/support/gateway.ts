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
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/telemetry/logger.js';

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
