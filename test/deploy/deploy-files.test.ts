/**
 * The deployment files in deploy/ (no container engine runs where the tests
 * run, so they are checked here instead): the compose file and the Kubernetes
 * manifests parse, their Heimdall config loads, every Heimdall instance points
 * at the Redis and Postgres services, shares one encryption key and has a store
 * of its own, the schema step runs before the instances, nginx balances over
 * exactly the instances, ports and names agree. The compose topology's
 * commands and environments run as processes in deploy-topology.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ROOT } from '../support/cli.js';
import { interpolate } from './compose-env.js';

const deploy = (name: string): string => readFileSync(join(ROOT, 'deploy', name), 'utf8');
const ENV = { OPENAI_API_KEY: 'sk-test', HEIMDALL_VK_BACKEND: 'hk-deploy-backend-0123456789' };

interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, unknown> | string[];
  restart?: string;
  healthcheck?: { test: string[] };
}

/** A Kubernetes env value with its `$(NAME)` references replaced by the container's earlier variables. */
function expandK8s(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\((\w+)\)/g, (_match, name: string) => vars[name] ?? `$(${name})`);
}

describe('deploy/docker-compose.yml', () => {
  const compose = parse(deploy('docker-compose.yml')) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
  // The gateway instances: the Heimdall image with its default command (the migrate step has its own).
  const heimdall = Object.entries(compose.services).filter(([, service]) => service.image === 'heimdall:local' && service.command === undefined);

  it('two Heimdall instances on one Redis, each with its own data volume, the same config file', () => {
    expect(heimdall.map(([name]) => name)).toEqual(['heimdall-1', 'heimdall-2']);
    expect(compose.services['heimdall-1'].build).toBe('..');
    const dataVolumes = heimdall.map(([, service]) => service.volumes!.find((volume) => volume.endsWith(':/app/data'))!.split(':')[0]);
    expect(new Set(dataVolumes).size).toBe(2);
    for (const volume of dataVolumes) expect(compose.volumes).toHaveProperty(volume);
    for (const [name, service] of heimdall) {
      const env = service.environment!;
      expect(env.HEIMDALL_REDIS_URL).toBe('redis://redis:6379');
      expect(env.HEIMDALL_ADVERTISE_URL).toBe(`http://${name}:8080`);
      expect(env.HEIMDALL_CONFIG).toBe('/etc/heimdall/heimdall.json');
      expect(service.volumes).toContain('./heimdall.json:/etc/heimdall/heimdall.json:ro');
      // Secrets come from the environment, required, never written in the file.
      for (const secret of ['HEIMDALL_ADMIN_TOKEN', 'HEIMDALL_ENCRYPTION_KEY', 'HEIMDALL_VK_BACKEND']) expect(env[secret]).toMatch(new RegExp(`^\\$\\{${secret}:\\?`));
      expect((service.depends_on as Record<string, { condition: string }>).redis.condition).toBe('service_healthy');
    }
    // One encryption key for all: an instance that cannot open what another stored refuses to start.
    expect(new Set(heimdall.map(([, service]) => service.environment!.HEIMDALL_ENCRYPTION_KEY)).size).toBe(1);
    expect(compose.services.redis.command).toEqual(['redis-server', '--appendonly', 'yes', '--appendfsync', 'everysec']);
  });

  it('Postgres on a volume, the migrate step once it is healthy, and the instances on it once migrated', () => {
    const postgres = compose.services.postgres;
    expect(postgres.image).toMatch(/^postgres:1[4-9]/);
    expect(postgres.volumes).toContain('postgres-data:/var/lib/postgresql/data');
    expect(compose.volumes).toHaveProperty('postgres-data');
    expect(postgres.healthcheck!.test).toEqual(['CMD', 'pg_isready', '-U', postgres.environment!.POSTGRES_USER, '-d', postgres.environment!.POSTGRES_DB]);
    const env = { HEIMDALL_DB_PASSWORD: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' };
    expect(() => interpolate(postgres.environment!.POSTGRES_PASSWORD, {})).toThrow('HEIMDALL_DB_PASSWORD');
    const password = interpolate(postgres.environment!.POSTGRES_PASSWORD, env);
    const migrate = compose.services.migrate;
    expect(migrate.image).toBe('heimdall:local');
    expect(migrate.command).toEqual(['node', 'dist/cli.js', 'migrate']);
    expect(migrate.restart).toBe('no');
    expect((migrate.depends_on as Record<string, { condition: string }>).postgres.condition).toBe('service_healthy');
    const urls = [migrate, ...heimdall.map(([, service]) => service)].map((service) => service.environment!.HEIMDALL_DATABASE_URL);
    expect(new Set(urls).size).toBe(1);
    const url = new URL(interpolate(urls[0], env));
    expect([url.protocol, url.hostname, url.port, url.username, url.password, url.pathname]).toEqual(['postgres:', 'postgres', '5432', postgres.environment!.POSTGRES_USER, password, `/${postgres.environment!.POSTGRES_DB}`]);
    for (const [, service] of heimdall) {
      const after = service.depends_on as Record<string, { condition: string }>;
      expect(after.postgres.condition).toBe('service_healthy');
      expect(after.migrate.condition).toBe('service_completed_successfully');
    }
    // The URL reaches the config as the instances read it.
    const config = loadConfig({ config: JSON.parse(deploy('heimdall.json')), env: { ...ENV, HEIMDALL_DATABASE_URL: url.toString() } });
    expect(config.database?.url).toBe(url.toString());
  });

  it('nginx balances over exactly the Heimdall services, on the port they listen on', () => {
    expect(compose.services.nginx.ports).toEqual(['8080:8080']);
    const conf = deploy('nginx.conf');
    const upstreams = [...conf.matchAll(/upstream (\w+) \{([^}]*)\}/g)];
    expect(upstreams.map((match) => match[1])).toEqual(['heimdall', 'heimdall_sticky']);
    for (const [, , body] of upstreams) {
      expect([...body.matchAll(/server ([\w-]+):(\d+)/g)].map((match) => `${match[1]}:${match[2]}`)).toEqual(['heimdall-1:8080', 'heimdall-2:8080']);
    }
    expect(conf).toMatch(/proxy_buffering off;/);
    expect(conf).toMatch(/location ~ \^\/\(v1\|openai\|anthropic\|genai\|bedrock\|mcp\)/);
  });

  it('the config file loads (cluster mode set by the environment, its fail modes kept)', () => {
    const config = loadConfig({ config: JSON.parse(deploy('heimdall.json')), env: { ...ENV, HEIMDALL_REDIS_URL: 'redis://redis:6379' } });
    expect(config.redis).toMatchObject({ url: 'redis://redis:6379', failMode: { budgets: 'closed', rateLimits: 'open' } });
    expect(config.governance.virtualKeys.map((key) => key.name)).toEqual(['backend']);
  });
});

describe('deploy/kubernetes', () => {
  const docs = ['redis', 'postgres', 'heimdall'].flatMap((name) => parseAllDocuments(deploy(`kubernetes/${name}.yaml`)))
    .map((doc) => doc.toJS() as { apiVersion: string; kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> });
  const find = (kind: string, name: string) => docs.find((doc) => doc.kind === kind && doc.metadata.name === name)!;

  it('every document names its API version, kind and name', () => {
    expect(docs.map((doc) => `${doc.kind}/${doc.metadata.name}`).sort()).toEqual([
      'ConfigMap/heimdall-config', 'Deployment/heimdall', 'Service/heimdall', 'Service/heimdall-postgres', 'Service/heimdall-redis',
      'StatefulSet/heimdall-postgres', 'StatefulSet/heimdall-redis',
    ]);
    for (const doc of docs) expect(doc.apiVersion).toMatch(/^(v1|apps\/v1)$/);
  });

  it('the Deployment reaches Redis through its Service, and the Services select and target what exists', () => {
    const deployment = find('Deployment', 'heimdall');
    const container = deployment.spec.template.spec.containers[0];
    const env = Object.fromEntries(container.env.map((entry: { name: string; value?: string }) => [entry.name, entry.value]));
    const redisService = find('Service', 'heimdall-redis');
    expect(env.HEIMDALL_REDIS_URL).toBe(`redis://${redisService.metadata.name}:${redisService.spec.ports[0].port}`);
    expect(env.HEIMDALL_CONFIG).toBe('/etc/heimdall/heimdall.json');
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    const service = find('Service', 'heimdall');
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
    expect(container.ports.map((port: { name: string }) => port.name)).toContain(service.spec.ports[0].targetPort);
    const redis = find('StatefulSet', 'heimdall-redis');
    expect(redisService.spec.selector).toEqual(redis.spec.template.metadata.labels);
    expect(redis.spec.template.spec.containers[0].ports.map((port: { name: string }) => port.name)).toContain(redisService.spec.ports[0].targetPort);
    // The config map is mounted where HEIMDALL_CONFIG points.
    const mount = container.volumeMounts.find((volume: { name: string }) => volume.name === 'config');
    expect(`${mount.mountPath}/heimdall.json`).toBe(env.HEIMDALL_CONFIG);
  });

  it('the instances and their migrate init container reach Postgres through its Service, with its user, database and password', () => {
    type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };
    const deployment = find('Deployment', 'heimdall');
    const postgres = find('StatefulSet', 'heimdall-postgres');
    const service = find('Service', 'heimdall-postgres');
    const pgContainer = postgres.spec.template.spec.containers[0];
    const pgEnv = Object.fromEntries((pgContainer.env as EnvVar[]).map((entry) => [entry.name, entry]));
    expect(service.spec.selector).toEqual(postgres.spec.template.metadata.labels);
    expect(postgres.spec.selector.matchLabels).toEqual(postgres.spec.template.metadata.labels);
    expect(pgContainer.ports.map((port: { name: string }) => port.name)).toContain(service.spec.ports[0].targetPort);
    expect(pgContainer.image).toMatch(/^postgres:1[4-9]/);
    // Data on the claim, in a directory below its mount point.
    const mount = pgContainer.volumeMounts.find((volume: { name: string }) => volume.name === postgres.spec.volumeClaimTemplates[0].metadata.name);
    expect(pgEnv.PGDATA.value!.startsWith(`${mount.mountPath}/`)).toBe(true);
    const secret = pgEnv.POSTGRES_PASSWORD.valueFrom!.secretKeyRef!;
    const podSpec = deployment.spec.template.spec;
    const migrate = podSpec.initContainers.find((container: { name: string }) => container.name === 'migrate');
    expect(migrate.command).toEqual(['node', 'dist/cli.js', 'migrate']);
    expect(migrate.image).toBe(podSpec.containers[0].image);
    for (const container of [migrate, podSpec.containers[0]]) {
      const vars: Record<string, string> = {};
      for (const entry of container.env as EnvVar[]) {
        if (entry.valueFrom?.secretKeyRef !== undefined) {
          expect(entry.valueFrom.secretKeyRef.name).toBe('heimdall');
          vars[entry.name] = `<secret ${entry.valueFrom.secretKeyRef.key}>`;
        } else if (entry.value !== undefined) vars[entry.name] = expandK8s(entry.value, vars);
      }
      const url = new URL(vars.HEIMDALL_DATABASE_URL);
      expect([url.hostname, url.port, url.username, decodeURIComponent(url.password), url.pathname]).toEqual([
        service.metadata.name, String(service.spec.ports[0].port), pgEnv.POSTGRES_USER.value, `<secret ${secret.key}>`, `/${pgEnv.POSTGRES_DB.value}`,
      ]);
      expect(secret.name).toBe('heimdall');
    }
  });

  it('the ConfigMap holds the same Heimdall config as deploy/heimdall.json, and it loads', () => {
    const fromMap = JSON.parse(find('ConfigMap', 'heimdall-config').data!['heimdall.json']) as Record<string, unknown>;
    const { $schema: _schema, ...fromFile } = JSON.parse(deploy('heimdall.json')) as Record<string, unknown>;
    expect(fromMap).toEqual(fromFile);
    expect(() => loadConfig({ config: fromMap, env: ENV })).not.toThrow();
  });
});
