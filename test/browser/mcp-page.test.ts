/**
 * The dashboard's MCP servers page in a real browser (Debian's Chromium through playwright-core):
 * a stdio server of the config file shown connected with its tools, a server added through the
 * form that starts and lists its tools, and the tool-call table. Screenshots under test-results/.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { connectClient, EVERYTHING, FLAKY, stdioServer, textOf, waitForStatus } from '../mcp/support.js';
import { startAuthorizationServer, type TestAuthorizationServer } from '../mcp/oauth-authorization-server.js';
import { collectConsoleErrors, hasChromium, launchBrowser, screenshot } from './support/browser.js';
import { ensureUiBuilt } from './support/build-ui.js';
import { POLL } from './support/helpers.js';

const KEY = 'hk-mcp-browser-test-key-0001';

describe.skipIf(!hasChromium)('MCP servers page', { timeout: 90_000 }, () => {
  let browser: Browser;
  let gw: TestGateway;
  let as: TestAuthorizationServer;

  beforeAll(async () => {
    await ensureUiBuilt();
    browser = await launchBrowser();
    as = await startAuthorizationServer();
    gw = await startGateway({
      config: {
        governance: { virtual_keys: { dev: { key: KEY } } },
        mcp: { servers: { flaky: stdioServer(FLAKY), secured: { transport: 'http', url: as.mcpUrl, oauth: { grant: 'authorization_code' } } } },
      },
      logLevel: 'warn',
    });
    await waitForStatus(gw.app, 'flaky', 'ready');
    const client = await connectClient(gw.url, KEY);
    await client.callTool({ name: 'flaky__ok', arguments: {} });
    await client.close();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await as?.close();
  });

  it('shows each server with its health and tools, and adds a server', async () => {
    const context = await browser.newContext({ viewport: { width: 1360, height: 1000 }, colorScheme: 'light', timezoneId: 'UTC' });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const errors = collectConsoleErrors(page);
    await page.goto(`${gw.url}/mcp-servers`);
    const servers = page.getByTestId('mcp-servers');
    await expect.poll(() => servers.textContent(), POLL).toContain('flaky__ok');
    expect(await servers.textContent()).toContain('connected');
    await expect.poll(() => page.locator('table').textContent(), POLL).toContain('flaky__ok');

    await page.getByLabel('Name', { exact: true }).fill('everything');
    await page.getByLabel('Transport').selectOption('stdio');
    await page.getByLabel('Command').fill(process.execPath);
    await page.getByLabel('Arguments, one per line').fill(`${EVERYTHING}\nstdio`);
    await page.getByRole('button', { name: 'Add server' }).click();
    await expect.poll(() => servers.textContent(), { timeout: 40_000 }).toContain('everything__echo');
    await screenshot(page, 'mcp-servers');
    expect(gw.app.mcp.hub.server('everything')?.status).toBe('ready');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('connects a server with OAuth: Connect goes through the authorization server and back', async () => {
    const context = await browser.newContext({ viewport: { width: 1360, height: 1000 }, colorScheme: 'light', timezoneId: 'UTC' });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const errors = collectConsoleErrors(page);
    await page.goto(`${gw.url}/mcp-servers`);
    const card = page.getByTestId('mcp-servers').locator('.card', { hasText: 'secured' });
    await expect.poll(() => card.getByTestId('mcp-oauth').textContent(), POLL).toContain('not authorized');
    await card.getByRole('button', { name: 'Connect', exact: true }).click();
    // The authorization server signs the browser in (a cookie), then sends it back through the callback.
    await page.waitForURL((url) => url.pathname === '/mcp-servers' && url.port === new URL(gw.url).port, { timeout: 20_000 });
    await expect.poll(() => page.locator('body').textContent(), POLL).toContain('Connected secured');
    expect(new URL(page.url()).search).toBe('');
    await waitForStatus(gw.app, 'secured', 'ready');
    await expect.poll(() => card.getByTestId('mcp-oauth').textContent(), { timeout: 20_000 }).toMatch(/authorized, token expires .*refreshable/);
    await expect.poll(() => card.textContent(), { timeout: 20_000 }).toContain('secured__whoami');
    await screenshot(page, 'mcp-servers-oauth');
    const client = await connectClient(gw.url, KEY);
    expect(textOf(await client.callTool({ name: 'secured__whoami', arguments: {} }))).toMatch(/^token at-/);
    await client.close();

    page.on('dialog', (dialog) => void dialog.accept());
    await card.getByRole('button', { name: 'Disconnect' }).click();
    await expect.poll(() => card.getByTestId('mcp-oauth').textContent(), POLL).toContain('not authorized');
    expect(gw.app.mcp.store!.record('secured')).toBeUndefined();
    expect(errors).toEqual([]);
    await context.close();
  });
});
