/**
 * Takes the README's screenshots of the overview (docs/images/overview.png and
 * overview-dark.png) from the real app, with nothing staged: the real gateway
 * and dashboard, and a few hundred real calls through it (support/demo-traffic.ts:
 * four providers, seven models, OpenAI and Anthropic surfaces, streams, errors,
 * four virtual keys in two teams) over about fourteen minutes, so the 15-minute
 * view is full. Before the pictures it checks that the numbers agree everywhere:
 * the overview's totals and top keys, the keys' spend, and /api/usage.
 * Then it saves every page, light and dark, desktop and phone, under
 * test-results/pages/ for a look (not committed). Runs only when asked:
 *
 *   HEIMDALL_DOCS_SCREENSHOT=1 npx vitest run test/browser/docs-screenshot.test.ts
 *   HEIMDALL_DOCS_MINUTES=2 ...   (a quicker, emptier run while working on the pages)
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../support/gateway.js';
import { startMockUpstream } from '../support/mock-upstream/index.js';
import { hasChromium, launchBrowser } from './support/browser.js';
import { ensureUiBuilt } from './support/build-ui.js';
import { demoEnv, runTraffic, setupDemo } from './support/demo-traffic.js';
import { getJson, until } from './support/helpers.js';

const OUT = fileURLToPath(new URL('../../docs/images/', import.meta.url));
const PAGES = fileURLToPath(new URL('../../test-results/pages/', import.meta.url));
const MINUTES = Number(process.env.HEIMDALL_DOCS_MINUTES ?? 14);

interface Stats {
  totals: { requests: number; cost_usd: number };
  top_keys: Array<{ virtual_key_id: string; cost_usd: number; requests: number }>;
}

async function settle(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page.waitForTimeout(600);
}

describe.runIf(process.env.HEIMDALL_DOCS_SCREENSHOT && hasChromium)('docs screenshot', () => {
  it(
    'takes docs/images/overview.png from real traffic',
    async () => {
      await ensureUiBuilt();
      const mock = await startMockUpstream();
      const gateway = await startGateway({ env: demoEnv(mock), logLevel: 'warn' });
      const browser = await launchBrowser();
      try {
        const demo = await setupDemo(gateway.url);
        const total = Math.round(MINUTES * 28);
        const result = await runTraffic(gateway.url, mock, demo, { durationMs: MINUTES * 60_000, total });
        console.log(`docs screenshot: ${result.sent} calls, statuses ${JSON.stringify(result.statuses)}`);

        // Every call is logged and its spend flushed before anything is compared.
        const now = Date.now();
        const range = `from=${now - 15 * 60_000}&to=${now + 60_000}`;
        await until(async () => (await getJson<Stats>(`${gateway.url}/api/logs/stats?${range}`)).totals.requests === total, `${total} requests in the stats`, 30_000);
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        const stats = await getJson<Stats>(`${gateway.url}/api/logs/stats?${range}&top=8`);
        const keys = await getJson<{ data: Array<{ id: string; name: string; spend_usd: number; requests: number }> }>(`${gateway.url}/api/virtual-keys`);
        const usage = await getJson<{ data: Array<{ group: string | null; cost_usd: number; requests: number }> }>(`${gateway.url}/api/usage?group_by=key&period=30d`);
        for (const key of keys.data) {
          const top = stats.top_keys.find((row) => row.virtual_key_id === key.id);
          const used = usage.data.find((row) => row.group === key.id);
          expect(top?.requests, key.name).toBe(used?.requests);
          expect(Math.abs((top?.cost_usd ?? 0) - key.spend_usd), `${key.name}: overview vs key spend`).toBeLessThan(1e-6);
          expect(Math.abs((used?.cost_usd ?? 0) - key.spend_usd), `${key.name}: usage vs key spend`).toBeLessThan(1e-6);
        }

        const context = await browser.newContext({ viewport: { width: 1440, height: 960 }, colorScheme: 'light', deviceScaleFactor: 1 });
        // The 15-minute view (the overview remembers the range per tab, in sessionStorage).
        await context.addInitScript({ content: "sessionStorage.setItem('heimdall.overview.range', '15m')" });
        const page = await context.newPage();
        await page.goto(`${gateway.url}/`);
        await page.getByTestId('overview').waitFor();
        await page.locator('svg.chart').first().waitFor();
        await page.getByText(`${total} in 15 min`).waitFor();
        await settle(page);
        // As tall as the page, so no card is cut at the bottom and the sidebar runs the full height.
        const height = await page.evaluate('document.documentElement.scrollHeight') as number;
        await page.setViewportSize({ width: 1440, height });
        await page.waitForTimeout(300);
        mkdirSync(OUT, { recursive: true });
        await page.screenshot({ path: `${OUT}overview.png` });
        await page.emulateMedia({ colorScheme: 'dark' });
        await page.waitForTimeout(300);
        await page.screenshot({ path: `${OUT}overview-dark.png` });

        // Every page, light and dark, desktop and phone, for a look (not committed).
        mkdirSync(PAGES, { recursive: true });
        const logs = await getJson<{ data: Array<{ id: string; status: number }> }>(`${gateway.url}/api/logs?limit=200`);
        const ok = logs.data.find((row) => row.status === 200)?.id ?? '';
        const failed = logs.data.find((row) => row.status >= 500)?.id ?? ok;
        const paths = ['/', '/logs', `/logs/${ok}`, `/logs/${failed}`, '/usage', '/usage?by=team', '/pricing', '/providers', '/routing', '/keys', '/teams', '/customers', '/settings', '/audit', '/quickstart'];
        for (const [width, height, device] of [
          [1440, 900, 'desktop'],
          [390, 844, 'phone'],
        ] as const) {
          await page.setViewportSize({ width, height });
          for (const scheme of ['light', 'dark'] as const) {
            await page.emulateMedia({ colorScheme: scheme });
            for (const [index, path] of paths.entries()) {
              await page.goto(`${gateway.url}${path}`);
              await settle(page);
              const name = `${device}-${scheme}-${String(index).padStart(2, '0')}${path.replace(/[/?=]+/g, '_').slice(0, 40)}`;
              await page.screenshot({ path: `${PAGES}${name}.png`, fullPage: device === 'desktop' });
            }
          }
        }
        await page.emulateMedia({ colorScheme: 'light' });
        await page.goto(`${gateway.url}/`);
        await settle(page);
        await page.getByRole('button', { name: 'Open navigation' }).click();
        await page.waitForTimeout(300);
        await page.screenshot({ path: `${PAGES}phone-nav.png` });
        await context.close();
      } finally {
        await browser.close();
        await gateway.close();
        await mock.close();
      }
    },
    (MINUTES + 10) * 60_000,
  );
});
