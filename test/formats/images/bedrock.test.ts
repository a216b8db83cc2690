/**
 * The Bedrock image codec (src/formats/images/bedrock.ts): OpenAI's request to the Titan / Nova
 * Canvas `TEXT_IMAGE` body and to a Stability body, their answers back, with fixtures shaped like
 * AWS's documented examples; and the catalog's per-image prices of these models.
 */
import { describe, expect, it } from 'vitest';
import { ModelCatalog } from '../../../src/catalog/catalog.js';
import { bedrockImageFamily, decodeBedrockImageResponse, encodeBedrockImageRequest, nearestTitanSize } from '../../../src/formats/images/bedrock.js';

describe('Bedrock image requests', () => {
  it('the body family of each model id, a region prefix allowed', () => {
    expect(['amazon.titan-image-generator-v2:0', 'us.amazon.nova-canvas-v1:0', 'stability.sd3-5-large-v1:0', 'amazon.nova-pro-v1:0'].map(bedrockImageFamily))
      .toEqual(['titan', 'nova-canvas', 'stability', undefined]);
  });

  it('Titan sizes: the size itself when offered, else the nearest ratio, then the nearest pixel count', () => {
    expect(nearestTitanSize(1024, 1024)).toEqual([1024, 1024]);
    expect(nearestTitanSize(512, 512)).toEqual([512, 512]);
    expect(nearestTitanSize(1792, 1024)).toEqual([1152, 640]);
    expect(nearestTitanSize(1024, 1536)).toEqual([768, 1152]);
    expect(nearestTitanSize(256, 256)).toEqual([512, 512]);
  });

  it('Titan: TEXT_IMAGE with numberOfImages, size, quality, seed and negative text; the rest warned', () => {
    const encoded = encodeBedrockImageRequest({ prompt: 'a barn', n: 2, size: '1024x1024', quality: 'hd', seed: 3, negative_prompt: 'fog', style: 'vivid', response_format: 'url' }, 'titan');
    expect(encoded.body).toEqual({
      taskType: 'TEXT_IMAGE',
      textToImageParams: { text: 'a barn', negativeText: 'fog' },
      imageGenerationConfig: { numberOfImages: 2, width: 1024, height: 1024, quality: 'premium', seed: 3 },
    });
    expect(encoded.warnings.map((w) => w.param)).toEqual(['style', 'response_format']);
  });

  it('Nova Canvas keeps any WxH as asked (Bedrock judges it); no size: none sent', () => {
    expect(encodeBedrockImageRequest({ prompt: 'x', size: '1000x1000' }, 'nova-canvas').body).toMatchObject({ imageGenerationConfig: { width: 1000, height: 1000, quality: 'standard' } });
    expect(encodeBedrockImageRequest({ prompt: 'x', size: 'auto' }, 'nova-canvas').body).toEqual({ taskType: 'TEXT_IMAGE', textToImageParams: { text: 'x' }, imageGenerationConfig: { numberOfImages: 1, quality: 'standard' } });
  });

  it('Stability: prompt, mode, aspect ratio and format; n lowered with a warning; Titan refuses n above 5', () => {
    const encoded = encodeBedrockImageRequest({ prompt: 'a fox', n: 2, size: '1792x1024', output_format: 'webp' }, 'stability');
    expect(encoded.body).toEqual({ prompt: 'a fox', mode: 'text-to-image', aspect_ratio: '16:9' });
    expect(encoded.warnings.map((w) => w.param)).toEqual(['n', 'output_format']);
    expect(() => encodeBedrockImageRequest({ prompt: 'x', n: 6 }, 'titan')).toThrow(RangeError);
  });
});

describe('Bedrock image answers', () => {
  it('images -> data[].b64_json, counted; Titan\'s error and Stability\'s filter are failures', () => {
    expect(decodeBedrockImageResponse({ images: ['AAA', 'BBB'], error: null }, 9, undefined)).toEqual({
      body: { created: 9, data: [{ b64_json: 'AAA' }, { b64_json: 'BBB' }], output_format: 'png' },
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, images: 2 },
    });
    expect(decodeBedrockImageResponse({ seeds: [1], finish_reasons: [null], images: ['CCC'] }, 9, 'jpeg').body).toMatchObject({ output_format: 'jpeg' });
    expect(() => decodeBedrockImageResponse({ images: [], error: 'bad prompt' }, 9, undefined)).toThrow('bad prompt');
    expect(() => decodeBedrockImageResponse({ seeds: [1], finish_reasons: ['Filter reason: prompt'], images: [] }, 9, undefined)).toThrow('Filter reason: prompt');
    expect(() => decodeBedrockImageResponse({ message: 'x' }, 9, undefined)).toThrow('no images');
  });

  it('the catalog prices each model per image, cross-region ids too', () => {
    const catalog = new ModelCatalog({});
    const price = (model: string): number | undefined => catalog.facts({ provider: 'bedrock', type: 'bedrock', model }).price?.image;
    expect(['amazon.titan-image-generator-v2:0', 'amazon.titan-image-generator-v1', 'us.amazon.nova-canvas-v1:0', 'stability.sd3-5-large-v1:0', 'stability.stable-image-core-v1:1', 'stability.stable-image-ultra-v1:1'].map(price))
      .toEqual([0.01, 0.01, 0.04, 0.08, 0.04, 0.14]);
  });
});
