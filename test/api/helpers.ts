/**
 * Helpers for the management API tests: the real app on 127.0.0.1:0 with a
 * data dir that may outlive it (restart tests) and an optional config file
 * (watch tests), and a small JSON client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { buildApp, type BuildOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/telemetry/logger.js';

export interface AdminGateway {
  app: FastifyInstance;
  url: string;
  dataDir: string;
  logs(): Array<Record<string, unknown>>;
  logText(): string;
  /** Closes the app; removes the data dir unless it was given (restart tests own it). */
  close(): Promise<void>;
}

export interface AdminGatewayOptions {
  env?: Record<string, string>;
  /** A config object (ignored when configPath is set). */
  config?: unknown;
  configPath?: string;
  /** Reuse a data dir (restart tests); otherwise a fresh temp dir, removed on close. */
  dataDir?: string;
  management?: BuildOptions['management'];
  /** The server's defaults (the capacity limit on), as docs/api.md shows them; otherwise the capacity limit is off. */
  serverDefaults?: boolean;
}

export function tempDir(prefix = 'heimdall-api-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startAdminGateway(options: AdminGatewayOptions = {}): Promise<AdminGateway> {
  const owned = options.dataDir === undefined ? tempDir() : undefined;
  const dataDir = options.dataDir ?? owned!.dir;
  const config = loadConfig({
    env: { ...options.env },
    ...(options.configPath !== undefined ? { configPath: options.configPath } : { config: options.config ?? {} }),
    overrides: { port: 0, host: '127.0.0.1', dataDir, logLevel: 'info' },
    // The capacity limit off, as in the library: it would watch this process's loop, which the test's own clients share.
    capacityTargetDelayMs: options.serverDefaults === true ? undefined : 0,
  });
  let text = '';
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const app = await buildApp(config, { logger, processMetrics: false, management: options.management });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    logText: () => text,
    logs: () => text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, unknown>),
    async close() {
      await app.close();
      owned?.remove();
    },
  };
}

export interface JsonReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** One call: an object body is sent as JSON; headers are added to content-type. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonReply> {
  const hasBody = body !== undefined;
  const response = await request(`${base}${path}`, {
    method: method as 'GET',
    headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...headers },
    body: hasBody ? (typeof body === 'string' ? body : JSON.stringify(body)) : undefined,
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}

/** A chat request through the gateway. */
export function chat(base: string, model: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<JsonReply> {
  return call(base, 'POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hello there' }], ...extra }, headers);
}

/** The OpenAI-shaped error of a management API answer. */
export function apiError(reply: JsonReply): { message: string; type: string; param: string | null; code: string } {
  return reply.json?.error;
}

/** Polls until `check` is true; throws after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
