/**
 * Takes the README's screenshot of the overview (docs/images/overview.png) from
 * the real app: the real gateway and dashboard, real calls through three native
 * providers (the mock upstream speaking each one's format) and virtual keys,
 * plus an hour of earlier traffic replayed into the request-log store so the
 * charts have a history. Runs only when asked:
 *
 *   HEIMDALL_DOCS_SCREENSHOT=1 npx vitest run test/browser/docs-screenshot.test.ts
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RequestLogRecord } from '../../src/store/log-types.js';
import { startGateway } from '../support/gateway.js';
import { startMockUpstream } from '../support/mock-upstream/index.js';
import { mockProviderEnv } from '../support/mock-upstream/provider-env.js';
import { hasChromium, launchBrowser } from './support/browser.js';
import { ensureUiBuilt } from './support/build-ui.js';

const OUT = fileURLToPath(new URL('../../docs/images/', import.meta.url));

/** USD per million tokens (input, output), as in src/governance/pricing.json. */
const MODELS = [
  { provider: 'openai', model: 'gpt-4o-mini', share: 0.45, input: 0.15, output: 0.6, latency: 620 },
  { provider: 'anthropic', model: 'claude-sonnet-4-5', share: 0.3, input: 3, output: 15, latency: 1450 },
  { provider: 'gemini', model: 'gemini-2.5-flash', share: 0.25, input: 0.3, output: 2.5, latency: 780 },
];

/** A deterministic pseudo-random sequence, so the screenshot does not change between runs for no reason. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
}

function history(now: number, keyIds: string[]): RequestLogRecord[] {
  const next = random(7);
  const records: RequestLogRecord[] = [];
  for (let minute = 59; minute >= 1; minute--) {
    const base = now - minute * 60_000;
    const load = Math.round(26 + 14 * Math.sin(minute / 9) + 6 * Math.sin(minute / 3.1) + next() * 6);
    for (let index = 0; index < load; index++) {
      const pick = next();
      const target = pick < MODELS[0].share ? MODELS[0] : pick < MODELS[0].share + MODELS[1].share ? MODELS[1] : MODELS[2];
      const failed = next() < 0.025;
      const status = failed ? (next() < 0.5 ? 429 : 502) : 200;
      const upstream = Math.round(target.latency * (0.6 + next() * 0.9) * (minute > 20 && minute < 28 ? 1.6 : 1));
      const input = failed ? null : Math.round(200 + next() * 900);
      const output = failed ? null : Math.round(60 + next() * 420);
      records.push({
        id: `replay-${minute}-${index}`,
        time: base + Math.floor(next() * 60_000),
        surface: 'openai',
        route: '/v1/chat/completions',
        method: 'POST',
        virtual_key_id: keyIds.length === 0 ? null : keyIds[Math.floor(next() * keyIds.length)],
        provider: target.provider,
        model: target.model,
        requested_model: `${target.provider}/${target.model}`,
        status,
        latency_ms: upstream + 1,
        upstream_ms: upstream,
        ttft_ms: Math.round(upstream * 0.35),
        overhead_us: Math.round(250 + next() * 400),
        input_tokens: input,
        output_tokens: output,
        cost_usd: input === null || output === null ? 0 : (input * target.input + output * target.output) / 1e6,
        cost_known: true,
        stream: next() < 0.5,
        attempts: [{ provider: target.provider, model: target.model, status, latency_ms: upstream }],
        error_code: failed ? (status === 429 ? 'rate_limit_exceeded' : 'upstream_error') : null,
        error_message: failed ? (status === 429 ? 'Rate limit reached for requests' : 'Upstream answered 502') : null,
      });
    }
  }
  return records;
}

describe.runIf(process.env.HEIMDALL_DOCS_SCREENSHOT && hasChromium)('docs screenshot', () => {
  it('takes docs/images/overview.png from the real app', async () => {
    await ensureUiBuilt();
    const mock = await startMockUpstream();
    const gateway = await startGateway({ env: mockProviderEnv(mock), logLevel: 'warn' });
    const browser = await launchBrowser();
    try {
      // Two virtual keys, when the governance API is there (the overview lists the top keys).
      const keyIds: string[] = [];
      const secrets: string[] = [];
      for (const name of ['web-app', 'batch-jobs']) {
        const response = await fetch(`${gateway.url}/api/virtual-keys`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name, budget: { max_usd: name === 'web-app' ? 50 : 20, period: 'monthly' } }),
        });
        if (!response.ok) break;
        const created = (await response.json()) as { id: string; key: string };
        keyIds.push(created.id);
        secrets.push(created.key);
      }
      const store = (gateway.app as unknown as { store: { logs: { enqueue(record: RequestLogRecord): void; flush(): number } } }).store;
      for (const record of history(Date.now(), keyIds)) store.logs.enqueue(record);
      store.logs.flush();

      // And real calls through the gateway, now (the mock answers after a provider-like delay).
      const calls = 24;
      mock.enqueue({ kind: 'delay', ms: 700 }, { times: calls });
      await Promise.all(
        Array.from({ length: calls }, async (_, index) => {
          const target = MODELS[index % MODELS.length];
          const response = await fetch(`${gateway.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(secrets.length === 0 ? {} : { authorization: `Bearer ${secrets[index % secrets.length]}` }) },
            body: JSON.stringify({ model: `${target.provider}/${target.model}`, messages: [{ role: 'user', content: `Hello number ${index}` }] }),
          });
          expect(response.status).toBe(200);
        }),
      );
      // Some configuration, so the other pages (saved under test-results/pages/) have content.
      const api = (method: string, path: string, body: unknown) =>
        fetch(`${gateway.url}/api${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await api('POST', '/routing/model-groups', { name: 'smart', deployments: [{ provider: 'openai', model: 'gpt-4o', weight: 3 }, { provider: 'anthropic', model: 'claude-sonnet-4-5', weight: 1 }], fallbacks: ['gemini/gemini-2.5-flash'] });
      await api('PUT', '/routing/aliases/fast', { target: 'gemini/gemini-2.5-flash' });
      await api('PUT', '/routing/fallbacks/openai%2Fgpt-4o-mini', { fallbacks: ['gemini/gemini-2.5-flash'] });
      await api('POST', '/teams', { name: 'growth', description: 'Growth experiments', budget: { max_usd: 200, period: 'monthly' }, rate_limits: [{ model: '*', requests: 600, window: '1m' }] });

      const context = await browser.newContext({ viewport: { width: 1440, height: 960 }, colorScheme: 'light', deviceScaleFactor: 1 });
      const page = await context.newPage();
      await page.goto(`${gateway.url}/`);
      await page.getByTestId('overview').waitFor();
      await page.locator('svg.chart').first().waitFor();
      await page.waitForTimeout(500);
      mkdirSync(OUT, { recursive: true });
      await page.screenshot({ path: `${OUT}overview.png` });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.waitForTimeout(200);
      await page.screenshot({ path: `${OUT}overview-dark.png` });

      // Every page, light and dark, for a look (not committed).
      const pages = fileURLToPath(new URL('../../test-results/pages/', import.meta.url));
      mkdirSync(pages, { recursive: true });
      const firstLog = (await (await fetch(`${gateway.url}/api/logs?limit=1`)).json()) as { data: Array<{ id: string }> };
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        for (const path of ['/logs', `/logs/${firstLog.data[0].id}`, '/providers', '/routing', '/keys', '/teams', '/customers', '/settings', '/audit', '/quickstart']) {
          await page.goto(`${gateway.url}${path}`);
          await page.waitForTimeout(700);
          await page.screenshot({ path: `${pages}${scheme}${path.replace(/\//g, '_')}.png`, fullPage: true });
        }
      }
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${gateway.url}/`);
      await page.waitForTimeout(700);
      await page.screenshot({ path: `${pages}mobile-overview.png` });
      await page.getByRole('button', { name: 'Open navigation' }).click();
      await page.waitForTimeout(300);
      await page.screenshot({ path: `${pages}mobile-nav.png` });
      await context.close();
    } finally {
      await browser.close();
      await gateway.close();
      await mock.close();
    }
  }, 120_000);
});
