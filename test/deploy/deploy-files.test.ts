/**
 * The deployment files in deploy/ (no container engine runs where the tests
 * run, so they are checked here instead): the compose file and the Kubernetes
 * manifests parse, their Heimdall config loads, every Heimdall instance points
 * at the Redis service and has a store of its own, nginx balances over exactly
 * the instances, ports and names agree. The topology itself (several
 * instances, one Redis, kill -9 of one) runs from processes in
 * test/cluster/redis-instances.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ROOT } from '../support/cli.js';

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
}

describe('deploy/docker-compose.yml', () => {
  const compose = parse(deploy('docker-compose.yml')) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
  const heimdall = Object.entries(compose.services).filter(([, service]) => service.image === 'heimdall:local');

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
    expect(compose.services.redis.command).toEqual(['redis-server', '--appendonly', 'yes', '--appendfsync', 'everysec']);
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
  const docs = [...parseAllDocuments(deploy('kubernetes/redis.yaml')), ...parseAllDocuments(deploy('kubernetes/heimdall.yaml'))]
    .map((doc) => doc.toJS() as { apiVersion: string; kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> });
  const find = (kind: string, name: string) => docs.find((doc) => doc.kind === kind && doc.metadata.name === name)!;

  it('every document names its API version, kind and name', () => {
    expect(docs.map((doc) => `${doc.kind}/${doc.metadata.name}`).sort()).toEqual([
      'ConfigMap/heimdall-config', 'Deployment/heimdall', 'Service/heimdall', 'Service/heimdall-redis', 'StatefulSet/heimdall-redis',
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

  it('the ConfigMap holds the same Heimdall config as deploy/heimdall.json, and it loads', () => {
    const fromMap = JSON.parse(find('ConfigMap', 'heimdall-config').data!['heimdall.json']) as Record<string, unknown>;
    const { $schema: _schema, ...fromFile } = JSON.parse(deploy('heimdall.json')) as Record<string, unknown>;
    expect(fromMap).toEqual(fromFile);
    expect(() => loadConfig({ config: fromMap, env: ENV })).not.toThrow();
  });
});
