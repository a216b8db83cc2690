/**
 * /v1/audio/speech, /v1/audio/transcriptions and /v1/audio/translations
 * (src/api/media.ts) with the official openai SDK as the client: speech
 * streamed out, a real WAV upload streamed in (never held whole when the model
 * field comes first: a slow upload reaches the provider while it is still
 * being sent), cost per character and per second, the upload edge cases and
 * governance.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import OpenAI, { toFile } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { wavHeader } from '../../src/formats/audio/gemini.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';
import { MOCK_AUDIO } from '../support/mock-upstream/openai-media.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import { waitFor } from './helpers.js';

const SPEAKER = 'hk-audio-speaker-0123456789abcd';
const CHATTER = 'hk-audio-chatter-0123456789abcd';
const BOUNDARY = 'heimdallAudioBoundary';

let mock: MockUpstream;
let gateway: TestGateway;
/** A provider that notes when each upload's first and last bytes arrived (the slow-upload test). */
let sink: Server;
const sinkSeen: { firstAt?: number; endAt?: number; bytes: number } = { bytes: 0 };

/** A WAV file: 44-byte header, 16 kHz 16-bit mono, `seconds` of silence. */
function wav(seconds: number): Buffer {
  return Buffer.concat([wavHeader(32000 * seconds, 16000), Buffer.alloc(32000 * seconds)]);
}

function textPart(name: string, value: string): Buffer {
  return Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
}

function filePart(name: string, filename: string, bytes: Buffer): Buffer[] {
  return [Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: audio/wav\r\n\r\n`), bytes, Buffer.from('\r\n')];
}

const CLOSE = Buffer.from(`--${BOUNDARY}--\r\n`);

beforeAll(async () => {
  sink = createServer((req: IncomingMessage, res) => {
    req.on('data', (chunk: Buffer) => {
      sinkSeen.firstAt ??= Date.now();
      sinkSeen.bytes += chunk.length;
    });
    req.on('end', () => {
      sinkSeen.endAt = Date.now();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text: `got ${sinkSeen.bytes} bytes`, usage: { type: 'duration', seconds: 2 } }));
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const providers = await startMockProviders();
  mock = providers.mock;
  gateway = await startGateway({
    env: { ...providers.env, GROQ_API_KEY: 'gsk-mock', GROQ_BASE_URL: mock.url },
    config: {
      ...providers.config,
      providers: { ...(providers.config.providers as object), sink: { type: 'openai-compatible', base_url: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/v1`, models: ['whisper-1'] } },
      limits: { max_body_bytes: 400_000 },
      governance: {
        enforce: true,
        virtual_keys: {
          speaker: { key: SPEAKER, allowed_models: ['openai/*', 'groq/*', 'sink/*'] },
          chatter: { key: CHATTER, allowed_models: ['openai/gpt-4o-mini'] },
        },
      },
    },
  });
});
afterAll(async () => {
  await gateway.close();
  await mock.close();
  await new Promise<void>((resolve) => sink.close(() => resolve()));
});
beforeEach(() => mock.reset());

function client(key = SPEAKER): OpenAI {
  return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0, timeout: 15_000 });
}

function lastLine(): Record<string, unknown> {
  return gateway.logs().filter((line) => line.msg === 'request').at(-1)!;
}

describe('POST /v1/audio/speech', () => {
  it('streams the provider\'s audio out; cost per character', async () => {
    const input = 'The quick brown fox jumps over the lazy dog.';
    const response = await client().audio.speech.create({ model: 'openai/tts-1', voice: 'alloy', input });
    expect(response.headers.get('content-type')).toBe('audio/mpeg');
    const audio = Buffer.from(await response.arrayBuffer());
    expect(audio.equals(Buffer.concat(Array.from({ length: Math.ceil(input.length / 16) }, () => MOCK_AUDIO)))).toBe(true);
    expect(mock.requests[0].body).toEqual({ model: 'tts-1', voice: 'alloy', input });
    await expect.poll(() => lastLine().cost_usd).toBeCloseTo((input.length * 15) / 1e6, 12);
  });

  it('the provider\'s refusal in OpenAI\'s form', async () => {
    await expect(client().audio.speech.create({ model: 'openai/tts-1', voice: 'alloy', input: '' })).rejects.toMatchObject({ status: 400, param: 'input' });
  });
});

describe('POST /v1/audio/transcriptions and translations', () => {
  it('a real WAV upload through the SDK: the model rewritten, the file intact, cost per second', async () => {
    const file = wav(3);
    const result = await client().audio.transcriptions.create({ file: await toFile(file, 'speech.wav', { type: 'audio/wav' }), model: 'openai/whisper-1' });
    expect(result.text).toBe(`heard ${file.length} bytes of speech.wav`);
    const upstream = mock.requests[0];
    expect(upstream.path).toBe('/v1/audio/transcriptions');
    expect(upstream.rawBody.includes(file)).toBe(true);
    expect(upstream.rawBody.toString('latin1')).toMatch(/name="model"\r\n\r\nwhisper-1\r\n/);
    await expect.poll(() => lastLine().cost_usd).toBeCloseTo(3 * 0.0001, 12);
  });

  it('Groq, translations, verbose_json: the duration prices the call', async () => {
    const result = await client().audio.translations.create({ file: await toFile(wav(2), 'clip.wav'), model: 'groq/whisper-large-v3', response_format: 'verbose_json' });
    expect(result).toMatchObject({ task: 'translate', duration: 2 });
    expect(mock.requests[0].path).toBe('/openai/v1/audio/translations');
    expect(mock.requests[0].headers.authorization).toBe('Bearer gsk-mock');
    await expect.poll(() => lastLine().cost_usd).toBeCloseTo(2 * (0.111 / 3600), 12);
  });

  it('a slow upload with the model first reaches the provider while it is still being sent', async () => {
    sinkSeen.firstAt = undefined;
    sinkSeen.endAt = undefined;
    sinkSeen.bytes = 0;
    let sentLastAt = 0;
    const first = Buffer.concat([textPart('model', 'sink/whisper-1'), ...filePart('file', 'slow.wav', wav(1))]);
    async function* body(): AsyncGenerator<Buffer> {
      yield first;
      // The rest waits until the provider has seen the beginning: a gateway that held the upload would never let it.
      await waitFor(() => sinkSeen.firstAt !== undefined, 10_000, 'the provider to receive the first bytes');
      sentLastAt = Date.now();
      yield Buffer.concat([textPart('response_format', 'json'), CLOSE]);
    }
    const response = await request(`${gateway.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, authorization: `Bearer ${SPEAKER}` },
      body: Readable.from(body()),
    });
    const json = (await response.body.json()) as { text: string };
    expect(response.statusCode).toBe(200);
    expect(sinkSeen.firstAt).toBeLessThanOrEqual(sentLastAt);
    expect(json.text).toMatch(/^got \d+ bytes$/);
  });

  it('edge cases: missing file and wrong type refused by the provider in its words; over the limit 413 (declared or streamed); not multipart 415', async () => {
    const noFile = await client().audio.transcriptions.create({ model: 'openai/whisper-1' } as never).catch((error: unknown) => error);
    expect(noFile).toMatchObject({ status: 400, param: 'file', message: expect.stringContaining("Missing required parameter: 'file'") });
    const text = client().audio.transcriptions.create({ file: await toFile(Buffer.from('hello'), 'notes.txt', { type: 'text/plain' }), model: 'openai/whisper-1' });
    await expect(text).rejects.toMatchObject({ status: 400, message: expect.stringContaining('Invalid file format.') });
    const declared = client().audio.transcriptions.create({ file: await toFile(wav(15), 'long.wav'), model: 'openai/whisper-1' });
    await expect(declared).rejects.toMatchObject({ status: 413 });
    async function* tooLong(): AsyncGenerator<Buffer> {
      yield textPart('model', 'openai/whisper-1');
      for (const part of filePart('file', 'long.wav', wav(15))) yield part;
      yield CLOSE;
    }
    const streamed = await request(`${gateway.url}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, authorization: `Bearer ${SPEAKER}` },
      body: Readable.from(tooLong()),
    });
    expect(streamed.statusCode).toBe(413);
    expect(await streamed.body.json()).toMatchObject({ error: { code: 'request_too_large' } });
    const json = await request(`${gateway.url}/v1/audio/transcriptions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${SPEAKER}` }, body: '{"model":"openai/whisper-1"}' });
    expect(json.statusCode).toBe(415);
    await json.body.dump();
  });

  it('governance: a key without the model is refused before the upload goes anywhere, whatever the field order', async () => {
    const refused = client(CHATTER).audio.transcriptions.create({ file: await toFile(wav(1), 'a.wav'), model: 'openai/whisper-1' });
    await expect(refused).rejects.toMatchObject({ status: 403 });
    const speech = client(CHATTER).audio.speech.create({ model: 'openai/tts-1', voice: 'alloy', input: 'hi' });
    await expect(speech).rejects.toMatchObject({ status: 403 });
    expect(mock.requests).toHaveLength(0);
  });
});
