/**
 * Connecting an upstream MCP server with the OAuth authorization code grant:
 *
 * - `POST /api/mcp/servers/:name/oauth/authorize` starts it (discovery, registration when
 *   needed, PKCE S256) and answers the authorization URL; the browser that asked gets the state
 *   in a short-lived HttpOnly cookie, and the store keeps the flow (the verifier sealed) under
 *   the state's digest, with the operator who started it.
 * - `GET /api/mcp/oauth/callback` is where the authorization server sends the browser back: the
 *   state must be the one this browser was sent off with, unused, under ten minutes old, and
 *   started by the same operator (same session); then the code is exchanged (with the verifier),
 *   the tokens stored encrypted, the server reconnected, and the browser sent to the dashboard.
 * - `DELETE /api/mcp/servers/:name/oauth` forgets the tokens (disconnect).
 *
 * The verifier never leaves the server: not in an answer, a cookie, a redirect or the log.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readCookie } from '../api/admin/auth.js';
import { conflict } from '../api/admin/http.js';
import { GatewayError } from '../errors/gateway-error.js';
import { redactText } from '../telemetry/secrets.js';
import type { McpServerConfig } from './config.js';
import { beginAuthorization, finishAuthorization } from './oauth.js';
import type { McpRuntime } from './plugin.js';

const FLOW_COOKIE = 'heimdall_mcp_oauth';
const FLOW_TTL_MS = 10 * 60 * 1000;
const CALLBACK_PATH = '/api/mcp/oauth/callback';
/** Where the browser lands afterwards: the dashboard's MCP servers page. */
const DASHBOARD_PAGE = '/mcp-servers';

interface StoredFlow {
  server: string;
  /** Sealed with the store's secret box. */
  verifier: string;
  redirectUri: string;
  actor: string;
  session: string | null;
}

export interface OAuthRouteHelpers {
  find(name: string): McpServerConfig;
  audit(actor: string, action: string, target: string): void;
}

function stateKey(state: string): string {
  return `mcp-oauth:${createHash('sha256').update(state).digest('hex')}`;
}

function sameText(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}

function flowCookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  return `${FLOW_COOKIE}=${value}; Path=${CALLBACK_PATH}; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${request.protocol === 'https' ? '; Secure' : ''}`;
}

function authorizationCodeServer(config: McpServerConfig): void {
  if (config.oauth?.grant !== 'authorization_code') {
    throw conflict(`The MCP server "${config.name}" does not use the OAuth authorization code grant (oauth.grant: "authorization_code").`, 'name');
  }
}

export function registerMcpOAuthRoutes(api: FastifyInstance, runtime: McpRuntime, helpers: OAuthRouteHelpers): void {
  const store = runtime.store;
  if (store === undefined) return;
  const states = api.store.auth;
  const box = api.store.secrets;

  const callbackUrl = (request: FastifyRequest): string => runtime.hub.settings.oauthRedirectUrl ?? `${request.protocol}://${request.host}${CALLBACK_PATH}`;

  const back = (reply: FastifyReply, query: Record<string, string>): FastifyReply =>
    reply.code(303).header('location', `${DASHBOARD_PAGE}?${new URLSearchParams(query).toString()}`).header('cache-control', 'no-store').send();

  api.post<{ Params: { name: string } }>('/mcp/servers/:name/oauth/authorize', async (request, reply) => {
    const config = helpers.find(request.params.name);
    authorizationCodeServer(config);
    const redirectUri = callbackUrl(request);
    const state = randomBytes(32).toString('base64url');
    let started: { url: URL; verifier: string };
    try {
      started = await beginAuthorization(config, store, redirectUri, state);
    } catch (error) {
      const message = redactText((error as Error).message).slice(0, 500);
      request.log.warn({ mcp_server: config.name, err: message }, 'mcp: an OAuth authorization could not start');
      throw new GatewayError('HD_ERR_MCP_OAUTH_FAILED', `The authorization of the MCP server "${config.name}" could not start: ${message}`);
    }
    const flow: StoredFlow = {
      server: config.name,
      verifier: box.encrypt(started.verifier),
      redirectUri,
      actor: request.adminActor,
      session: request.principal.session?.id ?? null,
    };
    states.putState(stateKey(state), flow, Date.now() + FLOW_TTL_MS);
    helpers.audit(request.adminActor, 'mcp_server.authorize', config.name);
    reply.header('set-cookie', flowCookie(request, state, FLOW_TTL_MS / 1000)).header('cache-control', 'no-store');
    return { authorization_url: started.url.href, redirect_uri: redirectUri, expires_in: FLOW_TTL_MS / 1000 };
  });

  api.get<{ Querystring: Record<string, string> }>('/mcp/oauth/callback', async (request, reply) => {
    const query = request.query ?? {};
    const state = typeof query.state === 'string' ? query.state : '';
    reply.header('set-cookie', flowCookie(request, '', 0));
    const browserState = readCookie(request.headers.cookie, FLOW_COOKIE) ?? '';
    // One use: the flow is taken whatever follows.
    const flow = state === '' ? undefined : states.takeState<StoredFlow>(stateKey(state));
    const sameBrowser = browserState !== '' && sameText(browserState, state);
    const sameOperator = flow !== undefined && flow.actor === request.adminActor && flow.session === (request.principal.session?.id ?? null);
    if (flow === undefined || !sameBrowser || !sameOperator) {
      request.log.warn({ msg: 'mcp: OAuth callback refused: unknown, reused or foreign state', known: flow !== undefined, cookie_matches: sameBrowser, same_operator: sameOperator });
      return back(reply, { oauth_error: 'The authorization was not started here, by you, or has expired; start it again.' });
    }
    if (typeof query.error === 'string') {
      const reason = `the authorization server refused: ${String(query.error_description ?? query.error).slice(0, 200)}`;
      request.log.warn({ mcp_server: flow.server, reason }, 'mcp: OAuth authorization refused');
      return back(reply, { oauth_error: reason, server: flow.server });
    }
    if (typeof query.code !== 'string' || query.code === '') return back(reply, { oauth_error: 'The authorization server sent no code.', server: flow.server });
    let config: McpServerConfig;
    try {
      config = helpers.find(flow.server);
      authorizationCodeServer(config);
      await finishAuthorization(config, store, flow.redirectUri, query.code, box.decrypt(flow.verifier));
    } catch (error) {
      const reason = `the code could not be exchanged for tokens (${redactText((error as Error).message).slice(0, 200)})`;
      request.log.warn({ mcp_server: flow.server, reason }, 'mcp: OAuth authorization failed');
      return back(reply, { oauth_error: reason, server: flow.server });
    }
    helpers.audit(request.adminActor, 'mcp_server.connect', config.name);
    runtime.hub.server(config.name)?.restart();
    return back(reply, { oauth_connected: config.name });
  });

  api.delete<{ Params: { name: string } }>('/mcp/servers/:name/oauth', async (request, reply) => {
    const config = helpers.find(request.params.name);
    if (config.oauth === undefined) throw conflict(`The MCP server "${config.name}" does not use OAuth.`, 'name');
    store.removeRecord(config.name);
    helpers.audit(request.adminActor, 'mcp_server.disconnect', config.name);
    runtime.hub.server(config.name)?.restart();
    reply.code(204);
  });
}
