/**
 * The dashboard's Cache page in a real browser (Debian's Chromium through playwright-core) against
 * the real gateway and the mock upstream: the hit rate and savings after a miss and a hit, a
 * shadow-mode match with both answers, and invalidation emptying the cache.
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { collectConsoleErrors, hasChromium, launchBrowser, screenshot } from './support/browser.js';
import { ensureUiBuilt } from './support/build-ui.js';
import { POLL, getJson } from './support/helpers.js';

describe.skipIf(!hasChromium)('the Cache page in a browser', { timeout: 60_000 }, () => {
  let browser: Browser;
  let mock: MockUpstream;
  let gateway: TestGateway;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    await ensureUiBuilt();
    [browser, mock] = await Promise.all([launchBrowser(), startMockUpstream()]);
    gateway = await startGateway({
      env: { OPENAI_API_KEY: 'sk-mock-openai', OPENAI_BASE_URL: mock.openaiBaseUrl },
      config: {
        governance: { pricing: { 'openai/gpt-4o-mini': { input: 1_000_000, output: 2_000_000 } } },
        cache: { enabled: true, semantic: { enabled: true, embedding_model: 'openai/text-embedding-3-small', dimensions: 256, threshold: 0.9, mode: 'shadow' } },
      },
      logLevel: 'warn',
    });
  }, 120_000);
  afterEach(async () => {
    await context?.close();
    context = undefined;
  });
  afterAll(async () => {
    await gateway?.close();
    await browser?.close();
    await mock?.close();
  });

  const ask = (content: string): Promise<Response> =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content }] }),
    });

  it('shows the hit rate and savings, the shadow-mode review, and empties the cache', async () => {
    expect((await ask('What is the capital city of France?')).headers.get('x-heimdall-cache')).toBe('miss');
    expect((await ask('What is the capital city of France?')).headers.get('x-heimdall-cache')).toBe('hit');
    expect((await ask("Tell me France's capital")).headers.get('x-heimdall-cache')).toBe('miss');

    context = await browser.newContext({ viewport: { width: 1360, height: 1400 }, colorScheme: 'light', timezoneId: 'UTC' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors = collectConsoleErrors(page);
    await page.goto(`${gateway.url}/cache`);
    await expect.poll(() => page.getByText('Hit rate').isVisible(), POLL).toBe(true);
    // 1 hit of 3 lookups.
    await expect.poll(() => page.getByText('33.3%').first().isVisible(), POLL).toBe(true);
    await expect.poll(() => page.getByText('1 exact, 0 semantic, 2 misses').isVisible(), POLL).toBe(true);
    const review = page.locator('.card', { hasText: 'Shadow-mode review' });
    await expect.poll(() => review.getByText("Tell me France's capital", { exact: true }).isVisible(), POLL).toBe(true);
    await expect.poll(() => review.getByText('would serve').isVisible(), POLL).toBe(true);
    expect(await review.getByText('echo: What is the capital city of France?').count()).toBeGreaterThan(0);
    expect(await review.getByText("echo: Tell me France's capital").count()).toBeGreaterThan(0);
    await screenshot(page, 'cache-page');

    await page.getByRole('button', { name: 'Empty the cache' }).click();
    await page.getByRole('button', { name: 'Remove' }).click();
    await expect.poll(async () => (await getJson<{ store: { entries: number } }>(`${gateway.url}/api/cache/stats`)).store.entries, POLL).toBe(0);
    expect(errors).toEqual([]);
  });
});
