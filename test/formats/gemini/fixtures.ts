/**
 * Payloads shaped like the examples in Google's Gemini API documentation.
 * @see https://ai.google.dev/api/generate-content
 * @see https://ai.google.dev/gemini-api/docs/function-calling#parallel_function_calling
 * @see https://ai.google.dev/gemini-api/docs/thinking
 */
import type { SseEvent } from '../../../src/gateway/sse.js';
import type { CodecContext } from '../../../src/formats/types.js';

export const context: CodecContext = { id: 'chatcmpl-abc123', created: 1_700_000_000, model: 'gemini-2.5-flash' };

export const textResponse = {
  candidates: [
    {
      content: { parts: [{ text: 'Once upon a time, in a land far away, ' }, { text: 'a magic backpack...' }], role: 'model' },
      finishReason: 'STOP',
      index: 0,
      safetyRatings: [
        { category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: 'NEGLIGIBLE' },
        { category: 'HARM_CATEGORY_HATE_SPEECH', probability: 'NEGLIGIBLE' },
      ],
    },
  ],
  usageMetadata: { promptTokenCount: 8, candidatesTokenCount: 393, totalTokenCount: 401 },
  modelVersion: 'gemini-2.5-flash',
  responseId: 'mAitaLmkHPPlz7IPvtfUqQ4',
};

export const parallelCallsResponse = {
  candidates: [
    {
      content: {
        role: 'model',
        parts: [
          { functionCall: { name: 'power_disco_ball', args: { power: true } }, thoughtSignature: 'c2lnLWZpcnN0' },
          { functionCall: { name: 'start_music', args: { energetic: true, loud: true } } },
          { functionCall: { name: 'dim_lights', args: { brightness: 0.5 } } },
        ],
      },
      finishReason: 'STOP',
      index: 0,
    },
  ],
  usageMetadata: { promptTokenCount: 120, candidatesTokenCount: 30, totalTokenCount: 150 },
  modelVersion: 'gemini-2.5-flash',
};

export const thinkingResponse = {
  candidates: [
    {
      content: {
        role: 'model',
        parts: [
          { text: '**Considering the ordering**\nThe user wants primes...', thought: true },
          { text: 'The first three primes are 2, 3 and 5.', thoughtSignature: 'c2lnLXRleHQ=' },
        ],
      },
      finishReason: 'STOP',
      index: 0,
    },
  ],
  usageMetadata: {
    promptTokenCount: 12,
    candidatesTokenCount: 14,
    thoughtsTokenCount: 250,
    cachedContentTokenCount: 4,
    totalTokenCount: 276,
  },
  modelVersion: 'gemini-2.5-pro',
  responseId: 'resp-think-1',
};

export const promptBlockedResponse = {
  promptFeedback: {
    blockReason: 'SAFETY',
    safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true }],
  },
  usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 },
  modelVersion: 'gemini-2.5-flash',
};

export const apiKeyError = {
  error: {
    code: 400,
    message: 'API key not valid. Please pass a valid API key.',
    status: 'INVALID_ARGUMENT',
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'API_KEY_INVALID',
        domain: 'googleapis.com',
        metadata: { service: 'generativelanguage.googleapis.com' },
      },
    ],
  },
};

export const quotaError = {
  error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' },
};

/** `streamGenerateContent?alt=sse`: text in three chunks, usage on each, the total on the last. */
export const textStream: SseEvent[] = [
  { data: JSON.stringify({ candidates: [{ content: { parts: [{ text: 'The' }], role: 'model' }, index: 0 }], usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 }, modelVersion: 'gemini-2.5-flash', responseId: 'stream-resp-1' }) },
  { data: JSON.stringify({ candidates: [{ content: { parts: [{ text: ' sky is' }], role: 'model' }, index: 0 }], usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 }, modelVersion: 'gemini-2.5-flash', responseId: 'stream-resp-1' }) },
  { data: JSON.stringify({ candidates: [{ content: { parts: [{ text: ' blue.' }], role: 'model' }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 5, thoughtsTokenCount: 20, totalTokenCount: 34 }, modelVersion: 'gemini-2.5-flash', responseId: 'stream-resp-1' }) },
];

/** A streamed parallel call: two calls in one chunk, the finish in the next. */
export const toolStream: SseEvent[] = [
  { data: JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'Checking both cities.' }] }, index: 0 }] }) },
  {
    data: JSON.stringify({
      candidates: [{
        content: {
          role: 'model',
          parts: [
            { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2lnLXN0cmVhbQ==' },
            { functionCall: { name: 'get_weather', args: { city: 'Tokyo' } } },
          ],
        },
        finishReason: 'STOP',
        index: 0,
      }],
      usageMetadata: { promptTokenCount: 40, candidatesTokenCount: 16, totalTokenCount: 56 },
    }),
  },
];

/** A request as the Google Gen AI SDK sends it (REST field names). */
export const sdkRequest = {
  contents: [
    { role: 'user', parts: [{ text: 'What is the weather in Paris and Tokyo?' }] },
    {
      role: 'model',
      parts: [
        { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2ln' },
        { functionCall: { name: 'get_weather', args: { city: 'Tokyo' } } },
      ],
    },
    {
      role: 'user',
      parts: [
        { functionResponse: { name: 'get_weather', response: { temperature: 18 } } },
        { functionResponse: { name: 'get_weather', response: { temperature: 25 } } },
      ],
    },
  ],
  systemInstruction: { parts: [{ text: 'You are a weather bot.' }] },
  tools: [{
    functionDeclarations: [{
      name: 'get_weather',
      description: 'Current weather in a city',
      parameters: { type: 'OBJECT', properties: { city: { type: 'STRING', nullable: true } }, required: ['city'] },
    }],
  }],
  toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } },
  generationConfig: {
    temperature: 0.4,
    topP: 0.9,
    topK: 32,
    maxOutputTokens: 256,
    stopSequences: ['END'],
    candidateCount: 1,
    seed: 7,
    presencePenalty: 0.1,
    frequencyPenalty: 0.2,
    responseLogprobs: true,
    logprobs: 3,
  },
  safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_ONLY_HIGH' }],
};
