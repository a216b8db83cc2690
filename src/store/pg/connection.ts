/**
 * How the cluster-mode stores reach Postgres. The settings are plain data, so the request-log writer
 * thread can open its own connection from them; a pool made here reads bigint and numeric results as
 * numbers (counts, sums and millisecond times fit a double), as SQLite's driver does.
 */
import pg from 'pg';

export interface PgConnectionSettings {
  /** postgres://user:password@host:port/database */
  connectionString: string;
  /** Server options, e.g. `-c search_path=...`. */
  options?: string;
  /** Pool size for the queries of the management API. Default 5. */
  max?: number;
  /** Connect timeout, ms. Default 5,000. */
  connectionTimeoutMillis?: number;
  /** Longest a statement may run, ms (statement_timeout). Default 30,000. */
  statementTimeoutMs?: number;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

const numberTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export function pgClientConfig(settings: PgConnectionSettings): pg.ClientConfig {
  return {
    connectionString: settings.connectionString,
    options: settings.options,
    connectionTimeoutMillis: settings.connectionTimeoutMillis ?? 5000,
    statement_timeout: settings.statementTimeoutMs ?? 30_000,
    // The client's own bound too: a connection that stops answering (a network cut) fails, never hangs.
    query_timeout: (settings.statementTimeoutMs ?? 30_000) + 5000,
    types: numberTypes,
  };
}

/** A pool whose idle clients never keep the process alive; its errors are reported, never thrown. */
export function createPgPool(settings: PgConnectionSettings, onError: (error: Error) => void = () => undefined): pg.Pool {
  const pool = new pg.Pool({ ...pgClientConfig(settings), max: settings.max ?? 5, allowExitOnIdle: true });
  pool.on('error', onError);
  return pool;
}

/** One client of the writer thread's own (errors reported, never thrown from the socket). */
export function createPgClient(settings: PgConnectionSettings, onError: (error: Error) => void): pg.Client {
  const client = new pg.Client(pgClientConfig(settings));
  client.on('error', onError);
  return client;
}

/** Anything that runs a query: a pool or a client. */
export type PgQueryable = Pick<pg.Pool, 'query'> | Pick<pg.Client, 'query'>;
