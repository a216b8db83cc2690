/**
 * The dashboard's usage, pricing, routing-health, team and log-filter views in a
 * real browser (Debian's Chromium through playwright-core) against the real
 * gateway and the mock upstream. Every test saves a screenshot under test-results/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { collectConsoleErrors, hasChromium, launchBrowser, screenshot } from './support/browser.js';
import { ensureUiBuilt } from './support/build-ui.js';
import { POLL, apiCall, chat, getJson, until } from './support/helpers.js';

interface UsageReport {
  data: Array<{ group: string | null; cost_usd: number; requests: number }>;
  totals: { cost_usd: number; requests: number };
}

/** The dashboard's money format for the amounts these tests see (below $1, not whole cents: 4 decimals, or 3 significant digits below a cent). */
function usd(value: number): string {
  return `$${value.toFixed(value >= 0.01 ? 4 : 2 - Math.floor(Math.log10(value)))}`;
}

/** "2026-11-29T14:05:09" in UTC (the browser contexts below run in UTC). */
const utcInput = (ms: number): string => new Date(ms).toISOString().slice(0, 19);

describe.skipIf(!hasChromium)('dashboard pages in a browser', { timeout: 60_000 }, () => {
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

  async function gatewayWith(config?: unknown): Promise<TestGateway> {
    const gateway = await startGateway({ env: { OPENAI_API_KEY: 'sk-mock-openai', OPENAI_BASE_URL: mock.openaiBaseUrl }, config, logLevel: 'warn' });
    gateways.push(gateway);
    return gateway;
  }

  async function open(gateway: TestGateway, path: string): Promise<{ page: Page; errors: string[] }> {
    context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: 'light', timezoneId: 'UTC' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors = collectConsoleErrors(page);
    await page.goto(`${gateway.url}${path}`);
    return { page, errors };
  }

  it('the usage page shows the spend of a key after a call, by key, by team, by customer and for the key alone', async () => {
    const gateway = await gatewayWith();
    const customer = await apiCall<{ id: string }>(gateway, 'POST', '/customers', { name: 'acme' });
    const team = await apiCall<{ id: string }>(gateway, 'POST', '/teams', { name: 'growth', customer_id: customer.id });
    const key = await apiCall<{ id: string; key: string }>(gateway, 'POST', '/virtual-keys', { name: 'usage-app', team_id: team.id });
    const response = await chat(gateway, 'openai/gpt-4o-mini', { authorization: `Bearer ${key.key}` });
    expect(response.status).toBe(200);
    const report = await until(async () => {
      const value = await getJson<UsageReport>(`${gateway.url}/api/usage?group_by=key&period=today`);
      return value.totals.requests >= 1 && value.totals.cost_usd > 0 ? value : undefined;
    }, 'the call in /api/usage');
    const cost = report.data.find((row) => row.group === key.id)?.cost_usd ?? 0;
    expect(cost).toBeGreaterThan(0);

    const { page, errors } = await open(gateway, '/usage');
    await page.getByTestId('usage').waitFor();
    await page.getByRole('radio', { name: 'Virtual key' }).click();
    const row = page.locator('[data-testid="usage-table"] tr[data-label="usage-app"]');
    await row.waitFor();
    expect(await row.getByTestId('usage-cost').textContent()).toBe(usd(cost));
    expect(page.url()).toContain('by=key');
    await screenshot(page, 'usage-by-key');

    // By team: the call counts for the key's team.
    await page.getByRole('radio', { name: 'Team' }).click();
    await page.locator('[data-testid="usage-table"] tr[data-label="growth"]').waitFor();
    expect(await page.locator('[data-testid="usage-table"] tr[data-label="growth"]').getByTestId('usage-cost').textContent()).toBe(usd(cost));
    expect(page.url()).toContain('by=team');

    // By customer: the team's customer, named by the server.
    await page.getByRole('radio', { name: 'Customer' }).click();
    const customerRow = page.locator(`[data-testid="usage-table"] tr[data-group="${customer.id}"]`);
    await customerRow.waitFor();
    expect(await customerRow.getAttribute('data-label')).toBe('acme');
    expect(await customerRow.getByTestId('usage-cost').textContent()).toBe(usd(cost));

    // The key alone, today: its spend in the totals.
    await page.getByLabel('Virtual key').selectOption(key.id);
    await page.getByRole('radio', { name: 'Today' }).click();
    const spend = page.locator('.stat', { hasText: 'Spend' }).locator('.stat-value');
    await expect.poll(() => spend.textContent(), POLL).toBe(usd(cost));
    await screenshot(page, 'usage-key-today');
    expect(errors).toEqual([]);
  });

  it('a custom time range filters the logs', async () => {
    const gateway = await gatewayWith();
    expect((await chat(gateway, 'openai/gpt-4o-mini', { 'x-request-id': 'range-before' })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // A whole second strictly after the first call and before the second.
    const boundary = Math.floor(Date.now() / 1000) * 1000;
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await chat(gateway, 'openai/gpt-4o-mini', { 'x-request-id': 'range-after' })).status).toBe(200);
    await until(() => getJson(`${gateway.url}/api/logs/range-after`).then(() => true), 'the second log');

    const { page, errors } = await open(gateway, '/logs');
    const before = page.locator('tr[data-log-id="range-before"]');
    const after = page.locator('tr[data-log-id="range-after"]');
    await after.waitFor();
    expect(await before.count()).toBe(1);

    await page.getByLabel('Time').selectOption('custom');
    await page.getByLabel('From', { exact: true }).fill(utcInput(boundary));
    await page.getByLabel('To', { exact: true }).fill('');
    await expect.poll(() => before.count(), POLL).toBe(0);
    await after.waitFor();
    expect(new URL(page.url()).searchParams.get('since')).toBe('custom');
    await screenshot(page, 'logs-custom-range');

    // Up to the second before the boundary: only the first call.
    await page.getByLabel('From', { exact: true }).fill('');
    await page.getByLabel('To', { exact: true }).fill(utcInput(boundary - 1000));
    await expect.poll(() => after.count(), POLL).toBe(0);
    await before.waitFor();

    // A start after the end is refused with a message, not sent.
    await page.getByLabel('From', { exact: true }).fill(utcInput(boundary + 60_000));
    await page.getByRole('alert').filter({ hasText: 'The start is after the end.' }).waitFor();
    // The range lives in the URL: a reload keeps it.
    await page.getByLabel('From', { exact: true }).fill(utcInput(boundary - 60_000));
    await page.reload();
    await before.waitFor();
    expect(await page.getByLabel('Time').inputValue()).toBe('custom');
    expect(await after.count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('a team disabled in the UI refuses its keys, and works again once enabled', async () => {
    const gateway = await gatewayWith();
    const team = await apiCall<{ id: string }>(gateway, 'POST', '/teams', { name: 'research', budget: { max_usd: 10, period: 'monthly' } });
    const key = await apiCall<{ key: string }>(gateway, 'POST', '/virtual-keys', { name: 'lab', team_id: team.id });
    const auth = { authorization: `Bearer ${key.key}` };
    expect((await chat(gateway, 'openai/gpt-4o-mini', auth)).status).toBe(200);

    const { page, errors } = await open(gateway, '/teams');
    const row = page.locator('tr[data-name="research"]');
    await row.waitFor();
    await row.getByRole('switch', { name: 'Disable research' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Disable' }).click();
    await row.getByText('disabled', { exact: true }).waitFor();
    await screenshot(page, 'team-disabled');
    // The key is still valid; its disabled team holds it back: 403 team_disabled, not 401.
    const refused = await chat(gateway, 'openai/gpt-4o-mini', auth);
    expect(refused.status).toBe(403);
    const refusal = ((await refused.json()) as { error: { message: string; code: string } }).error;
    expect(refusal.code).toBe('team_disabled');
    expect(refusal.message).toContain('disabled team "research"');
    // The key list says why its calls are refused.
    await page.getByRole('link', { name: 'Virtual keys' }).click();
    await page.locator('tr[data-key-name="lab"]').getByText('team disabled').waitFor();

    await page.getByRole('link', { name: 'Teams' }).click();
    await row.getByRole('switch', { name: 'Enable research' }).click();
    await row.getByText('active', { exact: true }).waitFor();
    expect((await chat(gateway, 'openai/gpt-4o-mini', auth)).status).toBe(200);
    expect(errors).toEqual([]);
  });

  it('the providers page shows routing health: traffic shares, calls, and an open circuit', async () => {
    // A provider added through the API (its keys can be turned off), weights 1 and 3, no adaptive reweighting or retries.
    const gateway = await gatewayWith({ routing: { adaptive: { enabled: false }, circuit_breaker: { failure_threshold: 3, cooldown_ms: 60_000, probe_interval_ms: 0 }, retry: { max_retries: 0 } } });
    await apiCall(gateway, 'POST', '/providers', { name: 'mockai', type: 'openai', base_url: mock.openaiBaseUrl, api_key: 'sk-mock-first', models: ['gpt-4o-mini'] });
    const backup = await apiCall<{ id: string }>(gateway, 'POST', '/providers/mockai/keys', { name: 'backup', api_key: 'sk-mock-backup', weight: 3 });
    for (let index = 0; index < 4; index++) expect((await chat(gateway, 'mockai/gpt-4o-mini')).status).toBe(200);

    const { page, errors } = await open(gateway, '/providers');
    const card = page.locator('[data-provider="mockai"]');
    const backupRow = card.locator(`.key-row[data-key-name="backup"]`);
    const share = (row: typeof backupRow) => row.locator('.metric', { hasText: 'Traffic share' }).locator('.metric-value').textContent();
    await card.waitFor();
    // Weights 1 and 3: a quarter and three quarters of the traffic.
    await expect.poll(() => share(backupRow), POLL).toBe('75%');
    expect(await share(card.locator('.key-row[data-key-name="default"]'))).toBe('25%');
    const calls = await page.evaluate(() =>
      fetch('/api/routing/health')
        .then((response) => response.json() as Promise<{ data: Array<{ requests: number }> }>)
        .then((body) => body.data.reduce((sum, key) => sum + key.requests, 0)),
    );
    expect(calls).toBe(4);
    await screenshot(page, 'providers-health');

    // Turn the first key off in the UI: the backup takes all the traffic; three failures in a row open its circuit.
    await card.getByRole('switch', { name: 'Disable key default' }).click();
    await expect.poll(() => share(backupRow), POLL).toBe('100%');
    mock.enqueue({ kind: 'error', status: 500 }, { times: 3 });
    for (let index = 0; index < 3; index++) expect((await chat(gateway, 'mockai/gpt-4o-mini')).status).toBeGreaterThanOrEqual(500);
    await expect.poll(() => backupRow.getByText('circuit open').count(), POLL).toBe(1);
    expect(await backupRow.locator('.key-error').textContent()).toContain('Last error');
    expect(backup.id).toBeTruthy();
    await screenshot(page, 'providers-circuit-open');
    expect(errors).toEqual([]);
  });

  it('the pricing page lists the price book, for the configured providers first', async () => {
    const gateway = await gatewayWith();
    const book = await getJson<{ as_of: string; catalog: { sources: Array<{ version: string; published: string }> }; data: Array<{ model: string; input?: number; output?: number }> }>(`${gateway.url}/api/pricing`);
    const mini = book.data.find((row) => row.model === 'openai/gpt-4o-mini');
    expect(mini?.input).toBeGreaterThan(0);

    const { page, errors } = await open(gateway, '/pricing');
    const table = page.getByTestId('price-table');
    await table.waitFor();
    expect(await page.getByText(book.as_of).count()).toBeGreaterThan(0);
    // The catalog's source: package, version and date.
    const source = page.getByTestId('catalog-source');
    expect(await source.textContent()).toContain(`@pydantic/genai-prices ${book.catalog.sources[0].version} of ${book.catalog.sources[0].published}`);
    // Only OpenAI is configured here: no Anthropic row until every provider is shown.
    expect(await table.getByText('claude-sonnet-4-5', { exact: true }).count()).toBe(0);
    await page.getByLabel('Model').fill('gpt-4o-mini');
    const row = table.locator('tbody tr', { has: page.getByText('gpt-4o-mini', { exact: true }) });
    await expect.poll(() => row.count(), POLL).toBe(1);
    expect(await row.locator('td').nth(2).textContent()).toBe(`$${(mini?.input ?? 0).toFixed(2)}`);
    await page.getByLabel('Model').fill('claude-sonnet-4-5');
    await page.getByLabel('Show').selectOption('all');
    await page.getByLabel('Provider').selectOption('anthropic');
    await expect.poll(() => table.getByText('claude-sonnet-4-5', { exact: true }).count(), POLL).toBe(1);
    await screenshot(page, 'pricing');
    expect(errors).toEqual([]);
  });
});
