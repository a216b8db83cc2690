/**
 * OAuth 2.1 client credentials for an upstream MCP server: the SDK's provider
 * (discovery of the authorization server from the MCP server's protected
 * resource metadata, the token request, a new token after a 401), with the
 * tokens kept encrypted in the store so a restart does not ask for a new one.
 */
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { McpServerConfig } from './config.js';

/** Where tokens live between restarts (src/mcp/store.ts: sealed with the store's secret box). */
export interface OAuthTokenStore {
  get(server: string): OAuthTokens | undefined;
  save(server: string, tokens: OAuthTokens): void;
}

class StoredClientCredentials extends ClientCredentialsProvider {
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

export function clientCredentialsProvider(config: McpServerConfig, store: OAuthTokenStore | undefined): ClientCredentialsProvider {
  const oauth = config.oauth!;
  const options = { clientId: oauth.clientId, clientSecret: oauth.clientSecret, scope: oauth.scope, clientName: 'heimdall' };
  return new StoredClientCredentials(config.name, store, oauth.issuer === undefined ? options : { ...options, expectedIssuer: oauth.issuer });
}
