/**
 * Google OAuth for Vertex AI against a loopback token endpoint that checks
 * the JWT signature with the public half of a freshly generated key.
 */
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import {
  CLOUD_PLATFORM_SCOPE,
  GoogleAccessTokenSource,
  loadGoogleCredentials,
  type ServiceAccountCredentials,
} from '../../src/providers/google-auth.js';
import { vertexAuthorize, vertexProvider } from '../../src/providers/vertex.js';
import type { EndpointContext } from '../../src/providers/types.js';

interface TokenRequest {
  form: URLSearchParams;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  signatureValid?: boolean;
}

let server: Server;
let tokenUri: string;
let publicKey: KeyObject;
let privatePem: string;
const received: TokenRequest[] = [];
let reply: { status: number; body: Record<string, unknown> } | undefined;
let delayMs = 0;
let tempDir: string;

function decodePart(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

beforeAll(async () => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  publicKey = pair.publicKey;
  privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  tempDir = await mkdtemp(join(tmpdir(), 'heimdall-vertex-'));
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (piece: Buffer) => { text += piece.toString('utf8'); });
    req.on('end', () => {
      const form = new URLSearchParams(text);
      const entry: TokenRequest = { form };
      const assertion = form.get('assertion');
      if (assertion !== null) {
        const [header, claims, signature] = assertion.split('.');
        entry.header = decodePart(header);
        entry.claims = decodePart(claims);
        entry.signatureValid = verify('sha256', Buffer.from(`${header}.${claims}`), publicKey, Buffer.from(signature, 'base64url'));
      }
      received.push(entry);
      const answer = reply ?? { status: 200, body: { access_token: `token-${received.length}`, expires_in: 3600, token_type: 'Bearer' } };
      setTimeout(() => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tokenUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(tempDir, { recursive: true, force: true });
});

beforeEach(() => {
  received.length = 0;
  reply = undefined;
  delayMs = 0;
});

const serviceAccount = (email = 'gateway@my-project.iam.gserviceaccount.com'): ServiceAccountCredentials => ({
  type: 'service_account',
  client_email: email,
  private_key: privatePem,
  private_key_id: 'key-1',
  token_uri: tokenUri,
  project_id: 'my-project',
});

describe('GoogleAccessTokenSource (service account)', () => {
  it('posts a JWT bearer grant whose RS256 signature verifies, with the documented claims', async () => {
    const now = 1_750_000_000_000;
    const source = new GoogleAccessTokenSource(serviceAccount(), { now: () => now });
    expect(await source.getToken()).toBe('token-1');
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request.form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(request.signatureValid).toBe(true);
    expect(request.header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'key-1' });
    expect(request.claims).toEqual({
      iss: 'gateway@my-project.iam.gserviceaccount.com',
      scope: CLOUD_PLATFORM_SCOPE,
      aud: tokenUri,
      iat: now / 1000,
      exp: now / 1000 + 3600,
    });
  });

  it('caches the token: two calls, one token request', async () => {
    const source = new GoogleAccessTokenSource(serviceAccount());
    expect(await source.getToken()).toBe('token-1');
    expect(await source.getToken()).toBe('token-1');
    expect(received).toHaveLength(1);
  });

  it('shares one refresh between concurrent callers', async () => {
    delayMs = 50;
    const source = new GoogleAccessTokenSource(serviceAccount());
    const tokens = await Promise.all([source.getToken(), source.getToken(), source.getToken(), source.getToken()]);
    expect(tokens).toEqual(['token-1', 'token-1', 'token-1', 'token-1']);
    expect(received).toHaveLength(1);
  });

  it('refreshes 60 s before expiry, not earlier', async () => {
    let now = 1_000_000;
    reply = { status: 200, body: { access_token: 'short-lived', expires_in: 300 } };
    const source = new GoogleAccessTokenSource(serviceAccount(), { now: () => now });
    expect(await source.getToken()).toBe('short-lived');
    now += 239_000; // 61 s left: still good
    expect(await source.getToken()).toBe('short-lived');
    expect(received).toHaveLength(1);
    now += 2_000; // 59 s left: refresh
    reply = { status: 200, body: { access_token: 'renewed', expires_in: 300 } };
    expect(await source.getToken()).toBe('renewed');
    expect(received).toHaveLength(2);
  });

  it('reports a refused grant, and tries again on the next call', async () => {
    reply = { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } };
    const source = new GoogleAccessTokenSource(serviceAccount());
    const error = await source.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).message).toBe('Google OAuth token request failed (HTTP 400): invalid_grant: Invalid JWT Signature.');
    expect((error as GatewayError).status).toBe(502);
    reply = undefined;
    expect(await source.getToken()).toBe('token-2');
  });

  it('reports an unreachable token endpoint', async () => {
    const source = new GoogleAccessTokenSource({ ...serviceAccount(), token_uri: 'http://127.0.0.1:1/token' });
    await expect(source.getToken()).rejects.toMatchObject({ code: 'HD_ERR_UPSTREAM_UNREACHABLE' });
  });

  it('reports a key that cannot sign as a configuration error', async () => {
    const source = new GoogleAccessTokenSource({ ...serviceAccount(), private_key: 'not a key' });
    await expect(source.getToken()).rejects.toMatchObject({ code: 'HD_ERR_PROVIDER_NOT_CONFIGURED' });
    expect(received).toHaveLength(0);
  });
});

describe('GoogleAccessTokenSource (authorized_user)', () => {
  it('uses the refresh-token grant of an application-default-credentials file', async () => {
    const source = new GoogleAccessTokenSource({ type: 'authorized_user', client_id: 'cid', client_secret: 'cs', refresh_token: 'rt', token_uri: tokenUri });
    expect(await source.getToken()).toBe('token-1');
    expect(Object.fromEntries(received[0].form)).toEqual({ grant_type: 'refresh_token', client_id: 'cid', client_secret: 'cs', refresh_token: 'rt' });
  });
});

describe('vertexAuthorize', () => {
  it('reads the key file named by the provider key, and sends a bearer token (cached across calls)', async () => {
    const path = join(tempDir, 'sa.json');
    await writeFile(path, JSON.stringify(serviceAccount('authorizer@my-project.iam.gserviceaccount.com')));
    const context: EndpointContext = { baseUrl: 'https://{location}-aiplatform.googleapis.com', apiKey: path, model: 'gemini-2.5-flash', stream: false, options: {} };
    const endpoint = vertexProvider.endpoint('chat', context);
    expect(endpoint.url).toContain('/projects/my-project/locations/');
    const call = { method: 'POST', url: endpoint.url, headers: endpoint.headers, body: '{}', context };
    expect(await vertexAuthorize(call)).toEqual({ authorization: 'Bearer token-1' });
    expect(await vertexAuthorize(call)).toEqual({ authorization: 'Bearer token-1' });
    expect(received).toHaveLength(1);
  });

  it('names the file, never its content, when credentials are bad', async () => {
    const path = join(tempDir, 'bad.json');
    await writeFile(path, '{"type":"external_account"}');
    expect(() => loadGoogleCredentials(path)).toThrow(`Google credentials (${path}) have type "external_account"`);
    expect(() => loadGoogleCredentials(join(tempDir, 'missing.json'))).toThrow(/Cannot read the Google credentials file/);
  });
});
