/**
 * One upstream MCP server, kept connected: the SDK's client over streamable
 * HTTP, SSE or stdio (a child process Heimdall starts), its tools, prompts,
 * resources and resource templates listed at connect and on every `list_changed` notification, and a
 * supervisor that reconnects (restarts the process) after a failure with
 * exponential backoff. A periodic ping notices a server that went away between
 * calls. stop() closes the session; a stdio process gets its stdin closed,
 * then SIGTERM, then SIGKILL (the SDK's close).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type {
  CallToolResult,
  GetPromptResult,
  Prompt,
  ReadResourceResult,
  Resource,
  ResourceTemplate,
  Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { isAlive } from '../store/data-dir-lock.js';
import { redactText } from '../telemetry/secrets.js';
import { VERSION } from '../version.js';
import type { McpServerConfig } from './config.js';
import { AuthorizationRequiredError, oauthProvider, type OAuthTokenStore } from './oauth.js';
import { loadedMcpSdk, loadMcpSdk, type McpSdk } from './sdk.js';
import type { TrackedStdioTransport } from './sdk-values.js';

export type UpstreamStatus = 'connecting' | 'ready' | 'failed' | 'stopped' | 'disabled';

export interface UpstreamSettings {
  connectTimeoutMs: number;
  restartMinMs: number;
  restartMaxMs: number;
  /** Time between two pings of a connected server. */
  pingIntervalMs: number;
}

export interface UpstreamEvents {
  /** The lists (tools, prompts, resources) or the status changed. */
  changed(server: UpstreamServer): void;
  log(level: 'info' | 'warn', object: Record<string, unknown>, message: string): void;
}

/** What the dashboard and the API show of a server. */
export interface UpstreamHealth {
  status: UpstreamStatus;
  error: string | null;
  connected_at: number | null;
  failures: number;
  restarts: number;
  next_retry_at: number | null;
  pid: number | null;
  server_info: { name: string; version: string } | null;
  protocol_version: string | null;
  /** Last lines a stdio server wrote to stderr (secrets masked). */
  stderr: string[];
}

const STDERR_LINES = 20;

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class UpstreamServer {
  status: UpstreamStatus = 'connecting';
  tools: Tool[] = [];
  prompts: Prompt[] = [];
  resources: Resource[] = [];
  resourceTemplates: ResourceTemplate[] = [];
  private client: Client | undefined;
  private transport: Transport | undefined;
  private error: string | null = null;
  private connectedAt: number | null = null;
  private failures = 0;
  private restarts = 0;
  private nextRetryAt: number | null = null;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private attempt = 0;
  private readonly stderr: string[] = [];
  /** Every server process this server started that may still run (stdio). */
  private readonly processes = new Set<TrackedStdioTransport>();

  constructor(
    readonly config: McpServerConfig,
    private readonly settings: UpstreamSettings,
    private readonly events: UpstreamEvents,
    private readonly tokens: OAuthTokenStore | undefined,
  ) {
    if (!config.enabled) this.status = 'disabled';
  }

  get name(): string {
    return this.config.name;
  }

  start(): void {
    if (this.config.enabled) void this.connect();
  }

  health(): UpstreamHealth {
    const version = this.client?.getServerVersion();
    const transport = this.transport;
    return {
      status: this.status,
      error: this.error,
      connected_at: this.connectedAt,
      failures: this.failures,
      restarts: this.restarts,
      next_retry_at: this.nextRetryAt,
      pid: transport !== undefined && this.config.transport === 'stdio' ? ((transport as StdioClientTransport).pid ?? null) : null,
      server_info: version === undefined ? null : { name: version.name, version: version.version },
      protocol_version: transport !== undefined && this.config.transport === 'http' ? ((transport as StreamableHTTPClientTransport).protocolVersion ?? null) : null,
      stderr: [...this.stderr],
    };
  }

  private buildTransport(sdk: McpSdk): Transport {
    const config = this.config;
    if (config.transport === 'stdio') {
      for (const old of this.processes) {
        if (old.spawnedPid === null || !isAlive(old.spawnedPid)) this.processes.delete(old);
      }
      const transport = new sdk.TrackedStdioTransport({
        command: config.command!,
        args: config.args,
        env: { ...sdk.getDefaultEnvironment(), ...config.env },
        cwd: config.cwd,
        stderr: 'pipe',
      });
      transport.stderr?.on('data', (chunk: Buffer) => this.noteStderr(chunk.toString('utf8')));
      this.processes.add(transport);
      return transport;
    }
    const url = new URL(config.url!);
    const requestInit = { headers: config.headers };
    const authProvider = oauthProvider(sdk, config, this.tokens, this.events);
    return config.transport === 'http'
      ? new sdk.StreamableHTTPClientTransport(url, { requestInit, authProvider })
      : new sdk.SSEClientTransport(url, { requestInit, authProvider, eventSourceInit: { fetch: (input, init) => fetch(input, { ...init, headers: { ...config.headers, ...Object.fromEntries(new Headers(init?.headers).entries()) } }) } });
  }

  private noteStderr(text: string): void {
    for (const line of text.split('\n')) {
      const trimmed = line.trim();
      if (trimmed === '') continue;
      this.stderr.push(redactText(trimmed).slice(0, 500));
      if (this.stderr.length > STDERR_LINES) this.stderr.shift();
    }
  }

  private async connect(): Promise<void> {
    const attempt = ++this.attempt;
    this.nextRetryAt = null;
    this.status = 'connecting';
    this.events.changed(this);
    let sdk: McpSdk;
    try {
      sdk = loadedMcpSdk() ?? (await loadMcpSdk());
    } catch (error) {
      if (attempt === this.attempt) this.fail(error);
      return;
    }
    if (attempt !== this.attempt || this.stopped) return;
    const client = new sdk.Client({ name: 'heimdall', version: VERSION }, { capabilities: {} });
    let transport: Transport | undefined;
    try {
      transport = this.buildTransport(sdk);
      this.client = client;
      this.transport = transport;
      // While connecting, the rejected connect says why; a close after that is the failure.
      let established = false;
      client.onclose = () => {
        if (established && attempt === this.attempt) this.fail(new Error(this.config.transport === 'stdio' ? 'the server process exited' : 'the connection closed'));
      };
      await client.connect(transport, { timeout: this.settings.connectTimeoutMs });
      established = true;
      await this.refresh(client);
      if (attempt !== this.attempt || this.stopped) return;
      const capabilities = client.getServerCapabilities();
      if (capabilities?.tools?.listChanged) client.setNotificationHandler(sdk.ToolListChangedNotificationSchema, () => this.refreshQuietly(client, attempt));
      if (capabilities?.prompts?.listChanged) client.setNotificationHandler(sdk.PromptListChangedNotificationSchema, () => this.refreshQuietly(client, attempt));
      if (capabilities?.resources?.listChanged) client.setNotificationHandler(sdk.ResourceListChangedNotificationSchema, () => this.refreshQuietly(client, attempt));
      this.status = 'ready';
      this.error = null;
      this.failures = 0;
      this.connectedAt = Date.now();
      this.schedulePing(client, attempt);
      this.events.log('info', { mcp_server: this.name, tools: this.tools.length, prompts: this.prompts.length, resources: this.resources.length }, 'mcp: upstream server connected');
      this.events.changed(this);
    } catch (error) {
      if (attempt === this.attempt) this.fail(error);
    }
  }

  /** Lists tools, prompts and resources (every page) the server has the capability for. */
  private async refresh(client: Client): Promise<void> {
    const capabilities = client.getServerCapabilities() ?? {};
    const options = { timeout: this.settings.connectTimeoutMs };
    const [tools, prompts, resources, resourceTemplates] = await Promise.all([
      capabilities.tools === undefined ? [] : listAll((cursor) => client.listTools(cursor, options), (page) => page.tools),
      capabilities.prompts === undefined ? [] : listAll((cursor) => client.listPrompts(cursor, options), (page) => page.prompts),
      capabilities.resources === undefined ? [] : listAll((cursor) => client.listResources(cursor, options), (page) => page.resources),
      capabilities.resources === undefined ? [] : listAll((cursor) => client.listResourceTemplates(cursor, options), (page) => page.resourceTemplates),
    ]);
    this.tools = tools;
    this.prompts = prompts;
    this.resources = resources;
    this.resourceTemplates = resourceTemplates;
  }

  private refreshQuietly(client: Client, attempt: number): void {
    this.refresh(client).then(
      () => {
        if (attempt === this.attempt) this.events.changed(this);
      },
      (error: unknown) => this.events.log('warn', { mcp_server: this.name, err: redactText(String(error)) }, 'mcp: refreshing the lists of a server failed'),
    );
  }

  private schedulePing(client: Client, attempt: number): void {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      client.ping({ timeout: this.settings.connectTimeoutMs }).then(
        () => {
          if (attempt === this.attempt && this.status === 'ready') this.schedulePing(client, attempt);
        },
        (error: unknown) => {
          if (attempt === this.attempt) this.fail(error);
        },
      );
    }, this.settings.pingIntervalMs);
    this.pingTimer.unref();
  }

  /** A failure: close what is left and retry after the backoff. */
  private fail(error: unknown): void {
    if (this.stopped || this.status === 'failed') return;
    this.attempt++;
    clearTimeout(this.pingTimer);
    const message = redactText(error instanceof Error ? error.message : String(error)).slice(0, 500);
    this.status = 'failed';
    this.error = message;
    this.failures++;
    this.connectedAt = null;
    const old = this.client;
    this.client = undefined;
    if (old !== undefined) {
      old.onclose = undefined;
      void old.close().catch(() => undefined);
    }
    const base = Math.min(this.settings.restartMaxMs, this.settings.restartMinMs * 2 ** Math.min(this.failures - 1, 20));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.nextRetryAt = Date.now() + delay;
    this.events.log('warn', { mcp_server: this.name, err: message, failures: this.failures, retry_in_ms: delay }, 'mcp: upstream server failed; reconnecting after a backoff');
    this.events.changed(this);
    this.retryTimer = setTimeout(() => {
      this.restarts++;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  /** Reconnects now (the API's restart), whatever the state. */
  restart(): void {
    if (this.stopped || !this.config.enabled) return;
    clearTimeout(this.retryTimer);
    clearTimeout(this.pingTimer);
    this.attempt++;
    const old = this.client;
    this.client = undefined;
    this.restarts++;
    this.status = 'connecting';
    this.events.changed(this);
    void (async () => {
      if (old !== undefined) {
        old.onclose = undefined;
        await old.close().catch(() => undefined);
      }
      await this.connect();
    })();
  }

  private ready(): Client {
    const client = this.client;
    if (this.status !== 'ready' || client === undefined) {
      throw new UpstreamUnavailableError(this.name, this.status, this.error);
    }
    return client;
  }

  async callTool(name: string, args: Record<string, unknown> | undefined, timeoutMs: number, signal?: AbortSignal): Promise<CallToolResult> {
    const client = this.ready();
    try {
      return (await client.callTool({ name, arguments: args }, undefined, { timeout: timeoutMs, signal })) as CallToolResult;
    } catch (error) {
      // A timeout may be a slow tool or a hung server: a ping tells them apart. A broken transport fails at once.
      if (codeOf(error) === REQUEST_TIMEOUT) this.checkAlive(client);
      else if (isTransportFailure(error) || isAuthorizationFailure(error)) this.fail(error);
      throw error;
    }
  }

  /** After a timed-out call: a server that does not answer a ping either is restarted. */
  private checkAlive(client: Client): void {
    const attempt = this.attempt;
    client.ping({ timeout: this.settings.connectTimeoutMs }).catch((error: unknown) => {
      if (attempt === this.attempt) this.fail(error);
    });
  }

  async getPrompt(name: string, args: Record<string, string> | undefined, timeoutMs: number, signal?: AbortSignal): Promise<GetPromptResult> {
    return this.ready().getPrompt({ name, arguments: args }, { timeout: timeoutMs, signal });
  }

  async readResource(uri: string, timeoutMs: number, signal?: AbortSignal): Promise<ReadResourceResult> {
    return this.ready().readResource({ uri }, { timeout: timeoutMs, signal });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.attempt++;
    clearTimeout(this.retryTimer);
    clearTimeout(this.pingTimer);
    this.status = 'stopped';
    const client = this.client;
    this.client = undefined;
    const closed = client === undefined ? Promise.resolve() : (client.onclose = undefined, client.close().catch(() => undefined));
    // Every process still running (the current one, and any an earlier failure is still closing)
    // gets a short while to exit on its closed stdin, then SIGTERM, then SIGKILL.
    const pids = [...this.processes].map((transport) => transport.spawnedPid).filter((pid): pid is number => pid !== null);
    this.processes.clear();
    await Promise.race([closed, pause(500)]);
    let running = pids.filter(isAlive);
    for (const pid of running) signal(pid, 'SIGTERM');
    for (let waited = 0; running.length > 0 && waited < 2000; waited += 50) {
      await pause(50);
      running = running.filter(isAlive);
    }
    for (const pid of running) signal(pid, 'SIGKILL');
  }
}

export class UpstreamUnavailableError extends Error {
  constructor(
    readonly server: string,
    readonly status: UpstreamStatus,
    readonly reason: string | null,
  ) {
    super(`The MCP server "${server}" is not available (${status}${reason === null ? '' : `: ${reason}`}).`);
  }
}

/** Most items kept of one list (a server that pages forever is cut off). */
const MAX_LIST_ITEMS = 10_000;

/** Every page of a paginated MCP list. */
async function listAll<P extends { nextCursor?: string }, T>(fetchPage: (params: { cursor: string } | undefined) => Promise<P>, items: (page: P) => T[]): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor === undefined ? undefined : { cursor });
    out.push(...items(page));
    cursor = page.nextCursor;
  } while (cursor !== undefined && out.length < MAX_LIST_ITEMS);
  return out;
}

/** The SDK's JSON-RPC codes for a request that timed out and a connection that closed. */
const REQUEST_TIMEOUT = -32001;
const CONNECTION_CLOSED = -32000;

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** The server refuses Heimdall's credentials and no new token could be had: it waits for an operator (or a new secret). */
function isAuthorizationFailure(error: unknown): boolean {
  const sdk = loadedMcpSdk();
  return error instanceof AuthorizationRequiredError || (sdk !== undefined && error instanceof sdk.UnauthorizedError);
}

function isTransportFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = codeOf(error);
  if (typeof code === 'number') return code === CONNECTION_CLOSED;
  return error.name === 'TypeError' || /fetch failed|ECONNREFUSED|ECONNRESET|socket hang up/i.test(error.message);
}
