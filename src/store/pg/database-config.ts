/**
 * The `database` section of the config file: a Postgres store shared by the instances of a
 * cluster (docs/cluster.md). HEIMDALL_DATABASE_URL wins over `database.url`; the URL may carry a
 * password, so it is shown without it (databaseTarget).
 */
import { z } from 'zod';
import { databaseTarget } from './pool.js';

export const DATABASE_URL_ENV = 'HEIMDALL_DATABASE_URL';

export const databaseSchema = z
  .strictObject({
    url: z
      .string()
      .min(1)
      .optional()
      .describe('postgres://[user:password@]host:port/database (libpq parameters such as ?sslmode=require allowed), or "env.NAME". HEIMDALL_DATABASE_URL wins. Set: configuration (providers, keys, routing, virtual keys, teams, customers, users, settings) is shared by every instance through Postgres (docs/cluster.md).'),
  })
  .describe('Cluster mode: the Postgres database every instance shares its configuration through (docs/cluster.md).');

export type DatabaseFile = z.infer<typeof databaseSchema>;

export interface DatabaseConfig {
  url: string;
}

/** The resolved section; undefined when no URL is set (SQLite in the data dir only). */
export function resolveDatabase(
  file: DatabaseFile,
  env: NodeJS.ProcessEnv,
  resolveSecret: (value: string, path: string, env: NodeJS.ProcessEnv) => string,
): DatabaseConfig | undefined {
  const fromEnv = env[DATABASE_URL_ENV];
  const url = fromEnv !== undefined && fromEnv !== '' ? fromEnv : file.url === undefined ? undefined : resolveSecret(file.url, 'database.url', env);
  return url === undefined ? undefined : { url };
}

/** The section as GET /api/config shows it: the URL without user or password; null without one. */
export function databaseView(config: DatabaseConfig | undefined): Record<string, unknown> | null {
  return config === undefined ? null : { url: databaseTarget(config.url) };
}
