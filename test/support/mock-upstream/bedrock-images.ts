/**
 * Image generation on the Bedrock mock (bedrock.ts): InvokeModel bodies of the image models,
 * refused the way Bedrock refuses them (400 ValidationException `{message}`, bedrockError).
 *
 * POST /model/amazon.titan-image-generator-v{1,2}:0/invoke and /model/amazon.nova-canvas-v1:0/invoke
 *   `{taskType: 'TEXT_IMAGE', textToImageParams: {text, negativeText?}, imageGenerationConfig?: {numberOfImages?,
 *   width?, height?, quality?, cfgScale?, seed?}}`
 *   - `taskType` required (one of Bedrock's task types; only TEXT_IMAGE is served here), `text` 1-512
 *     characters (Nova Canvas 1-1024), `numberOfImages` 1-5, `quality` standard|premium, unknown keys refused;
 *   - Titan: width x height one of the sizes it offers; Nova Canvas: each side 320-4096 and divisible by 16,
 *     aspect ratio within 1:4..4:1, at most 4,194,304 pixels;
 *   - reply `{images: [MOCK_PNG x numberOfImages], error: null}` (Nova Canvas: `{images}`).
 * POST /model/stability.{model}/invoke `{prompt, mode?, aspect_ratio?, output_format?, negative_prompt?, seed?}`
 *   - `prompt` required, `aspect_ratio` one of Stability's, `output_format` png|jpeg, unknown keys refused;
 *   - a prompt containing "forbidden" is filtered: `{images: [], seeds: [n], finish_reasons: ['Filter reason: prompt']}`;
 *   - reply `{seeds: [42], finish_reasons: [null], images: [MOCK_PNG]}`.
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-image.html
 * @see https://docs.aws.amazon.com/nova/latest/userguide/image-gen-req-resp-structure.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-3-5-large.html
 */
import type { MockContext } from './context.js';
import { isRecord } from './openai-common.js';
import { MOCK_PNG } from './openai-media.js';

type Json = Record<string, unknown>;
type Refuse = (message: string) => Promise<void>;

const TASK_TYPES = ['TEXT_IMAGE', 'COLOR_GUIDED_GENERATION', 'IMAGE_VARIATION', 'INPAINTING', 'OUTPAINTING', 'BACKGROUND_REMOVAL', 'VIRTUAL_TRY_ON'];
const TITAN_SIZES = new Set([
  '1024x1024', '768x768', '512x512', '768x1152', '384x576', '1152x768', '576x384', '768x1280', '384x640', '1280x768', '640x384', '896x1152',
  '448x576', '1152x896', '576x448', '768x1408', '384x704', '1408x768', '704x384', '640x1408', '320x704', '1408x640', '704x320', '1152x640', '1173x640',
]);
const STABILITY_RATIOS = ['16:9', '1:1', '21:9', '2:3', '3:2', '4:5', '5:4', '9:16', '9:21'];
const STABILITY_FIELDS = ['prompt', 'mode', 'aspect_ratio', 'output_format', 'negative_prompt', 'seed', 'image', 'strength'];

function malformed(path: string, problem: string): string {
  return `Malformed input request: ${path}: ${problem}, please reformat your input and try again.`;
}

function extraneous(body: Json, allowed: readonly string[], path: string): string | undefined {
  const extra = Object.keys(body).find((key) => !allowed.includes(key));
  return extra === undefined ? undefined : malformed(path, `extraneous key [${extra}] is not permitted`);
}

function novaSizeError(width: number, height: number): string | undefined {
  if (width < 320 || width > 4096 || height < 320 || height > 4096) return 'Invalid Input: width and height must each be between 320 and 4096 pixels.';
  if (width % 16 !== 0 || height % 16 !== 0) return 'Invalid Input: width and height must be divisible by 16.';
  if (width / height > 4 || height / width > 4) return 'Invalid Input: the aspect ratio must be between 1:4 and 4:1.';
  if (width * height > 4_194_304) return 'Invalid Input: the image must have fewer than 4,194,304 pixels.';
  return undefined;
}

function amazonImageError(model: string, body: Json): string | undefined {
  const nova = model.includes('nova-canvas');
  const unknown = extraneous(body, ['taskType', 'textToImageParams', 'imageGenerationConfig'], '#');
  if (unknown !== undefined) return unknown;
  if (body.taskType === undefined) return malformed('#', 'required key [taskType] not found');
  if (!TASK_TYPES.includes(String(body.taskType))) return malformed('#/taskType', `${String(body.taskType)} is not a valid enum value`);
  if (body.taskType !== 'TEXT_IMAGE') return `The mock upstream serves TEXT_IMAGE only, not ${String(body.taskType)}.`;
  const params = body.textToImageParams;
  if (!isRecord(params)) return malformed('#', 'required key [textToImageParams] not found');
  if (typeof params.text !== 'string') return malformed('#/textToImageParams', 'required key [text] not found');
  const maxText = nova ? 1024 : 512;
  if (params.text.length < 1 || params.text.length > maxText) return malformed('#/textToImageParams/text', `expected minLength: 1, maxLength: ${maxText}, actual: ${params.text.length}`);
  const config = isRecord(body.imageGenerationConfig) ? body.imageGenerationConfig : {};
  const count = config.numberOfImages ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 5) return malformed('#/imageGenerationConfig/numberOfImages', `${String(count)} is not in range 1..5`);
  if (config.quality !== undefined && config.quality !== 'standard' && config.quality !== 'premium') return malformed('#/imageGenerationConfig/quality', `${String(config.quality)} is not a valid enum value`);
  const width = typeof config.width === 'number' ? config.width : 1024;
  const height = typeof config.height === 'number' ? config.height : 1024;
  if (nova) return novaSizeError(width, height);
  if (!TITAN_SIZES.has(`${width}x${height}`)) return `The provided image dimensions (${width}x${height}) are not supported. See the Titan Image Generator documentation for supported dimensions.`;
  return undefined;
}

function stabilityError(body: Json): string | undefined {
  const unknown = extraneous(body, STABILITY_FIELDS, '#');
  if (unknown !== undefined) return unknown;
  if (typeof body.prompt !== 'string' || body.prompt === '') return malformed('#', 'required key [prompt] not found');
  if (body.aspect_ratio !== undefined && !STABILITY_RATIOS.includes(String(body.aspect_ratio))) return malformed('#/aspect_ratio', `${String(body.aspect_ratio)} is not a valid enum value`);
  if (body.output_format !== undefined && body.output_format !== 'png' && body.output_format !== 'jpeg') return malformed('#/output_format', `${String(body.output_format)} is not a valid enum value`);
  return undefined;
}

/** Answers an image model's InvokeModel; undefined when the model is not an image model. */
export function bedrockImageInvoke(context: MockContext, model: string, body: Json, refuse: Refuse): Promise<void> | undefined {
  const id = model.replace(/^(us|eu|apac|global)\./, '');
  if (id.startsWith('amazon.titan-image-generator') || id.startsWith('amazon.nova-canvas')) {
    const invalid = amazonImageError(id, body);
    if (invalid !== undefined) return refuse(invalid);
    const config = isRecord(body.imageGenerationConfig) ? body.imageGenerationConfig : {};
    const images = Array.from({ length: typeof config.numberOfImages === 'number' ? config.numberOfImages : 1 }, () => MOCK_PNG);
    return context.json(200, id.includes('nova-canvas') ? { images } : { images, error: null });
  }
  if (id.startsWith('stability.')) {
    const invalid = stabilityError(body);
    if (invalid !== undefined) return refuse(invalid);
    if (String(body.prompt).includes('forbidden')) return context.json(200, { seeds: [42], finish_reasons: ['Filter reason: prompt'], images: [] });
    return context.json(200, { seeds: [42], finish_reasons: [null], images: [MOCK_PNG] });
  }
  return undefined;
}
