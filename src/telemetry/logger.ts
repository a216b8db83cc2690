/**
 * The pino logger: JSON lines (pretty when a person watches a terminal), with
 * every header or field that can carry a secret redacted, and secrets masked
 * inside logged error messages and stacks.
 */
import { createRequire } from 'node:module';
import { pino, stdSerializers, type Logger } from 'pino';
import type { LogFormat } from './settings.js';
import { redactText } from './secrets.js';

export type { Logger };
export { redactText, registerSecrets, configSecrets } from './secrets.js';

/** Request and response headers that carry credentials, wherever a headers object is logged. */
const SECRET_HEADERS = [
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
const SECRET_FIELDS = [
  'api_key', 'apiKey', 'secret', 'password', 'token', 'access_token', 'refresh_token', 'client_secret',
  'secret_access_key', 'secretAccessKey', 'session_token', 'sessionToken', 'private_key', 'authorization', 'admin_token',
  'credentials', 'master_key', 'encryption_key', 'x-api-key', 'x-goog-api-key', 'x-heimdall-key',
];
const HEADER_OBJECTS = ['headers', 'req.headers', 'res.headers', 'request.headers', 'response.headers', '*.headers', '*.*.headers'];

export const REDACT_PATHS: readonly string[] = [
  ...HEADER_OBJECTS.flatMap((at) => SECRET_HEADERS.map((name) => `${at}["${name}"]`)),
  ...SECRET_FIELDS.flatMap((name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? [name, `*.${name}`] : [`["${name}"]`, `*["${name}"]`])),
];

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
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      serializers: { err: serializeError },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pretty ? prettyStream(destination, isTerminal) : destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
