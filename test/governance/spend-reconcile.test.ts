/**
 * Spend lost in a crash is rebuilt from the request log at the next start,
 * without counting anything twice: the saved spend covers the log rows up to
 * a watermark saved with it; the rows above it are added.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPEND_WATERMARK_SETTING } from '../../src/store/spend-watermark.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { call, chat, removeDir, startGov, tempDir } from './helpers.js';

let mock: MockUpstream;
beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => {
  await mock.close();
});

/** $1 per prompt token, $2 per completion token: costs are whole dollars. */
const config = () => ({
  providers: { openai: { api_key: 'sk-upstream-reconcile-0000', base_url: mock.openaiBaseUrl, max_retries: 0 } },
  governance: { pricing: { 'openai/gpt-4o-mini': { input: 1_000_000, output: 2_000_000 } }, flush_interval_ms: 600_000 },
});

type Db = InstanceType<typeof Database>;
const loggedCost = (db: Db, id: string): number =>
  (db.prepare('SELECT COALESCE(SUM(cost_usd), 0) AS usd FROM request_logs WHERE virtual_key_id = ?').get(id) as { usd: number }).usd;
const savedSpend = (db: Db, id: string): number =>
  (db.prepare("SELECT COALESCE(SUM(spend_usd), 0) AS usd FROM spend WHERE entity_type = 'key' AND entity_id = ?").get(id) as { usd: number }).usd;

describe('spend reconciled from the request log at start', () => {
  it('the spend batch lost in a crash comes back from the log rows above the watermark, and is not counted twice', async () => {
    const dataDir = tempDir();
    let gw = await startGov({ config: config(), dataDir });
    const created = await call('POST', `${gw.url}/api/virtual-keys`, { name: 'crashy', budget: { max_usd: 1000 } });
    const { id, key } = created.json as { id: string; key: string };
    const headers = { authorization: `Bearer ${key}` };
    for (let i = 0; i < 3; i++) expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c'), headers)).status).toBe(200);
    gw.app.governance.flush(); // a spend batch: the first 3 calls, and the watermark that says so
    const db = gw.app.store.db;
    const saved = { spend: db.prepare('SELECT * FROM spend').all(), watermark: db.prepare('SELECT value FROM settings WHERE key = ?').get(SPEND_WATERMARK_SETTING) as { value: string } };
    expect(Number(saved.watermark.value)).toBeGreaterThan(0);
    for (let i = 0; i < 4; i++) expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c'), headers)).status).toBe(200);
    const before = (await call('GET', `${gw.url}/api/virtual-keys/${id}`)).json.budget.spend_usd as number;
    await gw.close(false);

    // What a kill -9 before the next spend batch leaves: the log has all 7 calls, the spend and watermark only the first 3.
    const file = new Database(join(dataDir, 'heimdall.db'));
    const put = file.prepare('INSERT OR REPLACE INTO spend (entity_type, entity_id, period_start, spend_usd, tokens, requests, updated_at) VALUES (@entity_type, @entity_id, @period_start, @spend_usd, @tokens, @requests, @updated_at)');
    file.prepare('DELETE FROM spend').run();
    for (const row of saved.spend) put.run(row);
    file.prepare('UPDATE settings SET value = ? WHERE key = ?').run(saved.watermark.value, SPEND_WATERMARK_SETTING);
    const logged = loggedCost(file, id);
    expect(savedSpend(file, id)).toBeLessThan(logged);
    file.close();

    gw = await startGov({ config: config(), dataDir });
    const after = (await call('GET', `${gw.url}/api/virtual-keys/${id}`)).json.budget;
    expect(after.spend_usd).toBeCloseTo(logged, 9);
    expect(after.spend_usd).toBeCloseTo(before, 9);
    expect(savedSpend(gw.app.store.db, id)).toBeCloseTo(logged, 9); // written back at once, with a new watermark
    expect(gw.logText()).toContain('spend reconciled from the request log');
    // One more call, a clean stop and a start: nothing is added twice.
    expect((await call('POST', `${gw.url}/v1/chat/completions`, chat('a b c'), headers)).status).toBe(200);
    await gw.close(false);
    gw = await startGov({ config: config(), dataDir });
    const again = (await call('GET', `${gw.url}/api/virtual-keys/${id}`)).json.budget.spend_usd as number;
    expect(again).toBeCloseTo(loggedCost(gw.app.store.db, id), 9);
    expect(gw.logText()).not.toContain('spend reconciled from the request log');
    await gw.close(false);
    removeDir(dataDir);
  });
});
