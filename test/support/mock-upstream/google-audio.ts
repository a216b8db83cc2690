/**
 * Speech and audio understanding on the Gemini API and Vertex AI mocks (gemini.ts, vertex.ts).
 *
 * POST .../models/{*-tts*}:generateContent (text to speech)
 *   - `generationConfig.responseModalities` exactly ['AUDIO'] (400 INVALID_ARGUMENT naming the combination otherwise);
 *     `speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName` one of Gemini's voices (400 otherwise);
 *   - reply one candidate with an `inlineData` part `{mimeType: 'audio/L16;codec=pcm;rate=24000', data}`: 16-bit
 *     PCM, 0.25 s (12,000 bytes) per word of the text; usageMetadata: prompt words, 25 audio tokens a second.
 * POST ...:generateContent to another model with responseModalities naming AUDIO: 400 (only TTS models speak).
 * POST ...:generateContent whose contents hold an `inlineData` audio part (audio understanding)
 *   - mimeType one of audio/wav, audio/mp3, audio/aiff, audio/aac, audio/ogg, audio/flac (400 `Unsupported MIME type`),
 *     data valid base64 (400);
 *   - reply text `heard <n> bytes of <mimeType>` (prefixed `English: ` when the prompt asks for a translation);
 *     usageMetadata: 32 tokens a second of audio (a WAV's header, else 16,000 bytes a second) + the prompt's words.
 * @see https://ai.google.dev/gemini-api/docs/speech-generation
 * @see https://ai.google.dev/gemini-api/docs/audio
 */
import type { MockContext } from './context.js';
import { isRecord } from './openai-common.js';
import { audioSeconds } from './openai-media.js';
import { countWords } from './text.js';

type Json = Record<string, unknown>;

export const MOCK_GEMINI_VOICES = ['Zephyr', 'Puck', 'Charon', 'Kore', 'Fenrir', 'Leda', 'Orus', 'Aoede', 'Callirrhoe', 'Autonoe', 'Enceladus', 'Iapetus', 'Umbriel', 'Algieba', 'Despina', 'Erinome', 'Algenib', 'Rasalgethi', 'Laomedeia', 'Achernar', 'Alnilam', 'Schedar', 'Gacrux', 'Pulcherrima', 'Achird', 'Zubenelgenubi', 'Vindemiatrix', 'Sadachbia', 'Sadaltager', 'Sulafat'];
const AUDIO_TYPES = ['audio/wav', 'audio/mp3', 'audio/aiff', 'audio/aac', 'audio/ogg', 'audio/flac'];
const PCM_BYTES_PER_WORD = 12_000;

function error(context: MockContext, message: string): Promise<void> {
  return context.json(400, { error: { code: 400, message, status: 'INVALID_ARGUMENT' } });
}

function partsOf(body: Json): Json[] {
  const contents = Array.isArray(body.contents) ? body.contents.filter(isRecord) : [];
  return contents.flatMap((content) => (Array.isArray(content.parts) ? content.parts.filter(isRecord) : []));
}

function promptText(parts: Json[]): string {
  return parts.map((part) => (typeof part.text === 'string' ? part.text : '')).join(' ').trim();
}

function speak(context: MockContext, body: Json, model: string, modalities: unknown[]): Promise<void> {
  if (modalities.length !== 1 || modalities[0] !== 'AUDIO') {
    return error(context, `The requested combination of response modalities (${modalities.join(', ') || 'TEXT'}) is not supported by the model. models/${model} accepts the following combination of response modalities:\n* AUDIO\n`);
  }
  const config = body.generationConfig as Json;
  const voice = (((config.speechConfig as Json | undefined)?.voiceConfig as Json | undefined)?.prebuiltVoiceConfig as Json | undefined)?.voiceName;
  if (voice !== undefined && !MOCK_GEMINI_VOICES.includes(String(voice))) return error(context, `Voice name ${String(voice)} is not supported. Please use one of the prebuilt voices.`);
  const text = promptText(partsOf(body));
  const words = countWords(text);
  const pcm = Buffer.alloc(words * PCM_BYTES_PER_WORD);
  for (let i = 0; i < pcm.length; i += 2) pcm.writeInt16LE(((i / 2) % 200) * 50 - 5000, i);
  const audioTokens = Math.round(words * 0.25 * 25);
  return context.json(200, {
    candidates: [{ content: { role: 'model', parts: [{ inlineData: { mimeType: 'audio/L16;codec=pcm;rate=24000', data: pcm.toString('base64') } }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: {
      promptTokenCount: words, candidatesTokenCount: audioTokens, totalTokenCount: words + audioTokens,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: words }], candidatesTokensDetails: [{ modality: 'AUDIO', tokenCount: audioTokens }],
    },
    modelVersion: model,
  });
}

function hear(context: MockContext, body: Json, model: string, audio: Json): Promise<void> {
  const mimeType = String(audio.mimeType ?? audio.mime_type ?? '');
  if (!AUDIO_TYPES.includes(mimeType)) return error(context, `Unsupported MIME type: ${mimeType}`);
  const data = String(audio.data ?? '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return error(context, "Invalid value at 'contents[0].parts[0].inline_data.data' (TYPE_BYTES), Base64 decoding failed.");
  const bytes = Buffer.from(data, 'base64');
  const prompt = promptText(partsOf(body));
  const text = `${/translate/i.test(prompt) ? 'English: ' : ''}heard ${bytes.length} bytes of ${mimeType}`;
  const audioTokens = Math.round(audioSeconds(bytes) * 32);
  const promptTokens = audioTokens + countWords(prompt);
  return context.json(200, {
    candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: {
      promptTokenCount: promptTokens, candidatesTokenCount: countWords(text), totalTokenCount: promptTokens + countWords(text),
      promptTokensDetails: [{ modality: 'AUDIO', tokenCount: audioTokens }, { modality: 'TEXT', tokenCount: countWords(prompt) }],
    },
    modelVersion: model,
  });
}

/** Answers a speech or audio-understanding call; undefined when the call is neither (the route's other rules apply). */
export function googleAudioAction(context: MockContext, body: Json, model: string, method: string): Promise<void> | undefined {
  if (method !== 'generateContent') return undefined;
  const config = isRecord(body.generationConfig) ? body.generationConfig : {};
  const modalities = Array.isArray(config.responseModalities) ? config.responseModalities : [];
  if (/-tts(-|$)/.test(model)) return speak(context, body, model, modalities);
  if (modalities.includes('AUDIO')) return error(context, `The requested combination of response modalities (${modalities.join(', ')}) is not supported by the model. models/${model} accepts the following combination of response modalities:\n* TEXT\n`);
  const audio = partsOf(body).map((part) => part.inlineData ?? part.inline_data).find((inline) => isRecord(inline) && String(inline.mimeType ?? inline.mime_type ?? '').startsWith('audio/'));
  return isRecord(audio) ? hear(context, body, model, audio) : undefined;
}
