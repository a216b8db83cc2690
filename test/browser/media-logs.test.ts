/**
 * The request log's media previews in a real browser (ui/src/pages/media-preview.tsx): an image
 * generation shows its thumbnails (from the logged body), a speech call its duration and format,
 * a transcription the uploaded file's name and the transcript, a moderation its summary.
 */
import OpenAI, { toFile } from 'openai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wavHeader } from '../../src/formats/audio/gemini.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { collectConsoleErrors, hasChromium, launchBrowser, screenshot } from './support/browser.js';
import { ensureUiBuilt } from './support/build-ui.js';
import { getJson, until } from './support/helpers.js';

if (!hasChromium) console.warn('test/browser: /usr/bin/chromium is missing, the media preview tests are skipped (apt-get install chromium)');

describe.skipIf(!hasChromium)('media previews in the request log', { timeout: 60_000 }, () => {
  let browser: Browser;
  let mock: MockUpstream;
  let gateway: TestGateway;
  let context: BrowserContext | undefined;
  let client: OpenAI;

  beforeAll(async () => {
    await ensureUiBuilt();
    const providers = await startMockProviders();
    mock = providers.mock;
    browser = await launchBrowser();
    gateway = await startGateway({ env: providers.env, config: { ...providers.config, logging: { bodies: true, max_body_bytes: 256 * 1024 } }, logLevel: 'warn' });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 15_000 });
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gateway?.close();
    await mock?.close();
  });

  async function detail(id: string): Promise<{ page: Page; errors: string[] }> {
    await until(() => getJson(`${gateway.url}/api/logs/${id}`).then(() => true), `the log ${id}`);
    await context?.close();
    context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors = collectConsoleErrors(page);
    await page.goto(`${gateway.url}/logs/${id}`);
    await page.getByTestId('media-preview').waitFor();
    return { page, errors };
  }

  function fact(page: Page, label: string): Promise<string> {
    return page.getByTestId('media-preview').locator('dt', { hasText: new RegExp(`^${label}$`) }).locator('xpath=following-sibling::dd[1]').innerText();
  }

  it('an image generation: its thumbnails from the logged body, the count and size', async () => {
    await client.images.generate({ model: 'gemini/imagen-4.0-generate-001', prompt: 'two hills', n: 2, size: '1024x1024' }, { headers: { 'x-request-id': 'media-image-1' } });
    const { page, errors } = await detail('media-image-1');
    const thumbnails = page.getByTestId('media-thumbnails').locator('img');
    expect(await thumbnails.count()).toBe(2);
    expect(await thumbnails.first().getAttribute('src')).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
    // The image decoded: a 1x1 PNG.
    await expect.poll(() => thumbnails.first().evaluate((image) => (image as unknown as { naturalWidth: number }).naturalWidth)).toBe(1);
    expect(await fact(page, 'Images')).toBe('2 made (2 asked)');
    expect(await fact(page, 'Size')).toBe('1024x1024');
    await screenshot(page, 'log-media-image');
    expect(errors).toEqual([]);
  });

  it('speech: its duration, format and voice', async () => {
    const speech = await client.audio.speech.create({ model: 'gemini/gemini-2.5-flash-preview-tts', voice: 'Puck', input: 'one two three four' }, { headers: { 'x-request-id': 'media-speech-1' } });
    await speech.arrayBuffer();
    const { page, errors } = await detail('media-speech-1');
    expect(await fact(page, 'Duration')).toBe('1.00 s');
    expect(await fact(page, 'Format')).toBe('wav');
    expect(await fact(page, 'Voice')).toBe('Puck');
    expect(await fact(page, 'Audio size')).toBe('47 KiB');
    expect(errors).toEqual([]);
  });

  it('a transcription: the uploaded file\'s name and type, and the transcript', async () => {
    const audio = Buffer.concat([wavHeader(64_000, 16_000), Buffer.alloc(64_000)]);
    await client.audio.transcriptions.create({ file: await toFile(audio, 'standup.wav', { type: 'audio/wav' }), model: 'gemini/gemini-2.5-flash' }, { headers: { 'x-request-id': 'media-stt-1' } });
    const { page, errors } = await detail('media-stt-1');
    expect(await fact(page, 'File')).toBe('standup.wav (audio/wav)');
    expect(await page.getByTestId('media-transcript').innerText()).toBe(`heard ${audio.length} bytes of audio/wav`);
    // The upload streamed through: not held for the log, and said so.
    expect(await page.getByText('The upload streamed through the gateway').count()).toBe(1);
    await screenshot(page, 'log-media-transcription');
    expect(errors).toEqual([]);
  });

  it('a moderation: how many inputs, how many flagged', async () => {
    await client.moderations.create({ model: 'openai/omni-moderation-latest', input: ['hello', 'another'] }, { headers: { 'x-request-id': 'media-mod-1' } });
    const { page, errors } = await detail('media-mod-1');
    expect(await fact(page, 'Inputs')).toBe('2 (text)');
    expect(await fact(page, 'Flagged')).toMatch(/^\d of 2$/);
    expect(errors).toEqual([]);
  });
});
