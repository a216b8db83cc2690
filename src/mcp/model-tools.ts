/**
 * MCP tools on model calls. A chat completion or Responses request that names
 * MCP servers (`x-heimdall-mcp: github,filesystem`, or `"heimdall_mcp": [...]`
 * in the body) gets those servers' tools added, under their namespaced names,
 * to the tools it declares. By default the caller runs the calls (through
 * /mcp); with `x-heimdall-mcp-execute: true` (or `"heimdall_mcp_execute": true`)
 * Heimdall runs the loop itself (see tool-loop.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../api/respond.js';
import type { InterceptResult } from '../api/surface-handler.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { KeyState } from '../governance/registry.js';
import { mayUseServer, mayUseTool } from './access.js';
import type { NamespacedTool } from './hub.js';
import type { McpRuntime } from './plugin.js';
import { runToolLoop, type LoopRoute } from './tool-loop.js';

export const MCP_HEADER = 'x-heimdall-mcp';
export const MCP_EXECUTE_HEADER = 'x-heimdall-mcp-execute';
const BODY_SERVERS = 'heimdall_mcp';
const BODY_EXECUTE = 'heimdall_mcp_execute';
/** The body field as it appears in JSON text: the cheap test before any parse. */
const BODY_MARKER = Buffer.from(`"${BODY_SERVERS}"`);

/** The route a request path takes MCP tools on (compared, not looked up: the path is a new string each time). */
function loopRouteOf(path: string): LoopRoute | undefined {
  if (path === '/v1/chat/completions') return 'chat';
  if (path === '/v1/responses') return 'responses';
  return undefined;
}

type JsonObject = Record<string, unknown>;

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function isTrue(value: unknown): boolean {
  return value === true || (typeof value === 'string' && /^(1|true|yes)$/i.test(value.trim()));
}

/** The servers a request names, from the header or the body field. */
function requestedServers(header: string | undefined, body: JsonObject): string[] {
  const field = body[BODY_SERVERS];
  if (field !== undefined && (!Array.isArray(field) || field.some((item) => typeof item !== 'string'))) {
    throw new GatewayError('HD_ERR_REQUEST_INVALID_FIELD', `${BODY_SERVERS}: expected an array of MCP server names.`, { param: BODY_SERVERS });
  }
  const names = [...(header ?? '').split(','), ...((field as string[] | undefined) ?? [])].map((name) => name.trim()).filter((name) => name !== '');
  return [...new Set(names)];
}

/** A tool in the request's own format: Chat Completions nests the function, Responses does not. */
export function toolDeclaration(route: LoopRoute, entry: NamespacedTool): JsonObject {
  const description = entry.tool.description ?? entry.tool.title ?? entry.tool.name;
  const parameters = entry.tool.inputSchema;
  return route === 'chat'
    ? { type: 'function', function: { name: entry.name, description, parameters } }
    : { type: 'function', name: entry.name, description, parameters };
}

function declaredName(tool: unknown): string | undefined {
  if (typeof tool !== 'object' || tool === null) return undefined;
  const record = tool as { name?: unknown; function?: { name?: unknown } };
  const name = record.function?.name ?? record.name;
  return typeof name === 'string' ? name : undefined;
}

export class ModelTools {
  constructor(
    private readonly app: FastifyInstance,
    private readonly runtime: McpRuntime,
  ) {}

  /** The surface interceptor: cheap when a request names no MCP server. */
  intercept = (request: FastifyRequest, reply: FastifyReply): InterceptResult | Promise<InterceptResult> => {
    const url = request.url;
    const query = url.indexOf('?');
    const route = loopRouteOf(query === -1 ? url : url.slice(0, query));
    if (route === undefined) return undefined;
    const header = headerValue(request.headers[MCP_HEADER]);
    const raw = request.body;
    if (header === undefined && !(Buffer.isBuffer(raw) && raw.includes(BODY_MARKER))) return undefined;
    return this.prepare(request, reply, route, header).catch((error: unknown) => {
      sendError(reply, undefined, error, 'openai');
      return { handled: true } as const;
    });
  };

  private async prepare(request: FastifyRequest, reply: FastifyReply, route: LoopRoute, header: string | undefined): Promise<InterceptResult> {
    const { hub } = this.runtime;
    if (!hub.settings.enabled) throw new GatewayError('HD_ERR_MCP_DISABLED', 'The MCP gateway is turned off (mcp.enabled: false).');
    let body: JsonObject;
    try {
      const parsed: unknown = JSON.parse(Buffer.isBuffer(request.body) ? request.body.toString('utf8') : '');
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object');
      body = parsed as JsonObject;
    } catch (error) {
      throw new GatewayError('HD_ERR_REQUEST_INVALID_JSON', `The request body is not valid JSON: ${(error as Error).message}`);
    }
    const names = requestedServers(header, body);
    const execute = isTrue(request.headers[MCP_EXECUTE_HEADER]) || isTrue(body[BODY_EXECUTE]);
    delete body[BODY_SERVERS];
    delete body[BODY_EXECUTE];
    const key = this.resolveKey(request);
    const tools = this.toolsFor(key, names);
    const own = Array.isArray(body.tools) ? (body.tools as unknown[]) : [];
    const taken = new Set(own.map(declaredName));
    const added = tools.filter((entry) => !taken.has(entry.name));
    body.tools = [...own, ...added.map((entry) => toolDeclaration(route, entry))];
    if (!execute) return { body: Buffer.from(JSON.stringify(body)) };
    await runToolLoop({ app: this.app, runtime: this.runtime, request, reply, route, body, key, tools: new Set(added.map((entry) => entry.name)) });
    return { handled: true };
  }

  private resolveKey(request: FastifyRequest): KeyState | undefined {
    const governance = this.app.hasDecorator('governance') ? this.app.governance : undefined;
    const key = governance?.resolveKey(request.headers);
    if (key === undefined && this.runtime.hub.settings.requireKey) {
      throw new GatewayError('HD_ERR_AUTH_MISSING_KEY', `A virtual key is required to use MCP tools (${MCP_HEADER}).`);
    }
    return key;
  }

  /** The tools of the named servers the key may use; an unknown, refused or disconnected server is an error. */
  private toolsFor(key: KeyState | undefined, names: readonly string[]): NamespacedTool[] {
    const { hub } = this.runtime;
    const wanted = names.includes('*') ? hub.servers().filter((server) => mayUseServer(key, server.name)).map((server) => server.name) : names;
    for (const name of wanted) {
      const server = hub.server(name);
      if (server === undefined) throw new GatewayError('HD_ERR_MCP_SERVER_UNKNOWN', `No MCP server is named "${name}" (${MCP_HEADER}).`, { param: MCP_HEADER });
      if (!mayUseServer(key, name)) throw new GatewayError('HD_ERR_MCP_FORBIDDEN', `The virtual key "${key!.record.name}" may not use the MCP server "${name}".`, { param: MCP_HEADER });
      if (server.status !== 'ready') {
        throw new GatewayError('HD_ERR_MCP_SERVER_UNAVAILABLE', `The MCP server "${name}" is not connected (${server.status}); its tools cannot be added.`, { param: MCP_HEADER });
      }
    }
    const set = new Set(wanted);
    return hub.tools().filter((entry) => set.has(entry.server.name) && mayUseTool(key, entry.server.name, entry.name));
  }
}
