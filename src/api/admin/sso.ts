/**
 * Single sign-on: OpenID Connect by discovery (Google, Entra ID, Okta, Keycloak, Auth0...) and
 * GitHub's OAuth, both through openid-client: authorization code with PKCE (S256), `state` checked
 * against the browser that started the sign-in (a short-lived HttpOnly cookie) and against the
 * store (one use, ten minutes), `nonce` checked in the ID token. A user is created on first sign-in
 * (just in time) with the role and team the claims map to; logout can end the provider's session.
 *
 * Every failure sends the browser back to the dashboard with `?sso_error=` (the sign-in page shows
 * it); the details go to the log, never a token.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 * @see https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type * as OpenId from 'openid-client';
import type { AuthConfig } from '../../auth/config.js';
import { claimValues, mapIdentity, pickUsername } from '../../auth/sso-mapping.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { UserRecord } from '../../store/auth-store.js';
import { isLoopbackAddress, readCookie, sessionCookie, type AdminAuth } from './auth.js';
import type { AuthRouteHooks, SsoNames } from './auth-routes.js';
import { resolveTeam } from './users.js';
import { isUniqueViolation } from '../../store/config-rows.js';

/** openid-client (and jose under it), loaded at the first sign-in: a gateway without SSO never loads it. */
let loadingClient: Promise<typeof OpenId> | undefined;
function openIdClient(): Promise<typeof OpenId> {
  loadingClient ??= import('openid-client').catch((error: unknown) => {
    loadingClient = undefined;
    throw error;
  });
  return loadingClient;
}

const FLOW_COOKIE = 'heimdall_sso';
const FLOW_TTL_MS = 10 * 60 * 1000;

type Provider = 'oidc' | 'github';

interface Flow {
  provider: Provider;
  verifier: string;
  nonce: string;
  redirectUri: string;
}

export function ssoNames(config: AuthConfig | undefined): SsoNames {
  return { oidc: config?.oidc === undefined ? null : config.oidc.name, github: config?.github !== undefined };
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** An http:// issuer is accepted on loopback only (a provider started for a test or on the same machine). */
function insecureAllowed(url: string): boolean {
  const parsed = new URL(url);
  return parsed.protocol === 'http:' && (isLoopbackAddress(parsed.hostname.replace(/^\[|\]$/g, '')) || parsed.hostname === 'localhost');
}

/** What a sign-in failure tells the browser (the log has the details). */
class SsoRefusal extends Error {}

export interface Sso {
  /** Where the browser goes to end the provider's session too (RP-initiated logout), or undefined. */
  endSessionUrl(request: FastifyRequest, idToken: string | null): Promise<string | undefined>;
}

export function registerSsoRoutes(api: FastifyInstance, auth: AdminAuth, hooks: Pick<AuthRouteHooks, 'audit'>): Sso {
  const settings = (): AuthConfig => api.configService.config.auth;
  const store = auth.store;
  const discovered = new Map<string, Promise<OpenId.Configuration>>();

  /** The provider's configuration, discovered once per issuer and client (a failed discovery is tried again next time). */
  function oidcConfiguration(client: typeof OpenId): Promise<OpenId.Configuration> {
    const oidc = settings().oidc;
    if (oidc === undefined) throw new GatewayError('HD_ERR_ADMIN_NOT_FOUND', 'Single sign-on with OpenID Connect is not configured (auth.oidc).');
    const key = `${oidc.issuer}\n${oidc.client_id}\n${oidc.client_secret ?? ''}`;
    let found = discovered.get(key);
    if (found === undefined) {
      const authentication = oidc.client_secret === undefined ? client.None() : client.ClientSecretPost(oidc.client_secret);
      found = client.discovery(new URL(oidc.issuer), oidc.client_id, oidc.client_secret, authentication, {
        execute: insecureAllowed(oidc.issuer) ? [client.allowInsecureRequests] : [],
        timeout: 10,
      });
      found.catch(() => discovered.delete(key));
      discovered.set(key, found);
    }
    return found;
  }

  function githubConfiguration(client: typeof OpenId): OpenId.Configuration {
    const github = settings().github;
    if (github === undefined) throw new GatewayError('HD_ERR_ADMIN_NOT_FOUND', 'Single sign-on with GitHub is not configured (auth.github).');
    const base = github.base_url.replace(/\/+$/, '');
    const configuration = new client.Configuration(
      { issuer: base, authorization_endpoint: `${base}/login/oauth/authorize`, token_endpoint: `${base}/login/oauth/access_token` },
      github.client_id,
      github.client_secret,
      client.ClientSecretPost(github.client_secret),
    );
    if (insecureAllowed(base)) client.allowInsecureRequests(configuration);
    return configuration;
  }

  function callbackUrl(request: FastifyRequest, provider: Provider): string {
    const configured = provider === 'oidc' ? settings().oidc?.redirect_url : settings().github?.redirect_url;
    return configured ?? `${request.protocol}://${request.headers.host}/api/auth/${provider}/callback`;
  }

  function flowCookie(request: FastifyRequest, value: string, maxAgeSeconds: number, secure: boolean): string {
    return `${FLOW_COOKIE}=${value}; Path=/api/auth; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure || request.protocol === 'https' ? '; Secure' : ''}`;
  }

  async function start(request: FastifyRequest, reply: FastifyReply, provider: Provider): Promise<FastifyReply> {
    try {
      const client = await openIdClient();
      const configuration = provider === 'oidc' ? await oidcConfiguration(client) : githubConfiguration(client);
      const redirectUri = callbackUrl(request, provider);
      const state = client.randomState();
      const flow: Flow = { provider, verifier: client.randomPKCECodeVerifier(), nonce: client.randomNonce(), redirectUri };
      store.putState(`sso:${digest(state)}`, flow, auth.now + FLOW_TTL_MS);
      const parameters: Record<string, string> = {
        redirect_uri: redirectUri,
        state,
        code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
        code_challenge_method: 'S256',
      };
      if (provider === 'oidc') {
        parameters.scope = settings().oidc!.scopes.join(' ');
        parameters.nonce = flow.nonce;
      } else {
        parameters.scope = 'read:user user:email read:org';
      }
      reply.header('set-cookie', flowCookie(request, state, FLOW_TTL_MS / 1000, redirectUri.startsWith('https://')));
      return reply.code(302).header('location', client.buildAuthorizationUrl(configuration, parameters).href).send();
    } catch (error) {
      request.log.error({ msg: 'single sign-on could not start', provider, error: (error as Error).message });
      return back(reply, `Single sign-on is not available: ${(error as Error).message}`);
    }
  }

  function back(reply: FastifyReply, message: string): FastifyReply {
    return reply.code(303).header('location', `/?sso_error=${encodeURIComponent(message.slice(0, 300))}`).send();
  }

  /** The identity the provider vouched for: id, names, and the values the role and team maps read. */
  interface Identity {
    externalId: string;
    /** Candidates for the username, best first. */
    username: Array<string | undefined>;
    email: string | undefined;
    displayName: string | undefined;
    roleValues: string[];
    teamValues: string[];
  }

  async function oidcIdentity(client: typeof OpenId, configuration: OpenId.Configuration, tokens: Awaited<ReturnType<typeof OpenId.authorizationCodeGrant>>): Promise<Identity> {
    const oidc = settings().oidc!;
    const idClaims = tokens.claims();
    if (idClaims === undefined) throw new SsoRefusal('the provider sent no ID token');
    let claims: Record<string, unknown> = { ...idClaims };
    const teamClaim = oidc.team_claim ?? oidc.role_claim;
    // Groups often come only from the UserInfo endpoint (Okta, Keycloak without a groups mapper in the ID token).
    const needsMore = claimValues(claims, oidc.role_claim).length === 0 || claims.email === undefined;
    if (needsMore && configuration.serverMetadata().userinfo_endpoint !== undefined) {
      const info = await client.fetchUserInfo(configuration, tokens.access_token, idClaims.sub);
      claims = { ...info, ...claims, ...(claimValues(claims, oidc.role_claim).length === 0 ? { [oidc.role_claim]: info[oidc.role_claim] } : {}) };
    }
    const email = typeof claims.email === 'string' ? claims.email : undefined;
    if (oidc.allowed_domains !== undefined) {
      const domain = email?.split('@')[1]?.toLowerCase();
      if (domain === undefined || !oidc.allowed_domains.some((allowed) => allowed.toLowerCase() === domain) || claims.email_verified === false) {
        throw new SsoRefusal('this account\'s email domain is not allowed here');
      }
    }
    const claim = (name: string) => (typeof claims[name] === 'string' ? (claims[name] as string) : undefined);
    return {
      externalId: `oidc:${idClaims.iss}#${idClaims.sub}`,
      username: [claim(oidc.username_claim), email, idClaims.sub],
      email,
      displayName: claim('name'),
      roleValues: claimValues(claims, oidc.role_claim),
      teamValues: claimValues(claims, teamClaim),
    };
  }

  async function githubJson<T>(path: string, token: string): Promise<T> {
    const base = settings().github!.api_url.replace(/\/+$/, '');
    const response = await fetch(`${base}${path}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.github+json', 'user-agent': 'heimdall-gateway', 'x-github-api-version': '2022-11-28' },
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) throw new SsoRefusal(`GitHub answered ${response.status} to ${path}`);
    return (await response.json()) as T;
  }

  async function githubIdentity(token: string): Promise<Identity> {
    const github = settings().github!;
    const user = await githubJson<{ id: number; login: string; name: string | null; email: string | null }>('/user', token);
    const needsOrgs = github.allowed_orgs !== undefined || Object.keys(github.role_map).length > 0 || Object.keys(github.team_map).length > 0;
    const values: string[] = [];
    if (needsOrgs) {
      const orgs = await githubJson<Array<{ login: string }>>('/user/orgs?per_page=100', token);
      const teams = await githubJson<Array<{ slug: string; organization: { login: string } }>>('/user/teams?per_page=100', token);
      values.push(...orgs.map((org) => org.login), ...teams.map((team) => `${team.organization.login}/${team.slug}`));
    }
    if (github.allowed_orgs !== undefined && !github.allowed_orgs.some((org) => values.includes(org))) {
      throw new SsoRefusal(`the GitHub account ${user.login} is in none of the allowed organisations`);
    }
    return {
      externalId: `github:${user.id}`,
      username: [user.login],
      email: user.email ?? undefined,
      displayName: user.name ?? undefined,
      roleValues: values,
      teamValues: values,
    };
  }

  /**
   * Finds or creates (just in time) the user. With a role_map, the role follows the provider's groups
   * on every sign-in (out of every mapped group: the default role, or refused without one), so a
   * removal at the provider takes effect at the next sign-in; without one, a role set here stays.
   * The team follows team_map the same way.
   */
  function provision(request: FastifyRequest, identity: Identity, provider: Provider): UserRecord {
    const audit = (action: string, user: UserRecord, after: unknown): void =>
      hooks.audit(request, action, { target: user.username, after, as: { actor: `sso:${provider}`, userId: user.id } });
    const source = provider === 'oidc' ? settings().oidc! : settings().github!;
    const mapped = mapIdentity(identity.roleValues, identity.teamValues, source);
    const teamId = mapped.team === null ? null : (resolveTeam(api.governance, mapped.team) ?? null);
    const existing = store.getUserByExternalId(identity.externalId);
    if (existing !== undefined) {
      if (existing.disabled) throw new SsoRefusal('this account is disabled');
      const role = Object.keys(source.role_map).length === 0 ? existing.role : mapped.role;
      if (role === null) throw new SsoRefusal('no group of this account maps to a role here any more, and there is no default role');
      const team = Object.keys(source.team_map).length === 0 ? existing.team_id : teamId;
      if (role === existing.role && team === existing.team_id) return existing;
      const updated = store.updateUser(existing.id, { role, team_id: team });
      audit('user.update', existing, { role, team_id: team, from: provider });
      return updated!;
    }
    if (mapped.role === null) throw new SsoRefusal('no group of this account maps to a role here, and there is no default role');
    let user: UserRecord;
    try {
      user = store.createUser({
        username: pickUsername(identity.username, (name) => store.getUserByName(name) !== undefined),
        role: mapped.role,
        team_id: teamId,
        email: identity.email ?? null,
        display_name: identity.displayName ?? null,
        source: provider,
        external_id: identity.externalId,
      });
    } catch (error) {
      // A first sign-in of the same account in another worker process made it a moment ago.
      const made = isUniqueViolation(error) ? store.getUserByExternalId(identity.externalId) : undefined;
      if (made === undefined) throw error;
      return made;
    }
    audit('user.create', user, { role: user.role, team_id: user.team_id, from: provider });
    return user;
  }

  async function callback(request: FastifyRequest<{ Querystring: Record<string, string> }>, reply: FastifyReply, provider: Provider): Promise<FastifyReply> {
    const query = request.query ?? {};
    const state = typeof query.state === 'string' ? query.state : '';
    const clearFlow = flowCookie(request, '', 0, false);
    try {
      if (typeof query.error === 'string') throw new SsoRefusal(`the provider refused: ${query.error_description ?? query.error}`);
      const browserState = readCookie(request.headers.cookie, FLOW_COOKIE);
      // The state must be the one this browser was sent off with, and still unused in the store.
      const flow = state === '' ? undefined : store.takeState<Flow>(`sso:${digest(state)}`);
      if (flow === undefined || flow.provider !== provider || browserState !== state) {
        request.log.warn({ msg: 'single sign-on refused: unknown, reused or foreign state', provider, cookie_matches: browserState === state });
        throw new SsoRefusal('the sign-in request was not started here or has expired; start again');
      }
      const client = await openIdClient();
      const configuration = provider === 'oidc' ? await oidcConfiguration(client) : githubConfiguration(client);
      const currentUrl = new URL(flow.redirectUri);
      currentUrl.search = new URLSearchParams(query).toString();
      const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: flow.verifier,
        expectedState: state,
        ...(provider === 'oidc' ? { expectedNonce: flow.nonce, idTokenExpected: true } : {}),
      });
      const identity = provider === 'oidc' ? await oidcIdentity(client, configuration, tokens) : await githubIdentity(tokens.access_token);
      const user = provision(request, identity, provider);
      store.recordLoginSuccess(user.id);
      const { secret, session } = auth.openSession(request, user, provider, provider === 'oidc' ? tokens.id_token : undefined);
      hooks.audit(request, 'auth.login', { after: { method: provider }, as: { actor: `user:${user.username}`, userId: user.id } });
      const maxAge = Math.max(1, Math.round((session.expires_at - auth.now) / 1000));
      const secure = flow.redirectUri.startsWith('https://');
      reply.header('set-cookie', [clearFlow, sessionCookie(request, secret, maxAge, secure)]);
      return reply.code(303).header('location', '/').header('cache-control', 'no-store').send();
    } catch (error) {
      const message = error instanceof SsoRefusal ? error.message : `the provider's answer could not be verified (${(error as Error).message})`;
      request.log.warn({ msg: 'single sign-on failed', provider, reason: message });
      reply.header('set-cookie', clearFlow);
      return back(reply, `Single sign-on failed: ${message}`);
    }
  }

  api.get('/auth/oidc/login', (request, reply) => start(request, reply, 'oidc'));
  api.get<{ Querystring: Record<string, string> }>('/auth/oidc/callback', (request, reply) => callback(request, reply, 'oidc'));
  api.get('/auth/github/login', (request, reply) => start(request, reply, 'github'));
  api.get<{ Querystring: Record<string, string> }>('/auth/github/callback', (request, reply) => callback(request, reply, 'github'));

  return {
    async endSessionUrl(request, idToken) {
      const oidc = settings().oidc;
      if (idToken === null || oidc === undefined || !oidc.end_session) return undefined;
      const client = await openIdClient();
      const found = await oidcConfiguration(client).catch(() => undefined);
      if (found?.serverMetadata().end_session_endpoint === undefined) return undefined;
      const home = oidc.redirect_url === undefined ? `${request.protocol}://${request.headers.host}/` : new URL('/', oidc.redirect_url).href;
      return client.buildEndSessionUrl(found, { id_token_hint: idToken, post_logout_redirect_uri: home }).href;
    },
  };
}
