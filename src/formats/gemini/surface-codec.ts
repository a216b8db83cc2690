import type { SurfaceCodec } from '../types.js';
import { decodeGeminiSurfaceRequest } from './surface-request.js';
import { encodeGeminiSurfaceResponse, GeminiSurfaceStreamEncoder } from './surface-response.js';

/**
 * The Gemini client surface (`/genai/v1beta/models/{model}:generateContent`
 * and `:streamGenerateContent`): Google Gen AI SDK callers, routed to any provider.
 * @see https://ai.google.dev/api/generate-content
 */
export const geminiSurfaceCodec: SurfaceCodec = {
  decodeRequest: decodeGeminiSurfaceRequest,
  encodeResponse: encodeGeminiSurfaceResponse,
  createStreamEncoder: (context) => new GeminiSurfaceStreamEncoder(context),
};
