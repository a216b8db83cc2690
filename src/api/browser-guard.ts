/**
 * Who may reach the gateway from a browser. A web page can make the browser
 * send requests to a gateway on the user's machine or network, with no key
 * (none is needed when no virtual key is enforced); two checks stop it:
 *
 * - Host: a page on `evil.example` whose DNS name is re-pointed at 127.0.0.1
 *   (DNS rebinding) talks to the gateway as its own origin, with
 *   `Host: evil.example`. Only the names the gateway is reached by are
 *   accepted: loopback names when it listens on loopback; the listen address,
 *   IP literals and `server.allowed_hosts` otherwise (with no allow-list, any
 *   host: a gateway on a public address behind a proxy keeps working).
 * - Origin: a browser names the page in `Origin` on every cross-origin
 *   request (and on same-origin ones that are not GET/HEAD). A request from
 *   the gateway's own origin (the dashboard) passes; one from an origin
 *   listed in `server.cors.origins` passes with CORS headers, and its
 *   preflight (OPTIONS) is answered; any other origin is refused.
 *
 * The checks run in the server's request listener, before Fastify and the
 * fast lane, so they cover every route but the management API (/api), which
 * applies its own, stricter rules with its own error codes (admin/auth.ts).
 * Refusals are in the caller's format (the surface is known from the URL prefix).
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol
 */
import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CorsSettings } from '../config/load.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../telemetry/logger.js';
import { errorFormatOfPath, writeRawError } from './raw-error.js';
import { requestIdOf } from './fast-lane.js';

export interface BrowserGuardSettings {
  /** The address the server listens on (server.host). */
  host: string;
  allowedHosts: readonly string[] | undefined;
  cors: CorsSettings | undefined;
}

/** Response headers a browser app may read (SDKs read the request id and the retry hints). */
const EXPOSED_HEADERS = [
  'x-request-id', 'x-heimdall-provider', 'x-heimdall-model', 'x-heimdall-attempts', 'x-heimdall-warnings', 'x-heimdall-cache',
  'retry-after', 'retry-after-ms', 'x-should-retry', 'x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests',
].join(', ');

/** `Host` -> its lowercase name without port, brackets or trailing dot. */
export function hostName(host: string): string {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[')) {
    const end = name.indexOf(']');
    name = end === -1 ? name.slice(1) : name.slice(1, end);
  } else {
    const colon = name.indexOf(':');
    if (colon !== -1 && name.indexOf(':', colon + 1) === -1) name = name.slice(0, colon);
  }
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** Names that always mean this machine (RFC 6761: *.localhost resolves to loopback in browsers). */
export function isLoopbackName(name: string): boolean {
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  return name === '::1' || name === '::ffff:127.0.0.1' || name === '0:0:0:0:0:0:0:1';
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/** One `server.allowed_hosts` entry as a test: "*", "*.example.com" (subdomains) or an exact name. */
function hostPattern(pattern: string): (name: string) => boolean {
  const lower = hostName(pattern);
  if (lower === '*') return () => true;
  if (lower.startsWith('*.')) {
    const suffix = lower.slice(1);
    return (name) => name.endsWith(suffix);
  }
  return (name) => name === lower;
}

/** Which Host names the server accepts, from its listen address and the allow-list. */
export function hostCheck(settings: Pick<BrowserGuardSettings, 'host' | 'allowedHosts'>): (name: string) => boolean {
  const bound = hostName(settings.host);
  const allowed = (settings.allowedHosts ?? []).map(hostPattern);
  const onLoopback = isLoopbackName(bound);
  // Listening beyond loopback without an allow-list: any name (a reverse proxy's public name, a pod's DNS name).
  if (!onLoopback && settings.allowedHosts === undefined) return () => true;
  const wildcard = isWildcard(bound);
  return (name) => {
    if (isLoopbackName(name) || name === bound) return true;
    // Every interface is bound: any address literal reaches this server by address, never through DNS.
    if (wildcard && isIP(name) !== 0) return true;
    return allowed.some((test) => test(name));
  };
}

export class BrowserGuard {
  private readonly hostAllowed: (name: string) => boolean;
  private readonly origins: ReadonlySet<string>;
  private readonly anyOrigin: boolean;
  private readonly acceptedHosts = new Set<string>();

  constructor(
    private readonly settings: BrowserGuardSettings,
    private readonly logger: Logger,
    private readonly onRefusal: (path: string, status: number) => void,
  ) {
    this.hostAllowed = hostCheck(settings);
    const origins = settings.cors?.origins ?? [];
    this.anyOrigin = origins.includes('*');
    this.origins = new Set(origins.map((origin) => origin.replace(/\/+$/, '').toLowerCase()));
  }

  /** A Host value seen before and accepted is a Set lookup (the hot path sends the same one every time). */
  private acceptHost(host: string): boolean {
    if (!this.hostAllowed(hostName(host))) return false;
    if (this.acceptedHosts.size >= 64) this.acceptedHosts.clear();
    this.acceptedHosts.add(host);
    return true;
  }

  /** True when the request may go on (CORS headers set when it is an allowed cross-origin one); false when answered here. */
  admit(request: IncomingMessage, response: ServerResponse): boolean {
    const url = request.url;
    if (url !== undefined && url.startsWith('/api/')) return true;
    const headers = request.headers;
    const host = headers.host;
    if (host === undefined && request.httpVersion !== '1.0') {
      this.refuse(request, response, new GatewayError('HD_ERR_REQUEST_INVALID_FIELD', 'An HTTP/1.1 request needs a Host header.', { param: 'Host' }), {});
      return false;
    }
    if (host !== undefined && !this.acceptedHosts.has(host) && !this.acceptHost(host)) {
      this.refuse(request, response, new GatewayError('HD_ERR_HOST_NOT_ALLOWED', `The host "${hostName(host).slice(0, 100)}" is not one this gateway is reached by; add it to server.allowed_hosts.`), { host });
      return false;
    }
    const origin = headers.origin;
    if (origin === undefined) return true;
    if (host !== undefined && isSameOrigin(origin, host)) return true;
    const cors = this.settings.cors;
    if (cors === undefined || !(this.anyOrigin || this.origins.has(origin.toLowerCase()))) {
      this.refuse(request, response, new GatewayError('HD_ERR_ORIGIN_NOT_ALLOWED', `Browser requests from the origin "${origin.slice(0, 200)}" are not allowed; list it in server.cors.origins.`), { origin });
      return false;
    }
    const allowOrigin = this.anyOrigin && !cors.credentials ? '*' : origin;
    response.setHeader('access-control-allow-origin', allowOrigin);
    if (allowOrigin !== '*') response.setHeader('vary', 'Origin');
    if (cors.credentials) response.setHeader('access-control-allow-credentials', 'true');
    if (request.method === 'OPTIONS' && headers['access-control-request-method'] !== undefined) {
      this.preflight(request, response, cors);
      return false;
    }
    response.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    return true;
  }

  private preflight(request: IncomingMessage, response: ServerResponse, cors: CorsSettings): void {
    const requested = request.headers['access-control-request-headers'];
    const allowHeaders = cors.headers !== undefined ? cors.headers.join(', ') : typeof requested === 'string' ? requested : '';
    response.writeHead(204, {
      'access-control-allow-methods': cors.methods.join(', '),
      ...(allowHeaders === '' ? {} : { 'access-control-allow-headers': allowHeaders }),
      'access-control-max-age': String(cors.maxAgeSeconds),
      'content-length': '0',
    });
    response.end();
  }

  private refuse(request: IncomingMessage, response: ServerResponse, error: GatewayError, detail: Record<string, string>): void {
    const path = (request.url ?? '/').split('?')[0];
    const id = requestIdOf(request.headers);
    const status = writeRawError(response, id, error, errorFormatOfPath(path));
    this.logger.warn({ msg: 'request refused', request_id: id, method: request.method, route: path, status, error: error.message, ...detail });
    this.onRefusal(path, status);
  }
}

/** The page's origin is the gateway itself (the dashboard): scheme aside, its host:port is the Host header. */
function isSameOrigin(origin: string, host: string): boolean {
  const start = origin.indexOf('://');
  return start !== -1 && origin.slice(start + 3).toLowerCase() === host.toLowerCase();
}
