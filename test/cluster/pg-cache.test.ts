/**
 * The response cache of a cluster (docs/caching.md#cluster-mode-a-cache-shared-through-postgres):
 * two gateway instances given one Postgres database by HEIMDALL_DATABASE_URL, as an operator starts
 * them, serve each other's entries and see each other's invalidations, with a virtual key created
 * through one of them (its entries scoped to it on both).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, removeDir, startGov, tempDir, type GovGateway } from '../governance/helpers.js';
import { freshSchema, testDatabaseUrl, type TestSchema } from '../support/pg-schema.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { chat, CHAT_PATHS, upstreamCalls } from '../cache/helpers.js';

const url = testDatabaseUrl('test/cluster/pg-cache.test.ts');

let mock: MockUpstream;
let schema: TestSchema;
const dirs: string[] = [];
const instances: GovGateway[] = [];

async function until<T>(check: () => Promise<T | undefined>, limitMs = 5_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function ask(instance: GovGateway, content: string, key: string, headers: Record<string, string> = {}) {
  return call('POST', `${instance.url}/v1/chat/completions`, chat(content), { authorization: `Bearer ${key}`, ...headers });
}

describe.skipIf(url === undefined)('the response cache shared by the instances of a cluster', () => {
  beforeAll(async () => {
    mock = await startMockUpstream();
    schema = await freshSchema(url!);
    for (let index = 0; index < 2; index++) {
      const dir = tempDir();
      dirs.push(dir);
      instances.push(await startGov({
        dataDir: dir,
        env: { HEIMDALL_DATABASE_URL: schema.url, HEIMDALL_ENCRYPTION_KEY: 'cluster-cache-test-encryption-key-0001' },
        config: {
          providers: { openai: { api_key: 'sk-upstream-0000', base_url: mock.openaiBaseUrl, max_retries: 0 } },
          cache: { enabled: true, ttl: '1h' },
        },
      }));
    }
  }, 60_000);

  afterAll(async () => {
    for (const instance of instances) await instance.close();
    await mock?.close();
    await schema?.drop();
    for (const dir of dirs) removeDir(dir);
  });

  it('an answer cached through one instance is a hit on the other; an invalidation through either reaches both', async () => {
    const [a, b] = instances;
    const created = await call('POST', `${a.url}/api/virtual-keys`, { name: 'cluster-tenant' });
    expect(created.status).toBe(201);
    const key = created.json.key as string;
    // The key reaches B through the shared configuration.
    await until(async () => ((await ask(b, 'warm-up', key)).status === 200 ? true : undefined));
    const before = upstreamCalls(mock, CHAT_PATHS);

    const first = await ask(a, 'what is the capital of France?', key);
    expect(first.status).toBe(200);
    expect(first.headers['x-heimdall-cache']).toBe('miss');
    // `only`: from the cache or a 504, never upstream (B must not store an entry of its own).
    const hit = await until(async () => {
      const reply = await ask(b, 'what is the capital of France?', key, { 'x-heimdall-cache': 'only' });
      return reply.headers['x-heimdall-cache'] === 'hit' ? reply : undefined;
    });
    expect(hit.json.choices[0].message.content).toBe(first.json.choices[0].message.content);
    expect(upstreamCalls(mock, CHAT_PATHS)).toBe(before + 1);

    // The shared table holds the entry once.
    const rows = await schema.pool.query('SELECT count(*)::int AS n FROM heimdall_cache_entries');
    expect(rows.rows[0].n).toBeGreaterThanOrEqual(1);

    const cleared = await call('DELETE', `${b.url}/api/cache`);
    expect(cleared.status).toBe(200);
    await until(async () => ((await ask(a, 'what is the capital of France?', key, { 'x-heimdall-cache': 'only' })).status === 504 ? true : undefined));
    expect(upstreamCalls(mock, CHAT_PATHS)).toBe(before + 1);
  });
});
