/** GET / and the dashboard's files as the gateway serves them: caching, SPA fallback, 404s, the unbuilt case. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiPath, registerDashboardRoutes } from '../../src/api/dashboard.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { UI_DIR, ensureUiBuilt } from './support/build-ui.js';

describe('dashboard served by the gateway', () => {
  let gateway: TestGateway;
  let script: string;

  beforeAll(async () => {
    await ensureUiBuilt();
    script = readdirSync(join(UI_DIR, 'assets')).find((name) => name.endsWith('.js')) ?? '';
    gateway = await startGateway({ logLevel: 'warn' });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('serves index.html at / with no-cache, an ETag and a strict CSP', async () => {
    const response = await fetch(`${gateway.url}/`);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('etag')).toMatch(/^"[\w-]+"$/);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(html).toContain('<div id="root"></div>');
    expect(html).toContain(`/assets/${script}`);
    const again = await fetch(`${gateway.url}/`, { headers: { 'if-none-match': response.headers.get('etag') ?? '' } });
    expect(again.status).toBe(304);
  });

  it('serves hashed assets as immutable, gzipped when asked', async () => {
    const response = await fetch(`${gateway.url}/assets/${script}`, { headers: { 'accept-encoding': 'gzip' } });
    const body = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(body.length).toBeGreaterThan(10_000);
    const favicon = await fetch(`${gateway.url}/favicon.svg`);
    expect(favicon.headers.get('content-type')).toBe('image/svg+xml');
    expect(favicon.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers client routes with the app (SPA fallback)', async () => {
    for (const path of ['/logs', '/logs/req-123', '/providers?add=1', '/keys', '/settings/']) {
      const response = await fetch(`${gateway.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(await response.text(), path).toContain('<div id="root"></div>');
    }
  });

  it('never falls back for API paths or missing files: 404 JSON', async () => {
    for (const path of ['/v1/nope', '/api/nope', '/anthropic/x', '/genai/x', '/health/x', '/metrics/x', '/assets/index-missing.js', '/missing.png', '/v1']) {
      const response = await fetch(`${gateway.url}${path}`);
      expect(response.status, path).toBe(404);
      expect(response.headers.get('content-type'), path).toContain('application/json');
      // The caller's error format (OpenAI, Anthropic or Gemini), never the app's HTML.
      const body = (await response.json()) as { error: { message: string } };
      expect(body.error.message, path).toContain('No route for GET');
    }
    // The real routes are untouched.
    const health = await fetch(`${gateway.url}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe('ok');
  });

  it('does not serve files outside dist/ui', async () => {
    for (const path of ['/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/assets/..%2f..%2f..%2fpackage.json']) {
      const response = await fetch(`${gateway.url}${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.text(), path).not.toContain('heimdall-gateway');
    }
  });
});

describe('dashboard routes on their own', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function appWith(dir: string) {
    const app = Fastify();
    app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: { code: 'not_found' } }));
    registerDashboardRoutes(app, { dir });
    await app.ready();
    return app;
  }

  it('says how to build the UI when it is not built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'heimdall-ui-'));
    dirs.push(dir);
    const app = await appWith(join(dir, 'missing'));
    const page = await app.inject({ url: '/overview' });
    expect(page.statusCode).toBe(503);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('npm run build');
    const api = await app.inject({ url: '/api/providers' });
    expect(api.statusCode).toBe(404);
    await app.close();
  });

  it('picks up a rebuilt index.html without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'heimdall-ui-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<p>one</p>');
    const app = await appWith(dir);
    expect((await app.inject({ url: '/' })).body).toBe('<p>one</p>');
    writeFileSync(join(dir, 'index.html'), '<p>two, longer</p>');
    expect((await app.inject({ url: '/keys' })).body).toBe('<p>two, longer</p>');
    await app.close();
  });

  it('knows which paths belong to the APIs', () => {
    expect(isApiPath('/v1')).toBe(true);
    expect(isApiPath('/v1/models')).toBe(true);
    expect(isApiPath('/api')).toBe(true);
    expect(isApiPath('/healthz')).toBe(false);
    expect(isApiPath('/v1beta')).toBe(false);
    expect(isApiPath('/logs')).toBe(false);
  });
});
