/**
 * OAuth 2.1 for upstream MCP servers, on the SDK's client helpers (discovery
 * of the authorization server from the MCP server's protected-resource
 * metadata, dynamic client registration, PKCE S256, token requests, a refresh
 * after a 401), with the tokens kept encrypted in the store so a restart does
 * not ask again.
 *
 * - client credentials: Heimdall gets tokens with its own id and secret.
 * - authorization code: an operator connects the server once (oauth-routes.ts
 *   sends the browser to the authorization server and takes the callback);
 *   the connection then uses the stored tokens and refreshes them before they
 *   expire. Without tokens, or once the refresh token is refused, the server
 *   waits for an operator (AuthorizationRequiredError).
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization
 */
import type { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { redactText } from '../telemetry/secrets.js';
import type { McpServerConfig } from './config.js';
import { loadMcpSdk, type McpSdk } from './sdk.js';

/** What the store keeps of a server (sealed). */
export interface OAuthRecord {
  tokens?: OAuthTokens;
  /** When the access token expires (ms since the epoch), from `expires_in`. */
  expiresAt?: number;
  /** A client registered dynamically (authorization code without a configured client id). */
  client?: OAuthClientInformationMixed;
  /** The callback URL the tokens (and the registered client) were obtained with. */
  redirectUri?: string;
}

/** Where OAuth state lives between restarts (src/mcp/store.ts: sealed with the store's secret box). */
export interface OAuthTokenStore {
  get(server: string): OAuthTokens | undefined;
  save(server: string, tokens: OAuthTokens): void;
  record(server: string): OAuthRecord | undefined;
  putRecord(server: string, record: OAuthRecord): void;
  removeRecord(server: string): boolean;
}

export interface OAuthEvents {
  log(level: 'info' | 'warn', object: Record<string, unknown>, message: string): void;
}

/** The server needs an operator to authorize Heimdall (again). */
export class AuthorizationRequiredError extends Error {
  constructor(server: string, why: string) {
    super(`${why}: connect the MCP server "${server}" from the dashboard (or POST /api/mcp/servers/${server}/oauth/authorize)`);
  }
}

/** A token is refreshed this long before it expires. */
const REFRESH_MARGIN_MS = 60_000;

function clientCredentialsProvider(sdk: McpSdk, config: McpServerConfig, store: OAuthTokenStore | undefined): ClientCredentialsProvider {
  const oauth = config.oauth!;
  const options = { clientId: oauth.clientId!, clientSecret: oauth.clientSecret!, scope: oauth.scope, clientName: 'heimdall' };
  return new sdk.StoredClientCredentials(config.name, store, oauth.issuer === undefined ? options : { ...options, expectedIssuer: oauth.issuer });
}

/** One authorization in progress: the callback URL, the state sent, the PKCE verifier once known. */
interface Flow {
  redirectUrl: string;
  state: string;
  verifier?: string;
}

/**
 * The SDK's OAuthClientProvider for the authorization code grant. With a flow it serves the
 * operator's authorization (start, then code exchange); without one it serves the connection:
 * stored tokens, refreshed before they expire, and no redirect possible.
 */
class AuthorizationCodeProvider implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  saveClientInformation?: (client: OAuthClientInformationMixed) => void;
  private refreshing: Promise<unknown> | undefined;
  private inRefresh = false;

  constructor(
    private readonly config: McpServerConfig,
    private readonly store: OAuthTokenStore,
    private readonly flow: Flow | undefined,
    private readonly events: OAuthEvents | undefined,
  ) {
    // A configured client is never replaced by a registration (the SDK registers only when it can save).
    if (config.oauth!.clientId === undefined) {
      this.saveClientInformation = (client) => this.update({ client, ...(this.flow === undefined ? {} : { redirectUri: this.flow.redirectUrl }) });
    }
  }

  private get name(): string {
    return this.config.name;
  }

  private update(change: Partial<OAuthRecord>): void {
    this.store.putRecord(this.name, { ...this.store.record(this.name), ...change });
  }

  get redirectUrl(): string | undefined {
    return this.flow?.redirectUrl ?? this.store.record(this.name)?.redirectUri;
  }

  get clientMetadata(): OAuthClientMetadata {
    const oauth = this.config.oauth!;
    return {
      client_name: 'Heimdall',
      redirect_uris: this.redirectUrl === undefined ? [] : [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: oauth.clientSecret === undefined ? 'none' : 'client_secret_basic',
      scope: oauth.scope,
    };
  }

  state(): string {
    return this.flow?.state ?? '';
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    const oauth = this.config.oauth!;
    if (oauth.clientId !== undefined) {
      return { client_id: oauth.clientId, client_secret: oauth.clientSecret, ...(oauth.issuer === undefined ? {} : { issuer: oauth.issuer }) };
    }
    const record = this.store.record(this.name);
    // A client registered for another callback URL cannot take this one: register again.
    if (this.flow !== undefined && record?.redirectUri !== this.flow.redirectUrl) return undefined;
    return record?.client;
  }

  async tokens(): Promise<OAuthTokens | undefined> {
    // A new authorization starts from nothing (no refresh instead of the redirect).
    if (this.flow !== undefined) return undefined;
    const record = this.store.record(this.name);
    if (this.inRefresh || record?.tokens === undefined) return record?.tokens;
    const expiring = record.expiresAt !== undefined && record.expiresAt - Date.now() < REFRESH_MARGIN_MS;
    if (!expiring || record.tokens.refresh_token === undefined) return record.tokens;
    await this.refresh();
    return this.store.record(this.name)?.tokens;
  }

  /** One refresh at a time: the SDK's auth() refreshes when the stored tokens hold a refresh token. */
  private refresh(): Promise<unknown> {
    this.refreshing ??= (async () => {
      this.inRefresh = true;
      try {
        const sdk = await loadMcpSdk();
        await sdk.auth(this, { serverUrl: this.config.url!, scope: this.config.oauth!.scope });
        this.events?.log('info', { mcp_server: this.name }, 'mcp: OAuth access token refreshed');
      } catch (error) {
        // The old token is used; a 401 on it tries again, and a refused refresh asks for an operator.
        this.events?.log('warn', { mcp_server: this.name, err: redactText((error as Error).message).slice(0, 500) }, 'mcp: refreshing the OAuth access token failed');
      } finally {
        this.inRefresh = false;
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  saveTokens(tokens: OAuthTokens): void {
    const previous = this.store.record(this.name)?.tokens;
    // An authorization server that does not rotate refresh tokens leaves the old one valid.
    const refreshToken = tokens.refresh_token ?? (this.flow === undefined ? previous?.refresh_token : undefined);
    this.update({
      tokens: { ...tokens, ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }) },
      expiresAt: tokens.expires_in === undefined ? undefined : Date.now() + tokens.expires_in * 1000,
      ...(this.flow === undefined ? {} : { redirectUri: this.flow.redirectUrl }),
    });
  }

  redirectToAuthorization(url: URL): void {
    if (this.flow === undefined) throw new AuthorizationRequiredError(this.name, 'the authorization server no longer accepts Heimdall\'s tokens');
    this.authorizationUrl = url;
  }

  saveCodeVerifier(verifier: string): void {
    if (this.flow !== undefined) this.flow.verifier = verifier;
  }

  codeVerifier(): string {
    if (this.flow?.verifier === undefined) throw new Error('no authorization is in progress');
    return this.flow.verifier;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'verifier' || scope === 'discovery') return;
    const record = this.store.record(this.name);
    if (record === undefined) return;
    const { tokens: _tokens, expiresAt: _expiresAt, ...rest } = record;
    if (scope === 'tokens') this.store.putRecord(this.name, rest);
    else if (scope === 'client') this.store.putRecord(this.name, { ...record, client: undefined });
    else this.store.removeRecord(this.name);
  }
}

/** The SDK auth provider of an http/sse server's connection, or undefined without `oauth`. */
export function oauthProvider(sdk: McpSdk, config: McpServerConfig, store: OAuthTokenStore | undefined, events: OAuthEvents): OAuthClientProvider | undefined {
  if (config.oauth === undefined) return undefined;
  if (config.oauth.grant === 'client_credentials') return clientCredentialsProvider(sdk, config, store);
  if (store === undefined) throw new Error('the authorization code grant needs a store for its tokens');
  if (store.record(config.name)?.tokens === undefined) throw new AuthorizationRequiredError(config.name, 'Heimdall has not been authorized yet');
  return new AuthorizationCodeProvider(config, store, undefined, events);
}

/**
 * Starts an operator's authorization: discovery, registration when needed, and the authorization
 * URL (with the PKCE challenge and `state`) to send the browser to. The verifier stays with the caller.
 */
export async function beginAuthorization(config: McpServerConfig, store: OAuthTokenStore, redirectUrl: string, state: string): Promise<{ url: URL; verifier: string }> {
  const flow: Flow = { redirectUrl, state };
  const provider = new AuthorizationCodeProvider(config, store, flow, undefined);
  const { auth } = await loadMcpSdk();
  const result = await auth(provider, { serverUrl: config.url!, scope: config.oauth!.scope });
  if (result !== 'REDIRECT' || provider.authorizationUrl === undefined || flow.verifier === undefined) {
    throw new Error('the authorization server did not start an authorization');
  }
  return { url: provider.authorizationUrl, verifier: flow.verifier };
}

/** Ends an operator's authorization: the code exchanged (with the PKCE verifier) for tokens, stored. */
export async function finishAuthorization(config: McpServerConfig, store: OAuthTokenStore, redirectUrl: string, code: string, verifier: string): Promise<void> {
  const provider = new AuthorizationCodeProvider(config, store, { redirectUrl, state: '', verifier }, undefined);
  const { auth } = await loadMcpSdk();
  const result = await auth(provider, { serverUrl: config.url!, authorizationCode: code, scope: config.oauth!.scope });
  if (result !== 'AUTHORIZED') throw new Error('the authorization server did not issue tokens');
}
