/**
 * `/v1/audio/speech`, `/v1/audio/transcriptions` and `/v1/audio/translations` translated for
 * Gemini (the Gemini API and Vertex AI: generateContent; formats/audio/gemini.ts). A transcription's
 * upload is read whole here: Gemini takes the audio inline, base64 in the JSON body (up to 20 MB
 * a request), so the file cannot stream through as it does to an OpenAI-format provider.
 * @see https://ai.google.dev/gemini-api/docs/audio#inline-audio
 */
import { invalidField } from '../errors/gateway-error.js';
import {
  decodeGeminiSpeechResponse,
  decodeGeminiTranscriptionResponse,
  encodeGeminiSpeechRequest,
  encodeGeminiTranscriptionRequest,
  UnsupportedField,
} from '../formats/audio/gemini.js';
import type { Gateway } from '../gateway/gateway.js';
import type { KeyRuntime } from '../gateway/provider-runtime.js';
import type { RawRequestParts } from '../gateway/raw-attempt.js';
import type { RequestContext } from '../gateway/request-context.js';
import type { Target } from '../gateway/router.js';
import { multipartFile, multipartTextFields } from './multipart-fields.js';
import { translatedParts } from './translated-parts.js';
import type { StreamedUpload } from './upload-stream.js';
import type { JsonObject } from './validate.js';

/** The audio types Gemini reads, by file extension (for an upload sent as application/octet-stream). */
const AUDIO_TYPES: Readonly<Record<string, string>> = {
  wav: 'audio/wav', mp3: 'audio/mp3', mpga: 'audio/mp3', mpeg: 'audio/mp3', aiff: 'audio/aiff', aif: 'audio/aiff', aac: 'audio/aac',
  ogg: 'audio/ogg', oga: 'audio/ogg', flac: 'audio/flac', m4a: 'audio/mp4', mp4: 'audio/mp4', webm: 'audio/webm',
};

function encoded<T>(encode: () => T): T {
  try {
    return encode();
  } catch (error) {
    if (error instanceof UnsupportedField) throw invalidField(error.param, error.message);
    throw error;
  }
}

/** Seconds of audio a call made, for the request log's preview. */
export type OnAudio = (facts: { seconds: number; bytes: number; format: string }) => void;

export function geminiSpeechParts(gateway: Gateway, ctx: RequestContext, json: JsonObject, target: Target, key: KeyRuntime, onAudio: OnAudio): RawRequestParts {
  const speech = encoded(() => encodeGeminiSpeechRequest(json));
  return translatedParts(gateway, ctx, target, key, 'speech', speech, (answer) => {
    const audio = decodeGeminiSpeechResponse(answer, speech.format);
    onAudio({ seconds: audio.seconds, bytes: audio.body.length, format: speech.format });
    return audio;
  });
}

/** The whole upload: a streamed one read to its end (within the body limit), or the bytes already held. */
async function readWhole(upload: StreamedUpload | Buffer, model: string): Promise<Buffer> {
  if (Buffer.isBuffer(upload)) return upload;
  const chunks: Buffer[] = [];
  for await (const chunk of upload.body(model).stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function geminiTranscriptionParts(
  gateway: Gateway,
  ctx: RequestContext,
  upload: StreamedUpload | Buffer,
  boundary: string,
  task: 'transcribe' | 'translate',
  target: Target,
  key: KeyRuntime,
): Promise<RawRequestParts> {
  const body = await readWhole(upload, target.model);
  const file = multipartFile(body, boundary, ['file']);
  if (file === undefined) throw invalidField('file', "Missing required parameter: 'file' (a file part of the upload).");
  const extension = /\.([a-z0-9]+)$/i.exec(file.filename)?.[1]?.toLowerCase() ?? '';
  const declared = file.contentType === undefined || file.contentType === 'application/octet-stream' ? undefined : file.contentType;
  const mimeType = declared ?? AUDIO_TYPES[extension];
  if (mimeType === undefined) throw invalidField('file', `Gemini cannot tell the type of "${file.filename}": send it with an audio Content-Type or a known extension (${Object.keys(AUDIO_TYPES).join(', ')}).`);
  const request = encoded(() => encodeGeminiTranscriptionRequest({ audio: file.bytes, mimeType, task, fields: multipartTextFields(body, boundary) }));
  return translatedParts(gateway, ctx, target, key, task === 'translate' ? 'translations' : 'transcriptions', request, (answer) => decodeGeminiTranscriptionResponse(answer, request.format));
}
