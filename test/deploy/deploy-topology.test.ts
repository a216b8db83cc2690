/**
 * deploy/docker-compose.yml's topology from processes (no container engine runs where the tests
 * run): its migrate step and its two Heimdall instances started with the commands and environments
 * the compose file gives them (secrets filled in as an .env file would), the service names replaced
 * by loopback servers: a private redis-server for `redis` and a schema of the test Postgres for
 * `postgres`. The migrate step creates the schema; both instances start on it, list each other in
 * the cluster view under their advertised addresses, share the configuration (a key created through
 * one is listed by the other) and the counters.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { privateRedis, type PrivateRedis } from '../support/cluster-services.js';
import { CLI, ensureBuilt, killChildren, removeDirs, ROOT, startCli, type Cli } from '../support/cli.js';
import { freshSchema, testDatabaseUrl, type TestSchema } from '../support/pg-schema.js';
import { interpolate } from './compose-env.js';

const databaseUrl = testDatabaseUrl('test/deploy/deploy-topology.test.ts (the compose topology from processes)');

interface Service {
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
}

const compose = parse(readFileSync(join(ROOT, 'deploy', 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
/** What an operator puts in deploy/.env. */
const DOT_ENV = {
  HEIMDALL_ADMIN_TOKEN: 'deploy-topology-admin-token-0123456789',
  HEIMDALL_ENCRYPTION_KEY: 'ZGVwbG95LXRvcG9sb2d5LWVuY3J5cHRpb24ta2V5LTAx',
  HEIMDALL_DB_PASSWORD: '5f4e3d2c1b0a99887766554433221100',
  HEIMDALL_VK_BACKEND: 'hk-deploy-topology-backend-0123',
  OPENAI_API_KEY: 'sk-deploy-topology-not-called',
};

describe.skipIf(databaseUrl === undefined)('deploy/docker-compose.yml, run from processes', { timeout: 120_000 }, () => {
  let redis: PrivateRedis;
  let schema: TestSchema;
  const instances: Cli[] = [];

  /** The service's environment as its container gets it, with the service names pointing at this test's servers. */
  function environment(name: string): Record<string, string> {
    const env = Object.fromEntries(Object.entries(compose.services[name].environment ?? {}).map(([key, value]) => [key, interpolate(String(value), DOT_ENV)]));
    const database = new URL(env.HEIMDALL_DATABASE_URL);
    expect([database.hostname, database.port, database.username, database.password]).toEqual(['postgres', '5432', 'heimdall', DOT_ENV.HEIMDALL_DB_PASSWORD]);
    env.HEIMDALL_DATABASE_URL = schema.url;
    if (env.HEIMDALL_REDIS_URL !== undefined) {
      expect(env.HEIMDALL_REDIS_URL).toBe('redis://redis:6379');
      env.HEIMDALL_REDIS_URL = redis.url;
    }
    if (env.HEIMDALL_CONFIG !== undefined) {
      // The file mounted at HEIMDALL_CONFIG, read from deploy/ itself.
      const mount = compose.services[name].volumes!.find((volume) => volume.split(':')[1] === env.HEIMDALL_CONFIG)!;
      env.HEIMDALL_CONFIG = join(ROOT, 'deploy', mount.split(':')[0]);
    }
    return env;
  }

  const admin = async (instance: Cli, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const response = await request(`${instance.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${DOT_ENV.HEIMDALL_ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.statusCode, json: await response.body.json() };
  };

  beforeAll(async () => {
    ensureBuilt();
    redis = await privateRedis();
    schema = await freshSchema(databaseUrl!);
  }, 180_000);

  afterAll(async () => {
    killChildren();
    await redis?.dispose();
    await schema?.drop();
    removeDirs();
  });

  it('the migrate step migrates the empty database, then both instances serve one cluster on it', async () => {
    const migrate = compose.services.migrate;
    expect(migrate.command!.slice(0, 2)).toEqual(['node', 'dist/cli.js']);
    const result = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, ...migrate.command!.slice(2)], { cwd: ROOT, env: { PATH: process.env.PATH, ...environment('migrate') } });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk) => (out += String(chunk)));
      child.stderr.on('data', (chunk) => (err += String(chunk)));
      child.on('exit', (code) => resolve({ code, out, err }));
    });
    expect(result.code, result.err).toBe(0);
    expect(result.out).toContain(`schema version 0 -> ${SCHEMA_VERSION}`);

    // heimdall-1 first, then heimdall-2 (its depends_on), each with a data dir of its own.
    for (const name of ['heimdall-1', 'heimdall-2']) instances.push(await startCli(environment(name), { logLevel: 'warn' }));
    const [one, two] = instances;

    let view: any;
    await expect.poll(async () => {
      view = (await admin(one, 'GET', '/api/cluster')).json;
      return view.data.map((instance: { address: string }) => instance.address).sort();
    }, { timeout: 15_000, interval: 250 }).toEqual(['http://heimdall-1:8080', 'http://heimdall-2:8080']);
    expect(view.mode).toBe('cluster');
    expect(view.shared_counters.connected).toBe(true);
    expect(view.shared_config.connected).toBe(true);

    // The configuration is shared: a key created through heimdall-1 is listed by heimdall-2, and both hold one version.
    const created = await admin(one, 'POST', '/api/virtual-keys', { name: 'made-on-one' });
    expect(created.status).toBe(201);
    await expect.poll(async () => (await admin(two, 'GET', '/api/virtual-keys')).json.data.map((key: { name: string }) => key.name).sort(), { timeout: 5_000, interval: 100 })
      .toEqual(['backend', 'made-on-one']);
    await expect.poll(async () => {
      const [a, b] = await Promise.all(instances.map((instance) => admin(instance, 'GET', '/api/cluster')));
      return a.json.shared_config.version > 0 && a.json.shared_config.version === b.json.shared_config.version;
    }, { timeout: 5_000, interval: 100 }).toBe(true);
  });
});
