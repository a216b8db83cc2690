/**
 * Postgres for the cluster tests: a schema of the test's own on the machine's server (named by
 * HEIMDALL_TEST_DATABASE_URL), dropped afterwards, and a TCP proxy in front of the server that a
 * test can cut and restore (an outage, without touching the server other tests use).
 */
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { migratePostgres } from '../../src/store/pg/migrate.js';
import type { PgConnectionSettings } from '../../src/store/pg/connection.js';

/** The shared Postgres for tests, or undefined (after a loud note on stderr). */
export function testDatabaseUrl(suite: string): string | undefined {
  const url = process.env.HEIMDALL_TEST_DATABASE_URL;
  if (url === undefined || url === '') {
    process.stderr.write(`\n!!! ${suite}: SKIPPED — set HEIMDALL_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run the Postgres store tests against a real Postgres\n\n`);
    return undefined;
  }
  return url;
}

export interface TestSchema {
  schema: string;
  /** The server URL with search_path set to the schema (what an instance is given). */
  url: string;
  /** A pool on the schema (ended by drop()). */
  pool: pg.Pool;
  /** Connection settings (src/store/pg/connection.ts) whose search_path is the schema, on `server` (default: the test server). */
  settings(server?: string): PgConnectionSettings;
  drop(): Promise<void>;
}

/** `url` (a server) with search_path set to `schema`. */
export function withSchema(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

/** A new, empty schema; `migrate`: with every table of the current migrations. */
export async function freshSchema(url: string, options: { migrate?: boolean } = {}): Promise<TestSchema> {
  const schema = `hd_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  const searchPath = `-c search_path=${schema}`;
  const pool = new pg.Pool({ connectionString: url, options: searchPath, max: 4 });
  pool.on('error', () => undefined);
  if (options.migrate === true) await migratePostgres(pool);
  return {
    schema,
    url: withSchema(url, schema),
    pool,
    settings: (server = url) => ({ connectionString: server, options: searchPath }),
    async drop() {
      await pool.end().catch(() => undefined);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface TcpProxy {
  port: number;
  /** The proxied server's URL through the proxy (same user, database and options). */
  via(url: string): string;
  /** Drops every connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** A loopback TCP proxy to host:port. */
export async function tcpProxy(host: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = (): Promise<void> => new Promise((resolve, reject) => {
    const next = createServer((client) => {
      const upstream = connect(targetPort, host);
      sockets.add(client);
      sockets.add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    next.once('error', reject);
    next.listen(port, '127.0.0.1', () => {
      const address = next.address();
      port = typeof address === 'object' && address !== null ? address.port : 0;
      server = next;
      resolve();
    });
  });
  const stop = async (): Promise<void> => {
    const current = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (current !== undefined) await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  await listen();
  return {
    get port() {
      return port;
    },
    via(url: string) {
      const parsed = new URL(url);
      parsed.host = `127.0.0.1:${port}`;
      return parsed.toString();
    },
    cut: stop,
    restore: listen,
    close: stop,
  };
}
