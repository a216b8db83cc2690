/**
 * OpenAI's images and audio endpoints on the mock upstream (registered by
 * openai.ts, and by azure.ts under its deployments). Refusals use OpenAI's own
 * wording (the openai SDK's types name the fields: ImageGenerateParams,
 * ImageEditParams, SpeechCreateParams, TranscriptionCreateParams).
 *
 * POST /v1/images/generations (JSON)
 *   - `prompt` a non-empty string (400 `Missing required parameter: 'prompt'.`, code missing_required_parameter);
 *     `size` one of the model's sizes when set (400 `Invalid value: '<size>'. Supported values are: ...`).
 *   - reply `{created: MOCK_CREATED, data: [...n images], usage?}`: each image `{b64_json}` (the PNG
 *     MOCK_PNG) or, for dall-e-* with response_format 'url', `{url, revised_prompt}`; gpt-image-*
 *     models add `usage` {input_tokens (words of the prompt), output_tokens: 272 per image, ...}.
 * POST /v1/images/edits (multipart): an `image` (or `image[]`) file part (400 `Missing required parameter: 'image'.`),
 *   `prompt` (400 as above); image parts must be PNG, JPEG or WebP (400 `Invalid file 'image': unsupported mimetype
 *   ('<type>'). Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'.`). Reply as generations.
 * POST /v1/audio/speech (JSON): `input` a non-empty string (400 missing_required_parameter), `voice` (400);
 *   over 4096 characters: 400 `[{'type': 'string_too_long', ...}]`-style message. Reply: MOCK_AUDIO bytes
 *   repeated per 16 characters of input (content-type by `response_format`, default audio/mpeg), written in 4 KiB chunks.
 * POST /v1/audio/transcriptions, /v1/audio/translations (multipart): a `file` part (400 `Missing required parameter: 'file'.`)
 *   whose name ends in a supported extension (400 `Invalid file format. Supported formats: [...]`), at most
 *   26214400 bytes (413 `Maximum content size limit (26214400) exceeded (<n> bytes read)`), `model` (400).
 *   Duration: a WAV file's data size / byte rate, else bytes / 16000. Reply by `response_format`: json
 *   `{text, usage: {type: 'duration', seconds}}` (gpt-4o-*: token usage), text (text/plain), verbose_json
 *   `{task, language, duration, text, segments: []}`. Text: `heard <n> bytes of <filename>`.
 * @see https://platform.openai.com/docs/api-reference/images
 * @see https://platform.openai.com/docs/api-reference/audio
 */
import type { MockContext } from './context.js';
import type { RouteHandler } from './index.js';
import { MOCK_CREATED } from './openai-common.js';
import { openaiErrorBody } from './openai-errors.js';
import { countWords } from './text.js';

/** A 1x1 transparent PNG, as base64 (what every mock image is). */
export const MOCK_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
/** The bytes of mock speech: an MP3 frame header and padding. */
export const MOCK_AUDIO = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x64]), Buffer.alloc(412, 0x55)]);
export const TRANSCRIPTION_LIMIT = 26_214_400;
const AUDIO_EXTENSIONS = ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm'];
const DALL_E_SIZES: Readonly<Record<string, readonly string[]>> = {
  'dall-e-2': ['256x256', '512x512', '1024x1024'],
  'dall-e-3': ['1024x1024', '1792x1024', '1024x1792'],
};
const GPT_IMAGE_SIZES = ['1024x1024', '1536x1024', '1024x1536', 'auto'];
const SPEECH_TYPES: Readonly<Record<string, string>> = { mp3: 'audio/mpeg', opus: 'audio/ogg', aac: 'audio/aac', flac: 'audio/flac', wav: 'audio/wav', pcm: 'audio/pcm' };

type Json = Record<string, unknown>;

interface RouteTarget {
  route(method: string, path: RegExp, handler: RouteHandler): void;
}

/** One part of a multipart/form-data body, as the mock reads it (independently of the gateway's reader). */
export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

export function parseForm(context: MockContext): FormPart[] | undefined {
  const type = String(context.request.headers['content-type'] ?? '');
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(type);
  if (!type.toLowerCase().startsWith('multipart/form-data') || boundary === null) return undefined;
  const delimiter = `--${boundary[1] ?? boundary[2]}`;
  const raw = context.request.rawBody;
  const parts: FormPart[] = [];
  let at = raw.indexOf(delimiter);
  while (at !== -1) {
    const start = at + delimiter.length + 2;
    const next = raw.indexOf(`\r\n${delimiter}`, start);
    if (next === -1) break;
    const headEnd = raw.indexOf('\r\n\r\n', start);
    if (headEnd === -1 || headEnd > next) break;
    const head = raw.toString('utf8', start, headEnd);
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    if (name !== undefined) {
      parts.push({
        name,
        filename: /filename="([^"]*)"/i.exec(head)?.[1],
        contentType: /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim(),
        data: raw.subarray(headEnd + 4, next),
      });
    }
    at = next + 2;
  }
  return parts;
}

function field(parts: FormPart[], name: string): string | undefined {
  const part = parts.find((p) => p.name === name && p.filename === undefined);
  return part?.data.toString('utf8');
}

function missing(context: MockContext, param: string): Promise<void> {
  return context.json(400, openaiErrorBody(400, `Missing required parameter: '${param}'.`, { param, code: 'missing_required_parameter' }));
}

function invalid(context: MockContext, param: string, message: string, code: string | null = 'invalid_value'): Promise<void> {
  return context.json(400, openaiErrorBody(400, message, { param, code }));
}

function imagesReply(context: MockContext, model: string, prompt: string, n: number, responseFormat: unknown): Promise<void> {
  const url = model.startsWith('dall-e') && responseFormat !== 'b64_json';
  const data = Array.from({ length: n }, (_, i) => (url
    ? { url: `https://images.mock.invalid/${context.nextId('img-')}.png`, revised_prompt: `revised: ${prompt}` }
    : { b64_json: MOCK_PNG, ...(i === 0 && model.startsWith('dall-e-3') ? { revised_prompt: `revised: ${prompt}` } : {}) }));
  const body: Json = { created: MOCK_CREATED, data };
  if (model.startsWith('gpt-image')) {
    const input = countWords(prompt);
    body.usage = { input_tokens: input, output_tokens: 272 * n, total_tokens: input + 272 * n, input_tokens_details: { text_tokens: input, image_tokens: 0 } };
  }
  return context.json(200, body);
}

function checkSize(context: MockContext, model: string, size: unknown): Promise<void> | undefined {
  if (size === undefined || size === null) return undefined;
  const sizes = DALL_E_SIZES[model] ?? GPT_IMAGE_SIZES;
  if (sizes.includes(String(size))) return undefined;
  return invalid(context, 'size', `Invalid value: '${String(size)}'. Supported values are: ${sizes.map((s) => `'${s}'`).join(', ')}.`);
}

function generations(context: MockContext, deployment?: string): Promise<void> {
  const body = context.request.body as Json | undefined;
  if (body === undefined || typeof body !== 'object') return invalid(context, 'body', 'We could not parse the JSON body of your request.', null);
  if (typeof body.prompt !== 'string' || body.prompt === '') return missing(context, 'prompt');
  const model = deployment ?? (typeof body.model === 'string' ? body.model : 'dall-e-2');
  return checkSize(context, model, body.size) ?? imagesReply(context, model, body.prompt, typeof body.n === 'number' ? body.n : 1, body.response_format);
}

function edits(context: MockContext, deployment?: string): Promise<void> {
  const parts = parseForm(context);
  if (parts === undefined) return invalid(context, 'content-type', 'Invalid Content-Type header (application/json), expected multipart/form-data.', null);
  const images = parts.filter((p) => (p.name === 'image' || p.name === 'image[]') && p.filename !== undefined);
  if (images.length === 0) return missing(context, 'image');
  for (const image of images) {
    if (!['image/png', 'image/jpeg', 'image/webp'].includes(image.contentType ?? '')) {
      return invalid(context, 'image', `Invalid file 'image': unsupported mimetype ('${image.contentType ?? 'application/octet-stream'}'). Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'.`, 'unsupported_file_mimetype');
    }
  }
  const prompt = field(parts, 'prompt');
  if (prompt === undefined || prompt === '') return missing(context, 'prompt');
  const model = deployment ?? field(parts, 'model') ?? 'dall-e-2';
  return imagesReply(context, model, prompt, Number(field(parts, 'n') ?? 1), field(parts, 'response_format'));
}

async function speech(context: MockContext): Promise<void> {
  const body = context.request.body as Json | undefined;
  if (body === undefined || typeof body !== 'object') return invalid(context, 'body', 'We could not parse the JSON body of your request.', null);
  if (typeof body.model !== 'string') return missing(context, 'model');
  if (typeof body.input !== 'string' || body.input === '') return missing(context, 'input');
  if (typeof body.voice !== 'string') return missing(context, 'voice');
  if (body.input.length > 4096) return invalid(context, 'input', "[{'type': 'string_too_long', 'loc': ('body', 'input'), 'msg': 'String should have at most 4096 characters', 'input': '...', 'ctx': {'max_length': 4096}}]", 'string_above_max_length');
  const format = typeof body.response_format === 'string' ? body.response_format : 'mp3';
  const type = SPEECH_TYPES[format];
  if (type === undefined) return invalid(context, 'response_format', `Invalid value: '${format}'. Supported values are: 'mp3', 'opus', 'aac', 'flac', 'wav', and 'pcm'.`);
  const audio = Buffer.concat(Array.from({ length: Math.max(1, Math.ceil(body.input.length / 16)) }, () => MOCK_AUDIO));
  const chunks: Buffer[] = [];
  for (let i = 0; i < audio.length; i += 4096) chunks.push(audio.subarray(i, i + 4096));
  return context.stream(chunks, { headers: { 'content-type': type } });
}

/** A WAV file's length from its header, else a byte-rate guess. */
export function audioSeconds(data: Buffer): number {
  if (data.length >= 44 && data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WAVE') {
    const byteRate = data.readUInt32LE(28);
    if (byteRate > 0) return Math.round(((data.length - 44) / byteRate) * 100) / 100;
  }
  return Math.round((data.length / 16000) * 100) / 100;
}

function transcription(task: 'transcribe' | 'translate') {
  return (context: MockContext): Promise<void> => {
    const size = context.request.rawBody.length;
    if (size > TRANSCRIPTION_LIMIT) {
      return context.json(413, openaiErrorBody(413, `Maximum content size limit (${TRANSCRIPTION_LIMIT}) exceeded (${size} bytes read)`, { code: null }));
    }
    const parts = parseForm(context);
    if (parts === undefined) return invalid(context, 'content-type', 'Invalid Content-Type header (application/json), expected multipart/form-data.', null);
    const file = parts.find((p) => p.name === 'file' && p.filename !== undefined);
    if (file === undefined) return missing(context, 'file');
    const model = field(parts, 'model');
    if (model === undefined) return missing(context, 'model');
    const extension = file.filename!.split('.').pop()?.toLowerCase() ?? '';
    if (!AUDIO_EXTENSIONS.includes(extension)) {
      return invalid(context, 'file', `Invalid file format. Supported formats: [${AUDIO_EXTENSIONS.map((e) => `'${e}'`).join(', ')}]`, null);
    }
    const seconds = audioSeconds(file.data);
    const text = `heard ${file.data.length} bytes of ${file.filename}`;
    const format = field(parts, 'response_format') ?? 'json';
    if (format === 'text') return context.raw(200, { 'content-type': 'text/plain; charset=utf-8' }, text);
    if (format === 'verbose_json') return context.json(200, { task, language: 'english', duration: seconds, text, segments: [] });
    const usage = model.startsWith('gpt-4o')
      ? { type: 'tokens', input_tokens: Math.ceil(seconds * 10), output_tokens: countWords(text), total_tokens: Math.ceil(seconds * 10) + countWords(text) }
      : { type: 'duration', seconds: Math.ceil(seconds) };
    return context.json(200, { text, usage });
  };
}

export function registerOpenAIMediaRoutes(target: RouteTarget, wrap: (handler: RouteHandler) => RouteHandler): void {
  target.route('POST', /^\/v1\/images\/generations$/, wrap((context) => generations(context)));
  target.route('POST', /^\/v1\/images\/edits$/, wrap((context) => edits(context)));
  target.route('POST', /^\/v1\/audio\/speech$/, wrap(speech));
  target.route('POST', /^\/v1\/audio\/transcriptions$/, wrap(transcription('transcribe')));
  target.route('POST', /^\/v1\/audio\/translations$/, wrap(transcription('translate')));
  // Groq serves the audio API under /openai/v1.
  target.route('POST', /^\/openai\/v1\/audio\/speech$/, wrap(speech));
  target.route('POST', /^\/openai\/v1\/audio\/transcriptions$/, wrap(transcription('transcribe')));
  target.route('POST', /^\/openai\/v1\/audio\/translations$/, wrap(transcription('translate')));
}

/** The same endpoints under an Azure deployment (the deployment names the model). */
export const azureMediaHandlers: Readonly<Record<string, (context: MockContext, deployment: string) => Promise<void>>> = {
  'images/generations': generations,
  'images/edits': edits,
  'audio/speech': (context) => speech(context),
  'audio/transcriptions': (context) => transcription('transcribe')(context),
  'audio/translations': (context) => transcription('translate')(context),
};
