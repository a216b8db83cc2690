/**
 * kill -9 under load: the gateway process (the real CLI) is killed with
 * SIGKILL by its PID while requests with a virtual key stream in, then
 * restarted on the same data dir. The database passes
 * `PRAGMA integrity_check`, and the spend the gateway reports equals the sum
 * of the costs in its request log.
 */
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, killChildren, removeDirs, startCli } from '../support/cli.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';

let mock: MockUpstream;
beforeAll(async () => {
  ensureBuilt();
  mock = await startMockUpstream();
}, 180_000);
afterEach(killChildren);
afterAll(async () => {
  await mock.close();
  removeDirs();
});

async function json(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const response = await request(url, {
    method: method as 'GET',
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, json: text === '' ? undefined : JSON.parse(text) };
}

describe('kill -9 under load', () => {
  it('after SIGKILL and a restart: integrity_check ok, spend equals the logged costs', async () => {
    const env = { OPENAI_API_KEY: 'sk-kill9-upstream-0123456789', OPENAI_BASE_URL: mock.openaiBaseUrl };
    const first = await startCli(env);
    // A long spend flush interval: the kill lands between spend batches, with many requests logged but not in the spend.
    const configPath = join(first.dataDir, 'heimdall.json');
    writeFileSync(configPath, JSON.stringify({ governance: { flush_interval_ms: 60_000, pricing: { 'openai/gpt-4o-mini': { input: 1_000_000, output: 2_000_000 } } } }));
    first.child.kill('SIGTERM');
    await first.exited;
    let gateway = await startCli(env, { dataDir: first.dataDir, args: ['--config', configPath] });
    const created = await json(`${gateway.url}/api/virtual-keys`, 'POST', { name: 'load', budget: { max_usd: 1_000_000 } });
    expect(created.status).toBe(201);
    const { id, key } = created.json as { id: string; key: string };

    // 16 clients sending back to back until the process dies under them.
    let answered = 0;
    let stop = false;
    const client = async (): Promise<void> => {
      while (!stop) {
        try {
          const reply = await json(`${gateway.url}/v1/chat/completions`, 'POST', { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'a b c' }] }, { authorization: `Bearer ${key}` });
          if (reply.status === 200) answered++;
        } catch {
          return; // the process is gone
        }
      }
    };
    const clients = Array.from({ length: 16 }, client);
    while (answered < 300) await new Promise((resolve) => setTimeout(resolve, 20));
    gateway.child.kill('SIGKILL');
    const killed = await gateway.exited;
    stop = true;
    await Promise.all(clients);
    expect(killed.signal).toBe('SIGKILL');

    gateway = await startCli(env, { dataDir: first.dataDir, args: ['--config', configPath] });
    const file = new Database(join(first.dataDir, 'heimdall.db'), { readonly: true });
    try {
      expect(file.pragma('integrity_check', { simple: true })).toBe('ok');
      const logged = file.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(cost_usd), 0) AS usd FROM request_logs WHERE virtual_key_id = ?').get(id) as { n: number; usd: number };
      // The log kept a good part of the answered calls: what a crash loses is what was queued in memory for the
      // writer, at most about one flush interval of traffic, which a loaded machine makes larger (138 of 300+ seen).
      expect(logged.n).toBeGreaterThanOrEqual(100);
      expect(logged.n).toBeLessThanOrEqual(answered + 16);
      const spend = (await json(`${gateway.url}/api/virtual-keys/${id}`)).json.budget.spend_usd as number;
      expect(spend).toBeGreaterThan(0);
      expect(spend).toBeCloseTo(logged.usd, 6);
      expect(gateway.stdout() + gateway.stderr()).toContain('spend reconciled from the request log');
    } finally {
      file.close();
    }
    gateway.child.kill('SIGTERM');
    expect((await gateway.exited).code).toBe(0);
  }, 120_000);
});
