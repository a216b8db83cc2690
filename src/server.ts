/** Starts and stops the gateway: listen, banner, graceful shutdown. */
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { IdleMemoryRelease } from './idle-memory-release.js';
import { STORE_CLOSE_BUDGET_MS } from './store/wiring.js';
import type { WorkerRuntime } from './cluster/worker.js';
import type { ResolvedConfig } from './config/load.js';
import type { Logger } from './telemetry/logger.js';
import { VERSION } from './version.js';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  port: number;
  /**
   * Stops accepting, lets in-flight requests and streams finish (bounded), closes everything.
   * Rejects, after closing, when something could not be written (the store failed during the final flush).
   */
  shutdown(): Promise<void>;
  /** The longest shutdown() may take: the drain, the store's final flush, then the rest; past it the CLI exits 1. */
  shutdownDeadlineMs: number;
}

function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** `accounts`: how many users exist and the setup token issued at this start (none when a user or the admin token exists). */
export function banner(config: ResolvedConfig, url: string, accounts: { users: number; setupToken?: string } = { users: 0 }): string {
  const setupToken = accounts.setupToken;
  const enabled = config.providers.filter((p) => p.enabled);
  const providers = enabled.length === 0
    ? 'none yet: set a provider key such as OPENAI_API_KEY, or pass --config FILE'
    : enabled.map((p) => `${p.name} (${p.source})`).join(', ');
  const lines = [
    `Heimdall ${VERSION}: LLM gateway`,
    `  OpenAI API     ${url}/v1`,
    `  Anthropic API  ${url}/anthropic`,
    `  Gemini API     ${url}/genai`,
    `  Dashboard      ${url}/`,
    `  Data dir       ${config.server.dataDir}`,
    `  Providers      ${providers}`,
  ];
  for (const warning of config.warnings) lines.push(`  ! ${warning}`);
  const loopback = config.server.host === '127.0.0.1' || config.server.host === '::1' || config.server.host === 'localhost';
  if (!loopback) lines.push(`  ! listening on ${config.server.host}: reachable from other machines`);
  if (setupToken !== undefined) {
    lines.push(`  Setup token    ${setupToken}`);
    lines.push(`                 (one use: open ${url}/ and create the first admin with it, or run \`heimdall users add\`)`);
  }
  if (config.admin.token === undefined && accounts.users > 0) {
    lines.push(`  Admin API      ${url}/api (sign-in with ${accounts.users} user${accounts.users === 1 ? '' : 's'}; see docs/auth.md)`);
  } else if (config.admin.token === undefined) {
    lines.push(loopback
      ? '  ! no admin token: the management API (/api) answers loopback clients only; set HEIMDALL_ADMIN_TOKEN to protect it with a token'
      : '  !!! WARNING: NO ADMIN TOKEN on a non-loopback address: the management API (/api) and the dashboard data are refused to every other machine, and open to anything that reaches this one via loopback (a local reverse proxy too). Set HEIMDALL_ADMIN_TOKEN.');
  } else {
    lines.push(`  Admin API      ${url}/api (admin token from ${config.admin.tokenSource === 'env' ? 'HEIMDALL_ADMIN_TOKEN' : 'the config file'})`);
  }
  return lines.join('\n');
}

export async function startServer(config: ResolvedConfig, options: { logger?: Logger; quiet?: boolean; cluster?: WorkerRuntime } = {}): Promise<RunningServer> {
  mkdirSync(config.server.dataDir, { recursive: true, mode: 0o700 });
  const app = await buildApp(config, { logger: options.logger, cluster: options.cluster });
  await app.listen({ port: config.server.port, host: config.server.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.server.port;
  const url = `http://${displayHost(config.server.host)}:${port}`;
  // The running configuration: the config file and environment with the store's changes over them.
  // No user and no admin token yet: a one-time token lets a browser on another machine create the first admin.
  const setupToken = !options.quiet && app.adminAuth.setupPending ? app.adminAuth.issueSetupToken() : undefined;
  if (!options.quiet) process.stderr.write(`${banner(app.configService.config, url, { users: app.store.auth.countUsers(), setupToken })}\n`);
  app.log.info({ url, version: VERSION, providers: config.providers.filter((p) => p.enabled).map((p) => p.name) }, 'heimdall started');
  // The heap goes back to its size at rest once a burst of traffic is over (see idle-memory-release.ts).
  const memoryRelease = new IdleMemoryRelease({
    onCollect: ({ memoryBefore, memoryAfter, ms }) => app.log.debug({ rss_before_mb: Math.round(memoryBefore / 1048576), rss_after_mb: Math.round(memoryAfter / 1048576), ms: Math.round(ms) }, 'idle: released memory'),
  });

  let closing: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    closing ??= (async () => {
      memoryRelease.stop();
      const timeoutMs = config.server.shutdownTimeoutMs;
      app.log.info({ in_flight: app.gateway.inFlight, timeout_ms: timeoutMs }, 'shutting down: draining in-flight requests');
      const closed = app.close();
      const idle = await app.gateway.waitForIdle(timeoutMs);
      // Drained: keep-alive connections with nothing in flight would otherwise hold close() open.
      app.server.closeIdleConnections();
      if (!idle) {
        app.log.warn({ in_flight: app.gateway.inFlight }, 'shutdown timeout: closing the remaining connections');
        app.server.closeAllConnections();
      }
      await closed;
      const problems = app.store.closeProblems;
      if (problems.length > 0) app.log.error({ problems }, 'shutdown: not everything could be written');
      (app.log as unknown as Logger).flush();
      if (problems.length > 0) throw new Error(problems.join('; '));
    })();
    return closing;
  };
  return { app, url, port, shutdown, shutdownDeadlineMs: config.server.shutdownTimeoutMs + STORE_CLOSE_BUDGET_MS + SHUTDOWN_SLACK_MS };
}

/** Closing hooks, pools and the log destination after the drain and the store's flush. */
const SHUTDOWN_SLACK_MS = 5_000;
