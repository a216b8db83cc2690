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
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pino, stdSerializers, type Logger, type LoggerOptions as PinoOptions } from 'pino';
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

let isoSecond = Number.NaN;
let isoPrefix = '';

/**
 * pino's `isoTime` (`,"time":"2026-12-07T15:30:00.123Z"`) with the text up to the second made once a
 * second: a `Date` and `toISOString()` per line cost more than the rest of a request line's fields.
 */
export function isoTime(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = `,"time":"${new Date(second * 1000).toISOString().slice(0, 20)}`;
  }
  const ms = now - second * 1000;
  return `${isoPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}

/** How long per-request lines wait, under load, to be written together; how much text at most. */
export const REQUEST_LINE_WINDOW_MS = 50;
export const REQUEST_LINES_MAX_CHARS = 32 * 1024;

/** What pino writes to: a SonicBoom (pino.destination), or any stream with the same optional methods. */
interface LineStream {
  write(line: string): boolean;
  flush?(cb?: (error?: Error) => void): void;
  flushSync?(): void;
  end?(): void;
  fd?: number;
}

/**
 * stdout for the logger: every line is handed to the asynchronous SonicBoom at once, except the
 * per-request lines (`logRequestLine`) under load. Each write to a file is a round trip through
 * libuv's thread pool, which cost more CPU than the rest of a request's line, so the request lines of
 * one 50 ms window go out as one write: the first line after a quiet window is written at once, the
 * ones that follow within the window when it ends (or when 32 KB have gathered). Any other line takes
 * the waiting ones with it, in order. A flush, the end and process exit write what waits.
 */
export class RequestLineBatcher implements LineStream {
  private pending = '';
  private window: NodeJS.Timeout | undefined;
  /** Set by logRequestLine around its one `logger.info`: the next line is a request line. */
  batchNext = false;

  constructor(private readonly stream: LineStream) {
    watchExit(this);
  }

  write(line: string): boolean {
    if (!this.batchNext) {
      if (this.pending.length === 0) return this.stream.write(line);
      const text = this.pending + line;
      this.pending = '';
      return this.stream.write(text);
    }
    this.batchNext = false;
    if (this.window === undefined) {
      this.window = setTimeout(this.endWindow, REQUEST_LINE_WINDOW_MS);
      this.window.unref();
      return this.stream.write(line);
    }
    this.pending += line;
    if (this.pending.length >= REQUEST_LINES_MAX_CHARS) this.release();
    return true;
  }

  private readonly endWindow = (): void => {
    if (this.pending.length === 0) {
      this.window = undefined; // quiet: the next request line goes out at once
      return;
    }
    this.release();
    this.window?.refresh();
  };

  /** Hands the waiting lines to the stream. */
  private release(): void {
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    this.stream.write(text);
  }

  flush(cb?: (error?: Error) => void): void {
    this.release();
    if (this.stream.flush !== undefined) this.stream.flush(cb);
    else cb?.();
  }

  flushSync(): void {
    this.release();
    this.stream.flushSync?.();
  }

  end(): void {
    this.release();
    if (this.window !== undefined) clearTimeout(this.window);
    this.window = undefined;
    this.stream.end?.();
  }

  /** The event loop is done: what waits goes to the stream, which still writes it. */
  beforeExit(): void {
    this.release();
  }

  /**
   * The process exits: pino's own exit hook (registered before this one) has written what the
   * SonicBoom held, synchronously; what waits here comes after it, written the same way.
   */
  exit(): void {
    const fd = this.stream.fd;
    if (this.pending.length === 0 || typeof fd !== 'number' || fd < 0) return;
    const text = this.pending;
    this.pending = '';
    try {
      writeSync(fd, text);
    } catch {
      // exiting: nowhere left to say it
    }
  }
}

/** Every batcher made, held weakly, and the two process listeners they share (added once). */
const batchers = new Set<WeakRef<RequestLineBatcher>>();
let watching = false;

function watchExit(batcher: RequestLineBatcher): void {
  if (!watching) {
    watching = true;
    process.on('beforeExit', () => eachBatcher((each) => each.beforeExit()));
    process.on('exit', () => eachBatcher((each) => each.exit()));
  }
  batchers.add(new WeakRef(batcher));
}

function eachBatcher(action: (batcher: RequestLineBatcher) => void): void {
  for (const ref of batchers) {
    const batcher = ref.deref();
    if (batcher === undefined) batchers.delete(ref);
    else action(batcher);
  }
}

/**
 * A string as pino writes it (its `asString`): short strings without control characters get only
 * their quotes and backslashes escaped, anything else goes through JSON.stringify.
 */
function jsonString(text: string): string {
  const length = text.length;
  if (length > 100) return JSON.stringify(text);
  let out = '';
  let last = 0;
  let found = false;
  let point = 255;
  for (let i = 0; i < length && point >= 32; i++) {
    point = text.charCodeAt(i);
    if (point === 34 || point === 92) {
      out += `${text.slice(last, i)}\\`;
      last = i;
      found = true;
    }
  }
  if (point < 32) return JSON.stringify(text);
  return found ? `"${out}${text.slice(last)}"` : `"${text}"`;
}

/**
 * A finite number as `String(value)` writes it. Integers and numbers of at most three decimals below a
 * million (the line's latencies: a value rounded to 0.01 or 0.001 ms) are put together from their
 * integer digits, which costs a fraction of V8's shortest-decimal conversion. The text is the same:
 * the double nearest to k/1000 (k below 10^9: nine significant digits at most) has k/1000's own
 * digits as its shortest round-trip form, and no shorter decimal lands on the same double.
 */
export function numberText(value: number): string {
  if (value > 0 && value < 1e6 && !Number.isInteger(value)) {
    const thousandths = Math.round(value * 1000);
    if (thousandths / 1000 === value) {
      const whole = Math.floor(thousandths / 1000);
      const fraction = thousandths - whole * 1000;
      if (fraction % 100 === 0) return `${whole}.${fraction / 100}`;
      if (fraction % 10 === 0) return `${whole}.${fraction < 100 ? '0' : ''}${fraction / 10}`;
      return `${whole}.${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}`;
    }
  }
  return String(value);
}

const symbols = pino.symbols as unknown as Record<string, symbol>;

/**
 * Writes one per-request line (built by `safeLine`) at `info`. With the logger's own stdout
 * destination (a logger made by createLogger, whose options are known: no serializer, hook or mixin
 * applies to these fields) the line is put together here, exactly as pino would write it (level,
 * time, the logger's bindings, then the fields in order, undefined ones left out, non-finite numbers
 * as null), and may wait up to REQUEST_LINE_WINDOW_MS to be written with the others of its window.
 * With any other destination it goes through pino as every line does.
 */
export function logRequestLine(logger: Logger, line: Record<string, SafeLineValue>): void {
  const internals = logger as unknown as Record<symbol, unknown>;
  const stream = internals[symbols.streamSym];
  if (!(stream instanceof RequestLineBatcher)) {
    logger.info(line);
    return;
  }
  if (!logger.isLevelEnabled('info')) return;
  let text = `${(internals[symbols.lsCacheSym] as Record<number, string>)[30]}${(internals[symbols.timeSym] as () => string)()}${internals[symbols.chindingsSym] as string}`;
  for (const key in line) {
    const value = line[key];
    if (value === undefined) continue;
    text += `,"${key}":${typeof value === 'string' ? jsonString(value) : typeof value === 'number' ? (Number.isFinite(value) ? numberText(value) : 'null') : String(value)}`;
  }
  stream.batchNext = true;
  try {
    stream.write(`${text}${internals[symbols.endSym] as string}`);
  } finally {
    stream.batchNext = false;
  }
}

/** The options of every logger createLogger makes (logRequestLine relies on them: no hook, mixin or redaction). */
export function loggerOptions(level: string): PinoOptions {
  return {
    level,
    base: { service: 'heimdall' },
    serializers: { err: serializeError },
    timestamp: isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      // A child's bindings are scrubbed once, when the child is made.
      bindings: (bindings) => scrubLogObject(bindings),
      log: (object) => ((object as Record<symbol, unknown>)[BUILT_SAFE] === true ? object : scrubLogObject(object)),
    },
  };
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination;
  const isTerminal = destination === undefined ? process.stdout.isTTY === true : (destination as { isTTY?: boolean }).isTTY === true;
  const pretty = resolveLogFormat(options.format ?? 'auto', isTerminal) === 'pretty';
  return pino(
    loggerOptions(options.level),
    pretty ? prettyStream(destination, isTerminal) : destination ?? new RequestLineBatcher(pino.destination({ dest: 1, sync: false })),
  );
}
