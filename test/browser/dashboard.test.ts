/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core)
 * against the real gateway and the mock upstream: what a person sees and does.
 * One browser for the file, a fresh context (cookies, storage) per test; every
 * test saves a screenshot under test-results/.
 */
import OpenAI from 'openai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { collectConsoleErrors, hasChromium, launchBrowser, screenshot } from './support/browser.js';
import { ensureUiBuilt } from './support/build-ui.js';
import { POLL, chat, getJson, until } from './support/helpers.js';

if (!hasChromium) {
  if (process.env.CI) throw new Error('/usr/bin/chromium is missing: .ci/run installs it (apt-get install chromium)');
  console.warn('test/browser: /usr/bin/chromium is missing, the browser tests are skipped (apt-get install chromium)');
}

// A browser test waits on polling and batched writes: more time than the suite's default, for a loaded CI machine.
describe.skipIf(!hasChromium)('dashboard in a browser', { timeout: 60_000 }, () => {
  let browser: Browser;
  let mock: MockUpstream;
  let context: BrowserContext | undefined;
  const gateways: TestGateway[] = [];

  beforeAll(async () => {
    await ensureUiBuilt();
    [browser, mock] = await Promise.all([launchBrowser(), startMockUpstream()]);
  }, 120_000);
  afterEach(async () => {
    await context?.close();
    context = undefined;
    await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
    mock.reset();
  });
  afterAll(async () => {
    await browser?.close();
    await mock?.close();
  });

  async function gatewayWith(options: { env?: Record<string, string>; config?: unknown; withOpenAI?: boolean } = {}): Promise<TestGateway> {
    const env = options.withOpenAI === false ? { ...options.env } : { OPENAI_API_KEY: 'sk-mock-openai', OPENAI_BASE_URL: mock.openaiBaseUrl, ...options.env };
    const gateway = await startGateway({ env, config: options.config, logLevel: 'warn' });
    gateways.push(gateway);
    return gateway;
  }

  async function open(gateway: TestGateway, path: string): Promise<{ page: Page; errors: string[] }> {
    context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors = collectConsoleErrors(page);
    await page.goto(`${gateway.url}${path}`);
    return { page, errors };
  }

  it('the overview shows the traffic the test sent', async () => {
    const gateway = await gatewayWith();
    for (let index = 0; index < 3; index++) expect((await chat(gateway, 'openai/gpt-4o-mini')).status).toBe(200);
    mock.enqueue({ kind: 'error', status: 400 });
    expect((await chat(gateway, 'openai/gpt-4o-mini')).status).toBe(400);
    // Logs are written in batches: wait until the stats count all four.
    await until(async () => {
      const now = Date.now();
      const stats = await getJson<{ totals: { requests: number } }>(`${gateway.url}/api/logs/stats?from=${now - 3_600_000}&to=${now + 60_000}`);
      return stats.totals.requests >= 4;
    }, 'four requests in /api/logs/stats');

    const { page, errors } = await open(gateway, '/');
    const overview = page.getByTestId('overview');
    await overview.waitFor();
    await expect.poll(() => overview.getByText('4 in 1 hour').count(), POLL).toBe(1);
    expect(await page.locator('.stat', { hasText: 'Error rate' }).locator('.stat-value').textContent()).toBe('25.0%');
    const topModels = page.locator('section', { hasText: 'Top models' });
    await expect.poll(() => topModels.getByText('gpt-4o-mini').count(), POLL).toBeGreaterThan(0);
    expect(await page.locator('section', { hasText: 'Top providers' }).getByText('openai', { exact: true }).count()).toBe(1);
    // The charts are drawn (SVG with paths), not left empty.
    expect(await page.locator('svg.chart path').count()).toBeGreaterThan(0);
    await screenshot(page, 'overview');
    expect(errors).toEqual([]);
  });

  it('first run: no provider, a guide with the real URL; a provider added in the UI serves the next call', async () => {
    const gateway = await gatewayWith({ withOpenAI: false });
    const { page, errors } = await open(gateway, '/');
    await page.getByTestId('first-run').waitFor();
    expect(await page.locator('pre code').first().textContent()).toContain(`${gateway.url}/v1/chat/completions`);
    await screenshot(page, 'first-run');

    await page.getByRole('link', { name: 'Add a provider' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    // The type is a text field while the list of types loads, then a list to choose from.
    const type = dialog.locator('select#p-type');
    await type.waitFor();
    await type.selectOption('openai');
    await dialog.getByLabel('Name').fill('mockai');
    await dialog.getByLabel('Base URL').fill(mock.openaiBaseUrl);
    await dialog.getByLabel('API key').fill('sk-added-in-the-ui');
    await dialog.getByLabel('Models').fill('gpt-4o-mini');
    await screenshot(page, 'provider-add-form');
    await dialog.getByRole('button', { name: 'Add provider' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const card = page.locator('[data-provider="mockai"]');
    await card.waitFor();
    await expect.poll(() => card.getByText('••••e-ui').count(), POLL).toBe(1);
    await screenshot(page, 'providers');

    // The next API call goes through the provider the UI added, with its key.
    const response = await chat(gateway, 'mockai/gpt-4o-mini');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-heimdall-provider')).toBe('mockai');
    const upstream = mock.requests.at(-1);
    expect(upstream?.headers.authorization).toBe('Bearer sk-added-in-the-ui');
    expect((upstream?.body as { model: string }).model).toBe('gpt-4o-mini');
    expect(errors).toEqual([]);
  });

  it('a virtual key created in the UI works with the OpenAI SDK and shows its spend', async () => {
    const gateway = await gatewayWith();
    const { page, errors } = await open(gateway, '/keys');
    await page.getByRole('button', { name: 'Create key' }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('browser-app');
    await dialog.getByLabel('Budget (USD)').fill('5');
    await dialog.getByRole('button', { name: 'Create virtual key' }).click();
    const secretValue = dialog.getByTestId('secret-value');
    await secretValue.waitFor();
    const secret = (await secretValue.textContent()) ?? '';
    expect(secret.length).toBeGreaterThanOrEqual(16);
    await expect.poll(() => dialog.getByRole('button', { name: 'Copy key' }).count(), POLL).toBe(1);
    await screenshot(page, 'virtual-key-created');
    await dialog.getByRole('button', { name: 'I have copied it' }).click();

    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secret, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'Spend a little' }] });
    expect(completion.choices[0].message.content).toBeTruthy();
    // A wrong key is refused, so the key above was really checked.
    const wrong = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: `${secret}x`, maxRetries: 0 });
    await expect(wrong.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 401 });

    // Spend is flushed in batches: reload the list until it shows more than $0.
    const row = page.locator('tr[data-key-name="browser-app"]');
    const spend = await until(async () => {
      await page.reload();
      await row.waitFor();
      const text = (await row.getByTestId('key-spend').locator('.usage-text span').first().textContent()) ?? '';
      return text !== '$0' && text.startsWith('$') ? text : undefined;
    }, 'the key spend to show in the list');
    expect(Number(spend.slice(1))).toBeGreaterThan(0);
    expect(await row.getByText('of $5.00').count()).toBe(1);
    await screenshot(page, 'virtual-keys');
    // The key's details: its budget bar and its use.
    await row.getByRole('button', { name: 'Details of browser-app' }).click();
    const detail = page.getByTestId('key-detail');
    await detail.waitFor();
    expect(await detail.getByRole('progressbar', { name: 'This key spent' }).getAttribute('aria-valuemax')).toBe('5');
    await expect.poll(() => detail.getByText(/· 1 request ·/).count(), POLL).toBe(1);
    await screenshot(page, 'virtual-key-detail');
    expect(errors).toEqual([]);
  });

  it('a log row opens to its detail: attempts, timings, tokens and cost', async () => {
    const gateway = await gatewayWith();
    const response = await chat(gateway, 'openai/gpt-4o-mini', { 'x-request-id': 'browser-log-1' });
    expect(response.status).toBe(200);
    await until(() => getJson(`${gateway.url}/api/logs/browser-log-1`).then(() => true), 'the log to be written');

    const { page, errors } = await open(gateway, '/logs');
    const row = page.locator('tr[data-log-id="browser-log-1"]');
    await row.waitFor();
    await screenshot(page, 'logs');
    // Keyboard: focus the row and press Enter.
    await row.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${gateway.url}/logs/browser-log-1`);
    const detail = page.getByTestId('log-detail');
    await detail.waitFor();
    expect(await page.getByText('browser-log-1').first().isVisible()).toBe(true);
    expect(await detail.getByRole('heading', { name: 'Attempts (1)' }).count()).toBe(1);
    for (const label of ['Total', 'Upstream', 'Gateway overhead', 'First token', 'Input', 'Output', 'Cost']) {
      expect(await detail.locator('dt', { hasText: new RegExp(`^${label}$`) }).count(), label).toBeGreaterThan(0);
    }
    expect(await detail.locator('td', { hasText: /^gpt-4o-mini$/ }).count()).toBe(1);
    await screenshot(page, 'log-detail');
    // Back to the list with the browser's back button (a real history entry).
    await page.goBack();
    await row.waitFor();
    expect(errors).toEqual([]);
  });

  it('asks for the admin token when admin auth is on, and signs in', async () => {
    const gateway = await gatewayWith({ env: { HEIMDALL_ADMIN_TOKEN: 'admin-secret-for-the-browser-test' } });
    const { page, errors } = await open(gateway, '/providers');
    const token = page.getByLabel('Admin token');
    await token.waitFor();
    await screenshot(page, 'login');

    await token.fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The admin token is not valid.').waitFor();

    await token.fill('admin-secret-for-the-browser-test');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Providers', level: 1 }).waitFor();
    await page.locator('[data-provider="openai"]').waitFor();
    await screenshot(page, 'signed-in');

    // Signing out brings the login screen back, and the API refuses the old session.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await token.waitFor();
    const status = await page.evaluate(() => fetch('/api/auth/status').then((response) => response.json()));
    expect(status).toMatchObject({ auth_required: true, authenticated: false });
    expect(errors).toEqual([]);
  });
});
