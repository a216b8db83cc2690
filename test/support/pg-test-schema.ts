/**
 * Postgres for the cluster-mode request-log tests: the machine's server named by
 * HEIMDALL_TEST_DATABASE_URL (without it the suite is skipped, and says so loudly), a fresh schema
 * per test (other runs use the same server at the same time), and a TCP proxy in front of it that a
 * test can cut and restore (the machine's Postgres itself is never stopped).
 */
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { migratePostgres } from '../../src/store/pg/migrate.js';
import type { PgConnectionSettings } from '../../src/store/pg/connection.js';

export function testDatabaseUrlOrSkip(suite: string): string | undefined {
  const url = process.env.HEIMDALL_TEST_DATABASE_URL;
  if (url === undefined || url === '') {
    process.stderr.write(`\n!!! ${suite}: SKIPPED — set HEIMDALL_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run the cluster-mode tests against a real Postgres\n\n`);
    return undefined;
  }
  return url;
}

export interface TestSchema {
  name: string;
  /** Connection settings whose search_path is this schema. */
  settings(connectionString?: string): PgConnectionSettings;
  /** A pool on this schema (ended by drop()). */
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** A new schema, migrated (every table, request_logs and stored_responses among them). */
export async function freshSchema(url: string): Promise<TestSchema> {
  const name = `hd_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${name}`);
  } finally {
    await admin.end();
  }
  const options = `-c search_path=${name}`;
  const pool = new pg.Pool({ connectionString: url, options, max: 4 });
  pool.on('error', () => undefined);
  await migratePostgres(pool);
  return {
    name,
    pool,
    settings: (connectionString = url) => ({ connectionString, options }),
    async drop() {
      await pool.end().catch(() => undefined);
      const cleanup = new pg.Client({ connectionString: url });
      await cleanup.connect();
      try {
        await cleanup.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

export interface TcpProxy {
  port: number;
  /** postgres://... through the proxy. */
  url: string;
  /** Closes the listener and every connection through it: Postgres looks gone. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** A loopback TCP proxy in front of the Postgres of `url`. */
export async function tcpProxy(url: string): Promise<TcpProxy> {
  const target = new URL(url);
  const targetPort = Number(target.port || 5432);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () => new Promise<void>((resolve, reject) => {
    const next = createServer((client) => {
      const upstream = connect(targetPort, target.hostname);
      sockets.add(client);
      sockets.add(upstream);
      const close = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
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
  const cut = async () => {
    const current = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  await listen();
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(port);
  return { port, url: proxied.href, cut, restore: listen, close: cut };
}
