/**
 * The Google Gen AI SDK as a real client of the surface codec: what it sends
 * must decode, and what the codec writes must parse in the SDK (loopback only).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { geminiSurfaceCodec } from '../../../src/formats/gemini/index.js';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from '../../../src/formats/openai/types.js';
import { context } from './fixtures.js';

const completion: ChatCompletion = {
  id: 'chatcmpl-sdk',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [{
    index: 0,
    finish_reason: 'tool_calls',
    message: {
      role: 'assistant',
      content: 'Looking it up.',
      tool_calls: [{ id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
    },
  }],
  usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
};

const chunks: ChatCompletionChunk[] = [
  { id: 'chatcmpl-sdk', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
  { id: 'chatcmpl-sdk', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'Hello' }, finish_reason: null }] },
  { id: 'chatcmpl-sdk', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: ', world' }, finish_reason: null }] },
  { id: 'chatcmpl-sdk', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
  { id: 'chatcmpl-sdk', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 } },
];

let server: Server;
let baseUrl: string;
const seen: Array<{ url: string; request: ChatRequest; warnings: unknown[] }> = [];
let failStream = false;

async function readBody(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const piece of req) text += String(piece);
  return JSON.parse(text) as unknown;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { request, warnings } = geminiSurfaceCodec.decodeRequest(await readBody(req), { model: 'any/model' });
  seen.push({ url: req.url ?? '', request, warnings });
  if (req.url?.includes(':streamGenerateContent')) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const encoder = geminiSurfaceCodec.createStreamEncoder(context);
    if (failStream) {
      res.write(encoder.onChunk(chunks[1]));
      res.end(encoder.onError({ status: 429, message: 'Slow down.' }));
      return;
    }
    for (const chunk of chunks) res.write(encoder.onChunk(chunk));
    res.end(encoder.onEnd());
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(geminiSurfaceCodec.encodeResponse(completion, context)));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

// @google/genai 3 calls the stable API version (`/v1/...`) unless `httpOptions.apiVersion` says otherwise.
const client = () => new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl } });

describe('Google Gen AI SDK <-> Gemini surface codec', () => {
  it('generateContent: the SDK body decodes, and the SDK reads text, function calls and usage', async () => {
    const response = await client().models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'Weather in Oslo?',
      config: {
        systemInstruction: 'Be terse.',
        temperature: 0.2,
        maxOutputTokens: 64,
        tools: [{ functionDeclarations: [{ name: 'get_weather', parametersJsonSchema: { type: 'object', properties: { city: { type: 'string' } } } }] }],
        toolConfig: { functionCallingConfig: { mode: 'ANY' as never } },
        thinkingConfig: { thinkingBudget: 0 },
        safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT' as never, threshold: 'BLOCK_NONE' as never }],
      },
    });
    const { url, request, warnings } = seen[seen.length - 1];
    expect(url).toBe('/v1/models/gemini-2.5-flash:generateContent');
    expect(warnings).toEqual([]);
    expect(request).toMatchObject({
      messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Weather in Oslo?' }],
      temperature: 0.2,
      max_tokens: 64,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      tool_choice: 'required',
      thinking: { type: 'disabled' },
      gemini_safety_settings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }],
    });
    expect(response.functionCalls).toEqual([{ id: 'call_w', name: 'get_weather', args: { city: 'Oslo' } }]);
    expect(response.candidates?.[0].finishReason).toBe('STOP');
    expect(response.usageMetadata).toMatchObject({ promptTokenCount: 11, candidatesTokenCount: 7, totalTokenCount: 18 });
    expect(response.responseId).toBe('chatcmpl-sdk');
  });

  it('generateContentStream: the SDK reads every text delta and the final usage', async () => {
    const stream = await client().models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Say hello' });
    const texts: string[] = [];
    let last: { usageMetadata?: unknown; candidates?: Array<{ finishReason?: string }> } = {};
    for await (const piece of stream) {
      if (piece.text) texts.push(piece.text);
      last = piece;
    }
    expect(texts.join('')).toBe('Hello, world');
    expect(last.candidates?.[0].finishReason).toBe('STOP');
    expect(last.usageMetadata).toMatchObject({ promptTokenCount: 4, candidatesTokenCount: 3, totalTokenCount: 7 });
    expect(seen[seen.length - 1].url).toBe('/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  });

  it('generateContentStream: an error event makes the SDK throw with its status', async () => {
    failStream = true;
    try {
      const stream = await client().models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Say hello' });
      await expect((async () => {
        for await (const _piece of stream) { /* drain */ }
      })()).rejects.toMatchObject({ status: 429 });
    } finally {
      failStream = false;
    }
  });
});
