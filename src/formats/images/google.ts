/**
 * OpenAI image generation (`POST /v1/images/generations`) <-> Google's two
 * image APIs, both ways, as pure functions:
 *
 * - Imagen (`models/{imagen-...}:predict`): `{instances: [{prompt}], parameters:
 *   {sampleCount, aspectRatio, outputOptions: {mimeType}, personGeneration?}}` ->
 *   `{predictions: [{bytesBase64Encoded, mimeType}]}`.
 * - Gemini image models (`gemini-2.5-flash-image`...: `:generateContent` with
 *   `responseModalities: ["TEXT", "IMAGE"]`): images come back as `inlineData` parts.
 *
 * | OpenAI | Imagen | Gemini image model |
 * | --- | --- | --- |
 * | `prompt` | `instances[0].prompt` | the user turn's text |
 * | `n` | `parameters.sampleCount` (1-4) | 1 only (more: dropped, warned) |
 * | `size` `WxH` | `parameters.aspectRatio`, the nearest of 1:1, 3:4, 4:3, 9:16, 16:9 | `generationConfig.imageConfig.aspectRatio` |
 * | `output_format` png/jpeg | `parameters.outputOptions.mimeType` | (PNG; dropped, warned) |
 * | `response_format: "url"` | no URL: `b64_json` (warned) | same |
 * | `quality`, `style`, `background`, `moderation`, `output_compression` | none (dropped, warned) | none |
 *
 * The answer is OpenAI's `{created, data: [{b64_json}], output_format?}`; a Gemini
 * model's text part becomes `revised_prompt` of the first image.
 * @see https://ai.google.dev/gemini-api/docs/imagen#imagen-model-parameters
 * @see https://ai.google.dev/gemini-api/docs/image-generation
 * @see https://platform.openai.com/docs/api-reference/images/create
 */
import type { CodecWarning } from '../types.js';
import type { Usage } from '../openai/types.js';
import { usageFromGemini } from '../gemini/usage.js';

type Json = Record<string, unknown>;

export interface ImageRequest {
  prompt: string;
  n?: number;
  size?: string;
  response_format?: string;
  output_format?: string;
  [field: string]: unknown;
}

export interface EncodedImageRequest {
  body: Json;
  warnings: CodecWarning[];
}

export interface DecodedImages {
  body: Json;
  /** Images returned (per-image prices) and tokens (Gemini image models are priced by token). */
  usage: Usage;
}

/** Fields of the OpenAI request the gateway reads itself (or that carry no meaning upstream). */
const READ = new Set(['model', 'prompt', 'n', 'size', 'response_format', 'output_format', 'user', 'fallbacks', 'stream']);

const ASPECT_RATIOS: ReadonlyArray<[string, number]> = [['1:1', 1], ['3:4', 3 / 4], ['4:3', 4 / 3], ['9:16', 9 / 16], ['16:9', 16 / 9]];

/** `1792x1024` -> `16:9` (the nearest ratio Imagen offers); undefined for `auto` or no size. */
export function aspectRatioOf(size: string | undefined): string | undefined {
  if (size === undefined || size === 'auto') return undefined;
  const match = /^(\d+)x(\d+)$/.exec(size);
  if (match === null) return undefined;
  const ratio = Number(match[1]) / Number(match[2]);
  let best = ASPECT_RATIOS[0];
  for (const candidate of ASPECT_RATIOS) if (Math.abs(Math.log(candidate[1] / ratio)) < Math.abs(Math.log(best[1] / ratio))) best = candidate;
  return best[0];
}

function dropped(request: ImageRequest, warnings: CodecWarning[], target: string): void {
  for (const [field, value] of Object.entries(request)) {
    if (READ.has(field) || value === undefined || value === null) continue;
    warnings.push({ param: field, message: `${target} has no equivalent of "${field}"; dropped.` });
  }
  if (request.response_format === 'url') warnings.push({ param: 'response_format', message: `${target} returns image bytes, not URLs: the images are in b64_json.` });
  if (request.size !== undefined && request.size !== 'auto' && aspectRatioOf(request.size) === undefined) {
    warnings.push({ param: 'size', message: `size "${request.size}" is not WIDTHxHEIGHT; the model's default aspect ratio is used.` });
  }
}

export function encodeImagenRequest(request: ImageRequest): EncodedImageRequest {
  const warnings: CodecWarning[] = [];
  const parameters: Json = { sampleCount: request.n ?? 1 };
  const aspectRatio = aspectRatioOf(request.size);
  if (aspectRatio !== undefined) parameters.aspectRatio = aspectRatio;
  const format = request.output_format;
  if (format === 'png' || format === 'jpeg') parameters.outputOptions = { mimeType: `image/${format}` };
  else if (format !== undefined) warnings.push({ param: 'output_format', message: `Imagen writes PNG or JPEG, not "${String(format)}"; PNG is returned.` });
  dropped(request, warnings, 'Imagen');
  return { body: { instances: [{ prompt: request.prompt }], parameters }, warnings };
}

export function encodeGeminiImageRequest(request: ImageRequest): EncodedImageRequest {
  const warnings: CodecWarning[] = [];
  if ((request.n ?? 1) > 1) warnings.push({ param: 'n', message: `Gemini image models make one image per call; n=${request.n} was lowered to 1.` });
  if (request.output_format !== undefined && request.output_format !== 'png') warnings.push({ param: 'output_format', message: 'Gemini image models write PNG; output_format dropped.' });
  const generationConfig: Json = { responseModalities: ['TEXT', 'IMAGE'] };
  const aspectRatio = aspectRatioOf(request.size);
  if (aspectRatio !== undefined) generationConfig.imageConfig = { aspectRatio };
  dropped(request, warnings, 'A Gemini image model');
  return { body: { contents: [{ role: 'user', parts: [{ text: request.prompt }] }], generationConfig }, warnings };
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatOf(mimeType: unknown): string | undefined {
  return typeof mimeType === 'string' && mimeType.startsWith('image/') ? mimeType.slice(6) : undefined;
}

/** Imagen's predictions -> OpenAI's images answer. Throws when the answer is not Imagen's shape. */
export function decodeImagenResponse(answer: unknown, created: number): DecodedImages {
  if (!isRecord(answer)) throw new Error('the Imagen answer is not a JSON object');
  // A prompt every sample of which was filtered answers with no predictions at all.
  const predictions = Array.isArray(answer.predictions) ? answer.predictions.filter(isRecord) : [];
  const data = predictions.filter((p) => typeof p.bytesBase64Encoded === 'string').map((p) => ({ b64_json: p.bytesBase64Encoded as string }));
  const body: Json = { created, data };
  const format = formatOf(predictions[0]?.mimeType);
  if (format !== undefined) body.output_format = format;
  return { body, usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, images: data.length } };
}

/** A Gemini image model's generateContent answer -> OpenAI's images answer. */
export function decodeGeminiImageResponse(answer: unknown, created: number): DecodedImages {
  if (!isRecord(answer)) throw new Error('the Gemini answer is not a JSON object');
  const data: Json[] = [];
  const texts: string[] = [];
  let format: string | undefined;
  const candidates = Array.isArray(answer.candidates) ? answer.candidates.filter(isRecord) : [];
  for (const candidate of candidates) {
    const parts = isRecord(candidate.content) && Array.isArray(candidate.content.parts) ? candidate.content.parts.filter(isRecord) : [];
    for (const part of parts) {
      const inline = part.inlineData ?? part.inline_data;
      if (isRecord(inline) && typeof inline.data === 'string') {
        data.push({ b64_json: inline.data });
        format ??= formatOf(inline.mimeType ?? inline.mime_type);
      } else if (typeof part.text === 'string' && part.thought !== true) texts.push(part.text);
    }
  }
  if (data.length > 0 && texts.length > 0) data[0].revised_prompt = texts.join('');
  const body: Json = { created, data };
  if (format !== undefined) body.output_format = format;
  const usage = usageFromGemini(isRecord(answer.usageMetadata) ? (answer.usageMetadata as never) : undefined);
  return { body, usage: { ...usage, images: data.length } };
}
