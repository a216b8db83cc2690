/**
 * What Heimdall uses of the MCP SDK at run time, in one module that src/mcp/sdk.ts imports at first
 * use (a /mcp request, an upstream server to connect, an OAuth authorization). A gateway without MCP
 * never loads the SDK: about 4.7 MB of heap (docs/performance.md, Memory). In the bundle this is a
 * chunk of its own. Only type imports of the SDK may appear elsewhere.
 */
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { OAuthTokenStore } from './oauth.js';

export { ClientCredentialsProvider, StdioClientTransport };
export { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
export { Client } from '@modelcontextprotocol/sdk/client/index.js';
export { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
export { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
export { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
export { Server } from '@modelcontextprotocol/sdk/server/index.js';
export { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
export {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  PromptListChangedNotificationSchema,
  ReadResourceRequestSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

/**
 * A stdio transport that remembers its process id: the SDK forgets it as soon as it starts
 * closing, and its close waits with unref'd timers (stdin end, 2 s, SIGTERM), which a process
 * that exits meanwhile never finishes. UpstreamServer.stop() ends the ones still alive itself.
 */
export class TrackedStdioTransport extends StdioClientTransport {
  spawnedPid: number | null = null;

  override start(): Promise<void> {
    const started = super.start();
    this.spawnedPid = this.pid;
    return started;
  }
}

/** The client credentials grant: the SDK's provider, its tokens kept in the store too (oauth.ts). */
export class StoredClientCredentials extends ClientCredentialsProvider {
  constructor(
    private readonly server: string,
    private readonly store: OAuthTokenStore | undefined,
    options: ConstructorParameters<typeof ClientCredentialsProvider>[0],
  ) {
    super(options);
  }

  override tokens(): OAuthTokens | undefined {
    return super.tokens() ?? this.store?.get(this.server);
  }

  override saveTokens(tokens: OAuthTokens): void {
    super.saveTokens(tokens);
    this.store?.save(this.server, tokens);
  }
}
