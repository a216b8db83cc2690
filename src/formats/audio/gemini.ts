/**
 * OpenAI's audio routes <-> Gemini's generateContent, both ways, as pure functions.
 *
 * Speech (`POST /v1/audio/speech` to a Gemini TTS model, `gemini-2.5-flash-preview-tts`...):
 *
 * | OpenAI | Gemini |
 * | --- | --- |
 * | `input` | the user turn's text |
 * | `instructions` | put before the text (`<instructions>: <input>`), as Gemini's style prompts are written |
 * | `voice` | `speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName` (a Gemini voice; another name: Kore, warned) |
 * | `response_format` `wav` (the default here) / `pcm` | the answer's 24 kHz 16-bit mono PCM, wrapped in a WAV header / as it is |
 * | `response_format` mp3, opus, aac, flac | none: refused (400) before the call |
 * | `speed`, `stream_format` | none (dropped, warned) |
 *
 * Transcription and translation (`POST /v1/audio/transcriptions`, `/translations`, to any Gemini
 * model that hears audio): the uploaded file as an `inlineData` part, then a text part asking for a
 * verbatim transcript (or an English translation), with `language` and `prompt` added to it;
 * `temperature` is `generationConfig.temperature`. The answer's text is OpenAI's `{text, usage}`
 * (`response_format` json) or the bare text (`text`); verbose_json, srt and vtt need timestamps
 * Gemini does not give: refused (400) before the call.
 *
 * @see https://ai.google.dev/gemini-api/docs/speech-generation
 * @see https://ai.google.dev/gemini-api/docs/audio
 * @see https://platform.openai.com/docs/api-reference/audio
 */
import { usageFromGemini } from '../gemini/usage.js';
import type { Usage } from '../openai/types.js';
import type { CodecWarning } from '../types.js';

type Json = Record<string, unknown>;

/** The prebuilt voices of Gemini's TTS models. @see https://ai.google.dev/gemini-api/docs/speech-generation#voices */
export const GEMINI_VOICES: readonly string[] = [
  'Zephyr', 'Puck', 'Charon', 'Kore', 'Fenrir', 'Leda', 'Orus', 'Aoede', 'Callirrhoe', 'Autonoe', 'Enceladus', 'Iapetus', 'Umbriel', 'Algieba', 'Despina',
  'Erinome', 'Algenib', 'Rasalgethi', 'Laomedeia', 'Achernar', 'Alnilam', 'Schedar', 'Gacrux', 'Pulcherrima', 'Achird', 'Zubenelgenubi', 'Vindemiatrix',
  'Sadachbia', 'Sadaltager', 'Sulafat',
];
const DEFAULT_VOICE = 'Kore';
/** What Gemini's TTS models write: 24 kHz, 16-bit signed little-endian, mono. */
const DEFAULT_SAMPLE_RATE = 24_000;

/** A Gemini TTS model (`gemini-2.5-flash-preview-tts`, `gemini-2.5-pro-tts`...). */
export function isGeminiTtsModel(model: string): boolean {
  return /-tts(-|$)/.test(model);
}

export interface SpeechRequest {
  input?: unknown;
  voice?: unknown;
  instructions?: unknown;
  response_format?: unknown;
  [field: string]: unknown;
}

export type GeminiAudioFormat = 'wav' | 'pcm';

export interface EncodedSpeech {
  body: Json;
  format: GeminiAudioFormat;
  warnings: CodecWarning[];
}

const SPEECH_READ = new Set(['model', 'input', 'voice', 'instructions', 'response_format', 'user', 'fallbacks']);

/** A field of the caller's request the target cannot take at all: the caller's 400. */
export class UnsupportedField extends Error {
  constructor(readonly param: string, message: string) {
    super(message);
  }
}

export function encodeGeminiSpeechRequest(request: SpeechRequest): EncodedSpeech {
  const warnings: CodecWarning[] = [];
  if (typeof request.input !== 'string' || request.input === '') throw new UnsupportedField('input', "Missing required parameter: 'input'.");
  const asked = request.response_format ?? 'wav';
  if (asked !== 'wav' && asked !== 'pcm') {
    throw new UnsupportedField('response_format', `Gemini TTS models write 24 kHz PCM: response_format "wav" or "pcm", not "${String(asked)}".`);
  }
  const named = typeof request.voice === 'string' ? GEMINI_VOICES.find((voice) => voice.toLowerCase() === String(request.voice).toLowerCase()) : undefined;
  if (named === undefined) warnings.push({ param: 'voice', message: `"${String(request.voice)}" is not a Gemini voice; ${DEFAULT_VOICE} speaks (Gemini's voices: ${GEMINI_VOICES.join(', ')}).` });
  const text = typeof request.instructions === 'string' && request.instructions !== '' ? `${request.instructions}: ${request.input}` : request.input;
  for (const [field, value] of Object.entries(request)) {
    if (!SPEECH_READ.has(field) && value !== undefined && value !== null) warnings.push({ param: field, message: `Gemini TTS has no equivalent of "${field}"; dropped.` });
  }
  const body = {
    contents: [{ role: 'user', parts: [{ text }] }],
    generationConfig: { responseModalities: ['AUDIO'], speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: named ?? DEFAULT_VOICE } } } },
  };
  return { body, format: asked, warnings };
}

/** A RIFF/WAVE header for 16-bit PCM. @see http://soundfile.sapp.org/doc/WaveFormat/ */
export function wavHeader(dataBytes: number, sampleRate: number, channels = 1): Buffer {
  const header = Buffer.alloc(44);
  const blockAlign = channels * 2;
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * blockAlign, 28);
  header.writeUInt16LE(blockAlign, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function partsOf(answer: Json): Json[] {
  const candidates = Array.isArray(answer.candidates) ? answer.candidates.filter(isRecord) : [];
  const content = candidates[0]?.content;
  return isRecord(content) && Array.isArray(content.parts) ? content.parts.filter(isRecord) : [];
}

function usageOf(answer: Json): Usage {
  return usageFromGemini(isRecord(answer.usageMetadata) ? (answer.usageMetadata as never) : undefined);
}

export interface DecodedAudio {
  body: Buffer;
  contentType: string;
  usage: Usage;
  /** Seconds of audio made. */
  seconds: number;
}

/** A TTS answer -> the audio file the caller asked for. Throws when it holds no audio. */
export function decodeGeminiSpeechResponse(answer: unknown, format: GeminiAudioFormat): DecodedAudio {
  if (!isRecord(answer)) throw new Error('the Gemini answer is not a JSON object');
  const pcm: Buffer[] = [];
  let sampleRate = DEFAULT_SAMPLE_RATE;
  for (const part of partsOf(answer)) {
    const inline = part.inlineData ?? part.inline_data;
    if (!isRecord(inline) || typeof inline.data !== 'string') continue;
    const mimeType = String(inline.mimeType ?? inline.mime_type ?? '');
    const rate = /rate=(\d+)/.exec(mimeType);
    if (rate !== null) sampleRate = Number(rate[1]);
    pcm.push(Buffer.from(inline.data, 'base64'));
  }
  if (pcm.length === 0) throw new Error('the Gemini answer holds no audio');
  const data = Buffer.concat(pcm);
  const seconds = data.length / (sampleRate * 2);
  const body = format === 'wav' ? Buffer.concat([wavHeader(data.length, sampleRate), data]) : data;
  return { body, contentType: format === 'wav' ? 'audio/wav' : 'audio/pcm', usage: usageOf(answer), seconds };
}

export interface TranscriptionRequest {
  /** The uploaded file. */
  audio: Buffer;
  mimeType: string;
  task: 'transcribe' | 'translate';
  fields: ReadonlyMap<string, readonly string[]>;
}

export interface EncodedTranscription {
  body: Json;
  format: 'json' | 'text';
  warnings: CodecWarning[];
}

const TRANSCRIPTION_READ = new Set(['model', 'file', 'prompt', 'language', 'temperature', 'response_format']);

export function encodeGeminiTranscriptionRequest(request: TranscriptionRequest): EncodedTranscription {
  const field = (name: string): string | undefined => request.fields.get(name)?.[0];
  const warnings: CodecWarning[] = [];
  const format = field('response_format') ?? 'json';
  if (format !== 'json' && format !== 'text') {
    throw new UnsupportedField('response_format', `Gemini gives no timestamps: response_format "json" or "text", not "${format}".`);
  }
  const ask = request.task === 'translate'
    ? ['Translate the speech in this audio into English. Answer with the English translation only.']
    : ['Generate a verbatim transcript of the speech in this audio. Answer with the transcript only.'];
  const language = field('language');
  if (language !== undefined && language !== '') ask.push(`The audio is in the language with ISO-639-1 code "${language}".`);
  const prompt = field('prompt');
  if (prompt !== undefined && prompt !== '') ask.push(`Context (names, spelling, style): ${prompt}`);
  for (const name of request.fields.keys()) {
    if (!TRANSCRIPTION_READ.has(name)) warnings.push({ param: name, message: `Gemini has no equivalent of "${name}"; dropped.` });
  }
  const body: Json = {
    contents: [{ role: 'user', parts: [{ inlineData: { mimeType: request.mimeType, data: request.audio.toString('base64') } }, { text: ask.join(' ') }] }],
  };
  const temperature = Number(field('temperature'));
  if (field('temperature') !== undefined && Number.isFinite(temperature)) body.generationConfig = { temperature };
  return { body, format, warnings };
}

/** A transcript answer -> OpenAI's `{text, usage}` (json) or the bare text (text). */
export function decodeGeminiTranscriptionResponse(answer: unknown, format: 'json' | 'text'): { body: Buffer; contentType: string; usage: Usage } {
  if (!isRecord(answer)) throw new Error('the Gemini answer is not a JSON object');
  const text = partsOf(answer).filter((part) => typeof part.text === 'string' && part.thought !== true).map((part) => String(part.text)).join('').trim();
  const usage = usageOf(answer);
  if (format === 'text') return { body: Buffer.from(`${text}\n`, 'utf8'), contentType: 'text/plain; charset=utf-8', usage };
  const openAIUsage = { type: 'tokens', input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens, total_tokens: usage.total_tokens };
  return { body: Buffer.from(JSON.stringify({ text, usage: openAIUsage }), 'utf8'), contentType: 'application/json', usage };
}
