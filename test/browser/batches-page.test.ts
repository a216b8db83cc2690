/**
 * The dashboard's Batches page in a real browser (Debian's Chromium through playwright-core): a batch
 * made with the OpenAI SDK through the gateway, against the mock's OpenAI Batch API, is listed with its
 * status, request counts, the cost charged when its results were read, and links to the request logs.
 */
import type { Browser } from 'playwright-core';
import OpenAI, { toFile } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { collectConsoleErrors, hasChromium, launchBrowser, screenshot } from './support/browser.js';
import { ensureUiBuilt } from './support/build-ui.js';
import { POLL } from './support/helpers.js';

const KEY = 'hk-batches-browser-test-key-01';

describe.skipIf(!hasChromium)('Batches page', { timeout: 90_000 }, () => {
  let browser: Browser;
  let gw: TestGateway;
  let mock: MockUpstream;
  let batchId = '';

  beforeAll(async () => {
    await ensureUiBuilt();
    browser = await launchBrowser();
    const providers = await startMockProviders();
    mock = providers.mock;
    gw = await startGateway({ env: providers.env, config: { ...providers.config, governance: { virtual_keys: { batcher: { key: KEY } } } }, logLevel: 'warn' });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const lines = ['first batch line', 'second line'].map((text, i) => JSON.stringify({ custom_id: `r${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] } }));
    const file = await client.files.create({ file: await toFile(Buffer.from(lines.join('\n')), 'input.jsonl'), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    batchId = batch.id;
    const done = await client.batches.retrieve(batch.id);
    await (await client.files.content(done.output_file_id!)).text();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await mock?.close();
  });

  it('lists the batch with its status, counts, cost and log links', async () => {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: 'light', timezoneId: 'UTC' });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const errors = collectConsoleErrors(page);
    await page.goto(`${gw.url}/`);
    await page.getByRole('link', { name: 'Batches' }).click();
    const table = page.getByRole('table', { name: 'Batch jobs' });
    await expect.poll(() => table.textContent(), POLL).toContain(batchId);
    const row = table.locator('tr', { hasText: batchId });
    const text = await row.textContent();
    expect(text).toContain('completed');
    expect(text).toContain('2 / 2');
    expect(text).toContain('openai/gpt-4o-mini');
    expect(text).toContain('batcher');
    // first batch line -> 3 + 4 tokens, second line -> 2 + 3, at half of gpt-4o-mini's $0.15 / $0.60 per million.
    expect(text).toContain('$0.00000248');
    const created = row.getByRole('link', { name: 'created' });
    expect(await created.getAttribute('href')).toMatch(/^\/logs\/.+/);
    await created.click();
    await expect.poll(() => page.url(), POLL).toContain('/logs/');
    await expect.poll(() => page.locator('main').textContent(), POLL).toContain('/v1/batches');
    await page.goBack();
    await expect.poll(() => table.textContent(), POLL).toContain(batchId);
    await screenshot(page, 'batches');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('the audit log, paged the same way, still lists a change', async () => {
    const changed = await request(`${gw.url}/api/settings`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ logging: { max_body_bytes: 4096 } }) });
    expect(changed.statusCode).toBe(200);
    await changed.body.dump();
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: 'light', timezoneId: 'UTC' });
    const page = await context.newPage();
    const errors = collectConsoleErrors(page);
    await page.goto(`${gw.url}/audit`);
    await expect.poll(() => page.locator('table').textContent(), POLL).toContain('settings.update');
    expect(errors).toEqual([]);
    await context.close();
  });
});
