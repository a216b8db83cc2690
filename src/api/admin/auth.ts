/**
 * Who may use the management API.
 *
 * With an admin token (HEIMDALL_ADMIN_TOKEN or admin.token): `Authorization:
 * Bearer <token>`, or a dashboard session cookie from POST /api/auth/login
 * (HttpOnly, SameSite=Strict, Path=/api; sessions live in memory and end when
 * their TTL passes, at logout, at a restart, or when the token changes).
 * Without a token: loopback clients only, and only under a loopback Host name
 * (a DNS-rebinding page that resolves its own name to 127.0.0.1 is refused).
 * Either way, a state-changing call that a browser sends from another site
 * (Origin or Sec-Fetch-Site says so) is refused. /v1 never looks at any of this.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { GatewayError, invalidField } from '../../errors/gateway-error.js';
import { parseBody } from './http.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who called the management API, for the audit log: "token", "session:<id>", "loopback". */
    adminActor: string;
  }
}

export const SESSION_COOKIE = 'heimdall_session';
const MAX_SESSIONS = 1000;
/** Failed admin-token attempts (login or Bearer header) allowed per client address in a window before 429. */
const MAX_FAILURES = 10;
const FAILURE_WINDOW_MS = 5 * 60 * 1000;
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

interface Session {
  expiresAt: number;
  /** Digest of the token the session was opened with: a new token ends old sessions. */
  tokenDigest: string;
  /** A short public id for the audit log (never the session secret). */
  label: string;
}

export interface AdminAuthOptions {
  token(): string | undefined;
  sessionTtlHours(): number;
  now?: () => number;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Compares digests, so neither the length nor the content of the token leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
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
function clientAddress(request: FastifyRequest): string {
  return request.socket.remoteAddress ?? 'unknown';
}

function readCookie(header: string | undefined, name: string): string | undefined {
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

export class AdminAuth {
  readonly #options: AdminAuthOptions;
  readonly #now: () => number;
  /** sha256(session id) hex -> session; the id itself is only in the client's cookie. */
  readonly #sessions = new Map<string, Session>();
  readonly #failures = new Map<string, { count: number; resetAt: number }>();

  constructor(options: AdminAuthOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get required(): boolean {
    return this.#options.token() !== undefined;
  }

  /** The caller's identity, or undefined when the call is not allowed. */
  identify(request: FastifyRequest): string | undefined {
    const token = this.#options.token();
    if (token === undefined) return isLoopbackAddress(request.socket.remoteAddress) ? 'loopback' : undefined;
    const given = bearer(request.headers.authorization);
    if (given !== undefined) return sameSecret(given, token) ? 'token' : undefined;
    const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (cookie === undefined) return undefined;
    const key = sha256(cookie).toString('hex');
    const session = this.#sessions.get(key);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.#now() || session.tokenDigest !== sha256(token).toString('hex')) {
      this.#sessions.delete(key);
      return undefined;
    }
    return `session:${session.label}`;
  }

  /** The onRequest guard of every /api route. */
  guard(request: FastifyRequest, open: boolean): void {
    this.#refuseCrossSite(request);
    const throttled = this.required && bearer(request.headers.authorization) !== undefined;
    // A Bearer token is a guess at the admin token like a login is: the same limiter counts both.
    if (throttled) this.checkFailures(clientAddress(request), false);
    const actor = this.identify(request);
    if (throttled && actor === undefined) this.recordFailure(request, 'admin token in the Authorization header is not valid');
    if (actor !== undefined || open) {
      request.adminActor = actor ?? '';
      return;
    }
    if (!this.required) {
      throw new GatewayError(
        'HD_ERR_ADMIN_LOOPBACK_ONLY',
        'No admin token is configured, so the management API answers loopback clients only. Set HEIMDALL_ADMIN_TOKEN (or admin.token in the config file) to use it from another address.',
      );
    }
    throw new GatewayError(
      'HD_ERR_ADMIN_UNAUTHORIZED',
      'The management API needs the admin token: send "Authorization: Bearer <token>", or log in with POST /api/auth/login.',
    );
  }

  #refuseCrossSite(request: FastifyRequest): void {
    if (!this.required && isLoopbackAddress(request.socket.remoteAddress) && !isLoopbackHost(request.headers.host)) {
      throw new GatewayError(
        'HD_ERR_ADMIN_FORBIDDEN',
        'Without an admin token the management API answers only under a loopback name (http://127.0.0.1:PORT or http://localhost:PORT). Set HEIMDALL_ADMIN_TOKEN to use another name.',
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

  /** Opens a session when the token matches; undefined otherwise. */
  login(given: string): { id: string; label: string; expiresAt: number } | undefined {
    const token = this.#options.token();
    if (token === undefined || !sameSecret(given, token)) return undefined;
    const now = this.#now();
    for (const [key, session] of this.#sessions) if (session.expiresAt <= now) this.#sessions.delete(key);
    while (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value as string);
    const id = randomBytes(32).toString('base64url');
    const label = sha256(id).toString('hex').slice(0, 8);
    const expiresAt = now + this.#options.sessionTtlHours() * 60 * 60 * 1000;
    this.#sessions.set(sha256(id).toString('hex'), { expiresAt, tokenDigest: sha256(token).toString('hex'), label });
    return { id, label, expiresAt };
  }

  logout(request: FastifyRequest): void {
    const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (cookie !== undefined) this.#sessions.delete(sha256(cookie).toString('hex'));
  }

  /**
   * Counts a wrong admin token from the request's source address and logs it (the address, never
   * the token); throws 429 when this failure used up the window's allowance.
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
      throw new GatewayError('HD_ERR_RATE_LIMITED', 'Too many wrong admin tokens from this address; try again later.', {
        retryAfter: Math.ceil((entry.resetAt - now) / 1000),
      });
    }
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }
}

function sessionCookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/api; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
}

const loginBody = z.strictObject({ token: z.string().min(1).max(4096) });

export interface AuthRouteHooks {
  /** Writes an audit entry (login and logout are recorded; failed attempts only in the log). */
  audit(actor: string, action: string): void;
}

/** GET /api/auth/status, POST /api/auth/login, POST /api/auth/logout (open routes: the guard lets them through). */
export function registerAuthRoutes(api: FastifyInstance, auth: AdminAuth, hooks: AuthRouteHooks): void {
  api.get('/auth/status', async (request) => ({
    auth_required: auth.required,
    authenticated: request.adminActor !== '',
    loopback_only: !auth.required,
  }));

  api.post('/auth/login', async (request: FastifyRequest, reply: FastifyReply) => {
    const body = parseBody(loginBody, request.body);
    if (!auth.required) {
      throw invalidField('token', 'No admin token is configured (HEIMDALL_ADMIN_TOKEN or admin.token): there is nothing to log in to; the management API answers loopback clients as they are.');
    }
    auth.checkFailures(clientAddress(request), false);
    const session = auth.login(body.token);
    if (session === undefined) {
      auth.recordFailure(request, 'admin login with a wrong token');
      throw new GatewayError('HD_ERR_ADMIN_UNAUTHORIZED', 'The admin token is not valid.', { param: 'token' });
    }
    hooks.audit(`session:${session.label}`, 'auth.login');
    // Rounded: the milliseconds since the session was made must not turn a 24 h TTL into Max-Age=86399.
    const maxAge = Math.max(1, Math.round((session.expiresAt - Date.now()) / 1000));
    reply.header('set-cookie', sessionCookie(request, session.id, maxAge)).header('cache-control', 'no-store');
    return { auth_required: true, authenticated: true, expires_at: session.expiresAt };
  });

  api.post('/auth/logout', async (request, reply) => {
    if (request.adminActor.startsWith('session:')) hooks.audit(request.adminActor, 'auth.logout');
    auth.logout(request);
    reply.header('set-cookie', sessionCookie(request, '', 0));
    return { auth_required: auth.required, authenticated: false };
  });
}
