/**
 * /v1/images/generations and /v1/images/edits (src/api/media.ts) with the
 * official openai SDK as the client: OpenAI-format providers get the caller's
 * body with `model` rewritten (an upload's `model` field too) and their answer
 * streams back; Gemini and Vertex are translated (Imagen `:predict`, Gemini
 * image models); cost per image or per token; governance on both routes.
 */
import OpenAI, { toFile } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { MOCK_PNG } from '../support/mock-upstream/openai-media.js';
import { MOCK_AZURE_DEPLOYMENTS, startMockProviders } from '../support/mock-upstream/provider-env.js';
import { post } from './helpers.js';

const ARTIST = 'hk-images-artist-0123456789abcd';
const CHATTER = 'hk-images-chatter-0123456789abc';
const PNG = Buffer.from(MOCK_PNG, 'base64');

let mock: MockUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  const providers = await startMockProviders({ azure: { deployments: { ...MOCK_AZURE_DEPLOYMENTS, 'images-prod': 'dall-e-3' } } });
  mock = providers.mock;
  const azure = (providers.config.providers as Record<string, { options: { deployments: Record<string, string> }; models: string[] }>).azure;
  gateway = await startGateway({
    env: providers.env,
    config: {
      providers: { azure: { ...azure, models: [...azure.models, 'dall-e-3'], options: { ...azure.options, deployments: { ...azure.options.deployments, 'dall-e-3': 'images-prod' } } } },
      limits: { max_body_bytes: 200_000 },
      catalog: { overrides: { 'openai/dall-e-3': { price: { image: 0.04 } } } },
      governance: {
        enforce: true,
        virtual_keys: {
          artist: { key: ARTIST, allowed_models: ['openai/gpt-image-1', 'openai/dall-e-3', 'gemini/*', 'vertex/*', 'azure/*'] },
          chatter: { key: CHATTER, allowed_models: ['openai/gpt-4o-mini'] },
        },
      },
    },
  });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

function client(key = ARTIST): OpenAI {
  return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0, timeout: 15_000 });
}

function lastLine(): Record<string, unknown> {
  return gateway.logs().filter((line) => line.msg === 'request').at(-1)!;
}

describe('POST /v1/images/generations', () => {
  it('OpenAI: the SDK\'s body with the model rewritten; the answer as sent; cost from the token usage', async () => {
    const images = await client().images.generate({ model: 'openai/gpt-image-1', prompt: 'a red fox', n: 2, size: '1024x1024' });
    expect(images.data).toEqual([{ b64_json: MOCK_PNG }, { b64_json: MOCK_PNG }]);
    expect(images.usage).toMatchObject({ input_tokens: 3, output_tokens: 544 });
    expect(mock.requests[0].body).toEqual({ model: 'gpt-image-1', prompt: 'a red fox', n: 2, size: '1024x1024' });
    expect(mock.requests[0].headers.authorization).toBe('Bearer sk-mock-openai');
    await expect.poll(() => lastLine().cost_usd).toBeCloseTo((3 * 5 + 544 * 40) / 1e6, 9);
  });

  it('a model priced per image (the catalog override) costs n images', async () => {
    const images = await client().images.generate({ model: 'openai/dall-e-3', prompt: 'a lighthouse' });
    expect(images.data?.[0]).toMatchObject({ url: expect.stringMatching(/^https:\/\/images\.mock\.invalid\//), revised_prompt: 'revised: a lighthouse' });
    await expect.poll(() => lastLine().cost_usd).toBeCloseTo(0.04, 9);
  });

  it('Gemini Imagen: translated to :predict (sampleCount, aspect ratio), dropped fields named, priced per image', async () => {
    const { data: images, response } = await client().images.generate({ model: 'gemini/imagen-4.0-generate-001', prompt: 'a wide valley', n: 2, size: '1792x1024', quality: 'hd' }).withResponse();
    expect(images.data).toEqual([{ b64_json: MOCK_PNG }, { b64_json: MOCK_PNG }]);
    expect(images.output_format).toBe('png');
    expect(mock.requests[0].path).toBe('/v1beta/models/imagen-4.0-generate-001:predict');
    expect(mock.requests[0].body).toEqual({ instances: [{ prompt: 'a wide valley' }], parameters: { sampleCount: 2, aspectRatio: '16:9' } });
    expect(response.headers.get('x-heimdall-warnings')).toContain('quality');
    await expect.poll(() => lastLine().cost_usd).toBeCloseTo(0.08, 9);
  });

  it('a Gemini image model: generateContent with image output, its text as revised_prompt, priced by tokens', async () => {
    const images = await client().images.generate({ model: 'gemini/gemini-2.5-flash-image', prompt: 'a blue door' });
    expect(images.data).toEqual([{ b64_json: MOCK_PNG, revised_prompt: 'Here is: a blue door' }]);
    expect(mock.requests[0].body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'a blue door' }] }], generationConfig: { responseModalities: ['TEXT', 'IMAGE'] } });
    await expect.poll(() => lastLine().output_tokens).toBe(1295); // 1290 for the image, 5 words of text
    expect(lastLine().cost_usd).toBeGreaterThan(0);
  });

  it('Vertex Imagen and Azure\'s deployment route', async () => {
    const vertex = await client().images.generate({ model: 'vertex/imagen-4.0-fast-generate-001', prompt: 'a hill', output_format: 'jpeg' });
    expect(vertex.data).toEqual([{ b64_json: MOCK_PNG }]);
    expect(vertex.output_format).toBe('jpeg');
    const predict = mock.requests.find((r) => r.path.endsWith(':predict'))!;
    expect(predict.path).toMatch(/\/publishers\/google\/models\/imagen-4\.0-fast-generate-001:predict$/);
    const azure = await client().images.generate({ model: 'azure/dall-e-3', prompt: 'a tower', response_format: 'b64_json' });
    expect(azure.data?.[0]?.b64_json).toBe(MOCK_PNG);
    expect(mock.requests.at(-1)!.path).toBe('/openai/deployments/images-prod/images/generations');
    expect(mock.requests.at(-1)!.headers['api-key']).toBe('azure-mock-key');
  });

  it('governance: a key without the model is refused before any call; no key is a 401', async () => {
    await expect(client(CHATTER).images.generate({ model: 'openai/gpt-image-1', prompt: 'x' })).rejects.toMatchObject({ status: 403 });
    const anonymous = await post(`${gateway.url}/v1/images/generations`, { model: 'openai/gpt-image-1', prompt: 'x' });
    expect(anonymous.status).toBe(401);
    const noModel = await post(`${gateway.url}/v1/images/generations`, { prompt: 'x' }, { authorization: `Bearer ${ARTIST}` });
    expect(noModel.status).toBe(400);
    expect(noModel.json).toMatchObject({ error: { param: 'model' } });
    const form = await post(`${gateway.url}/v1/images/generations`, 'prompt=x', { authorization: `Bearer ${ARTIST}`, 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect(mock.requests).toHaveLength(0);
  });

  it('the provider\'s refusal comes back in OpenAI\'s form with its words', async () => {
    await expect(client().images.generate({ model: 'openai/dall-e-3', prompt: 'x', size: '1000x1000' as '1024x1024' }))
      .rejects.toMatchObject({ status: 400, param: 'size', message: expect.stringContaining("Invalid value: '1000x1000'") });
  });
});

describe('POST /v1/images/edits (multipart)', () => {
  it('the upload reaches OpenAI byte for byte but for the model field', async () => {
    const edited = await client().images.edit({ model: 'openai/gpt-image-1', image: await toFile(PNG, 'in.png', { type: 'image/png' }), prompt: 'add a hat' });
    expect(edited.data).toEqual([{ b64_json: MOCK_PNG }]);
    const upstream = mock.requests[0];
    expect(upstream.path).toBe('/v1/images/edits');
    expect(upstream.rawBody.includes(PNG)).toBe(true);
    expect(upstream.rawBody.toString('latin1')).toMatch(/name="model"\r\n\r\ngpt-image-1\r\n/);
    expect(upstream.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
  });

  it('edge cases: missing file (400, nothing sent), wrong type (the provider\'s 400), over the size limit (413), a provider without edits (400)', async () => {
    const noFile = new FormData();
    noFile.append('model', 'openai/gpt-image-1');
    noFile.append('prompt', 'x');
    const missing = await fetch(`${gateway.url}/v1/images/edits`, { method: 'POST', body: noFile, headers: { authorization: `Bearer ${ARTIST}` } });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: { param: 'image', message: expect.stringContaining("'image'") } });
    expect(mock.requests).toHaveLength(0);

    const gif = client().images.edit({ model: 'openai/gpt-image-1', image: await toFile(Buffer.from('GIF89a'), 'in.gif', { type: 'image/gif' }), prompt: 'x' });
    await expect(gif).rejects.toMatchObject({ status: 400, message: expect.stringContaining("unsupported mimetype ('image/gif')") });

    const huge = client().images.edit({ model: 'openai/gpt-image-1', image: await toFile(Buffer.alloc(300_000, 1), 'big.png', { type: 'image/png' }), prompt: 'x' });
    await expect(huge).rejects.toMatchObject({ status: 413 });

    const gemini = client().images.edit({ model: 'gemini/imagen-4.0-generate-001', image: await toFile(PNG, 'in.png', { type: 'image/png' }), prompt: 'x' });
    await expect(gemini).rejects.toMatchObject({ status: 400, message: expect.stringContaining('does not support image edits') });
    expect(mock.requests).toHaveLength(1);
  });

  it('governance reads the upload\'s model field', async () => {
    const refused = client(CHATTER).images.edit({ model: 'openai/gpt-image-1', image: await toFile(PNG, 'in.png', { type: 'image/png' }), prompt: 'x' });
    await expect(refused).rejects.toMatchObject({ status: 403 });
    expect(mock.requests).toHaveLength(0);
  });
});

// Last: it replaces the mock's generations route for the rest of the file.
describe('large answers', () => {
  it('a large answer streams through: the first bytes arrive before the provider has finished', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    const big = 'B'.repeat(2 << 20);
    mock.route('POST', /^\/v1\/images\/generations$/, async (context) => {
      context.response.writeHead(200, { 'content-type': 'application/json' });
      context.response.write(`{"created":1,"data":[{"b64_json":"${big}`);
      await released;
      context.response.end('"}]}');
    });
    const response = await request(`${gateway.url}/v1/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ARTIST}` },
      body: JSON.stringify({ model: 'openai/gpt-image-1', prompt: 'big' }),
    });
    expect(response.statusCode).toBe(200);
    let received = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) {
      chunks.push(chunk as Buffer);
      received += (chunk as Buffer).length;
      if (received >= 1 << 20) release();
    }
    const body = JSON.parse(Buffer.concat(chunks).toString()) as { data: Array<{ b64_json: string }> };
    expect(body.data[0].b64_json).toHaveLength(big.length);
  });
});
