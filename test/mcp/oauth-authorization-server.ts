/**
 * A real OAuth 2.1 authorization server and the MCP server it protects, on one loopback port:
 * the SDK's server-side auth router (metadata, dynamic client registration, authorize, token with
 * its own PKCE check, refresh) over a provider of ours that signs the user in with a cookie
 * (/login) before it issues a code, and the SDK's bearer middleware in front of a streamable HTTP
 * MCP server whose tool says which token called it. Counters let a test see what happened.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { InvalidGrantError, InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import type { AuthorizationParams, OAuthServerProvider } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import { getOAuthProtectedResourceMetadataUrl, mcpAuthRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { OAuthClientInformationFull, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';

const LOGIN_COOKIE = 'as_login';

interface Grant {
  clientId: string;
  scopes: string[];
  resource?: string;
}

class TestProvider implements OAuthServerProvider {
  readonly clients = new Map<string, OAuthClientInformationFull>();
  readonly codes = new Map<string, { grant: Grant; params: AuthorizationParams }>();
  readonly access = new Map<string, Grant & { expiresAt: number }>();
  readonly refresh = new Map<string, Grant>();
  registrations = 0;
  refreshes = 0;
  /** Lifetime of the next access tokens, in seconds. */
  accessTtl = 3600;
  /** The PKCE verifiers the token endpoint got, each checked against its code's S256 challenge. */
  verifiers: string[] = [];
  /** The PKCE check is this provider's (so the test sees the verifier): S256 of the verifier must be the challenge. */
  readonly skipLocalPkceValidation = true;

  get clientsStore() {
    return {
      getClient: async (id: string) => this.clients.get(id),
      registerClient: async (client: OAuthClientInformationFull) => {
        this.registrations++;
        this.clients.set(client.client_id, client);
        return client;
      },
    };
  }

  async authorize(client: OAuthClientInformationFull, params: AuthorizationParams, res: Parameters<OAuthServerProvider['authorize']>[2]): Promise<void> {
    const request = (res as unknown as { req: IncomingMessage & { originalUrl: string } }).req;
    // The user signs in first: a browser without the login cookie goes to /login and comes back.
    if (!(request.headers.cookie ?? '').includes(`${LOGIN_COOKIE}=operator`)) {
      res.redirect(`/login?next=${encodeURIComponent(request.originalUrl)}`);
      return;
    }
    if (!client.redirect_uris.includes(params.redirectUri)) throw new Error('unregistered redirect_uri');
    const code = randomUUID();
    this.codes.set(code, { grant: { clientId: client.client_id, scopes: params.scopes ?? [], resource: params.resource?.href }, params });
    const target = new URL(params.redirectUri);
    target.searchParams.set('code', code);
    if (params.state !== undefined) target.searchParams.set('state', params.state);
    res.redirect(target.href);
  }

  async challengeForAuthorizationCode(_client: OAuthClientInformationFull, code: string): Promise<string> {
    const found = this.codes.get(code);
    if (found === undefined) throw new InvalidGrantError('unknown code');
    return found.params.codeChallenge;
  }

  private issue(grant: Grant): OAuthTokens {
    const access = `at-${randomUUID()}`;
    const refresh = `rt-${randomUUID()}`;
    this.access.set(access, { ...grant, expiresAt: Date.now() + this.accessTtl * 1000 });
    this.refresh.set(refresh, grant);
    return { access_token: access, token_type: 'Bearer', expires_in: this.accessTtl, refresh_token: refresh, scope: grant.scopes.join(' ') };
  }

  async exchangeAuthorizationCode(client: OAuthClientInformationFull, code: string, verifier?: string): Promise<OAuthTokens> {
    const found = this.codes.get(code);
    if (found === undefined || found.grant.clientId !== client.client_id) throw new InvalidGrantError('unknown code');
    this.codes.delete(code);
    if (verifier === undefined || createHash('sha256').update(verifier).digest('base64url') !== found.params.codeChallenge) throw new InvalidGrantError('code_verifier does not match the challenge');
    this.verifiers.push(verifier);
    return this.issue(found.grant);
  }

  async exchangeRefreshToken(client: OAuthClientInformationFull, token: string): Promise<OAuthTokens> {
    const grant = this.refresh.get(token);
    if (grant === undefined || grant.clientId !== client.client_id) throw new InvalidGrantError('unknown refresh token');
    this.refresh.delete(token);
    this.refreshes++;
    return this.issue(grant);
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const grant = this.access.get(token);
    if (grant === undefined || grant.expiresAt <= Date.now()) throw new InvalidTokenError('unknown or expired token');
    return { token, clientId: grant.clientId, scopes: grant.scopes, expiresAt: Math.floor(grant.expiresAt / 1000) };
  }

  /** Every access token issued so far stops working (as if they had expired). */
  expireAccessTokens(): void {
    for (const grant of this.access.values()) grant.expiresAt = 0;
  }
}

export interface TestAuthorizationServer {
  base: string;
  mcpUrl: string;
  provider: TestProvider;
  /**
   * Requests to /mcp that carried a bearer token and were refused with 401. Requests without one
   * (the gateway's reconnect attempts for a server with no OAuth set up) are not counted.
   */
  refused: number;
  /** Access tokens /mcp accepted, in order. */
  accepted: string[];
  close(): Promise<void>;
}

export async function startAuthorizationServer(): Promise<TestAuthorizationServer> {
  const app = createMcpExpressApp({ host: '127.0.0.1' });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  const mcpUrl = `${base}/mcp`;
  const provider = new TestProvider();
  const state: TestAuthorizationServer = {
    base,
    mcpUrl,
    provider,
    refused: 0,
    accepted: [],
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  app.get('/login', (request: IncomingMessage & { query: Record<string, string> }, response: ServerResponse) => {
    response.writeHead(302, { 'set-cookie': `${LOGIN_COOKIE}=operator; Path=/; HttpOnly; SameSite=Lax`, location: request.query.next ?? '/' }).end();
  });
  app.use(mcpAuthRouter({ provider, issuerUrl: new URL(base), resourceServerUrl: new URL(mcpUrl), scopesSupported: ['mcp:tools'] }));
  const bearer = requireBearerAuth({ verifier: provider, resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(new URL(mcpUrl)) });
  app.all('/mcp', (request: IncomingMessage, response: ServerResponse, next: () => void) => {
    response.on('finish', () => {
      if (response.statusCode === 401 && request.headers.authorization !== undefined) state.refused++;
    });
    bearer(request as never, response as never, next);
  }, async (request: IncomingMessage & { auth?: AuthInfo; body?: unknown }, response: ServerResponse) => {
    state.accepted.push(request.auth!.token);
    const mcp = new McpServer({ name: 'secured', version: '1.0.0' });
    const token = request.auth!.token;
    mcp.registerTool('whoami', { description: 'Which token called.' }, async () => ({ content: [{ type: 'text', text: `token ${token}` }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    response.on('close', () => void transport.close());
    await mcp.connect(transport);
    await transport.handleRequest(request, response, request.body);
  });
  return state;
}
