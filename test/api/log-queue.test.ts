/**
 * A full request-log queue never fails or slows a request: it sheds the
 * oldest bodies first, then the oldest records, and counts both in
 * /metrics (heimdall_log_dropped_total, heimdall_log_queue_depth).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { call, chat, startAdminGateway, type AdminGateway } from './helpers.js';

let mock: MockUpstream;
let gw: AdminGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startAdminGateway({
    env: { OPENAI_API_KEY: 'sk-queue-key-0123456789abcdef', OPENAI_BASE_URL: mock.openaiBaseUrl },
    config: { logging: { bodies: true } },
    // Nothing is written until a read flushes: a queue of 3 records and ~1 body's worth of characters.
    management: { store: { logs: { flushIntervalMs: 600_000, batchSize: 10_000, maxQueue: 3, maxQueuedBodyChars: 600 } } },
  });
});
afterAll(async () => {
  await gw.close();
  await mock.close();
});

function metric(text: string, line: string): number | undefined {
  const found = text.split('\n').find((row) => row.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('a full log queue', () => {
  it('every request succeeds; the oldest bodies, then the oldest records, are dropped and counted', async () => {
    const ids = ['q-1', 'q-2', 'q-3', 'q-4', 'q-5'];
    for (const id of ids) expect((await chat(gw.url, 'openai/gpt-4o-mini', {}, { 'x-request-id': id })).status).toBe(200);
    const stats = gw.app.store.logs.stats;
    expect(stats.queued).toBe(3);
    expect(stats.droppedRecords).toBe(2);
    expect(stats.droppedBodies).toBeGreaterThan(0);

    const scrape = await call(gw.url, 'GET', '/metrics');
    expect(metric(scrape.text, 'heimdall_log_queue_depth')).toBe(3);
    expect(metric(scrape.text, 'heimdall_log_dropped_total{what="records"}')).toBe(2);
    expect(metric(scrape.text, 'heimdall_log_dropped_total{what="bodies"}')).toBe(stats.droppedBodies);

    // The newest three are kept; the newest one still has its bodies.
    const listed = await call(gw.url, 'GET', '/api/logs');
    expect(listed.json.data.map((row: { id: string }) => row.id)).toEqual(['q-5', 'q-4', 'q-3']);
    expect((await call(gw.url, 'GET', '/api/logs/q-5')).json.request_body).toContain('"model":"openai/gpt-4o-mini"');
    expect((await call(gw.url, 'GET', '/api/logs/q-3')).json.request_body).toBeNull();
  });
});
