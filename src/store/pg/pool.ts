/**
 * Connections to the Postgres store: node-postgres pools whose BIGINT columns (times in
 * milliseconds, counts) read as numbers, as better-sqlite3 gives them, and a short connect timeout
 * so that an unreachable server is noticed, not waited on.
 */
import pg from 'pg';

const BIGINT_OID = 20;

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === BIGINT_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

export interface PoolSettings {
  url: string;
  /** At most this many connections. Default 4 (configuration traffic is light). */
  max?: number;
  /** Schema to work in (tests: one per run); default: the server's search_path. */
  schema?: string;
  connectTimeoutMs?: number;
}

/** Connection settings shared by the pool and the LISTEN connection. */
export function clientConfig(settings: PoolSettings): pg.ClientConfig {
  return {
    connectionString: settings.url,
    connectionTimeoutMillis: settings.connectTimeoutMs ?? 3_000,
    query_timeout: 15_000,
    keepAlive: true,
    types,
    ...(settings.schema === undefined ? {} : { options: `-c search_path=${settings.schema}` }),
    application_name: 'heimdall',
  };
}

export function createPool(settings: PoolSettings): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(settings), max: settings.max ?? 4, idleTimeoutMillis: 30_000 });
  // An idle connection the server (or the network) dropped: the next query opens a new one.
  pool.on('error', () => undefined);
  return pool;
}

/** The server could not be reached or went away (as opposed to a statement it refused). */
export function isUnreachable(error: unknown): boolean {
  if (error instanceof Error && error.name === 'PostgresMigrationError') return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true; // ECONNREFUSED, timeouts, closed sockets
  return code.startsWith('08') || code.startsWith('57P') || code.startsWith('53');
}

/** Postgres refused this row (a unique or foreign key conflict, a check, bad data): not worth a retry. */
export function isRejection(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('23') || code.startsWith('22'));
}

/** A connection string without user or password, for logs and the API. */
export function databaseTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}
