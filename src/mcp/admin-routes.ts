/**
 * /api/mcp: the upstream MCP servers (list with health and tools, add, change,
 * remove, reconnect, connect with OAuth: oauth-routes.ts) and the tool-call log. Servers of the config file are
 * listed and can be reconnected but are changed in the file. Header values,
 * environment values and OAuth secrets are write-only: answers and the audit
 * log carry their names only.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { conflict, notFound, parseBody, parseQuery, zodError } from '../api/admin/http.js';
import { applyNullablePatch, isObject, type JsonObject } from '../config/store-patch.js';
import { REDACTED } from '../store/redact.js';
import { mcpServerName, mcpServerSchema } from './config-schema.js';
import type { McpServerConfig } from './config.js';
import { registerMcpOAuthRoutes } from './oauth-routes.js';
import type { McpRuntime } from './plugin.js';

type Params = { name: string };

const createBody = z.object({ name: mcpServerName }).catchall(z.unknown());
const patchBody = z.record(z.string(), z.unknown());
const callsQuery = z.strictObject({
  server: z.string().optional(),
  tool: z.string().optional(),
  virtual_key_id: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before_id: z.coerce.number().int().positive().optional(),
});

/** Secret-bearing values replaced by a marker (names kept). */
function withoutSecrets(entry: JsonObject): JsonObject {
  const out: JsonObject = { ...entry };
  for (const field of ['headers', 'env'] as const) {
    if (isObject(out[field])) out[field] = Object.fromEntries(Object.keys(out[field] as JsonObject).map((name) => [name, REDACTED]));
  }
  if (isObject(out.oauth) && (out.oauth as JsonObject).client_secret !== undefined) out.oauth = { ...(out.oauth as JsonObject), client_secret: REDACTED };
  return out;
}

/** The OAuth settings and connection state (never a token or a secret). */
function oauthView(runtime: McpRuntime, config: McpServerConfig) {
  const oauth = config.oauth;
  if (oauth === undefined) return null;
  const record = runtime.store?.record(config.name);
  return {
    grant: oauth.grant,
    client_id: oauth.clientId ?? (typeof record?.client?.client_id === 'string' ? record.client.client_id : null),
    client_registered: oauth.clientId === undefined && record?.client !== undefined,
    scope: oauth.scope ?? null,
    issuer: oauth.issuer ?? null,
    connected: record?.tokens !== undefined,
    expires_at: record?.expiresAt ?? null,
    refreshable: record?.tokens?.refresh_token !== undefined,
  };
}

function serverView(runtime: McpRuntime, config: McpServerConfig) {
  const server = runtime.hub.server(config.name);
  const tools = server === undefined ? [] : runtime.hub.toolsOf(server);
  return {
    name: config.name,
    transport: config.transport,
    source: config.source,
    enabled: config.enabled,
    description: config.description,
    url: config.url ?? null,
    command: config.command ?? null,
    args: config.args,
    cwd: config.cwd ?? null,
    header_names: Object.keys(config.headers),
    env_names: Object.keys(config.env),
    oauth: oauthView(runtime, config),
    tool_filter: config.tools ?? null,
    price_per_call: config.pricePerCall,
    tool_prices: config.toolPrices,
    tool_timeout_ms: config.toolTimeoutMs ?? runtime.hub.settings.toolTimeoutMs,
    health: server?.health() ?? null,
    tools: tools.map((tool) => ({ name: tool.name, namespaced: `${config.name}__${tool.name}`, title: tool.title ?? null, description: tool.description ?? null, input_schema: tool.inputSchema })),
    prompts: server?.prompts.map((prompt) => ({ name: prompt.name, description: prompt.description ?? null })) ?? [],
    resources: server?.resources.map((resource) => ({ uri: resource.uri, name: resource.name, mime_type: resource.mimeType ?? null })) ?? [],
    resource_templates: server?.resourceTemplates.map((template) => ({ uri_template: template.uriTemplate, name: template.name, mime_type: template.mimeType ?? null })) ?? [],
  };
}

export function registerMcpAdminRoutes(api: FastifyInstance): void {
  if (!api.hasDecorator('mcp')) return;
  const runtime = api.mcp;
  const store = runtime.store;
  const audit = (actor: string, action: string, target: string, before: JsonObject | undefined, after: JsonObject | undefined): void => {
    api.store.config.appendAudit({ actor, action, target, before: before === undefined ? undefined : withoutSecrets(before), after: after === undefined ? undefined : withoutSecrets(after) });
  };
  const all = (): McpServerConfig[] => {
    const names = new Set<string>();
    const out: McpServerConfig[] = [];
    for (const server of [...api.configService.config.mcp.servers, ...runtime.storedServers()]) {
      if (names.has(server.name)) continue;
      names.add(server.name);
      out.push(server);
    }
    return out;
  };
  const find = (name: string): McpServerConfig => {
    const found = all().find((server) => server.name === name);
    if (found === undefined) throw notFound(`No MCP server is named "${name}".`, 'name');
    return found;
  };
  const stored = (name: string): JsonObject | undefined => store?.servers().find((row) => row.name === name)?.entry;
  const fileOwned = (name: string, what: string): void => {
    if (api.configService.config.mcp.servers.some((server) => server.name === name)) {
      throw conflict(`The MCP server "${name}" is declared in the config file (mcp.servers.${name}); ${what} it there.`, 'name');
    }
  };
  /** Validated entry (config-file shape); errors name the field. */
  const validate = (entry: JsonObject): JsonObject => {
    const parsed = mcpServerSchema.safeParse(entry);
    if (!parsed.success) throw zodError(parsed.error);
    return entry;
  };

  api.get('/mcp/servers', async () => ({ data: all().map((config) => serverView(runtime, config)) }));

  api.get<{ Params: Params }>('/mcp/servers/:name', async (request) => serverView(runtime, find(request.params.name)));

  api.post('/mcp/servers', async (request, reply) => {
    const { name, ...entry } = parseBody(createBody, request.body);
    if (store === undefined) throw conflict('MCP servers can be added only with a store.', null);
    fileOwned(name, 'change');
    if (stored(name) !== undefined) throw conflict(`An MCP server named "${name}" already exists.`, 'name');
    validate(entry);
    store.putServer(name, entry);
    audit(request.adminActor, 'mcp_server.create', name, undefined, entry);
    runtime.reload();
    reply.code(201);
    return serverView(runtime, find(name));
  });

  api.patch<{ Params: Params }>('/mcp/servers/:name', async (request) => {
    const name = request.params.name;
    find(name);
    fileOwned(name, 'change');
    const before = stored(name)!;
    const after = validate(applyNullablePatch(before, parseBody(patchBody, request.body)));
    store!.putServer(name, after);
    audit(request.adminActor, 'mcp_server.update', name, before, after);
    runtime.reload();
    return serverView(runtime, find(name));
  });

  api.delete<{ Params: Params }>('/mcp/servers/:name', async (request, reply) => {
    const name = request.params.name;
    find(name);
    fileOwned(name, 'remove');
    const before = stored(name)!;
    store!.deleteServer(name);
    audit(request.adminActor, 'mcp_server.delete', name, before, undefined);
    runtime.reload();
    reply.code(204);
  });

  api.post<{ Params: Params }>('/mcp/servers/:name/restart', async (request) => {
    const config = find(request.params.name);
    const server = runtime.hub.server(config.name);
    if (server === undefined) throw conflict(`The MCP server "${config.name}" is disabled.`, 'name');
    server.restart();
    audit(request.adminActor, 'mcp_server.restart', config.name, undefined, undefined);
    return serverView(runtime, config);
  });

  registerMcpOAuthRoutes(api, runtime, { find, audit: (actor, action, target) => audit(actor, action, target, undefined, undefined) });

  api.get('/mcp/calls', async (request) => {
    const query = parseQuery(callsQuery, request.query);
    const rows = store?.calls(query) ?? [];
    return { data: rows, next_cursor: rows.length === query.limit ? String(rows[rows.length - 1].id) : null };
  });
}
