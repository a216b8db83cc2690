/**
 * GET / and every dashboard path: the single-page app built from ui/ into dist/ui.
 *
 * - Hashed files under /assets/ are immutable (cached for a year); index.html and
 *   the other root files (favicon, theme.js) are revalidated on every load (ETag).
 * - Client routes (/logs/abc, /providers, ...) get index.html: the SPA fallback.
 *   Never for the API surfaces (/v1, /api, /anthropic, /genai, /health, /metrics):
 *   an unknown path there is the gateway's usual 404 JSON. A missing file (a path
 *   with an extension, or anything under /assets/) is a 404 JSON too, never HTML.
 * - When the UI was not built (a clone before `npm run build`), dashboard paths
 *   answer 503 with a page that says how to build it.
 * Text files are gzip-compressed once per version and kept in memory (the bundle is small).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * dist/ui from the package root: the same relative path from src/api (tests) and dist/api (built);
 * from the bundled dist/cli.js (scripts/bundle.mjs) it is ./ui beside it.
 */
export const DEFAULT_UI_DIR = ((): string => {
  const nested = fileURLToPath(new URL('../../dist/ui/', import.meta.url));
  const beside = fileURLToPath(new URL('./ui/', import.meta.url));
  return !existsSync(nested) && existsSync(beside) ? beside : nested;
})();

/** Path prefixes that belong to the gateway's APIs: never answered with the dashboard. */
const API_PREFIXES = ['/v1', '/api', '/anthropic', '/genai', '/health', '/metrics'];

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.svg', '.txt', '.map']);

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/** The dashboard talks only to its own origin and loads nothing from elsewhere. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

export function isApiPath(path: string): boolean {
  return API_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

interface CachedFile {
  mtimeMs: number;
  size: number;
  etag: string;
  body: Buffer;
  gzip: Buffer | null;
}

export interface DashboardOptions {
  /** Where the built UI lives. Default: dist/ui of this package. */
  dir?: string;
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Heimdall: dashboard not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2937}
@media (prefers-color-scheme:dark){body{background:#0f1115;color:#e5e7eb}code{background:#1f2430}}
code{background:#f3f4f6;padding:.1rem .3rem;border-radius:4px}</style></head>
<body><h1>The dashboard is not built</h1>
<p>The gateway is running: the APIs under <code>/v1</code>, <code>/anthropic</code>, <code>/genai</code> and <code>/api</code> work.
The web dashboard is built from <code>ui/</code> into <code>dist/ui</code>; this copy has no build.</p>
<p>From the repository, run <code>npm run build</code> (or <code>npm run build:ui</code>) and reload this page.
<code>npm start</code> builds it for you.</p></body></html>`;

export function registerDashboardRoutes(app: FastifyInstance, options: DashboardOptions = {}): void {
  const root = resolve(options.dir ?? DEFAULT_UI_DIR);
  const cache = new Map<string, CachedFile>();

  /** Reads a file below root (never outside it), from memory while it is unchanged on disk. */
  async function load(relative: string): Promise<CachedFile | undefined> {
    const path = resolve(root, `.${relative}`);
    if (path !== root && !path.startsWith(root + sep)) return undefined;
    let info;
    try {
      info = await stat(path);
    } catch {
      return undefined;
    }
    if (!info.isFile()) return undefined;
    const cached = cache.get(path);
    if (cached !== undefined && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached;
    const body = await readFile(path);
    const file: CachedFile = {
      mtimeMs: info.mtimeMs,
      size: info.size,
      etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"`,
      body,
      gzip: COMPRESSIBLE.has(extname(path)) && body.length > 512 ? gzipSync(body) : null,
    };
    cache.set(path, file);
    return file;
  }

  function send(request: FastifyRequest, reply: FastifyReply, file: CachedFile, type: string, cacheControl: string): FastifyReply {
    reply.headers(SECURITY_HEADERS).header('content-type', type).header('cache-control', cacheControl).header('etag', file.etag);
    if (file.gzip !== null) reply.header('vary', 'accept-encoding');
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    const acceptsGzip = file.gzip !== null && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    if (acceptsGzip) reply.header('content-encoding', 'gzip');
    return reply.send(acceptsGzip ? file.gzip : file.body);
  }

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const path = decodePath(request.url);
    if (path === undefined || isApiPath(path)) return notFound(reply);
    if (path !== '/' && path !== '/index.html') {
      const file = await load(path);
      if (file !== undefined) {
        const type = CONTENT_TYPES[extname(path)] ?? 'application/octet-stream';
        return send(request, reply, file, type, path.startsWith('/assets/') ? IMMUTABLE : REVALIDATE);
      }
      // A missing file is a 404, not the app: a stale hashed asset must not load HTML as a script.
      if (path.startsWith('/assets/') || extname(path) !== '') return notFound(reply);
    }
    const index = await load('/index.html');
    if (index === undefined) {
      return reply.code(503).headers(SECURITY_HEADERS).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT_PAGE);
    }
    return send(request, reply, index, CONTENT_TYPES['.html'], REVALIDATE);
  }

  app.get('/', handle);
  app.get('/*', handle);
}

/** The gateway's own 404 (JSON, in the caller's error format). */
function notFound(reply: FastifyReply): FastifyReply {
  reply.callNotFound();
  return reply;
}

/** The URL's path, percent-decoded; undefined when it cannot be decoded or holds a NUL. */
function decodePath(url: string): string | undefined {
  const raw = url.split('?')[0].split('#')[0];
  try {
    const path = decodeURIComponent(raw);
    return path.includes('\0') ? undefined : path;
  } catch {
    return undefined;
  }
}
