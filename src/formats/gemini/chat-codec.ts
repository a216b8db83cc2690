import type { ProviderChatCodec } from '../types.js';
import { decodeGeminiError } from './errors.js';
import { encodeGeminiRequest } from './request.js';
import { decodeGeminiResponse } from './response.js';
import { GeminiStreamDecoder } from './stream.js';

/**
 * Canonical (OpenAI chat) <-> Gemini generateContent, for the Gemini API and
 * Gemini models on Vertex AI.
 * @see https://ai.google.dev/api/generate-content
 */
export const geminiChatCodec: ProviderChatCodec = {
  format: 'gemini',
  encodeRequest: encodeGeminiRequest,
  decodeResponse: decodeGeminiResponse,
  createStreamDecoder: (context) => new GeminiStreamDecoder(context),
  decodeError: decodeGeminiError,
};
