/**
 * /v1/audio/speech and /v1/audio/transcriptions (and translations) to Gemini (src/api/gemini-audio.ts,
 * src/formats/audio/gemini.ts) with the official openai SDK as the client: a TTS model's 24 kHz PCM
 * wrapped as WAV (or passed as PCM), a real WAV file uploaded and sent inline, costs per token from
 * the catalog, refusals before any call, and the request log's media facts.
 */
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { wavHeader } from '../../src/formats/audio/gemini.js';
import { call, startAdminGateway, type AdminGateway } from '../api/helpers.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';

const SPEAKER = 'hk-gemini-speaker-0123456789abc';
const CHATTER = 'hk-gemini-chatter-0123456789abc';
const TTS = 'gemini/gemini-2.5-flash-preview-tts';

let mock: MockUpstream;
let gateway: AdminGateway;

/** A WAV file: 16 kHz 16-bit mono, `seconds` of silence. */
function wav(seconds: number): Buffer {
  return Buffer.concat([wavHeader(32000 * seconds, 16000), Buffer.alloc(32000 * seconds)]);
}

beforeAll(async () => {
  const providers = await startMockProviders();
  mock = providers.mock;
  const virtualKeys = {
    speaker: { key: SPEAKER, allowed_models: ['gemini/*', 'vertex/*'] },
    chatter: { key: CHATTER, allowed_models: ['gemini/gemini-2.5-flash'] },
  };
  const config = { ...providers.config, governance: { enforce: true, virtual_keys: virtualKeys } };
  gateway = await startAdminGateway({ env: providers.env, config, management: { store: { logs: { flushIntervalMs: 50 } } } });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
});
beforeEach(() => mock.reset());

function client(key = SPEAKER): OpenAI {
  return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0, timeout: 15_000 });
}

async function stored(id: string): Promise<Record<string, unknown>> {
  let log: Record<string, unknown> | undefined;
  await expect.poll(async () => {
    const reply = await call(gateway.url, 'GET', `/api/logs/${encodeURIComponent(id)}`);
    log = reply.status === 200 ? (reply.json as Record<string, unknown>) : undefined;
    return reply.status;
  }).toBe(200);
  return log!;
}

describe('POST /v1/audio/speech to a Gemini TTS model', () => {
  it('WAV by default: the PCM answer wrapped in a 24 kHz 16-bit mono header; the voice, the cost per token, the log facts', async () => {
    const response = await client().audio.speech.create({ model: TTS, voice: 'Puck', input: 'good morning to you' }, { headers: { 'x-request-id': 'gemini-tts-1' } });
    expect(response.headers.get('content-type')).toBe('audio/wav');
    const audio = Buffer.from(await response.arrayBuffer());
    // 4 words, 0.25 s (12,000 bytes of PCM) each.
    expect(audio.length).toBe(44 + 48_000);
    expect(audio.toString('latin1', 0, 4)).toBe('RIFF');
    expect(audio.toString('latin1', 8, 12)).toBe('WAVE');
    expect(audio.readUInt32LE(24)).toBe(24_000);
    expect(audio.readUInt16LE(34)).toBe(16);
    expect(audio.readUInt32LE(40)).toBe(48_000);
    expect(mock.requests[0].path).toBe('/v1beta/models/gemini-2.5-flash-preview-tts:generateContent');
    expect(mock.requests[0].body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'good morning to you' }] }],
      generationConfig: { responseModalities: ['AUDIO'], speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Puck' } } } },
    });
    const log = await stored('gemini-tts-1');
    // 4 prompt tokens at $0.50/M, 25 audio tokens at $10/M (gemini-2.5-flash-tts in the catalog).
    expect(log).toMatchObject({ input_tokens: 4, output_tokens: 25 });
    expect(log.cost_usd as number).toBeCloseTo((4 * 0.5 + 25 * 10) / 1e6, 12);
    expect((log.metadata as { media: unknown }).media).toMatchObject({ kind: 'speech', voice: 'Puck', characters: 19, format: 'wav', seconds: 1, response_bytes: 48_044 });
  });

  it('pcm passes the samples as they are; instructions lead the text; an OpenAI voice speaks as Kore, with a warning', async () => {
    const { data, response } = await client().audio.speech.create({ model: TTS, voice: 'alloy', input: 'hello there', instructions: 'Say cheerfully', response_format: 'pcm' }).withResponse();
    expect(response.headers.get('content-type')).toBe('audio/pcm');
    // 4 words (the instructions are in the text spoken), 12,000 bytes each.
    expect(Buffer.from(await data.arrayBuffer()).length).toBe(4 * 12_000);
    expect(response.headers.get('x-heimdall-warnings')).toContain('Kore');
    expect(mock.requests[0].body).toMatchObject({
      contents: [{ parts: [{ text: 'Say cheerfully: hello there' }] }],
      generationConfig: { speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Kore' } } } },
    });
  });

  it('formats Gemini cannot write are refused before any call; a model that does not speak is Gemini\'s 400', async () => {
    await expect(client().audio.speech.create({ model: TTS, voice: 'Kore', input: 'x', response_format: 'mp3' }))
      .rejects.toMatchObject({ status: 400, param: 'response_format', message: expect.stringContaining('"wav" or "pcm"') });
    expect(mock.requests).toHaveLength(0);
    await expect(client().audio.speech.create({ model: 'gemini/gemini-2.5-flash', voice: 'Kore', input: 'x' }))
      .rejects.toMatchObject({ status: 400, message: expect.stringContaining('response modalities') });
  });

  it('Vertex AI\'s Gemini TTS takes the same body at its own URL', async () => {
    const response = await client().audio.speech.create({ model: 'vertex/gemini-2.5-flash-preview-tts', voice: 'Charon', input: 'one two' });
    expect(Buffer.from(await response.arrayBuffer()).length).toBe(44 + 24_000);
    expect(mock.requests.at(-1)!.path).toMatch(/\/publishers\/google\/models\/gemini-2\.5-flash-preview-tts:generateContent$/);
  });

  it('governance: a key without the model is refused before any call', async () => {
    await expect(client(CHATTER).audio.speech.create({ model: TTS, voice: 'Kore', input: 'x' })).rejects.toMatchObject({ status: 403 });
    expect(mock.requests).toHaveLength(0);
  });
});

describe('POST /v1/audio/transcriptions and translations to Gemini', () => {
  it('a real WAV upload goes inline with a transcription prompt; json answers {text, usage}; the log names the file', async () => {
    const file = await toFile(wav(2), 'meeting.wav', { type: 'audio/wav' });
    const transcript = await client().audio.transcriptions.create(
      { file, model: 'gemini/gemini-2.5-flash', language: 'fr', prompt: 'Heimdall, Bifrost' },
      { headers: { 'x-request-id': 'gemini-stt-1' } },
    );
    expect(transcript.text).toBe(`heard ${wav(2).length} bytes of audio/wav`);
    expect(transcript.usage).toMatchObject({ type: 'tokens', input_tokens: 64 + 31, output_tokens: 5 });
    const body = mock.requests[0].body as { contents: Array<{ parts: Array<Record<string, unknown>> }> };
    expect(mock.requests[0].path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(body.contents[0].parts[0]).toEqual({ inlineData: { mimeType: 'audio/wav', data: wav(2).toString('base64') } });
    expect(body.contents[0].parts[1].text).toMatch(/^Generate a verbatim transcript.*"fr".*Context \(names, spelling, style\): Heimdall, Bifrost$/);
    const log = await stored('gemini-stt-1');
    expect(log).toMatchObject({ input_tokens: 95, output_tokens: 5 });
    expect(log.cost_usd as number).toBeGreaterThan(0);
    expect((log.metadata as { media: unknown }).media).toMatchObject({
      kind: 'transcriptions', language: 'fr', files: [{ field: 'file', filename: 'meeting.wav', type: 'audio/wav' }],
    });
    expect(((log.metadata as { media: { upload_bytes: number } }).media).upload_bytes).toBeGreaterThan(wav(2).length);
  });

  it('text answers the bare transcript; a translation asks for English', async () => {
    const text = await client().audio.transcriptions.create({ file: await toFile(wav(1), 'a.wav', { type: 'audio/wav' }), model: 'gemini/gemini-2.5-flash', response_format: 'text' });
    expect(text).toBe(`heard ${wav(1).length} bytes of audio/wav\n`);
    const translation = await client().audio.translations.create({ file: await toFile(wav(1), 'b.wav', { type: 'audio/wav' }), model: 'gemini/gemini-2.5-flash' });
    expect(translation.text).toBe(`English: heard ${wav(1).length} bytes of audio/wav`);
  });

  it('an upload with no audio type takes it from the extension; formats without timestamps and unknown types are refused before any call', async () => {
    const untyped = await client().audio.transcriptions.create({ file: await toFile(wav(1), 'call.wav'), model: 'gemini/gemini-2.5-flash' });
    expect(untyped.text).toContain('audio/wav');
    mock.reset();
    await expect(client().audio.transcriptions.create({ file: await toFile(wav(1), 'a.wav', { type: 'audio/wav' }), model: 'gemini/gemini-2.5-flash', response_format: 'srt' }))
      .rejects.toMatchObject({ status: 400, param: 'response_format' });
    await expect(client().audio.transcriptions.create({ file: await toFile(Buffer.from('xyz'), 'notes.xyz'), model: 'gemini/gemini-2.5-flash' }))
      .rejects.toMatchObject({ status: 400, param: 'file' });
    expect(mock.requests).toHaveLength(0);
    // A type Gemini does not read: Gemini's own refusal.
    await expect(client().audio.transcriptions.create({ file: await toFile(wav(1), 'a.webm', { type: 'audio/webm' }), model: 'gemini/gemini-2.5-flash' }))
      .rejects.toMatchObject({ status: 400, message: expect.stringContaining('Unsupported MIME type: audio/webm') });
  });
});
