/**
 * The dashboard's Cluster page in a real browser (Debian's Chromium through playwright-core):
 * two gateway instances on one Redis (a key prefix of this run's own) are both listed, on either
 * instance's dashboard, with this instance marked, their addresses, version, load (the requests
 * per second of the traffic sent to one) and the shared counters' state; a third instance started
 * and stopped while the page is open appears and goes without a reload (the page refreshes itself);
 * a gateway without Redis shows the single-instance empty state.
 */
import type { Browser, Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { dropPrefix, testRedisUrl, uniquePrefix } from '../support/cluster-services.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { collectConsoleErrors, hasChromium, launchBrowser, screenshot } from './support/browser.js';
import { freshSchema, testDatabaseUrl, type TestSchema } from '../support/pg-schema.js';
import { ensureUiBuilt } from './support/build-ui.js';

const redisUrl = testRedisUrl('Cluster page (browser)');
/** With it, the two instances also share their configuration through Postgres, and the page shows its state. */
const databaseUrl = testDatabaseUrl('Cluster page (browser): the shared-configuration part');
const prefix = uniquePrefix();
const WAIT = { timeout: 20_000, interval: 250 };

async function clusterSelf(url: string): Promise<string> {
  const response = await request(`${url}/api/cluster`);
  return ((await response.body.json()) as { self: string }).self;
}

describe.skipIf(!hasChromium)('Cluster page', { timeout: 120_000 }, () => {
  let browser: Browser;
  let mock: MockUpstream;
  let env: Record<string, string> = {};
  let providersConfig: Record<string, unknown> = {};
  const gateways: TestGateway[] = [];
  let schema: TestSchema | undefined;

  const start = async (withRedis: boolean): Promise<TestGateway> => {
    const shared: Record<string, string> = schema === undefined ? {} : { HEIMDALL_DATABASE_URL: schema.url, HEIMDALL_ENCRYPTION_KEY: 'cluster-page-test-encryption-key-0001' };
    const gateway = withRedis
      ? await startGateway({ env: { ...env, ...shared, HEIMDALL_REDIS_URL: redisUrl! }, config: { ...providersConfig, redis: { key_prefix: prefix, timeout_ms: 2_000 } }, logLevel: 'warn' })
      : await startGateway({ env, config: providersConfig, logLevel: 'warn' });
    gateways.push(gateway);
    return gateway;
  };

  const open = async (url: string): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> => {
    const context = await browser.newContext({ viewport: { width: 1500, height: 900 }, colorScheme: 'light', timezoneId: 'UTC' });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const errors = collectConsoleErrors(page);
    await page.goto(`${url}/`);
    await page.locator('.sidebar').getByRole('link', { name: 'Cluster' }).click();
    await page.getByRole('heading', { name: 'Cluster', level: 1 }).waitFor();
    return { page, errors, close: () => context.close() };
  };

  beforeAll(async () => {
    await ensureUiBuilt();
    browser = await launchBrowser();
    const providers = await startMockProviders();
    mock = providers.mock;
    env = providers.env;
    providersConfig = providers.config as Record<string, unknown>;
    if (databaseUrl !== undefined && redisUrl !== undefined) schema = await freshSchema(databaseUrl);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    for (const gateway of gateways) await gateway.close();
    await mock?.close();
    if (redisUrl !== undefined) await dropPrefix(redisUrl, prefix);
    await schema?.drop();
  });

  it.skipIf(redisUrl === undefined)('two instances on one Redis: both rows on either dashboard, this one marked, load and shared state shown, refreshed', async () => {
    const a = await start(true);
    const b = await start(true);
    const [idA, idB] = [await clusterSelf(a.url), await clusterSelf(b.url)];
    expect(idA).not.toBe(idB);

    const { page, errors, close } = await open(a.url);
    const table = page.getByRole('table', { name: 'Instances' });
    const rows = table.locator('tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(2);
    const rowA = table.locator(`tr[data-instance="${idA}"]`);
    const rowB = table.locator(`tr[data-instance="${idB}"]`);
    expect(await rowA.textContent()).toContain(a.url);
    expect(await rowB.textContent()).toContain(b.url);
    expect(await rowA.textContent()).toContain(VERSION);
    expect(await rowA.textContent()).toContain('this instance');
    expect(await rowB.textContent()).not.toContain('this instance');
    // The instance asked comes first.
    expect(await rows.first().getAttribute('data-instance')).toBe(idA);
    expect(await page.locator('main').textContent()).toContain('Shared counters (Redis)');
    expect(await page.locator('.stat', { hasText: 'Shared counters (Redis)' }).locator('.stat-value').textContent()).toBe('connected');
    const sharedConfig = page.locator('.stat', { hasText: 'Shared configuration (Postgres)' });
    if (schema === undefined) {
      expect(await sharedConfig.locator('.stat-value').textContent()).toBe('not configured');
    } else {
      await expect.poll(() => sharedConfig.locator('.stat-value').textContent(), WAIT).toBe('connected');
      expect(await sharedConfig.locator('.stat-sub').textContent()).toMatch(/; version \d+, 0 changes pending, 0 rejected$/);
    }
    expect(await page.locator('.stat', { hasText: 'Instances' }).locator('.stat-value').textContent()).toBe('2');
    expect(await page.getByText('Single instance').count()).toBe(0);

    // Load: 30 requests to B show up in B's next heartbeat as requests per second (column 6), A stays at 0.
    for (let i = 0; i < 30; i++) {
      const response = await request(`${b.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer unused' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hello ${i}` }] }),
      });
      expect(response.statusCode).toBe(200);
      await response.body.dump();
    }
    const rate = (row: typeof rowA) => row.locator('td').nth(5).textContent().then((text) => Number(text));
    await expect.poll(() => rate(rowB), WAIT).toBeGreaterThan(0);
    expect(await rate(rowA)).toBe(0);
    await screenshot(page, 'cluster');

    // The same cluster from B's dashboard: B marked.
    const other = await open(b.url);
    await expect.poll(() => other.page.getByRole('table', { name: 'Instances' }).locator('tbody tr').count(), WAIT).toBe(2);
    expect(await other.page.locator(`tr[data-instance="${idB}"]`).textContent()).toContain('this instance');
    expect(await other.page.locator(`tr[data-instance="${idA}"]`).textContent()).not.toContain('this instance');
    if (schema !== undefined) {
      // Both replicas in step: the same configuration version on either dashboard.
      const version = (at: Page) => at.locator('.stat', { hasText: 'Shared configuration (Postgres)' }).locator('.stat-sub').textContent().then((text) => /version (\d+)/.exec(text ?? '')?.[1]);
      await expect.poll(async () => (await version(other.page)) === (await version(page)), WAIT).toBe(true);
    }
    expect(other.errors).toEqual([]);
    await other.close();

    // A third instance appears on the open page without a reload, and leaves it when it stops cleanly.
    const c = await start(true);
    const idC = await clusterSelf(c.url);
    await expect.poll(() => rows.count(), WAIT).toBe(3);
    expect(await table.locator(`tr[data-instance="${idC}"]`).textContent()).toContain(c.url);
    await c.close();
    gateways.splice(gateways.indexOf(c), 1);
    await expect.poll(() => rows.count(), WAIT).toBe(2);
    expect(await table.locator(`tr[data-instance="${idC}"]`).count()).toBe(0);

    expect(errors).toEqual([]);
    await close();
  });

  it('without Redis: the single-instance empty state, and this instance alone', async () => {
    const alone = await start(false);
    const { page, errors, close } = await open(alone.url);
    await page.getByText('Single instance: no cluster configured').waitFor();
    const rows = page.getByRole('table', { name: 'Instances' }).locator('tbody tr');
    expect(await rows.count()).toBe(1);
    const text = await rows.first().textContent();
    expect(text).toContain(alone.url);
    expect(text).toContain('this instance');
    expect(text).toContain('not sent (no Redis)');
    expect(await page.locator('.stat', { hasText: 'Shared counters (Redis)' }).locator('.stat-value').textContent()).toBe('not configured');
    await screenshot(page, 'cluster-single');
    expect(errors).toEqual([]);
    await close();
  });
});
