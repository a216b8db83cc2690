/**
 * Google OAuth access tokens for Vertex AI, from a credentials JSON file:
 * - service_account: an RS256-signed JWT assertion (RFC 7523) exchanged at token_uri;
 * - authorized_user (`gcloud auth application-default login`): a refresh-token grant.
 * Tokens are cached until 60 s before they expire, and concurrent refreshes
 * share one request (single flight). The metadata server (GCE/GKE identity)
 * is not used: point GOOGLE_APPLICATION_CREDENTIALS at a key file.
 *
 * @see https://developers.google.com/identity/protocols/oauth2/service-account#httprest
 * @see https://datatracker.ietf.org/doc/html/rfc7523#section-2.1
 * @see https://cloud.google.com/docs/authentication/application-default-credentials
 */
import { sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { GatewayError } from '../errors/gateway-error.js';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ASSERTION_LIFETIME_S = 3600;
const REFRESH_MARGIN_MS = 60_000;
const TOKEN_TIMEOUT_MS = 30_000;

export interface ServiceAccountCredentials {
  type: 'service_account';
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
  project_id?: string;
}

export interface AuthorizedUserCredentials {
  type: 'authorized_user';
  client_id: string;
  client_secret: string;
  refresh_token: string;
  token_uri?: string;
  quota_project_id?: string;
}

export type GoogleCredentials = ServiceAccountCredentials | AuthorizedUserCredentials;

function notConfigured(message: string, cause?: unknown): GatewayError {
  return new GatewayError('HD_ERR_PROVIDER_NOT_CONFIGURED', message, cause === undefined ? {} : { cause });
}

function requireField(value: Record<string, unknown>, name: string, source: string): string {
  const field = value[name];
  if (typeof field !== 'string' || field === '') throw notConfigured(`Google credentials (${source}) have no "${name}".`);
  return field;
}

/** Validates a credentials JSON document. `source` names it in errors (a path, never the content). */
export function parseGoogleCredentials(json: string, source: string): GoogleCredentials {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw notConfigured(`Google credentials (${source}) are not valid JSON.`, error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw notConfigured(`Google credentials (${source}) are not a JSON object.`);
  const record = value as Record<string, unknown>;
  const optional = (name: string) => (typeof record[name] === 'string' && record[name] !== '' ? record[name] as string : undefined);
  if (record.type === 'service_account') {
    return {
      type: 'service_account',
      client_email: requireField(record, 'client_email', source),
      private_key: requireField(record, 'private_key', source),
      private_key_id: optional('private_key_id'),
      token_uri: optional('token_uri'),
      project_id: optional('project_id'),
    };
  }
  if (record.type === 'authorized_user') {
    return {
      type: 'authorized_user',
      client_id: requireField(record, 'client_id', source),
      client_secret: requireField(record, 'client_secret', source),
      refresh_token: requireField(record, 'refresh_token', source),
      token_uri: optional('token_uri'),
      quota_project_id: optional('quota_project_id'),
    };
  }
  throw notConfigured(`Google credentials (${source}) have type "${String(record.type)}"; use a service_account or authorized_user file.`);
}

const credentialsCache = new Map<string, GoogleCredentials>();

/**
 * Credentials from inline JSON (starts with "{") or a file path. A file is
 * read once (synchronously, a few KB) and cached for the process.
 */
export function loadGoogleCredentials(source: string): GoogleCredentials {
  const cached = credentialsCache.get(source);
  if (cached !== undefined) return cached;
  const inline = source.trimStart().startsWith('{');
  let json = source;
  if (!inline) {
    try {
      json = readFileSync(source, 'utf8');
    } catch (error) {
      throw notConfigured(`Cannot read the Google credentials file ${source}.`, error);
    }
  }
  const credentials = parseGoogleCredentials(json, inline ? 'inline JSON' : source);
  credentialsCache.set(source, credentials);
  return credentials;
}

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** The signed JWT assertion a service account exchanges for an access token. */
export function createServiceAccountAssertion(credentials: ServiceAccountCredentials, nowSeconds: number, scope = CLOUD_PLATFORM_SCOPE): string {
  const header: Record<string, string> = { alg: 'RS256', typ: 'JWT' };
  if (credentials.private_key_id !== undefined) header.kid = credentials.private_key_id;
  const claims = {
    iss: credentials.client_email,
    scope,
    aud: credentials.token_uri ?? GOOGLE_TOKEN_URI,
    iat: nowSeconds,
    exp: nowSeconds + ASSERTION_LIFETIME_S,
  };
  const unsigned = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  let signature: Buffer;
  try {
    signature = sign('sha256', Buffer.from(unsigned), credentials.private_key);
  } catch (error) {
    throw notConfigured(`The private key of service account ${credentials.client_email} cannot sign (is it a PEM RSA key?).`, error);
  }
  return `${unsigned}.${base64url(signature)}`;
}

export interface TokenSourceOptions {
  scope?: string;
  /** Milliseconds since the epoch; tests pass a fake clock. */
  now?: () => number;
}

/** One credential's access token: cached, refreshed ahead of expiry, one refresh at a time. */
export class GoogleAccessTokenSource {
  private token: { value: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly now: () => number;
  private readonly scope: string;

  constructor(private readonly credentials: GoogleCredentials, options: TokenSourceOptions = {}) {
    this.now = options.now ?? Date.now;
    this.scope = options.scope ?? CLOUD_PLATFORM_SCOPE;
  }

  getToken(): Promise<string> {
    if (this.token !== undefined && this.now() < this.token.expiresAt - REFRESH_MARGIN_MS) return Promise.resolve(this.token.value);
    if (this.pending === undefined) {
      this.pending = this.refresh().finally(() => {
        this.pending = undefined;
      });
    }
    return this.pending;
  }

  private grant(): Record<string, string> {
    const credentials = this.credentials;
    if (credentials.type === 'service_account') {
      return { grant_type: JWT_BEARER_GRANT, assertion: createServiceAccountAssertion(credentials, Math.floor(this.now() / 1000), this.scope) };
    }
    return {
      grant_type: 'refresh_token',
      client_id: credentials.client_id,
      client_secret: credentials.client_secret,
      refresh_token: credentials.refresh_token,
    };
  }

  private async refresh(): Promise<string> {
    const tokenUri = this.credentials.token_uri ?? GOOGLE_TOKEN_URI;
    const body = new URLSearchParams(this.grant()).toString();
    const startedAt = this.now();
    let statusCode: number;
    let text: string;
    try {
      const response = await request(tokenUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        headersTimeout: TOKEN_TIMEOUT_MS,
        bodyTimeout: TOKEN_TIMEOUT_MS,
      });
      statusCode = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      throw new GatewayError('HD_ERR_UPSTREAM_UNREACHABLE', `Could not reach the Google token endpoint ${tokenUri}.`, { cause: error });
    }
    let payload: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null) payload = parsed as Record<string, unknown>;
    } catch {
      // handled below: no access_token
    }
    if (statusCode !== 200 || typeof payload.access_token !== 'string' || payload.access_token === '') {
      const reason = [payload.error, payload.error_description].filter((part) => typeof part === 'string').join(': ');
      throw new GatewayError(
        'HD_ERR_UPSTREAM_ERROR',
        `Google OAuth token request failed (HTTP ${statusCode})${reason === '' ? '.' : `: ${reason.replace(/\.?$/, '.')}`}`,
        { status: 502 },
      );
    }
    const lifetime = typeof payload.expires_in === 'number' && payload.expires_in > 0 ? payload.expires_in : 3600;
    this.token = { value: payload.access_token, expiresAt: startedAt + lifetime * 1000 };
    return payload.access_token;
  }
}

const tokenSources = new Map<string, GoogleAccessTokenSource>();

/** The shared token source of these credentials (one per identity and token endpoint). */
export function tokenSourceFor(credentials: GoogleCredentials): GoogleAccessTokenSource {
  const identity = credentials.type === 'service_account' ? credentials.client_email : credentials.client_id;
  const key = `${credentials.type}|${identity}|${credentials.token_uri ?? GOOGLE_TOKEN_URI}`;
  let source = tokenSources.get(key);
  if (source === undefined) {
    source = new GoogleAccessTokenSource(credentials);
    tokenSources.set(key, source);
  }
  return source;
}
