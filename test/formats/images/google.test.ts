/**
 * The image codecs (src/formats/images/google.ts): OpenAI's request to Imagen
 * and to a Gemini image model, their answers back, with fixtures shaped like
 * Google's documented examples.
 */
import { describe, expect, it } from 'vitest';
import { aspectRatioOf, decodeGeminiImageResponse, decodeImagenResponse, encodeGeminiImageRequest, encodeImagenRequest } from '../../../src/formats/images/google.js';
import { ModelCatalog } from '../../../src/catalog/catalog.js';

describe('image requests', () => {
  it('sizes map to the nearest aspect ratio Imagen offers', () => {
    expect(['1024x1024', '1792x1024', '1024x1792', '1536x1024', '1024x1536', 'auto', 'big'].map(aspectRatioOf)).toEqual(['1:1', '16:9', '9:16', '4:3', '3:4', undefined, undefined]);
  });

  it('Imagen: prompt, sampleCount, aspectRatio and output format; the rest dropped with a warning each', () => {
    const encoded = encodeImagenRequest({ prompt: 'a fox', n: 3, size: '1024x1536', output_format: 'jpeg', quality: 'high', response_format: 'url', user: 'u1' });
    expect(encoded.body).toEqual({ instances: [{ prompt: 'a fox' }], parameters: { sampleCount: 3, aspectRatio: '3:4', outputOptions: { mimeType: 'image/jpeg' } } });
    expect(encoded.warnings.map((w) => w.param)).toEqual(['quality', 'response_format']);
  });

  it('a Gemini image model: one image, image output asked for', () => {
    const encoded = encodeGeminiImageRequest({ prompt: 'a door', n: 2, size: '1792x1024' });
    expect(encoded.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'a door' }] }], generationConfig: { responseModalities: ['TEXT', 'IMAGE'], imageConfig: { aspectRatio: '16:9' } } });
    expect(encoded.warnings.map((w) => w.param)).toEqual(['n']);
  });
});

describe('image answers', () => {
  it('Imagen predictions -> data[].b64_json, images counted', () => {
    const decoded = decodeImagenResponse({ predictions: [{ bytesBase64Encoded: 'AAA', mimeType: 'image/png' }, { raiFilteredReason: 'filtered' }] }, 7);
    expect(decoded.body).toEqual({ created: 7, data: [{ b64_json: 'AAA' }], output_format: 'png' });
    expect(decoded.usage.images).toBe(1);
    expect(decodeImagenResponse({}, 7).body).toEqual({ created: 7, data: [] });
  });

  it('Gemini inlineData parts -> images; text -> revised_prompt; thoughts left out; tokens kept', () => {
    const decoded = decodeGeminiImageResponse({
      candidates: [{ content: { parts: [{ text: 'thinking', thought: true }, { text: 'A door.' }, { inlineData: { mimeType: 'image/png', data: 'BBB' } }] } }],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 1293 },
    }, 9);
    expect(decoded.body).toEqual({ created: 9, data: [{ b64_json: 'BBB', revised_prompt: 'A door.' }], output_format: 'png' });
    expect(decoded.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 1293, images: 1 });
    expect(() => decodeGeminiImageResponse('nope', 1)).toThrow();
  });
});

describe('unit prices in the catalog', () => {
  it('Whisper per second, TTS per million characters, Imagen per image; token-priced models keep token prices', () => {
    const catalog = new ModelCatalog({});
    const price = (type: string, model: string) => catalog.facts({ provider: type, type, model }).price;
    expect(price('openai', 'whisper-1')).toEqual({ audio_second: 0.0001 });
    expect(price('openai', 'tts-1-hd')).toEqual({ characters: 30 });
    expect(price('gemini', 'imagen-4.0-generate-001')).toEqual({ image: 0.04 });
    expect(price('groq', 'whisper-large-v3-turbo')?.audio_second).toBeCloseTo(0.04 / 3600, 12);
    expect(price('openai', 'gpt-image-1')).toMatchObject({ input: 5, output: 40 });
  });
});
