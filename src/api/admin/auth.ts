/**
 * Who is calling the management API, and may they make this call.
 *
 * A caller is one of:
 * - a user, signed in by password or single sign-on: a session cookie (HttpOnly, SameSite=Lax,
 *   Secure over TLS, Path=/api) whose row lives in the store, so it survives a restart and an
 *   admin can end it;
 * - a user's personal API token (`Authorization: Bearer hdp_...`), narrowed by its scopes;
 * - the admin token (HEIMDALL_ADMIN_TOKEN or admin.token) as a Bearer header, or a session opened
 *   with it: the admin role, for automation and for the first start;
 * - a loopback client while no admin token and no user exist (the zero-config default), under a
 *   loopback Host name only (a DNS-rebinding page that resolves its own name to 127.0.0.1 is refused).
 *
 * Then the route's entry in the access table (src/auth/access.ts) decides. A state-changing call a
 * browser sends from another site (Origin or Sec-Fetch-Site says so) is refused whoever sends it.
 * /v1 never looks at any of this.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { accessOf, roleAllows, scopesAllow, type AccessLevel } from '../../auth/access.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { AuthStore, Role, SessionRecord, UserRecord } from '../../store/auth-store.js';

export interface Principal {
  kind: 'none' | 'loopback' | 'admin_token' | 'session' | 'api_token';
  /** null: not signed in. */
  role: Role | null;
  user: UserRecord | undefined;
  /** A member's team. */
  teamId: string | null;
  /** May read the bodies of logged requests. */
  viewBodies: boolean;
  /** A personal API token's scopes (undefined: not a token). */
  scopes: string[] | undefined;
  session: SessionRecord | undefined;
  /** For the audit log: "loopback", "token", "session:<label>", "user:<name>", "user:<name>/token:<token name>". */
  actor: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who called the management API, for the audit log (Principal.actor). */
    adminActor: string;
    principal: Principal;
    /** Set when a member calls a team-limited route: only this team's records may be read or changed. */
    teamScope: string | undefined;
  }
}

export const SESSION_COOKIE = 'heimdall_session';
/** Failed admin-token, password or API-token attempts allowed per client address in a window before 429. */
const MAX_FAILURES = 10;
const FAILURE_WINDOW_MS = 5 * 60 * 1000;
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const SETUP_STATE_KEY = 'setup_token';
export const API_TOKEN_PREFIX = 'hdp_';

export const NOBODY: Principal = {
  kind: 'none', role: null, user: undefined, teamId: null, viewBodies: false, scopes: undefined, session: undefined, actor: '',
};

export interface AdminAuthOptions {
  token(): string | undefined;
  sessionTtlHours(): number;
  store: AuthStore;
  now?: () => number;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Compares digests, so neither the length nor the content of the token leaks through timing. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(sha256(given), sha256(expected));
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const ip = address.startsWith('::ffff:') ? address.slice(7) : address;
  return ip === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip);
}

/** localhost, 127.x.y.z or [::1], with or without a port. */
function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** The source address failures are counted by (the socket's: a forwarded-for header is the caller's to forge). */
export function clientAddress(request: FastifyRequest): string {
  return request.socket.remoteAddress ?? 'unknown';
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function bearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function userPrincipal(kind: Principal['kind'], user: UserRecord, actor: string, extra: Partial<Principal> = {}): Principal {
  return {
    kind, role: user.role, user, teamId: user.role === 'member' ? user.team_id : null,
    viewBodies: user.role === 'admin' || user.role === 'operator' || user.view_bodies, scopes: undefined, session: undefined, actor, ...extra,
  };
}

const ADMIN_BY_TOKEN: Principal = { ...NOBODY, kind: 'admin_token', role: 'admin', viewBodies: true, actor: 'token' };
const LOOPBACK: Principal = { ...NOBODY, kind: 'loopback', role: 'admin', viewBodies: true, actor: 'loopback' };

export class AdminAuth {
  readonly #options: AdminAuthOptions;
  readonly #now: () => number;
  readonly #failures = new Map<string, { count: number; resetAt: number }>();

  constructor(options: AdminAuthOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get store(): AuthStore {
    return this.#options.store;
  }

  get now(): number {
    return this.#now();
  }

  get hasAdminToken(): boolean {
    return this.#options.token() !== undefined;
  }

  /** Sign-in is needed once an admin token or any user exists; before that, loopback clients are admins. */
  get required(): boolean {
    return this.hasAdminToken || this.#options.store.countUsers() > 0;
  }

  /** No user and no admin token: the first admin is still to be made (setup token or loopback). */
  get setupPending(): boolean {
    return !this.hasAdminToken && this.#options.store.countUsers() === 0;
  }

  get sessionTtlMs(): number {
    return this.#options.sessionTtlHours() * 60 * 60 * 1000;
  }

  /** Makes a new one-time setup token (the banner prints it); only its digest is kept, shared by every process. */
  issueSetupToken(): string {
    const token = `hds_${randomBytes(24).toString('base64url')}`;
    this.#options.store.putState(SETUP_STATE_KEY, { digest: sha256(token).toString('hex') }, this.#now() + 365 * 24 * 60 * 60 * 1000);
    return token;
  }

  checkSetupToken(given: string): boolean {
    const state = this.#options.store.getState<{ digest: string }>(SETUP_STATE_KEY);
    if (state === undefined) return false;
    return timingSafeEqual(sha256(given), Buffer.from(state.digest, 'hex'));
  }

  #adminTokenMatches(given: string): boolean {
    const token = this.#options.token();
    return token !== undefined && sameSecret(given, token);
  }

  /** The caller, or NOBODY. Throws only for a Bearer value that is wrong (after counting it). */
  identify(request: FastifyRequest): Principal {
    const store = this.#options.store;
    const given = bearer(request.headers.authorization);
    // Without an admin token only personal API tokens are Bearer credentials (a stray header changes nothing).
    if (given !== undefined && (this.hasAdminToken || given.startsWith(API_TOKEN_PREFIX))) return this.#identifyBearer(request, given);
    const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (cookie !== undefined && cookie !== '') {
      const session = store.findSession(cookie);
      const principal = session === undefined ? undefined : this.#sessionPrincipal(session);
      if (principal !== undefined) {
        store.touchSession(session!);
        return principal;
      }
    }
    if (!this.required && isLoopbackAddress(request.socket.remoteAddress)) return LOOPBACK;
    return NOBODY;
  }

  #identifyBearer(request: FastifyRequest, given: string): Principal {
    const store = this.#options.store;
    // A Bearer value is a guess at a secret like a login is: the same limiter counts both.
    this.checkFailures(clientAddress(request), false);
    if (given.startsWith(API_TOKEN_PREFIX)) {
      const token = store.findToken(given);
      const user = token === undefined ? undefined : store.getUser(token.user_id);
      if (token !== undefined && user !== undefined && !user.disabled) {
        return userPrincipal('api_token', user, `user:${user.username}/token:${token.name}`, { scopes: token.scopes });
      }
      this.recordFailure(request, 'personal API token not valid (unknown, expired or its user disabled)');
    } else if (this.#adminTokenMatches(given)) {
      return ADMIN_BY_TOKEN;
    } else {
      this.recordFailure(request, 'admin token in the Authorization header is not valid');
    }
    throw new GatewayError('HD_ERR_ADMIN_UNAUTHORIZED', 'The token in the Authorization header is not valid (wrong, expired or revoked).');
  }

  #sessionPrincipal(session: SessionRecord): Principal | undefined {
    const store = this.#options.store;
    if (session.user_id === null) {
      // Opened with the admin token: a changed or removed token ends it.
      const token = this.#options.token();
      if (token !== undefined && session.token_digest === sha256(token).toString('hex')) {
        return { ...ADMIN_BY_TOKEN, kind: 'session', session, actor: `session:${session.label}` };
      }
    } else {
      const user = store.getUser(session.user_id);
      if (user !== undefined && !user.disabled) return userPrincipal('session', user, `user:${user.username}`, { session });
    }
    store.deleteSession(session.id);
    return undefined;
  }

  /** The onRequest check of every /api route: who calls, and does the access table let them. */
  guard(request: FastifyRequest): void {
    this.#refuseCrossSite(request);
    const principal = this.identify(request);
    request.principal = principal;
    request.adminActor = principal.actor;
    request.teamScope = undefined;
    const url = request.routeOptions.url;
    const access = url === undefined ? undefined : accessOf(request.method, url);
    const level: AccessLevel = access?.[0] ?? 'self';
    if (level === 'open') return;
    if (principal.role === null) this.#refuseAnonymous();
    if (access === undefined) {
      // A route nobody listed in the access table is refused to everyone (the table test names it).
      if (url !== undefined) throw new GatewayError('HD_ERR_ADMIN_ROLE_FORBIDDEN', `${request.method} ${url} has no entry in the access table; nobody may call it.`);
      return;
    }
    const verdict = roleAllows(level, principal.role!);
    if (verdict === false) {
      throw new GatewayError('HD_ERR_ADMIN_ROLE_FORBIDDEN', `The ${principal.role} role may not call ${request.method} ${url}.`);
    }
    if (principal.scopes !== undefined && !scopesAllow(principal.scopes, request.method, access[1])) {
      throw new GatewayError('HD_ERR_ADMIN_ROLE_FORBIDDEN', `This API token's scopes (${principal.scopes.join(', ')}) do not allow ${request.method} ${url}.`);
    }
    if (verdict === 'team') {
      if (principal.teamId === null) throw new GatewayError('HD_ERR_ADMIN_ROLE_FORBIDDEN', 'This member account belongs to no team, so it may not see team records yet.');
      request.teamScope = principal.teamId;
    }
  }

  #refuseAnonymous(): never {
    if (!this.required) {
      throw new GatewayError(
        'HD_ERR_ADMIN_LOOPBACK_ONLY',
        'No admin token and no user exist yet, so the management API answers loopback clients only. Create the first admin with the setup token printed at start (POST /api/auth/setup), or set HEIMDALL_ADMIN_TOKEN.',
      );
    }
    throw new GatewayError(
      'HD_ERR_ADMIN_UNAUTHORIZED',
      'The management API needs a sign-in: POST /api/auth/login (username and password, or the admin token), single sign-on, or "Authorization: Bearer <admin token or personal API token>".',
    );
  }

  #refuseCrossSite(request: FastifyRequest): void {
    if (!this.required && isLoopbackAddress(request.socket.remoteAddress) && !isLoopbackHost(request.headers.host)) {
      throw new GatewayError(
        'HD_ERR_ADMIN_FORBIDDEN',
        'Without an admin token or users the management API answers only under a loopback name (http://127.0.0.1:PORT or http://localhost:PORT). Set HEIMDALL_ADMIN_TOKEN or create a user to use another name.',
      );
    }
    if (!UNSAFE_METHODS.has(request.method)) return;
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        host = undefined;
      }
      if (host !== request.headers.host) {
        throw new GatewayError('HD_ERR_ADMIN_FORBIDDEN', `A management API call from another site (Origin ${origin}) was refused.`);
      }
    } else if (origin === 'null' || request.headers['sec-fetch-site'] === 'cross-site') {
      throw new GatewayError('HD_ERR_ADMIN_FORBIDDEN', 'A management API call from another site was refused.');
    }
  }

  /** Opens a session for a user (password or SSO) or for the admin token (user undefined). */
  openSession(request: FastifyRequest, user: UserRecord | undefined, method: string, idToken?: string): { secret: string; session: SessionRecord } {
    const token = this.#options.token();
    return this.#options.store.createSession({
      user_id: user?.id ?? null,
      token_digest: user === undefined && token !== undefined ? sha256(token).toString('hex') : null,
      method,
      address: clientAddress(request),
      user_agent: typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : null,
      expires_at: this.#now() + this.sessionTtlMs,
      id_token: idToken ?? null,
    });
  }

  adminTokenMatches(given: string): boolean {
    return this.#adminTokenMatches(given);
  }

  /** Ends the session the request's cookie names (if any); returns it. */
  closeSession(request: FastifyRequest): SessionRecord | undefined {
    const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (cookie === undefined || cookie === '') return undefined;
    const session = this.#options.store.findSession(cookie);
    if (session !== undefined) this.#options.store.deleteSession(session.id);
    return session;
  }

  /**
   * Counts a wrong secret from the request's source address and logs it (the address, never
   * the secret); throws 429 when this failure used up the window's allowance.
   */
  recordFailure(request: FastifyRequest, reason: string): void {
    const address = clientAddress(request);
    request.log.warn({ msg: 'admin authentication failed', reason, remote_address: address });
    this.checkFailures(address, true);
  }

  /** Counts a failed attempt; throws 429 once a client has failed too often in the window. */
  checkFailures(address: string, failed: boolean): void {
    const now = this.#now();
    let entry = this.#failures.get(address);
    if (entry === undefined || entry.resetAt <= now) {
      if (this.#failures.size > 10_000) this.#failures.clear();
      entry = { count: 0, resetAt: now + FAILURE_WINDOW_MS };
      this.#failures.set(address, entry);
    }
    if (failed) entry.count++;
    if (entry.count >= MAX_FAILURES) {
      throw new GatewayError('HD_ERR_RATE_LIMITED', 'Too many failed sign-in attempts from this address; try again later.', {
        retryAfter: Math.ceil((entry.resetAt - now) / 1000),
      });
    }
  }
}

/**
 * True when the browser reached the gateway over TLS: the connection itself, or (behind a
 * TLS-terminating proxy) the page's own origin as the browser states it.
 */
export function overTls(request: FastifyRequest): boolean {
  return request.protocol === 'https' || (typeof request.headers.origin === 'string' && request.headers.origin.startsWith('https://'));
}

/** The session cookie: HttpOnly, SameSite=Lax (a sign-in that comes back from an identity provider keeps it), Secure over TLS. */
export function sessionCookie(request: FastifyRequest, value: string, maxAgeSeconds: number, secureHint = false): string {
  const secure = secureHint || overTls(request) ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/api; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure}`;
}
