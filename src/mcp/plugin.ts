/**
 * Wires the MCP gateway into the app (one line in app.ts, after governance):
 * the store's MCP tables, the hub of upstream servers (the config file's and
 * the store's, re-applied on every configuration change), the metrics, the
 * governed tool calls, the /mcp endpoint, and the stop of every server
 * (stdio processes included) on shutdown.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ResolvedConfig } from '../config/load.js';
import { mcpServerSchema } from './config-schema.js';
import { resolveMcpServer, type McpConfig, type McpServerConfig } from './config.js';
import { McpHub } from './hub.js';
import { McpMetrics } from './metrics.js';
import { ModelTools } from './model-tools.js';
import { McpEndpoint, type SessionDirectory, type SharedSession } from './server.js';
import { McpStore } from './store.js';
import { ToolCalls } from './tool-calls.js';
import type { Logger } from '../telemetry/logger.js';

export interface McpRuntime {
  hub: McpHub;
  calls: ToolCalls;
  endpoint: McpEndpoint;
  store: McpStore | undefined;
  /** The servers added through the management API, resolved (an entry that no longer resolves is skipped and logged). */
  storedServers(): McpServerConfig[];
  /** Re-applies the configuration after a change to the stored servers. */
  reload(): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The MCP gateway (src/mcp). */
    mcp: McpRuntime;
  }
}

/** "env.NAME" in a stored entry, read like the config file's. */
function resolveStored(env: NodeJS.ProcessEnv) {
  return (value: string, path: string): string => {
    if (!value.startsWith('env.')) return value;
    const resolved = env[value.slice(4)];
    if (resolved === undefined || resolved === '') throw new Error(`${path}: environment variable ${value.slice(4)} is not set`);
    return resolved;
  };
}

/** /mcp sessions in the store's short-lived state, shared by every process on the data dir (ids kept as digests). */
function sessionDirectory(app: FastifyInstance): SessionDirectory {
  const states = app.store.auth;
  const keyOf = (id: string): string => `mcp-session:${createHash('sha256').update(id).digest('hex')}`;
  return {
    put: (id, record, expiresAt) => states.putState(keyOf(id), record, expiresAt),
    get: (id) => states.getState<SharedSession>(keyOf(id)),
    delete: (id) => states.deleteState(keyOf(id)),
  };
}

export interface McpWiringOptions {
  /** Time between two pings of each connected server (tests shorten it). */
  pingIntervalMs?: number;
}

export function registerMcp(app: FastifyInstance, config: ResolvedConfig, logger: Logger, options: McpWiringOptions = {}): McpRuntime {
  const running = (): ResolvedConfig => (app.hasDecorator('configService') ? app.configService.config : config);
  const log = logger.child({ component: 'mcp' });
  const store = app.hasDecorator('store')
    ? new McpStore(app.store.db, app.store.secrets, (error) => log.error({ err: error }, 'mcp: writing the tool-call log failed; will retry'))
    : undefined;
  const hub = new McpHub(running().mcp, log, store, options.pingIntervalMs);
  const governance = app.hasDecorator('governance') ? app.governance : undefined;
  const metrics = new McpMetrics(app.gateway.metrics.registry, hub);
  const calls = new ToolCalls({ hub, governance, store, metrics, logger: log });
  const endpoint = new McpEndpoint({ hub, calls, governance, logger: log, directory: app.hasDecorator('store') ? sessionDirectory(app) : undefined });

  const storedServers = (): McpServerConfig[] => {
    if (store === undefined) return [];
    const env = running().input.env;
    const resolve = resolveStored(env);
    const out: McpServerConfig[] = [];
    for (const row of store.servers()) {
      try {
        out.push(resolveMcpServer(row.name, mcpServerSchema.parse(row.entry), `mcp server ${row.name}`, env, resolve, 'store'));
      } catch (error) {
        log.error({ mcp_server: row.name, err: (error as Error).message }, 'mcp: a stored server does not resolve; skipped');
      }
    }
    return out;
  };
  const apply = (mcp: McpConfig): void => hub.apply(mcp, storedServers());
  const runtime: McpRuntime = { hub, calls, endpoint, store, storedServers, reload: () => apply(running().mcp) };
  app.decorate('mcp', runtime);
  apply(running().mcp);
  if (app.hasDecorator('configService')) app.configService.onChange((next) => apply(next.mcp));
  endpoint.register(app);
  // x-heimdall-mcp on chat and Responses requests: the servers' tools added, optionally run here.
  app.gateway.surfaceInterceptors.push(new ModelTools(app, runtime).intercept);
  // Open /mcp streams end before the server waits for its connections; the processes stop after.
  app.addHook('preClose', async () => endpoint.close());
  app.addHook('onClose', async () => {
    await hub.close();
    store?.close();
  });
  return runtime;
}
