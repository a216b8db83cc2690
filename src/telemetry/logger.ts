/**
 * The pino logger: JSON lines (pretty when a person watches a terminal), with
 * no credential in any line.
 *
 * Two ways a line stays clean. The per-request lines (one per request, the hot
 * path) are redacted by construction: `safeLine()` takes scalar fields only, so
 * no headers object or config object can be logged whole, and the values that
 * could carry a secret are masked where they are read (an error message through
 * `redactText`, a route without its query, a caller's request id refused when it
 * has a key's shape). Such a line is written as is. Every other line (start-up,
 * reloads, errors, debug) goes through `scrubLogObject`, one walk over the
 * object that masks the headers and fields that carry credentials, and secrets
 * inside logged error messages and stacks are masked by the error serializer.
 * This replaces pino's `redact` paths, whose wildcards cost ~20x the line itself
 * on every line (bench/log-line.bench.ts).
 */
import { createRequire } from 'node:module';
import { pino, stdSerializers, type Logger } from 'pino';
import type { LogFormat } from './settings.js';
import { redactText } from './secrets.js';

export type { Logger };
export { redactText, registerSecrets, configSecrets } from './secrets.js';

const CENSOR = '[redacted]';

/** Request and response headers that carry credentials, wherever a headers object is logged. */
export const SECRET_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'x-goog-api-key',
  'x-heimdall-key',
  'api-key',
  'cookie',
  'set-cookie',
  'x-amz-security-token',
];
/** Field names that hold a credential, at the top level or one level down (`config.api_key`). */
export const SECRET_FIELDS: readonly string[] = [
  'api_key', 'apiKey', 'secret', 'password', 'token', 'access_token', 'refresh_token', 'client_secret',
  'secret_access_key', 'secretAccessKey', 'session_token', 'sessionToken', 'private_key', 'authorization', 'admin_token',
  'credentials', 'master_key', 'encryption_key', 'x-api-key', 'x-goog-api-key', 'x-heimdall-key',
];
const SECRET_HEADER_SET = new Set(SECRET_HEADERS);
const SECRET_FIELD_SET = new Set(SECRET_FIELDS);

/** A value a per-request line may hold: no object, so nothing is ever logged whole. */
export type SafeLineValue = string | number | boolean | null | undefined;

const BUILT_SAFE = Symbol('heimdall.log.built-safe');

/**
 * Marks a line built only from fields that hold no secret (values masked where they were read):
 * the logger writes it without the scrub. Scalars only, by type.
 */
export function safeLine<T extends Record<string, SafeLineValue>>(fields: T): T {
  (fields as Record<symbol, unknown>)[BUILT_SAFE] = true;
  return fields;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function maskHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const name in headers) {
    if (!Object.prototype.hasOwnProperty.call(headers, name) || headers[name] === undefined) continue;
    if (!SECRET_HEADER_SET.has(name.toLowerCase())) continue;
    out ??= { ...headers };
    out[name] = CENSOR;
  }
  return out ?? headers;
}

/**
 * Masks, without changing `object`, what the logger must never write: a `headers` object's
 * credential headers at the top level and two levels down (`request.headers`, `a.b.headers`), and
 * fields named like a credential at the top level and one level down (`config.api_key`).
 * Returns `object` itself when nothing was masked.
 */
export function scrubLogObject<T>(object: T): T {
  return isPlainObject(object) || Array.isArray(object) ? (scrub(object as Record<string, unknown>, 0) as T) : object;
}

/** `depth`: the level of `object`'s keys (0 at the top). An array's items are at its own level (`a[1].token` is `a.token`). */
function scrub(object: Record<string, unknown>, depth: number): Record<string, unknown> | unknown[] {
  let out: Record<string, unknown> | undefined;
  const childDepth = Array.isArray(object) ? depth : depth + 1;
  for (const key in object) {
    if (!Object.prototype.hasOwnProperty.call(object, key)) continue;
    const value = object[key];
    if (value === undefined || value === null) continue;
    let next = value;
    if (depth <= 1 && SECRET_FIELD_SET.has(key)) next = CENSOR;
    else if (typeof value !== 'object') continue;
    else if (key === 'headers' && isPlainObject(value)) next = maskHeaders(value);
    else if (childDepth <= 2 && (isPlainObject(value) || Array.isArray(value))) next = scrub(value as Record<string, unknown>, childDepth);
    if (next === value) continue;
    out ??= (Array.isArray(object) ? [...object] : { ...object }) as Record<string, unknown>;
    out[key] = next;
  }
  return out ?? object;
}

export interface LoggerOptions {
  level: string;
  /** Where lines go (tests capture them). Defaults to stdout. */
  destination?: NodeJS.WritableStream;
  /** `auto` (default): pretty when the destination is a terminal, JSON lines otherwise. */
  format?: LogFormat;
}

/** An error as JSON, with credentials masked in its message and stack. */
function serializeError(error: unknown): unknown {
  const serialized = stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  if (serialized === null || typeof serialized !== 'object') return serialized;
  if (typeof serialized.message === 'string') serialized.message = redactText(serialized.message);
  if (typeof serialized.stack === 'string') serialized.stack = redactText(serialized.stack);
  return serialized;
}

/** `auto`: pretty when a person watches (the destination is a terminal), JSON lines otherwise. */
export function resolveLogFormat(format: LogFormat, isTerminal: boolean): 'json' | 'pretty' {
  if (format === 'auto') return isTerminal ? 'pretty' : 'json';
  return format;
}

/** pino-pretty runs in this thread; loaded only when used (a person at a terminal). */
function prettyStream(destination: NodeJS.WritableStream | undefined, colorize: boolean): NodeJS.WritableStream {
  const require = createRequire(import.meta.url);
  const pretty = require('pino-pretty') as (options: Record<string, unknown>) => NodeJS.WritableStream;
  return pretty({ colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true, destination: destination ?? 1 });
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination;
  const isTerminal = destination === undefined ? process.stdout.isTTY === true : (destination as { isTTY?: boolean }).isTTY === true;
  const pretty = resolveLogFormat(options.format ?? 'auto', isTerminal) === 'pretty';
  return pino(
    {
      level: options.level,
      base: { service: 'heimdall' },
      serializers: { err: serializeError },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        // A child's bindings are scrubbed once, when the child is made.
        bindings: (bindings) => scrubLogObject(bindings),
        log: (object) => ((object as Record<symbol, unknown>)[BUILT_SAFE] === true ? object : scrubLogObject(object)),
      },
    },
    pretty ? prettyStream(destination, isTerminal) : destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
