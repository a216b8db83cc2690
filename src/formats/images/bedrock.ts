/**
 * OpenAI image generation (`POST /v1/images/generations`) <-> the image models
 * of Amazon Bedrock (InvokeModel), both ways, as pure functions. Two body
 * families:
 *
 * - Amazon Titan Image Generator (v1, v2) and Nova Canvas: `{taskType: "TEXT_IMAGE",
 *   textToImageParams: {text, negativeText?}, imageGenerationConfig: {numberOfImages,
 *   width, height, quality, seed?}}` -> `{images: [base64], error?}`.
 * - Stability AI (SD3.5 Large, Stable Image Core and Ultra): `{prompt, mode:
 *   "text-to-image", aspect_ratio, output_format, negative_prompt?, seed?}` ->
 *   `{images: [base64], seeds, finish_reasons}` (one image per call).
 *
 * | OpenAI | Titan, Nova Canvas | Stability |
 * | --- | --- | --- |
 * | `prompt` | `textToImageParams.text` | `prompt` |
 * | `n` | `numberOfImages` (1-5) | 1 only (more: lowered, warned) |
 * | `size` `WxH` | `width`, `height` (Titan: the nearest size it offers, warned when changed; Nova Canvas: as asked) | `aspect_ratio`, the nearest it offers |
 * | `quality` `hd`/`high` | `quality: "premium"` (else `standard`) | none (dropped, warned) |
 * | `output_format` png/jpeg | PNG only (others warned) | `output_format` |
 * | `response_format: "url"` | no URL: `b64_json` (warned) | same |
 * | `negative_prompt`, `seed` (extensions) | `negativeText`, `seed` | `negative_prompt`, `seed` |
 * | `style`, `background`, `moderation`, `output_compression` | none (dropped, warned) | none |
 *
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-image.html
 * @see https://docs.aws.amazon.com/nova/latest/userguide/image-gen-req-resp-structure.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-3-5-large.html
 * @see https://platform.openai.com/docs/api-reference/images/create
 */
import type { CodecWarning } from '../types.js';
import type { DecodedImages, EncodedImageRequest, ImageRequest } from './google.js';

type Json = Record<string, unknown>;

/** Fields the translation reads (or that carry no meaning upstream); the rest are dropped with a warning. */
const READ = new Set(['model', 'prompt', 'n', 'size', 'quality', 'response_format', 'output_format', 'negative_prompt', 'seed', 'user', 'fallbacks', 'stream']);

/** The sizes Titan Image Generator v1 and v2 take. @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-image.html */
const TITAN_SIZES: ReadonlyArray<readonly [number, number]> = [
  [1024, 1024], [768, 768], [512, 512], [768, 1152], [384, 576], [1152, 768], [576, 384], [768, 1280], [384, 640],
  [1280, 768], [640, 384], [896, 1152], [448, 576], [1152, 896], [576, 448], [768, 1408], [384, 704], [1408, 768],
  [704, 384], [640, 1408], [320, 704], [1408, 640], [704, 320], [1152, 640], [1173, 640],
];

/** Stability's aspect ratios on Bedrock. @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-3-5-large.html */
const STABILITY_RATIOS: ReadonlyArray<readonly [string, number]> = [
  ['1:1', 1], ['16:9', 16 / 9], ['21:9', 21 / 9], ['2:3', 2 / 3], ['3:2', 3 / 2], ['4:5', 4 / 5], ['5:4', 5 / 4], ['9:16', 9 / 16], ['9:21', 9 / 21],
];

const MAX_TITAN_IMAGES = 5;

export type BedrockImageFamily = 'titan' | 'nova-canvas' | 'stability';

/** The body family of a Bedrock image model (a region prefix such as `us.` allowed); undefined for any other model. */
export function bedrockImageFamily(model: string): BedrockImageFamily | undefined {
  const id = model.replace(/^(us|eu|apac|global|us-gov|jp|au)\./, '');
  if (id.startsWith('amazon.titan-image-generator')) return 'titan';
  if (id.startsWith('amazon.nova-canvas')) return 'nova-canvas';
  if (id.startsWith('stability.')) return 'stability';
  return undefined;
}

function sizeOf(size: string | undefined): [number, number] | undefined {
  const match = size === undefined ? null : /^(\d+)x(\d+)$/.exec(size);
  return match === null ? undefined : [Number(match[1]), Number(match[2])];
}

/** The Titan size nearest to `width`x`height`: the closest aspect ratio, then the closest pixel count. */
export function nearestTitanSize(width: number, height: number): readonly [number, number] {
  const distance = ([w, h]: readonly [number, number]): [number, number] => [Math.abs(Math.log(w / h / (width / height))), Math.abs(Math.log((w * h) / (width * height)))];
  let best = TITAN_SIZES[0];
  for (const candidate of TITAN_SIZES) {
    const [ratio, pixels] = distance(candidate);
    const [bestRatio, bestPixels] = distance(best);
    if (ratio < bestRatio - 1e-9 || (Math.abs(ratio - bestRatio) <= 1e-9 && pixels < bestPixels)) best = candidate;
  }
  return best;
}

function nearestStabilityRatio(width: number, height: number): string {
  let best = STABILITY_RATIOS[0];
  for (const candidate of STABILITY_RATIOS) if (Math.abs(Math.log(candidate[1] / (width / height))) < Math.abs(Math.log(best[1] / (width / height)))) best = candidate;
  return best[0];
}

function dropped(request: ImageRequest, warnings: CodecWarning[], target: string, read: ReadonlySet<string>): void {
  for (const [field, value] of Object.entries(request)) {
    if (read.has(field) || value === undefined || value === null) continue;
    warnings.push({ param: field, message: `${target} has no equivalent of "${field}"; dropped.` });
  }
  if (request.response_format === 'url') warnings.push({ param: 'response_format', message: `${target} returns image bytes, not URLs: the images are in b64_json.` });
  if (request.size !== undefined && request.size !== 'auto' && sizeOf(request.size) === undefined) {
    warnings.push({ param: 'size', message: `size "${request.size}" is not WIDTHxHEIGHT; the model's default size is used.` });
  }
}

function titanOrNovaBody(request: ImageRequest, family: 'titan' | 'nova-canvas', warnings: CodecWarning[]): Json {
  const name = family === 'titan' ? 'Titan Image Generator' : 'Nova Canvas';
  const params: Json = { text: request.prompt };
  if (typeof request.negative_prompt === 'string') params.negativeText = request.negative_prompt;
  const config: Json = { numberOfImages: request.n ?? 1 };
  const asked = sizeOf(request.size);
  if (asked !== undefined) {
    // Nova Canvas takes any size within its rules (Bedrock judges it); Titan offers a fixed list.
    const [width, height] = family === 'titan' ? nearestTitanSize(asked[0], asked[1]) : asked;
    if (width !== asked[0] || height !== asked[1]) warnings.push({ param: 'size', message: `${name} has no ${request.size}; ${width}x${height} is made instead.` });
    config.width = width;
    config.height = height;
  }
  config.quality = request.quality === 'hd' || request.quality === 'high' ? 'premium' : 'standard';
  if (typeof request.seed === 'number') config.seed = request.seed;
  if (request.output_format !== undefined && request.output_format !== 'png') warnings.push({ param: 'output_format', message: `${name} writes PNG; output_format dropped.` });
  dropped(request, warnings, name, READ);
  return { taskType: 'TEXT_IMAGE', textToImageParams: params, imageGenerationConfig: config };
}

function stabilityBody(request: ImageRequest, warnings: CodecWarning[]): Json {
  const body: Json = { prompt: request.prompt, mode: 'text-to-image' };
  if ((request.n ?? 1) > 1) warnings.push({ param: 'n', message: `Stability models on Bedrock make one image per call; n=${request.n} was lowered to 1.` });
  const asked = sizeOf(request.size);
  if (asked !== undefined) body.aspect_ratio = nearestStabilityRatio(asked[0], asked[1]);
  const format = request.output_format;
  if (format === 'png' || format === 'jpeg') body.output_format = format;
  else if (format !== undefined) warnings.push({ param: 'output_format', message: `Stability models on Bedrock write PNG or JPEG, not "${String(format)}"; PNG is returned.` });
  if (typeof request.negative_prompt === 'string') body.negative_prompt = request.negative_prompt;
  if (typeof request.seed === 'number') body.seed = request.seed;
  dropped(request, warnings, 'A Stability model on Bedrock', READ);
  return body;
}

/** The InvokeModel body of one image request; throws a RangeError (the caller's 400) for `n` above Titan's 5. */
export function encodeBedrockImageRequest(request: ImageRequest, family: BedrockImageFamily): EncodedImageRequest {
  const warnings: CodecWarning[] = [];
  if (family !== 'stability' && (request.n ?? 1) > MAX_TITAN_IMAGES) throw new RangeError(`Bedrock's Titan and Nova Canvas make at most ${MAX_TITAN_IMAGES} images per call; n=${request.n}.`);
  const body = family === 'stability' ? stabilityBody(request, warnings) : titanOrNovaBody(request, family, warnings);
  return { body, warnings };
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The InvokeModel answer -> OpenAI's images answer. Throws when the answer is not an image answer,
 * or says it failed (Titan's `error`, Stability's finish reason naming a filter).
 */
export function decodeBedrockImageResponse(answer: unknown, created: number, outputFormat: string | undefined): DecodedImages {
  if (!isRecord(answer) || !Array.isArray(answer.images)) throw new Error('the Bedrock answer has no images');
  if (typeof answer.error === 'string' && answer.error !== '') throw new Error(`Bedrock: ${answer.error}`);
  const reasons = Array.isArray(answer.finish_reasons) ? answer.finish_reasons.filter((reason): reason is string => typeof reason === 'string') : [];
  if (reasons.length > 0) throw new Error(`Bedrock: the image was not made (${reasons.join(', ')})`);
  const data = answer.images.filter((image): image is string => typeof image === 'string').map((image) => ({ b64_json: image }));
  return {
    body: { created, data, output_format: outputFormat ?? 'png' },
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, images: data.length },
  };
}
