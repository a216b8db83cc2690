/**
 * The Gemini audio codec (src/formats/audio/gemini.ts): OpenAI's speech request to a TTS
 * generateContent body and its PCM answer to WAV or PCM; a transcription upload to an inline-audio
 * body and the answer to OpenAI's json or text. Fixtures shaped like Google's documented examples.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeGeminiSpeechResponse,
  decodeGeminiTranscriptionResponse,
  encodeGeminiSpeechRequest,
  encodeGeminiTranscriptionRequest,
  isGeminiTtsModel,
  UnsupportedField,
  wavHeader,
} from '../../../src/formats/audio/gemini.js';

const PCM = Buffer.from([1, 0, 2, 0, 3, 0, 4, 0]);
const TTS_ANSWER = {
  candidates: [{ content: { role: 'model', parts: [{ inlineData: { mimeType: 'audio/L16;codec=pcm;rate=24000', data: PCM.toString('base64') } }] }, finishReason: 'STOP' }],
  usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 30, totalTokenCount: 35 },
};

describe('Gemini speech', () => {
  it('TTS models by name', () => {
    expect(['gemini-2.5-flash-preview-tts', 'gemini-2.5-pro-tts', 'gemini-2.5-flash', 'gemini-2.5-flash-native-audio-latest'].map(isGeminiTtsModel)).toEqual([true, true, false, false]);
  });

  it('the request: text (instructions first), voice, audio output; WAV by default; the rest warned', () => {
    const encoded = encodeGeminiSpeechRequest({ model: 'x', input: 'Hello', voice: 'puck', instructions: 'Whisper', speed: 1.2 });
    expect(encoded.format).toBe('wav');
    expect(encoded.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Whisper: Hello' }] }],
      generationConfig: { responseModalities: ['AUDIO'], speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Puck' } } } },
    });
    expect(encoded.warnings.map((w) => w.param)).toEqual(['speed']);
    expect(encodeGeminiSpeechRequest({ input: 'x', voice: 'nova', response_format: 'pcm' }).warnings.map((w) => w.param)).toEqual(['voice']);
  });

  it('formats Gemini cannot write, and a missing input, are refused', () => {
    expect(() => encodeGeminiSpeechRequest({ input: 'x', voice: 'Kore', response_format: 'mp3' })).toThrow(UnsupportedField);
    expect(() => encodeGeminiSpeechRequest({ voice: 'Kore' })).toThrow(/'input'/);
  });

  it('the answer: PCM wrapped as WAV (header from the sample rate), or as it is; seconds and token usage', () => {
    const wav = decodeGeminiSpeechResponse(TTS_ANSWER, 'wav');
    expect(wav.contentType).toBe('audio/wav');
    expect(wav.body).toEqual(Buffer.concat([wavHeader(8, 24_000), PCM]));
    expect(wav.body.readUInt32LE(28)).toBe(48_000);
    expect(wav.seconds).toBeCloseTo(8 / 48_000, 12);
    expect(wav.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 30 });
    const pcm = decodeGeminiSpeechResponse(TTS_ANSWER, 'pcm');
    expect(pcm).toMatchObject({ contentType: 'audio/pcm', body: PCM });
    expect(() => decodeGeminiSpeechResponse({ candidates: [{ content: { parts: [{ text: 'no audio' }] } }] }, 'wav')).toThrow('no audio');
  });
});

describe('Gemini transcription', () => {
  const fields = (entries: Record<string, string>): Map<string, string[]> => new Map(Object.entries(entries).map(([name, value]) => [name, [value]]));

  it('the audio inline, a transcription prompt with language and context, temperature; unknown fields warned', () => {
    const encoded = encodeGeminiTranscriptionRequest({ audio: Buffer.from('abc'), mimeType: 'audio/mp3', task: 'transcribe', fields: fields({ model: 'm', language: 'de', prompt: 'Odin', temperature: '0.2', timestamp_granularities: 'word' }) });
    expect(encoded.format).toBe('json');
    expect(encoded.body).toEqual({
      contents: [{ role: 'user', parts: [
        { inlineData: { mimeType: 'audio/mp3', data: 'YWJj' } },
        { text: 'Generate a verbatim transcript of the speech in this audio. Answer with the transcript only. The audio is in the language with ISO-639-1 code "de". Context (names, spelling, style): Odin' },
      ] }],
      generationConfig: { temperature: 0.2 },
    });
    expect(encoded.warnings.map((w) => w.param)).toEqual(['timestamp_granularities']);
  });

  it('a translation asks for English; formats with timestamps are refused', () => {
    const encoded = encodeGeminiTranscriptionRequest({ audio: Buffer.from('a'), mimeType: 'audio/wav', task: 'translate', fields: fields({ response_format: 'text' }) });
    expect(encoded.format).toBe('text');
    expect(JSON.stringify(encoded.body)).toContain('Translate the speech in this audio into English');
    expect(() => encodeGeminiTranscriptionRequest({ audio: Buffer.from('a'), mimeType: 'audio/wav', task: 'transcribe', fields: fields({ response_format: 'vtt' }) })).toThrow(UnsupportedField);
  });

  it('the answer: {text, usage} in OpenAI\'s token shape, or the text with a newline', () => {
    const answer = { candidates: [{ content: { parts: [{ text: 'thinking', thought: true }, { text: ' Hallo Welt ' }] } }], usageMetadata: { promptTokenCount: 40, candidatesTokenCount: 2, totalTokenCount: 42 } };
    const json = decodeGeminiTranscriptionResponse(answer, 'json');
    expect(JSON.parse(json.body.toString())).toEqual({ text: 'Hallo Welt', usage: { type: 'tokens', input_tokens: 40, output_tokens: 2, total_tokens: 42 } });
    expect(json.contentType).toBe('application/json');
    const text = decodeGeminiTranscriptionResponse(answer, 'text');
    expect(text.body.toString()).toBe('Hallo Welt\n');
    expect(text.contentType).toBe('text/plain; charset=utf-8');
  });
});
