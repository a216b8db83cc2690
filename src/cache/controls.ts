/**
 * What a request asks of the cache: headers, or the `heimdall_cache` body
 * field for SDKs that cannot set headers (the header wins when both are set).
 *
 *   x-heimdall-cache: bypass | refresh | only     (body: "heimdall_cache": "bypass" or {"mode": ...})
 *   x-heimdall-cache-ttl: 10m | 600               (body: {"ttl": "10m"}; seconds when a bare number)
 *   x-heimdall-cache-threshold: 0.9               (body: {"threshold": 0.9})
 *
 * bypass: neither read nor written. refresh: not read, the new answer replaces
 * the entry. only: answered from the cache or refused (504), never upstream.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors/gateway-error.js';
import { parseDuration } from '../governance/durations.js';

export type CacheMode = 'default' | 'bypass' | 'refresh' | 'only';

export interface CacheControls {
  mode: CacheMode;
  ttlMs: number | undefined;
  threshold: number | undefined;
}

export const BODY_FIELD = 'heimdall_cache';
const MODES = new Set(['bypass', 'refresh', 'only']);
/** A week: a TTL a request may ask for at most (a longer one is a configuration matter). */
const MAX_REQUEST_TTL_MS = 7 * 86_400_000;

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('HD_ERR_REQUEST_INVALID_FIELD', `${param}: ${message}`, { param });
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

function readMode(value: unknown, param: string): CacheMode | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !MODES.has(value.toLowerCase())) throw invalid(param, 'expected "bypass", "refresh" or "only"');
  return value.toLowerCase() as CacheMode;
}

function readTtl(value: unknown, param: string): number | undefined {
  if (value === undefined) return undefined;
  let ms: number | undefined;
  if (typeof value === 'number') ms = Number.isFinite(value) && value > 0 ? value * 1000 : undefined;
  else if (typeof value === 'string') ms = /^\d+$/.test(value) ? Number(value) * 1000 : parseDuration(value);
  if (ms === undefined || ms <= 0) throw invalid(param, 'expected a duration such as "30s", "10m", "1h" or a number of seconds');
  return Math.min(ms, MAX_REQUEST_TTL_MS);
}

function readThreshold(value: unknown, param: string): number | undefined {
  if (value === undefined) return undefined;
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number) || number <= 0 || number > 1) throw invalid(param, 'expected a similarity above 0 and at most 1');
  return number;
}

/** The body field's value, read (its removal before the call goes upstream is the surface's). */
function bodyControls(value: unknown): Partial<CacheControls> {
  if (value === undefined || value === null) return {};
  if (typeof value === 'string') return { mode: readMode(value, BODY_FIELD) };
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(BODY_FIELD, 'expected a mode ("bypass", "refresh", "only") or an object {mode, ttl, threshold}');
  const object = value as Record<string, unknown>;
  return {
    mode: readMode(object.mode, `${BODY_FIELD}.mode`),
    ttlMs: readTtl(object.ttl, `${BODY_FIELD}.ttl`),
    threshold: readThreshold(object.threshold, `${BODY_FIELD}.threshold`),
  };
}

/** Takes the `heimdall_cache` field out of a request body (it never goes upstream); returns its value. */
export function takeCacheControl(body: Record<string, unknown>): unknown {
  const value = body[BODY_FIELD];
  if (value !== undefined) delete body[BODY_FIELD];
  return value;
}

/** The request's cache controls; throws a 400 naming the header or field when one is malformed. */
export function readControls(headers: IncomingHttpHeaders | undefined, bodyValue: unknown): CacheControls {
  const body = bodyControls(bodyValue);
  const fromHeaders = headers ?? {};
  return {
    mode: readMode(header(fromHeaders, 'x-heimdall-cache'), 'x-heimdall-cache') ?? body.mode ?? 'default',
    ttlMs: readTtl(header(fromHeaders, 'x-heimdall-cache-ttl'), 'x-heimdall-cache-ttl') ?? body.ttlMs,
    threshold: readThreshold(header(fromHeaders, 'x-heimdall-cache-threshold'), 'x-heimdall-cache-threshold') ?? body.threshold,
  };
}
