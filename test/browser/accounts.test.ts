/**
 * Accounts in the dashboard, in Chromium: each role signs in with a password and sees only what
 * the server lets it do (no button the server would refuse); an admin manages users and their
 * sessions; a user makes a personal API token that is shown once.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { collectConsoleErrors, hasChromium, launchBrowser, screenshot } from './support/browser.js';
import { ensureUiBuilt } from './support/build-ui.js';
import { adminCall } from './support/helpers.js';

const ADMIN_TOKEN = 'admin-token-for-the-accounts-browser-test';
const PASSWORD = 'a long enough password';

describe.skipIf(!hasChromium)('accounts in the dashboard', { timeout: 90_000 }, () => {
  let browser: Browser;
  let gateway: TestGateway;
  let context: BrowserContext | undefined;

  const api = <T>(method: string, path: string, body?: unknown): Promise<T> => adminCall<T>(gateway, ADMIN_TOKEN, method, path, body);

  beforeAll(async () => {
    await ensureUiBuilt();
    browser = await launchBrowser();
    gateway = await startGateway({ env: { HEIMDALL_ADMIN_TOKEN: ADMIN_TOKEN, OPENAI_API_KEY: 'sk-test-not-used', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' }, logLevel: 'warn' });
    await api('POST', '/teams', { name: 'research' });
    for (const [username, role] of [['ada', 'admin'], ['otto', 'operator'], ['vera', 'viewer'], ['max', 'member']] as const) {
      await api('POST', '/users', { username, role, password: PASSWORD, ...(role === 'member' ? { team_id: 'research' } : {}) });
    }
  }, 120_000);
  afterEach(async () => {
    await context?.close();
    context = undefined;
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  async function signIn(username: string, path = '/'): Promise<{ page: Page; errors: string[] }> {
    context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors = collectConsoleErrors(page);
    await page.goto(`${gateway.url}${path}`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByTestId('signed-in-as').waitFor();
    return { page, errors };
  }

  const navLabels = (page: Page) => page.locator('.sidebar .nav a').allTextContents().then((labels) => labels.map((label) => label.trim()));

  it('a viewer sees every page read-only: no button that changes anything', async () => {
    const { page, errors } = await signIn('vera', '/providers');
    expect(await page.getByTestId('signed-in-as').textContent()).toContain('viewer');
    expect(await navLabels(page)).not.toContain('Users');
    await page.getByRole('heading', { name: 'Providers', level: 1 }).waitFor();
    await page.locator('[data-provider="openai"]').waitFor();
    expect(await page.getByRole('button', { name: 'Add provider' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Test connection/ }).count()).toBe(0);
    await screenshot(page, 'accounts-viewer-providers');
    await page.locator('.sidebar').getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.locator('form fieldset').first().waitFor();
    expect(await page.getByRole('button', { name: 'Save' }).count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('an operator manages providers and keys, but has no Users page and cannot save settings', async () => {
    const { page, errors } = await signIn('otto', '/providers');
    await page.getByRole('button', { name: 'Add provider' }).waitFor();
    expect(await navLabels(page)).not.toContain('Users');
    await page.locator('.sidebar').getByRole('link', { name: 'Virtual keys' }).click();
    await page.getByRole('button', { name: 'Create key' }).first().waitFor();
    await page.locator('.sidebar').getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.locator('form fieldset').first().waitFor();
    expect(await page.getByRole('button', { name: 'Save' }).count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('a team member sees only their team\'s pages', async () => {
    const { page, errors } = await signIn('max', '/keys');
    expect(await navLabels(page)).toEqual(['Overview', 'Logs', 'Usage', 'Pricing', 'Virtual keys', 'Teams', 'Account', 'Connect an app']);
    await page.getByRole('button', { name: 'Create key' }).first().waitFor();
    await screenshot(page, 'accounts-member-keys');
    expect(errors).toEqual([]);
  });

  it('an admin adds a user, sees the sessions, and ends one; a user makes an API token shown once', async () => {
    const { page, errors } = await signIn('ada', '/users');
    const table = page.getByTestId('users-table');
    await table.waitFor();
    for (const name of ['ada', 'otto', 'vera', 'max']) await table.locator(`tr[data-name="${name}"]`).waitFor();
    // Your own row offers no Disable or Delete: an admin does not lock themself out from the Users page.
    expect(await table.locator('tr[data-name="ada"]').getByRole('button', { name: 'Delete ada' }).count()).toBe(0);
    expect(await table.locator('tr[data-name="otto"]').getByRole('button', { name: 'Delete otto' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByLabel('Username').fill('nina');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Role').selectOption('operator');
    await page.getByRole('button', { name: 'Create user' }).click();
    await table.locator('tr[data-name="nina"]').waitFor();
    const users = await api<{ data: Array<{ username: string; role: string }> }>('GET', '/users');
    expect(users.data.find((user) => user.username === 'nina')?.role).toBe('operator');

    // Earlier tests' sessions are listed; end otto's.
    const sessions = page.getByTestId('sessions-table');
    await sessions.getByText('otto').first().waitFor();
    await screenshot(page, 'accounts-users');
    const before = (await api<{ data: Array<{ username: string }> }>('GET', '/sessions')).data.filter((session) => session.username === 'otto').length;
    await sessions.locator('tr', { hasText: 'otto' }).first().getByRole('button', { name: 'End session' }).click();
    await expect.poll(async () => (await api<{ data: Array<{ username: string }> }>('GET', '/sessions')).data.filter((session) => session.username === 'otto').length).toBe(before - 1);

    await page.locator('.sidebar').getByRole('link', { name: 'Account' }).click();
    await page.getByRole('button', { name: 'New token' }).click();
    await page.getByLabel('Name').fill('ci');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.locator('.dialog pre, .dialog code').first().textContent())?.trim() ?? '';
    expect(secret).toMatch(/^hdp_/);
    const check = await fetch(`${gateway.url}/api/providers`, { headers: { authorization: `Bearer ${secret}` } });
    expect(check.status).toBe(200);
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByTestId('tokens-table').getByText('ci', { exact: true }).waitFor();
    expect(await page.content()).not.toContain(secret);
    expect(errors).toEqual([]);
  });
});
