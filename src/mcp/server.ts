/**
 * Heimdall as an MCP server at /mcp: streamable HTTP (the SDK's transport, the
 * current protocol revision), one session per `initialize`, its id in the
 * `mcp-session-id` header. Each session serves the tools, prompts and
 * resources of the upstream servers its virtual key may use, under namespaced
 * names; tool calls go through ToolCalls (limits, budgets, log, metrics).
 *
 * With `--workers N` (or after a restart) a request for a session this process
 * does not hold is served if the store's session directory knows it for the
 * same key: any process takes up any session.
 *
 * Every HTTP request presents the virtual key again (as every model call
 * does): a revoked key stops its sessions at once, and a session belongs to
 * the key that opened it (another key gets 404 for it, as an unknown session).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { GatewayError, isGatewayError } from '../errors/gateway-error.js';
import type { Governance } from '../governance/governance.js';
import type { KeyState } from '../governance/registry.js';
import { redactText } from '../telemetry/secrets.js';
import { VERSION } from '../version.js';
import { mayUseServer, mayUseTool } from './access.js';
import type { McpHub } from './hub.js';
import { loadedMcpSdk, loadMcpSdk, type McpSdk } from './sdk.js';
import type { ToolCalls } from './tool-calls.js';

interface Session {
  id: string;
  transport: StreamableHTTPServerTransport;
  server: Server;
  /** The key that opened the session ('' without one), and its state as of the last request. */
  keyId: string;
  key: KeyState | undefined;
  lastUsed: number;
  initialized: boolean;
  /** When the directory's entry expires (refreshed as the session is used). */
  sharedUntil: number;
}

/**
 * Sessions known to every process on the data dir (the store's short-lived state): a session
 * opened by one worker of `--workers N` is taken up by another that gets a request for it.
 */
export interface SessionDirectory {
  put(id: string, record: SharedSession, expiresAt: number): void;
  get(id: string): SharedSession | undefined;
  delete(id: string): void;
}

export interface SharedSession {
  /** The key that opened it ('' without one). */
  keyId: string;
}

export interface McpEndpointDeps {
  hub: McpHub;
  calls: ToolCalls;
  governance: Governance | undefined;
  logger: { warn(object: object, message: string): void };
  directory?: SessionDirectory;
}

/** The SDK's transport keeps its session state in its web-standard core; a taken-up session sets it. */
interface TransportCore {
  sessionId?: string;
  _initialized?: boolean;
}

/** JSON-RPC error codes of HTTP-level refusals (the SDK's own use -32000 for "bad request"). */
const JSONRPC_SERVER_ERROR = -32000;

function jsonRpcError(response: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify({ jsonrpc: '2.0', error: { code: JSONRPC_SERVER_ERROR, message }, id: null }));
}

function parseBody(body: unknown): unknown {
  if (!Buffer.isBuffer(body) || body.length === 0) return undefined;
  return JSON.parse(body.toString('utf8'));
}

function isInitialize(message: unknown): boolean {
  const messages = Array.isArray(message) ? message : [message];
  return messages.some((item) => typeof item === 'object' && item !== null && (item as { method?: unknown }).method === 'initialize');
}

export class McpEndpoint {
  private readonly sessions = new Map<string, Session>();
  private sdk: McpSdk | undefined;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(private readonly deps: McpEndpointDeps) {
    this.sweepTimer = setInterval(() => this.sweep(), 60_000);
    this.sweepTimer.unref();
    // Any change upstream: every open session is told its lists changed.
    this.unsubscribe = deps.hub.onChange(() => this.notifyChanged());
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  register(app: FastifyInstance): void {
    const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => this.handle(request, reply);
    app.route({ method: ['GET', 'POST', 'DELETE'], url: '/mcp', handler });
  }

  private resolveKey(headers: IncomingHttpHeaders): KeyState | undefined {
    const key = this.deps.governance?.resolveKey(headers);
    if (key === undefined && this.deps.hub.settings.requireKey) {
      throw new GatewayError('HD_ERR_AUTH_MISSING_KEY', 'A virtual key is required for /mcp: send it as "Authorization: Bearer hk-..." (or x-heimdall-key).');
    }
    return key;
  }

  private async handle(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    reply.hijack();
    const response = reply.raw;
    response.setHeader('x-request-id', request.id);
    if (this.closed || !this.deps.hub.settings.enabled) {
      jsonRpcError(response, 404, 'The MCP gateway is turned off (mcp.enabled: false).');
      return;
    }
    let sdk: McpSdk;
    try {
      sdk = this.sdk ??= loadedMcpSdk() ?? (await loadMcpSdk());
    } catch (error) {
      this.deps.logger.warn({ err: redactText(String(error)) }, 'mcp: loading the MCP SDK failed');
      jsonRpcError(response, 500, 'Internal error.');
      return;
    }
    let key: KeyState | undefined;
    try {
      key = this.resolveKey(request.headers);
    } catch (error) {
      const status = isGatewayError(error) ? error.status : 401;
      jsonRpcError(response, status, (error as Error).message, status === 401 ? { 'www-authenticate': 'Bearer realm="heimdall"' } : {});
      return;
    }
    let body: unknown;
    try {
      body = request.method === 'POST' ? parseBody(request.body) : undefined;
    } catch (error) {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ jsonrpc: '2.0', error: { code: sdk.ErrorCode.ParseError, message: `Parse error: ${(error as Error).message}` }, id: null }));
      return;
    }
    const sessionHeader = request.headers['mcp-session-id'];
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;
    let session: Session | undefined;
    if (sessionId !== undefined) {
      session = this.sessions.get(sessionId) ?? this.takeUp(sdk, sessionId, key);
      if (session === undefined || session.keyId !== (key?.record.id ?? '') || !this.stillShared(session)) {
        jsonRpcError(response, 404, 'Session not found: it expired or was closed; initialize a new one.');
        return;
      }
    } else if (request.method === 'POST' && isInitialize(body)) {
      session = this.open(sdk, key);
    } else {
      jsonRpcError(response, 400, 'Bad Request: an mcp-session-id header is required (initialize first).');
      return;
    }
    session.key = key;
    session.lastUsed = Date.now();
    try {
      await session.transport.handleRequest(request.raw, response, body);
    } catch (error) {
      this.deps.logger.warn({ err: redactText(String(error)), session_id: session.id }, 'mcp: handling a request failed');
      if (!response.headersSent) jsonRpcError(response, 500, 'Internal error.');
      else response.end();
    }
  }

  /**
   * A session another process opened (or this one before a restart): served here from now on, if
   * the directory knows it and it belongs to this key. Its `initialize` happened elsewhere, so the
   * transport is marked initialized with the session's id.
   */
  private takeUp(sdk: McpSdk, id: string, key: KeyState | undefined): Session | undefined {
    const shared = this.deps.directory?.get(id);
    if (shared === undefined || shared.keyId !== (key?.record.id ?? '')) return undefined;
    const session = this.open(sdk, key, id);
    const core = (session.transport as unknown as { _webStandardTransport?: TransportCore })._webStandardTransport;
    if (core === undefined) {
      void session.server.close().catch(() => undefined);
      return undefined;
    }
    core.sessionId = id;
    core._initialized = true;
    session.id = id;
    session.initialized = true;
    this.sessions.set(id, session);
    return session;
  }

  /** A session closed by its client through another process is closed here too; the entry is refreshed while in use. */
  private stillShared(session: Session): boolean {
    const directory = this.deps.directory;
    if (directory === undefined || session.id === '') return true;
    const now = Date.now();
    const idle = this.deps.hub.settings.sessionIdleMs;
    if (directory.get(session.id) === undefined) {
      void this.closeSession(session);
      return false;
    }
    if (session.sharedUntil - now < idle / 2) {
      session.sharedUntil = now + idle;
      directory.put(session.id, { keyId: session.keyId }, session.sharedUntil);
    }
    return true;
  }

  private open(sdk: McpSdk, key: KeyState | undefined, takenUpId?: string): Session {
    const max = this.deps.hub.settings.maxSessions;
    if (this.sessions.size >= max) {
      const idlest = [...this.sessions.values()].sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (idlest !== undefined) void this.closeSession(idlest);
    }
    const server = new sdk.Server(
      { name: 'heimdall', version: VERSION, title: 'Heimdall MCP gateway' },
      {
        capabilities: { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } },
        instructions: 'Tools of the MCP servers behind this Heimdall gateway, named "<server>__<tool>".',
      },
    );
    const idle = this.deps.hub.settings.sessionIdleMs;
    const session: Session = {
      id: '', transport: undefined as unknown as StreamableHTTPServerTransport, server, keyId: key?.record.id ?? '', key, lastUsed: Date.now(), initialized: false,
      sharedUntil: Date.now() + idle,
    };
    const transport = new sdk.StreamableHTTPServerTransport({
      sessionIdGenerator: () => takenUpId ?? randomUUID(),
      onsessioninitialized: (id) => {
        session.id = id;
        this.sessions.set(id, session);
        this.deps.directory?.put(id, { keyId: session.keyId }, session.sharedUntil);
      },
      onsessionclosed: (id) => {
        // The client ended it (DELETE /mcp): no process serves it any more.
        this.sessions.delete(id);
        this.deps.directory?.delete(id);
      },
    });
    session.transport = transport;
    transport.onclose = () => {
      if (session.id !== '') this.sessions.delete(session.id);
    };
    server.oninitialized = () => {
      session.initialized = true;
    };
    this.handlers(sdk, server, session);
    void server.connect(transport);
    return session;
  }

  private handlers(sdk: McpSdk, server: Server, session: Session): void {
    const { hub, calls } = this.deps;
    const { McpError, ErrorCode } = sdk;
    server.setRequestHandler(sdk.ListToolsRequestSchema, async () => ({
      tools: hub.tools()
        .filter((entry) => mayUseTool(session.key, entry.server.name, entry.name))
        .map((entry) => ({ ...entry.tool, name: entry.name, title: entry.tool.title ?? entry.tool.annotations?.title ?? entry.tool.name })),
    }));
    server.setRequestHandler(sdk.CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
      const caller = { key: session.key, origin: 'mcp' as const, sessionId: session.id };
      try {
        return await calls.call(caller, request.params.name, request.params.arguments, extra.signal);
      } catch (error) {
        const coded = isGatewayError(error) ? error : new GatewayError('HD_ERR_INTERNAL', 'The tool call failed.');
        // An unknown or refused tool is a protocol error; a tool that could not run is a result the model can read.
        if (coded.code === 'HD_ERR_MCP_TOOL_NOT_FOUND' || coded.code === 'HD_ERR_MCP_FORBIDDEN') throw new McpError(ErrorCode.InvalidParams, coded.message);
        return { content: [{ type: 'text', text: coded.message }], isError: true, _meta: { 'heimdall/error': coded.publicCode } };
      }
    });
    server.setRequestHandler(sdk.ListPromptsRequestSchema, async () => ({
      prompts: hub.prompts().filter((entry) => mayUseServer(session.key, entry.server.name)).map((entry) => ({ ...entry.prompt, name: entry.name })),
    }));
    server.setRequestHandler(sdk.GetPromptRequestSchema, async (request, extra) => {
      const entry = hub.prompts().find((candidate) => candidate.name === request.params.name);
      if (entry === undefined || !mayUseServer(session.key, entry.server.name)) throw new McpError(ErrorCode.InvalidParams, `No prompt is named "${request.params.name}".`);
      return this.upstream(sdk, () => entry.server.getPrompt(entry.prompt.name, request.params.arguments, hub.toolTimeoutMs(entry.server), extra.signal));
    });
    server.setRequestHandler(sdk.ListResourcesRequestSchema, async () => ({
      resources: hub.resources().filter((entry) => mayUseServer(session.key, entry.server.name)).map((entry) => ({ ...entry.resource, uri: entry.uri })),
    }));
    server.setRequestHandler(sdk.ListResourceTemplatesRequestSchema, async () => ({
      resourceTemplates: hub.resourceTemplates().filter((entry) => mayUseServer(session.key, entry.server.name)).map((entry) => ({ ...entry.template, uriTemplate: entry.uriTemplate })),
    }));
    server.setRequestHandler(sdk.ReadResourceRequestSchema, async (request, extra) => {
      const target = hub.resource(request.params.uri);
      if (target === undefined || !mayUseServer(session.key, target.server.name)) throw new McpError(ErrorCode.InvalidParams, `No resource has the URI "${request.params.uri}".`);
      const result = await this.upstream(sdk, () => target.server.readResource(target.uri, hub.toolTimeoutMs(target.server), extra.signal));
      // The contents carry the upstream URI: the caller gets the namespaced one back.
      return { ...result, contents: result.contents.map((content) => ({ ...content, uri: `${target.server.name}+${content.uri}` })) };
    });
  }

  /** Prompts and resources: an upstream failure becomes an MCP error with its message (secrets masked). */
  private async upstream<T>(sdk: McpSdk, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof sdk.McpError) throw error;
      throw new sdk.McpError(sdk.ErrorCode.InternalError, redactText(error instanceof Error ? error.message : String(error)));
    }
  }

  private notifyChanged(): void {
    for (const session of this.sessions.values()) {
      if (!session.initialized) continue;
      void session.server.sendToolListChanged().catch(() => undefined);
      void session.server.sendPromptListChanged().catch(() => undefined);
      void session.server.sendResourceListChanged().catch(() => undefined);
    }
  }

  private async closeSession(session: Session): Promise<void> {
    this.sessions.delete(session.id);
    await session.server.close().catch(() => undefined);
  }

  private sweep(): void {
    const cutoff = Date.now() - this.deps.hub.settings.sessionIdleMs;
    for (const session of [...this.sessions.values()]) if (session.lastUsed < cutoff) void this.closeSession(session);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.unsubscribe();
    await Promise.all([...this.sessions.values()].map((session) => this.closeSession(session)));
  }
}
