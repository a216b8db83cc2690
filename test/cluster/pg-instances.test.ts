/**
 * Two gateway instances (each with its own data dir) sharing one Postgres schema for their request
 * logs and stored responses, through a TCP proxy the test can cut (the machine's Postgres is never
 * stopped):
 *   - either instance's management API lists, shows, counts and reports both instances' requests;
 *   - a response stored through A is continued (previous_response_id) and retrieved through B;
 *   - with Postgres cut, requests are answered (none hangs), their logs are held, then written when
 *     it is back: none lost.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { call, chat, startGov, type GovGateway } from '../governance/helpers.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { freshSchema, tcpProxy, testDatabaseUrl, type TcpProxy, type TestSchema } from '../support/pg-schema.js';

const url = testDatabaseUrl('test/cluster/pg-instances.test.ts');

describe.skipIf(url === undefined)('two instances, one Postgres', () => {
  let mock: MockUpstream;
  let schema: TestSchema;
  let proxy: TcpProxy;
  let a: GovGateway;
  let b: GovGateway;

  beforeAll(async () => {
    const providers = await startMockProviders();
    mock = providers.mock;
    schema = await freshSchema(url!, { migrate: true });
    proxy = await tcpProxy(new URL(url!).hostname, Number(new URL(url!).port || 5432));
    const store = {
      postgres: {
        connection: { ...schema.settings(proxy.via(url!)), connectionTimeoutMillis: 1000 },
        logs: { flushIntervalMs: 50, retryMinMs: 20, retryMaxMs: 200 },
        responses: { retryMinMs: 20, retryMaxMs: 200 },
      },
    };
    a = await startGov({ env: providers.env, config: providers.config, store });
    b = await startGov({ env: providers.env, config: providers.config, store });
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await mock?.close();
    await proxy?.close();
    await schema?.drop();
  });
  beforeEach(() => mock.reset());

  async function send(gateway: GovGateway, content: string): Promise<string> {
    const reply = await call('POST', `${gateway.url}/v1/chat/completions`, chat(content));
    expect(reply.status).toBe(200);
    return String(reply.headers['x-request-id']);
  }

  async function storedIds(ids: string[]): Promise<Set<string>> {
    const rows = await schema.pool.query('SELECT id FROM request_logs WHERE id = ANY($1::text[])', [ids]);
    return new Set(rows.rows.map((row: { id: string }) => row.id));
  }

  it("either instance's management API lists, shows and counts both instances' requests", async () => {
    const fromA = await Promise.all(Array.from({ length: 5 }, (_, index) => send(a, `from a ${index}`)));
    const fromB = await Promise.all(Array.from({ length: 4 }, (_, index) => send(b, `from b ${index}`)));
    expect(new Set([...fromA, ...fromB]).size).toBe(9);
    for (const gateway of [a, b]) {
      await vi.waitFor(async () => {
        const listed = await call('GET', `${gateway.url}/api/logs?limit=500`);
        expect(listed.status).toBe(200);
        const ids = (listed.json as { data: Array<{ id: string }> }).data.map((log) => log.id);
        expect(ids).toEqual(expect.arrayContaining([...fromA, ...fromB]));
      }, { timeout: 10_000, interval: 100 });
    }
    const shown = await call('GET', `${b.url}/api/logs/${fromA[0]}`);
    expect(shown.status).toBe(200);
    expect(shown.json).toMatchObject({ id: fromA[0], status: 200, provider: 'openai', model: 'gpt-4o-mini' });
    const stats = await call('GET', `${a.url}/api/logs/stats`);
    expect((stats.json as { totals: { requests: number } }).totals.requests).toBeGreaterThanOrEqual(9);
    const usage = await call('GET', `${b.url}/api/usage?period=today&group_by=model`);
    expect(usage.status).toBe(200);
    const row = (usage.json as { data: Array<{ group: string; requests: number }> }).data.find((entry) => entry.group === 'openai/gpt-4o-mini');
    expect(row?.requests).toBeGreaterThanOrEqual(9);
  });

  it('a response stored through A is continued and retrieved through B, and the other way round', async () => {
    const openai = (gateway: GovGateway) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'sk-none', maxRetries: 0, timeout: 10_000 });
    const first = await openai(a).responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'the first turn' });
    expect(first.status).toBe('completed');
    const second = await openai(b).responses.create({ model: 'anthropic/claude-sonnet-4-5', input: 'the second turn', previous_response_id: first.id });
    expect(second.previous_response_id).toBe(first.id);
    // B sent the first turn (from Postgres) before the second
    const sent = mock.requests.at(-1)!.body as { messages: Array<{ role: string; content: unknown }> };
    expect(JSON.stringify(sent.messages[0])).toContain('the first turn');
    expect(JSON.stringify(sent.messages.at(-1))).toContain('the second turn');
    expect(sent.messages.length).toBeGreaterThanOrEqual(3);

    const retrieved = await openai(b).responses.retrieve(first.id);
    expect(retrieved.id).toBe(first.id);
    expect(retrieved.output_text).toBe(first.output_text);
    const back = await openai(a).responses.retrieve(second.id);
    expect(back.previous_response_id).toBe(first.id);
    await expect(openai(b).responses.retrieve('resp_nowhere')).rejects.toMatchObject({ status: 404 });
  });

  it('Postgres cut under requests: every request is answered, the logs are held, then written; none lost', async () => {
    await proxy.cut();
    const started = performance.now();
    const ids = await Promise.all(Array.from({ length: 40 }, (_, index) => send(index % 2 === 0 ? a : b, `during the outage ${index}`)));
    // answered without waiting for Postgres (the mock answers at once)
    expect(performance.now() - started).toBeLessThan(10_000);
    await vi.waitFor(() => expect(a.app.store.logs.stats.queued + b.app.store.logs.stats.queued).toBeGreaterThanOrEqual(40), { timeout: 10_000, interval: 50 });
    // the management API says Postgres is unreachable, quickly, instead of hanging
    const listStarted = performance.now();
    const listed = await call('GET', `${a.url}/api/logs`);
    expect(listed.status).toBeGreaterThanOrEqual(500);
    expect(performance.now() - listStarted).toBeLessThan(5000);
    expect((await storedIds(ids)).size).toBe(0);

    await proxy.restore();
    // The rows are readable as the last INSERT commits, a moment before each writer has counted its reply.
    await vi.waitFor(async () => {
      expect((await storedIds(ids)).size).toBe(40);
      for (const gateway of [a, b]) expect(gateway.app.store.logs.stats).toMatchObject({ queued: 0, droppedRecords: 0 });
    }, { timeout: 20_000, interval: 100 });
    const after = await call('GET', `${b.url}/api/logs?limit=500&q=`);
    expect(after.status).toBe(200);
  });
});
