/**
 * /v1/images/generations to Amazon Bedrock's image models (src/formats/images/bedrock.ts) with the
 * official openai SDK as the client: Titan Image Generator and Nova Canvas (`TEXT_IMAGE` InvokeModel
 * bodies) and Stability models, SigV4-signed (the mock recomputes the signature), answers mapped to
 * OpenAI's `b64_json` images, priced per image from the catalog; Bedrock's refusals in OpenAI's form.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { MOCK_PNG } from '../support/mock-upstream/openai-media.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';

const ARTIST = 'hk-bedrock-artist-0123456789abcd';
const CHATTER = 'hk-bedrock-chatter-0123456789abc';

let mock: MockUpstream;
let gateway: TestGateway;
let strict: TestGateway;

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  const governance = {
    enforce: true,
    virtual_keys: {
      artist: { key: ARTIST, allowed_models: ['bedrock/*'] },
      chatter: { key: CHATTER, allowed_models: ['bedrock/amazon.nova-pro-v1:0'] },
    },
  };
  gateway = await startGateway({ env: providers.env, config: { ...providers.config, governance } });
  strict = await startGateway({ env: providers.env, config: { ...providers.config, governance, routing: { strict_params: true } } });
});
afterAll(async () => {
  await gateway.close();
  await strict.close();
  await mock.close();
});
beforeEach(() => mock.reset());

function client(key = ARTIST, target = gateway): OpenAI {
  return new OpenAI({ baseURL: `${target.url}/v1`, apiKey: key, maxRetries: 0, timeout: 15_000 });
}

function lastLine(): Record<string, unknown> {
  return gateway.logs().filter((line) => line.msg === 'request').at(-1)!;
}

describe('POST /v1/images/generations to Bedrock', () => {
  it('Titan Image Generator v2: a TEXT_IMAGE InvokeModel body, SigV4-signed; b64_json images; $0.01 an image', async () => {
    const { data: images, response } = await client().images.generate({ model: 'bedrock/amazon.titan-image-generator-v2:0', prompt: 'a red barn', n: 3, size: '1792x1024', quality: 'hd' }).withResponse();
    expect(images.data).toEqual([{ b64_json: MOCK_PNG }, { b64_json: MOCK_PNG }, { b64_json: MOCK_PNG }]);
    expect(images.output_format).toBe('png');
    const upstream = mock.requests[0];
    expect(upstream.path).toBe('/model/amazon.titan-image-generator-v2%3A0/invoke');
    expect(upstream.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/[a-z0-9-]+\/bedrock\/aws4_request/);
    // 1792x1024 is not a Titan size: the nearest one it offers (1152x640, 9:5 against 7:4) is made, and the caller told.
    expect(upstream.body).toEqual({
      taskType: 'TEXT_IMAGE',
      textToImageParams: { text: 'a red barn' },
      imageGenerationConfig: { numberOfImages: 3, width: 1152, height: 640, quality: 'premium' },
    });
    expect(response.headers.get('x-heimdall-warnings')).toContain('1152x640');
    await expect.poll(() => lastLine().cost_usd).toBeCloseTo(0.03, 9);
  });

  it('Nova Canvas: the size as asked, seed and negative_prompt carried; response_format url answers b64_json with a warning', async () => {
    const { data: images, response } = await client().images.generate({
      model: 'bedrock/amazon.nova-canvas-v1:0', prompt: 'a quiet harbour', size: '1536x1024', response_format: 'url',
      seed: 7, negative_prompt: 'people',
    } as OpenAI.ImageGenerateParamsNonStreaming).withResponse();
    expect(images.data).toEqual([{ b64_json: MOCK_PNG }]);
    expect(mock.requests[0].body).toEqual({
      taskType: 'TEXT_IMAGE',
      textToImageParams: { text: 'a quiet harbour', negativeText: 'people' },
      imageGenerationConfig: { numberOfImages: 1, width: 1536, height: 1024, quality: 'standard', seed: 7 },
    });
    expect(response.headers.get('x-heimdall-warnings')).toContain('b64_json');
    await expect.poll(() => lastLine().cost_usd).toBeCloseTo(0.04, 9);
  });

  it('Stability: prompt, aspect ratio and format; n lowered to one image (and one image charged)', async () => {
    const { data: images, response } = await client().images.generate({ model: 'bedrock/stability.sd3-5-large-v1:0', prompt: 'a fox in snow', n: 2, size: '1024x1536', output_format: 'jpeg' }).withResponse();
    expect(images.data).toEqual([{ b64_json: MOCK_PNG }]);
    expect(images.output_format).toBe('jpeg');
    expect(mock.requests[0].body).toEqual({ prompt: 'a fox in snow', mode: 'text-to-image', aspect_ratio: '2:3', output_format: 'jpeg' });
    expect(response.headers.get('x-heimdall-warnings')).toContain('n=2');
    await expect.poll(() => lastLine().cost_usd).toBeCloseTo(0.08, 9);
  });

  it('Bedrock\'s refusal of a size reaches the caller in OpenAI\'s form with Bedrock\'s words', async () => {
    await expect(client().images.generate({ model: 'bedrock/amazon.nova-canvas-v1:0', prompt: 'x', size: '1000x1000' as '1024x1024' }))
      .rejects.toMatchObject({ status: 400, message: expect.stringContaining('divisible by 16') });
    expect(mock.requests).toHaveLength(1);
  });

  it('a filtered Stability image is a failed call (502), not an empty success', async () => {
    await expect(client().images.generate({ model: 'bedrock/stability.stable-image-core-v1:1', prompt: 'something forbidden' }))
      .rejects.toMatchObject({ status: 502, message: expect.stringContaining('Filter reason: prompt') });
  });

  it('what the gateway refuses before sending: n above 5, a model that makes no images, a missing prompt; strict mode refuses a dropped field', async () => {
    await expect(client().images.generate({ model: 'bedrock/amazon.titan-image-generator-v2:0', prompt: 'x', n: 6 })).rejects.toMatchObject({ status: 400, param: 'n' });
    await expect(client().images.generate({ model: 'bedrock/amazon.nova-pro-v1:0', prompt: 'x' })).rejects.toMatchObject({ status: 400, message: expect.stringContaining('not an image model') });
    await expect(client().images.generate({ model: 'bedrock/amazon.nova-canvas-v1:0' } as OpenAI.ImageGenerateParamsNonStreaming)).rejects.toMatchObject({ status: 400, param: 'prompt' });
    await expect(client(ARTIST, strict).images.generate({ model: 'bedrock/amazon.nova-canvas-v1:0', prompt: 'x', style: 'vivid' })).rejects.toMatchObject({ status: 400, param: 'style' });
    expect(mock.requests).toHaveLength(0);
  });

  it('governance: a key without the image model is refused before any call', async () => {
    await expect(client(CHATTER).images.generate({ model: 'bedrock/amazon.nova-canvas-v1:0', prompt: 'x' })).rejects.toMatchObject({ status: 403 });
    expect(mock.requests).toHaveLength(0);
  });
});

describe('the Bedrock mock refuses what Bedrock refuses', () => {
  async function invoke(model: string, body: unknown): Promise<{ status: number; type: string | null; message: string }> {
    const response = await fetch(`${mock.url}/model/${encodeURIComponent(model)}/invoke`, {
      method: 'POST', headers: { authorization: 'Bearer mock-bedrock-api-key', 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    return { status: response.status, type: response.headers.get('x-amzn-errortype'), message: ((await response.json()) as { message: string }).message };
  }

  it('a missing taskType, a size Titan does not make, too many images, an unknown Stability field: 400 ValidationException', async () => {
    const missing = await invoke('amazon.titan-image-generator-v2:0', { textToImageParams: { text: 'x' } });
    expect(missing).toMatchObject({ status: 400, type: expect.stringMatching(/^ValidationException:/), message: expect.stringContaining('required key [taskType] not found') });
    const size = await invoke('amazon.titan-image-generator-v2:0', { taskType: 'TEXT_IMAGE', textToImageParams: { text: 'x' }, imageGenerationConfig: { width: 1792, height: 1024 } });
    expect(size).toMatchObject({ status: 400, message: expect.stringContaining('(1792x1024) are not supported') });
    const many = await invoke('amazon.nova-canvas-v1:0', { taskType: 'TEXT_IMAGE', textToImageParams: { text: 'x' }, imageGenerationConfig: { numberOfImages: 6 } });
    expect(many).toMatchObject({ status: 400, message: expect.stringContaining('numberOfImages') });
    const extra = await invoke('stability.sd3-5-large-v1:0', { prompt: 'x', n: 2 });
    expect(extra).toMatchObject({ status: 400, message: expect.stringContaining('extraneous key [n]') });
  });
});
