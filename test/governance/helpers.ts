/**
 * Helpers of the governance tests: a gateway on a chosen data dir (for
 * restarts), a governance config built like the config file's, admin calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { buildApp, type BuildOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { GovernanceConfig } from '../../src/governance/config.js';
import { createLogger } from '../../src/telemetry/logger.js';
import type { WireStoreOptions } from '../../src/store/wiring.js';

type StoreOptions = NonNullable<WireStoreOptions['store']>;

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'heimdall-gov-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A resolved governance config from the file shape (defaults filled). */
export function governanceConfig(section: Record<string, unknown> = {}, env: Record<string, string> = {}): GovernanceConfig {
  return loadConfig({ config: { governance: section }, env }).governance;
}

export interface GovGateway {
  app: FastifyInstance;
  url: string;
  dataDir: string;
  logText(): string;
  /** Closes the app; the data dir stays unless `removeData`. */
  close(removeData?: boolean): Promise<void>;
}

export async function startGov(options: { config?: Record<string, unknown>; env?: Record<string, string>; dataDir?: string; build?: Pick<BuildOptions, 'cacheStore'>; store?: StoreOptions } = {}): Promise<GovGateway> {
  const dataDir = options.dataDir ?? tempDir();
  const config = loadConfig({
    env: { ...options.env },
    config: options.config ?? {},
    overrides: { port: 0, host: '127.0.0.1', dataDir, logLevel: 'warn' },
    // The capacity limit off, as in the library: it would watch this process's loop, which the test's own clients share.
    capacityTargetDelayMs: 0,
  });
  let text = '';
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  const logger = createLogger({ level: 'warn', destination });
  const app = await buildApp(config, { ...options.build, logger, processMetrics: false, management: { store: { retention: false, ...options.store }, watchConfig: false } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    logText: () => text,
    async close(removeData = true) {
      await app.close();
      if (removeData) removeDir(dataDir);
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any;
  text: string;
}

export async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await request(url, {
    method: method as 'GET',
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, json, text };
}

/** A chat body for the mock (whose token counts are words). */
export function chat(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content }], ...extra };
}
