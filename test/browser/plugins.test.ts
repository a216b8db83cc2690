/**
 * The dashboard's Plugins page in a real browser against the real gateway: the
 * running order with Heimdall's own plugins, a list that does not load refused
 * with its reason, a list that loads saved and applied to the next request.
 */
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { collectConsoleErrors, hasChromium, launchBrowser, screenshot } from './support/browser.js';
import { ensureUiBuilt } from './support/build-ui.js';
import { chat, getJson } from './support/helpers.js';

const MOCK_PLUGIN = resolve(import.meta.dirname, '../../examples/plugins/response-mock.mjs');

describe.skipIf(!hasChromium)('dashboard: plugins', { timeout: 60_000 }, () => {
  let browser: Browser;
  let mock: MockUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    await ensureUiBuilt();
    [browser, mock] = await Promise.all([launchBrowser(), startMockUpstream()]);
    gateway = await startGateway({ env: { OPENAI_API_KEY: 'sk-mock-openai', OPENAI_BASE_URL: mock.openaiBaseUrl }, logLevel: 'warn' });
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
    await browser?.close();
    await mock?.close();
  });

  it('shows the running order, refuses a list that does not load, saves and applies one that does', async () => {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: 'light' });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const errors = collectConsoleErrors(page);
      await page.goto(`${gateway.url}/plugins`);
      const table = page.getByRole('table', { name: 'Plugins in running order' });
      await expect.poll(() => table.getByRole('row').count()).toBeGreaterThan(2);
      await expect.poll(() => table.textContent()).toContain('governance');

      const editor = page.getByLabel(/Plugins \(JSON/);
      await editor.fill(JSON.stringify([{ path: '/nowhere/missing.mjs' }]));
      await page.getByRole('button', { name: 'Save and apply' }).click();
      await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('missing.mjs');

      await editor.fill(JSON.stringify([{ path: MOCK_PLUGIN, options: { reply: 'from the dashboard' } }]));
      await page.getByRole('button', { name: 'Save and apply' }).click();
      await expect.poll(() => table.textContent()).toContain('response-mock');
      await screenshot(page, 'plugins');
      const answer = (await (await chat(gateway, 'openai/gpt-4o-mini')).json()) as { choices: Array<{ message: { content: string } }> };
      expect(answer.choices[0].message.content).toBe('from the dashboard');
      expect((await getJson<{ source: string }>(`${gateway.url}/api/plugins`)).source).toBe('store');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
