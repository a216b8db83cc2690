/**
 * The `mcp` section of the config file: the upstream MCP servers Heimdall
 * connects to (streamable HTTP, SSE, or stdio processes it supervises) and the
 * settings of its own MCP endpoint (/mcp) and of the server-side tool loop.
 * src/config/schema.ts mounts it; docs/mcp.md documents it.
 */
import { z } from 'zod';

/** Server names become tool prefixes (`github__create_issue`): no "__", no "+". */
export const MCP_SERVER_NAME = /^[a-z0-9](?:[a-z0-9-]|_(?!_))*$/;
export const mcpServerName = z
  .string()
  .max(48)
  .regex(MCP_SERVER_NAME, 'lowercase letters, digits, "-" and single "_", starting with a letter or digit');

const secretValue = z.string().describe('A value, written inline or as "env.NAME" to read it from the environment variable NAME.');

export const oauthSchema = z
  .strictObject({
    grant: z.enum(['client_credentials', 'authorization_code']).default('client_credentials')
      .describe('"client_credentials": Heimdall gets tokens with its own client id and secret; "authorization_code": an operator connects the server once from the dashboard or the API (OAuth 2.1 with PKCE) and Heimdall keeps and refreshes the tokens.'),
    client_id: z.string().min(1).optional().describe('OAuth client id (authorization_code: optional, Heimdall registers itself when the authorization server supports dynamic client registration).'),
    client_secret: secretValue.min(1).optional().describe('OAuth client secret (or "env.NAME"); authorization_code: only for a confidential client.'),
    scope: z.string().min(1).optional().describe('Scopes to ask for, space-separated.'),
    issuer: z.string().url().optional().describe('The authorization server\'s issuer URL: the client secret is sent to it only, whatever the MCP server names (recommended).'),
  })
  .superRefine((oauth, ctx) => {
    if (oauth.grant === 'client_credentials') {
      if (oauth.client_id === undefined) ctx.addIssue({ code: 'custom', path: ['client_id'], message: 'required for the client_credentials grant' });
      if (oauth.client_secret === undefined) ctx.addIssue({ code: 'custom', path: ['client_secret'], message: 'required for the client_credentials grant' });
    } else if (oauth.client_secret !== undefined && oauth.client_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['client_id'], message: 'a client secret needs its client id' });
    }
  })
  .describe('OAuth 2.1 for an http/sse server: Heimdall discovers the authorization server from the MCP server\'s protected-resource metadata and keeps the tokens encrypted in the store.');

export const mcpServerSchema = z
  .strictObject({
    transport: z.enum(['http', 'sse', 'stdio']).describe('"http": streamable HTTP; "sse": the older HTTP+SSE transport; "stdio": a process Heimdall starts and supervises.'),
    enabled: z.boolean().default(true),
    description: z.string().max(1000).optional().describe('Shown in the dashboard.'),
    url: z.string().url().optional().describe('http/sse: the server\'s endpoint URL.'),
    headers: z.record(z.string().min(1), secretValue).optional().describe('http/sse: headers sent with every request (values may be "env.NAME").'),
    oauth: oauthSchema.optional(),
    command: z.string().min(1).optional().describe('stdio: the program to start.'),
    args: z.array(z.string()).optional().describe('stdio: its arguments.'),
    env: z.record(z.string().min(1), secretValue).optional().describe('stdio: environment variables added to PATH/HOME/... (values may be "env.NAME").'),
    cwd: z.string().min(1).optional().describe('stdio: working directory (default: Heimdall\'s).'),
    tools: z.array(z.string().min(1)).optional().describe('Only these tools of the server are exposed (names or "*" patterns); default all.'),
    price_per_call: z.number().min(0).finite().optional().describe('USD charged to the caller\'s budgets for each call of one of its tools.'),
    tool_prices: z.record(z.string().min(1), z.number().min(0).finite()).optional().describe('USD per call of particular tools (by the server\'s tool name), over price_per_call.'),
    tool_timeout_ms: z.number().int().positive().optional().describe('Longest time a tool call may take (default mcp.tool_timeout_ms).'),
  })
  .superRefine((server, ctx) => {
    if (server.transport === 'stdio') {
      if (server.command === undefined) ctx.addIssue({ code: 'custom', path: ['command'], message: 'required for a stdio server' });
      if (server.url !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'a stdio server has no url' });
    } else {
      if (server.url === undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: `required for an ${server.transport} server` });
      if (server.command !== undefined) ctx.addIssue({ code: 'custom', path: ['command'], message: 'only a stdio server has a command' });
    }
  })
  .describe('One upstream MCP server.');

export const mcpSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve /mcp and connect to the servers below.'),
    require_key: z.boolean().default(true).describe('/mcp and MCP tools on model calls need a valid virtual key, whatever governance.enforce says; false: they follow governance.enforce.'),
    servers: z.record(mcpServerName, mcpServerSchema).default({}).describe('Upstream MCP servers by name; the name prefixes their tools ("github__create_issue").'),
    tool_timeout_ms: z.number().int().positive().default(60_000).describe('Longest time a tool call may take before it fails.'),
    connect_timeout_ms: z.number().int().positive().default(30_000).describe('Longest time to connect to (or start) a server and list its tools.'),
    restart_min_ms: z.number().int().positive().default(1_000).describe('First wait before reconnecting to (or restarting) a server that failed; doubled on each failure in a row.'),
    restart_max_ms: z.number().int().positive().default(60_000).describe('Longest wait between two reconnection attempts.'),
    session_idle_ms: z.number().int().positive().default(30 * 60_000).describe('An /mcp session unused this long is closed.'),
    max_sessions: z.number().int().positive().default(1000).describe('Open /mcp sessions at most; the idlest is closed past it.'),
    oauth_redirect_url: z.string().url().optional().describe('The URL of Heimdall\'s OAuth callback (…/api/mcp/oauth/callback) as browsers reach it, when a proxy changes it; default: from the request that starts the authorization.'),
    tool_loop: z
      .strictObject({
        max_turns: z.number().int().min(1).max(50).default(8).describe('Model calls per request at most.'),
        timeout_ms: z.number().int().positive().default(300_000).describe('Longest time for the whole loop.'),
      })
      .prefault({})
      .describe('The server-side tool loop (x-heimdall-mcp-execute: true).'),
  })
  .describe('MCP gateway: upstream MCP servers and Heimdall\'s own MCP endpoint (docs/mcp.md).');

export type McpFile = z.infer<typeof mcpSchema>;
export type McpServerFile = z.infer<typeof mcpServerSchema>;
