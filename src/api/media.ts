/**
 * The OpenAI media routes: images and audio, routed by model like chat (plans,
 * fallbacks, retries, governance, logs, metrics, traces: the pipeline), with
 * answers that are files streamed back as they arrive (raw-attempt.ts).
 *
 * | route | body | providers |
 * | --- | --- | --- |
 * | `POST /v1/images/generations` | JSON | OpenAI-format (OpenAI, Azure, xAI, Together, servers); Gemini and Vertex (Imagen, Gemini image models); Bedrock (Titan, Nova Canvas, Stability): translated, formats/images |
 * | `POST /v1/images/edits` | multipart | OpenAI, Azure, servers |
 * | `POST /v1/audio/speech` | JSON | OpenAI, Azure, Groq, servers (audio streamed out); Gemini and Vertex TTS models (translated, gemini-audio.ts) |
 * | `POST /v1/audio/transcriptions`, `/v1/audio/translations` | multipart | OpenAI, Azure, Groq, servers; Gemini and Vertex (translated, gemini-audio.ts) |
 * | `POST /v1/rerank` (Cohere's shape) | JSON | Cohere, Jina, servers (as sent); Voyage, Bedrock (translated, formats/rerank) |
 * | `POST /v1/moderations` | JSON | OpenAI (default model `openai/omni-moderation-latest`) |
 *
 * To an OpenAI-format provider the caller's body goes as it is with only `model` rewritten (in a
 * JSON body or in the upload's `model` field). What the gateway reads: `model` (routing, access),
 * `fallbacks`, and what prices the call: `n` images, the characters of `input` spoken; the seconds
 * of audio and the tokens come from the provider's answer (raw-usage.ts).
 * @see https://platform.openai.com/docs/api-reference/images
 * @see https://platform.openai.com/docs/api-reference/audio
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, invalidField } from '../errors/gateway-error.js';
import { bedrockImageFamily, decodeBedrockImageResponse, encodeBedrockImageRequest } from '../formats/images/bedrock.js';
import { decodeGeminiImageResponse, decodeImagenResponse, encodeGeminiImageRequest, encodeImagenRequest, type ImageRequest } from '../formats/images/google.js';
import type { Usage } from '../formats/openai/types.js';
import type { Gateway } from '../gateway/gateway.js';
import type { KeyRuntime } from '../gateway/provider-runtime.js';
import type { RawCall, RawRequestParts } from '../gateway/raw-attempt.js';
import type { RequestContext } from '../gateway/request-context.js';
import type { Target } from '../gateway/router.js';
import { decodeBedrockRerank, decodeVoyageRerank, encodeBedrockRerank, encodeVoyageRerank, type RerankRequest } from '../formats/rerank/index.js';
import { isImagenModel } from '../providers/gemini.js';
import type { MediaOperation } from '../providers/types.js';
import { geminiSpeechParts, geminiTranscriptionParts } from './gemini-audio.js';
import { answerFacts, noteMedia, requestFacts, uploadFacts } from './media-facts.js';
import { hasFilePart, multipartBoundary, multipartTextFields, replaceTextField } from './multipart-fields.js';
import { editPassthroughBody } from './passthrough-body.js';
import { sendRawOutcome } from './raw-reply.js';
import { sendFailure, startContext } from './respond.js';
import { translatedParts } from './translated-parts.js';
import { UploadPartScan } from './upload-parts.js';
import { StreamedUpload } from './upload-stream.js';
import { checkJsonContentType, parseJsonBody, readFallbacks, type JsonObject } from './validate.js';

/** One media call as the gateway read it. */
interface MediaRequest {
  model: string;
  fallbacks: string[] | undefined;
  /** The caller's bytes. */
  body: Buffer;
  contentType: string;
  /** A JSON body, parsed (undefined for an upload). */
  json: JsonObject | undefined;
  /** An upload's boundary. */
  boundary: string | undefined;
  /** Units the answer will not report itself (images asked for, characters spoken). */
  units: Partial<Usage> | undefined;
  /** An audio upload read as it arrives (upload-stream.ts): `body` is then empty. */
  upload?: StreamedUpload;
  /** An upload's text fields (the request log's preview). */
  fields?: ReadonlyMap<string, readonly string[]>;
}

/** The upload's file field per operation (`image[]` is the SDK's form for several images). */
const FILE_FIELDS: Partial<Record<MediaOperation, readonly string[]>> = {
  image_edits: ['image', 'image[]'],
  transcriptions: ['file'],
  translations: ['file'],
};

const DEFAULT_MODERATION_MODEL = 'openai/omni-moderation-latest';

function positiveInteger(value: unknown): number | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isInteger(number) && number > 0 ? number : undefined;
}

function readJson(request: FastifyRequest, operation: MediaOperation): MediaRequest {
  checkJsonContentType(request.headers['content-type']);
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const json = parseJsonBody(body);
  // OpenAI's moderations default model, named the gateway's way.
  if (operation === 'moderations' && json.model === undefined) json.model = DEFAULT_MODERATION_MODEL;
  const model = json.model;
  if (typeof model !== 'string' || model === '') throw invalidField('model', "Missing required parameter: 'model' (Heimdall routes media calls by model).");
  const fallbacks = readFallbacks(json);
  let units: Partial<Usage> | undefined;
  if (operation === 'images') units = { images: positiveInteger(json.n) ?? 1 };
  if (operation === 'speech' && typeof json.input === 'string') units = { characters: [...json.input].length };
  return { model, fallbacks, body, contentType: 'application/json', json, boundary: undefined, units };
}

function readUpload(request: FastifyRequest, operation: MediaOperation): MediaRequest {
  const contentType = request.headers['content-type'];
  const boundary = multipartBoundary(contentType);
  if (boundary === undefined) {
    throw new GatewayError('HD_ERR_REQUEST_CONTENT_TYPE', `This route takes a multipart/form-data upload, got ${contentType === undefined ? 'no Content-Type' : `"${contentType}"`}.`);
  }
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const fields = multipartTextFields(body, boundary);
  const model = fields.get('model')?.[0];
  if (model === undefined || model === '') throw invalidField('model', "Missing required parameter: 'model'.");
  const files = FILE_FIELDS[operation] ?? [];
  if (files.length > 0 && !hasFilePart(body, boundary, files)) {
    throw invalidField(files[0], `Missing required parameter: '${files[0]}' (a file part of the upload).`);
  }
  const units = operation === 'image_edits' ? { images: positiveInteger(fields.get('n')?.[0]) ?? 1 } : undefined;
  // Fallbacks are read from JSON bodies only: an upload's fields go to the provider as they are.
  return { model, fallbacks: undefined, body, contentType: contentType!, json: undefined, boundary, units, fields };
}

/**
 * An audio upload, read only as far as its `model` field: the rest streams to the provider as it
 * arrives. The body limit (limits.max_body_bytes) counts it as it streams (413 past it).
 */
async function readStreamedUpload(request: FastifyRequest): Promise<MediaRequest> {
  const contentType = request.headers['content-type'];
  const boundary = multipartBoundary(contentType);
  // Another content type was read whole by the app's parser: refused the same way as a buffered upload.
  if (boundary === undefined || !(request.body instanceof Readable)) return readUpload(request, 'transcriptions');
  const length = Number(request.headers['content-length']);
  const upload = new StreamedUpload(request.body, boundary, Number.isFinite(length) ? length : undefined);
  await upload.readHead();
  const model = upload.fields.get('model')?.[0];
  if (model === undefined || model === '') throw invalidField('model', "Missing required parameter: 'model'.");
  return { model, fallbacks: undefined, body: Buffer.alloc(0), contentType: contentType!, json: undefined, boundary, units: undefined, upload, fields: upload.fields };
}

/** The request to a provider of the OpenAI format: the caller's bytes, `model` rewritten. */
function openAIParts(media: MediaRequest, operation: MediaOperation, target: Target, key: KeyRuntime, request: FastifyRequest): RawRequestParts {
  const endpoint = target.provider.endpoint(operation, key, target.model, false, request.headers);
  const headers: Record<string, string> = { ...endpoint.headers, 'content-type': media.contentType };
  if (media.upload !== undefined) {
    const { stream, length } = media.upload.body(target.model);
    if (length !== undefined) headers['content-length'] = String(length);
    return { url: endpoint.url, headers, body: stream };
  }
  if (media.boundary !== undefined) {
    return { url: endpoint.url, headers, body: replaceTextField(media.body, media.boundary, 'model', target.model) };
  }
  const text = media.body.toString('utf8');
  const edited = editPassthroughBody(text, { model: target.model, dropFallbacks: media.fallbacks !== undefined, addUsage: false })
    ?? JSON.stringify({ ...media.json, model: target.model, fallbacks: undefined });
  return { url: endpoint.url, headers, body: Buffer.from(edited, 'utf8') };
}

/** Image generation translated for Gemini or Vertex (Imagen, or a Gemini image model). */
function googleImageParts(gateway: Gateway, ctx: RequestContext, media: MediaRequest, target: Target, key: KeyRuntime): RawRequestParts {
  const json = media.json!;
  if (typeof json.prompt !== 'string' || json.prompt === '') throw invalidField('prompt', "Missing required parameter: 'prompt'.");
  const imagen = isImagenModel(target.model);
  const request = { ...json, n: positiveInteger(json.n) } as ImageRequest;
  if (imagen && (request.n ?? 1) > 4) throw invalidField('n', `Imagen makes at most 4 images per call; n=${request.n}.`);
  const encoded = imagen ? encodeImagenRequest(request) : encodeGeminiImageRequest(request);
  const created = Math.floor(ctx.time / 1000);
  return translatedParts(gateway, ctx, target, key, 'images', encoded, (answer) => (imagen ? decodeImagenResponse(answer, created) : decodeGeminiImageResponse(answer, created)));
}

/** Image generation translated for Bedrock's image models (Titan, Nova Canvas, Stability: InvokeModel). */
function bedrockImageParts(gateway: Gateway, ctx: RequestContext, media: MediaRequest, target: Target, key: KeyRuntime): RawRequestParts {
  const json = media.json!;
  if (typeof json.prompt !== 'string' || json.prompt === '') throw invalidField('prompt', "Missing required parameter: 'prompt'.");
  const family = bedrockImageFamily(target.model);
  if (family === undefined) {
    throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Bedrock model "${target.model}" is not an image model Heimdall can call (Titan Image Generator, Nova Canvas, Stability).`, { param: 'model' });
  }
  const request = { ...json, n: positiveInteger(json.n) } as ImageRequest;
  let encoded: ReturnType<typeof encodeBedrockImageRequest>;
  try {
    encoded = encodeBedrockImageRequest(request, family);
  } catch (error) {
    throw invalidField('n', (error as Error).message);
  }
  const created = Math.floor(ctx.time / 1000);
  const format = (encoded.body as { output_format?: string }).output_format;
  return translatedParts(gateway, ctx, target, key, 'images', encoded, (answer) => decodeBedrockImageResponse(answer, created, format));
}

type Reader = (request: FastifyRequest, operation: MediaOperation) => MediaRequest | Promise<MediaRequest>;

/** The rerank request, checked where a translation reads it. */
function rerankRequest(media: MediaRequest): RerankRequest {
  const json = media.json!;
  if (typeof json.query !== 'string') throw invalidField('query', "Missing required parameter: 'query'.");
  const documents = json.documents;
  if (!Array.isArray(documents) || documents.some((d) => typeof d !== 'string' && (typeof d !== 'object' || d === null || typeof (d as JsonObject).text !== 'string'))) {
    throw invalidField('documents', "Invalid 'documents': expected an array of strings or {text} objects.");
  }
  return json as unknown as RerankRequest;
}

/** Rerank translated for Voyage (its own shape) or Bedrock (Cohere and Amazon rerank models, InvokeModel). */
function rerankParts(gateway: Gateway, ctx: RequestContext, media: MediaRequest, target: Target, key: KeyRuntime): RawRequestParts {
  const request = rerankRequest(media);
  const voyage = target.provider.definition.format !== 'bedrock';
  const encoded = voyage ? encodeVoyageRerank(request, target.model) : encodeBedrockRerank(request, target.model);
  return translatedParts(gateway, ctx, target, key, 'rerank', encoded, (answer) => (voyage ? decodeVoyageRerank(answer, request, ctx.id) : decodeBedrockRerank(answer, request, ctx.id)));
}

function mediaHandler(gateway: Gateway, operation: MediaOperation, read: Reader) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const ctx = startContext(gateway, request, reply, 'openai');
    let media: MediaRequest | undefined;
    try {
      // received: who is calling (governance's virtual key), before the body is read.
      const received = gateway.lifecycle.runReceived(ctx);
      if (received !== undefined) await received;
      media = await read(request, operation);
      const call = media;
      noteMedia(ctx, requestFacts(operation, call.json, call.fields));
      if (call.upload === undefined && call.boundary !== undefined) {
        const scan = new UploadPartScan();
        scan.push(call.body);
        noteMedia(ctx, uploadFacts(scan));
      }
      const raw: RawCall = {
        method: 'POST',
        forwardErrors: false,
        prepare(target: Target, key: KeyRuntime): RawRequestParts | Promise<RawRequestParts> {
          const format = target.provider.definition.format;
          if (format === 'gemini' && operation === 'speech') return geminiSpeechParts(gateway, ctx, call.json!, target, key, (audio) => noteMedia(ctx, audio));
          if (format === 'gemini' && (operation === 'transcriptions' || operation === 'translations')) {
            const task = operation === 'translations' ? 'translate' : 'transcribe';
            return geminiTranscriptionParts(gateway, ctx, call.upload ?? call.body, call.boundary!, task, target, key);
          }
          if (operation === 'rerank' && (target.provider.definition.id === 'voyage' || format === 'bedrock')) return rerankParts(gateway, ctx, call, target, key);
          if (format === 'openai' || (format === 'cohere' && operation === 'rerank')) return openAIParts(call, operation, target, key, request);
          if (format === 'gemini' && operation === 'images') return googleImageParts(gateway, ctx, call, target, key);
          if (format === 'bedrock' && operation === 'images') return bedrockImageParts(gateway, ctx, call, target, key);
          throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Provider "${target.provider.name}" cannot serve ${operation.replace('_', ' ')} through Heimdall.`, { param: 'model' });
        },
      };
      const outcome = await gateway.pipeline.execute(ctx, {
        operation,
        model: media.model,
        fallbacks: media.fallbacks,
        stream: false,
        nativeFormat: 'openai',
        maxOutputTokens: 0,
        passthroughBody: () => call.body.toString('utf8'),
        canonical: () => {
          throw new GatewayError('HD_ERR_INTERNAL', 'A media call has no canonical request.');
        },
        clientHeaders: request.headers,
        raw,
      });
      if (outcome.kind !== 'raw') throw new GatewayError('HD_ERR_INTERNAL', 'A media call answered in another form.');
      const sent = { bytes: 0 };
      await sendRawOutcome(reply, ctx, outcome, call.units, { sent });
      noteMedia(ctx, answerFacts(ctx, operation, sent.bytes));
    } catch (error) {
      // An upload cut by the body limit while it streamed: the caller's 413, whatever the provider saw.
      const failure = media?.upload?.failure ?? error;
      if (media?.upload !== undefined && !(request.body as Readable).readableEnded) (request.body as Readable).resume();
      sendFailure(reply, ctx, failure, 'openai');
    } finally {
      if (media?.upload !== undefined) noteMedia(ctx, uploadFacts(media.upload.scan));
    }
  };
}

export function registerMediaRoutes(app: FastifyInstance, gateway: Gateway): void {
  const config = { surface: 'openai' as const };
  app.post('/v1/images/generations', { config }, mediaHandler(gateway, 'images', readJson));
  app.post('/v1/images/edits', { config }, mediaHandler(gateway, 'image_edits', readUpload));
  app.post('/v1/audio/speech', { config }, mediaHandler(gateway, 'speech', readJson));
  app.post('/v1/rerank', { config }, mediaHandler(gateway, 'rerank', readJson));
  app.post('/v1/moderations', { config }, mediaHandler(gateway, 'moderations', readJson));
  // Audio uploads reach their handler unread: a scope of their own takes multipart bodies as streams.
  void app.register(async (scope) => {
    scope.addContentTypeParser('multipart/form-data', (_request, payload, done) => done(null, payload));
    scope.post('/v1/audio/transcriptions', { config }, mediaHandler(gateway, 'transcriptions', readStreamedUpload));
    scope.post('/v1/audio/translations', { config }, mediaHandler(gateway, 'translations', readStreamedUpload));
  });
}
