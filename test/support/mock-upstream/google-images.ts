/**
 * Image generation on the Gemini API and Vertex AI mocks (gemini.ts, vertex.ts).
 *
 * POST .../models/imagen-*:predict `{instances: [{prompt}], parameters: {sampleCount?, aspectRatio?, outputOptions?}}`
 *   - `instances[0].prompt` a non-empty string, `sampleCount` 1-4, `aspectRatio` one of 1:1, 3:4, 4:3, 9:16, 16:9
 *     (400 INVALID_ARGUMENT otherwise);
 *   - reply `{predictions: [{bytesBase64Encoded: MOCK_PNG, mimeType}]}` per sample (image/png, or outputOptions.mimeType).
 * POST .../models/{gemini-*-image*}:generateContent with `responseModalities` naming IMAGE
 *   - reply one candidate with a text part `Here is: <prompt>` and an `inlineData` part `{mimeType: 'image/png', data: MOCK_PNG}`;
 *     usageMetadata: prompt words, candidatesTokenCount 1290 (an image's tokens) + the text's words.
 * @see https://ai.google.dev/gemini-api/docs/imagen
 * @see https://ai.google.dev/gemini-api/docs/image-generation
 */
import type { MockContext } from './context.js';
import { MOCK_PNG } from './openai-media.js';
import { isRecord } from './openai-common.js';
import { countWords } from './text.js';

type Json = Record<string, unknown>;

const RATIOS = ['1:1', '3:4', '4:3', '9:16', '16:9'];

function error(context: MockContext, message: string): Promise<void> {
  return context.json(400, { error: { code: 400, message, status: 'INVALID_ARGUMENT' } });
}

function imagenPredict(context: MockContext, body: Json): Promise<void> {
  const instance = Array.isArray(body.instances) && isRecord(body.instances[0]) ? body.instances[0] : undefined;
  if (typeof instance?.prompt !== 'string' || instance.prompt === '') return error(context, 'Invalid value at \'instances[0].prompt\': a prompt is required.');
  const parameters = isRecord(body.parameters) ? body.parameters : {};
  const count = parameters.sampleCount ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 4) return error(context, 'Number of images (sampleCount) must be between 1 and 4.');
  if (parameters.aspectRatio !== undefined && !RATIOS.includes(String(parameters.aspectRatio))) return error(context, `Unsupported aspect ratio: ${String(parameters.aspectRatio)}.`);
  const options = isRecord(parameters.outputOptions) ? parameters.outputOptions : {};
  const mimeType = typeof options.mimeType === 'string' ? options.mimeType : 'image/png';
  return context.json(200, { predictions: Array.from({ length: count }, () => ({ bytesBase64Encoded: MOCK_PNG, mimeType })) });
}

function geminiImage(context: MockContext, body: Json): Promise<void> {
  const contents = Array.isArray(body.contents) ? body.contents.filter(isRecord) : [];
  const parts = contents.flatMap((content) => (Array.isArray(content.parts) ? content.parts.filter(isRecord) : []));
  const prompt = parts.map((part) => (typeof part.text === 'string' ? part.text : '')).join(' ').trim();
  const text = `Here is: ${prompt}`;
  return context.json(200, {
    candidates: [{ content: { role: 'model', parts: [{ text }, { inlineData: { mimeType: 'image/png', data: MOCK_PNG } }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: countWords(prompt), candidatesTokenCount: 1290 + countWords(text), totalTokenCount: countWords(prompt) + 1290 + countWords(text) },
    modelVersion: 'mock-image',
  });
}

/** Answers an image call; undefined when the call is not one (the route's other rules apply). */
export function googleImageAction(context: MockContext, body: Json, model: string, method: string): Promise<void> | undefined {
  if (method === 'predict' && model.startsWith('imagen-')) return imagenPredict(context, body);
  if (method !== 'generateContent' || !/-image/.test(model)) return undefined;
  const config = isRecord(body.generationConfig) ? body.generationConfig : {};
  const modalities = Array.isArray(config.responseModalities) ? config.responseModalities : [];
  return modalities.includes('IMAGE') ? geminiImage(context, body) : undefined;
}
