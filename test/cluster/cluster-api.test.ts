/**
 * GET /api/cluster without a reachable Redis: one instance alone (single
 * mode), and cluster mode whose Redis cannot be reached (the instance starts
 * anyway in its fail modes, says so, and never shows the URL's password).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { VERSION } from '../../src/version.js';
import { freePort } from '../support/cluster-services.js';
import { startGateway, type TestGateway } from '../support/gateway.js';

const started: TestGateway[] = [];
afterAll(async () => {
  for (const gateway of started) await gateway.close();
});

async function cluster(url: string): Promise<{ status: number; text: string; json: Record<string, any> }> {
  const response = await request(`${url}/api/cluster`);
  const text = await response.body.text();
  return { status: response.statusCode, text, json: JSON.parse(text) };
}

describe('GET /api/cluster', () => {
  it('one instance without Redis: single mode, this instance with its address, version, uptime and load', async () => {
    const gateway = await startGateway({ logLevel: 'warn' });
    started.push(gateway);
    const { status, json } = await cluster(gateway.url);
    expect(status).toBe(200);
    expect(json.mode).toBe('single');
    expect(json.shared_counters).toBeNull();
    expect(json.shared_config).toBeNull();
    expect(json.data).toHaveLength(1);
    const [self] = json.data;
    expect(self.id).toBe(json.self);
    expect(self.address).toBe(gateway.url);
    expect(self.version).toBe(VERSION);
    expect(self.pid).toBe(process.pid);
    expect(self.uptime_s).toBeGreaterThanOrEqual(0);
    expect(self.load.in_flight).toBe(0);
    expect(self.load.requests_per_s).toBe(0);
    expect(Math.abs(json.now - Date.now())).toBeLessThan(5_000);
    expect(self.load.rss_bytes).toBeGreaterThan(10_000_000);
    expect(typeof self.load.cpu_percent).toBe('number');
    expect(self.last_heartbeat_at).toBeGreaterThan(Date.now() - 60_000);
  });

  it('Redis unreachable at start: the instance starts, the view says so, and the password in the URL appears nowhere', async () => {
    const port = await freePort(); // nothing listens there
    const gateway = await startGateway({
      logLevel: 'info',
      env: { HEIMDALL_REDIS_URL: `redis://heimdall:s3cret-redis-pass@127.0.0.1:${port}/0` },
      config: { redis: { connect_timeout_ms: 200, timeout_ms: 100 } },
    });
    started.push(gateway);
    const { status, text, json } = await cluster(gateway.url);
    expect(status).toBe(200);
    expect(json.mode).toBe('cluster');
    expect(json.shared_counters).toMatchObject({ connected: false, target: `redis://127.0.0.1:${port}/0`, pending_settlements: 0 });
    expect(json.data.map((instance: { id: string }) => instance.id)).toEqual([json.self]);
    expect(text).not.toContain('s3cret-redis-pass');
    // GET /api/config shows the section without the credentials; PATCH /api/settings cannot change it (start-only).
    const config = await request(`${gateway.url}/api/config`);
    const configText = await config.body.text();
    expect(JSON.parse(configText).config.redis).toMatchObject({ url: `redis://127.0.0.1:${port}/0`, timeout_ms: 100, fail_mode: { budgets: 'open', rate_limits: 'open' } });
    expect(configText).not.toContain('s3cret-redis-pass');
    const patch = await request(`${gateway.url}/api/settings`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redis: { timeout_ms: 500 } }) });
    expect(patch.statusCode).toBe(400);
    await patch.body.text();
    expect(gateway.logText()).toContain('Redis unreachable');
    expect(gateway.logText()).not.toContain('s3cret-redis-pass');
  });
});
