/**
 * Google Gemini API (AI Studio): generateContent / streamGenerateContent for
 * chat (and for speech and transcription, translated: formats/audio), batchEmbedContents for
 * embeddings, predict for Imagen. The model is part of the URL.
 *
 * GEMINI_BASE_URL has the official SDK's meaning, the host root
 * (`https://generativelanguage.googleapis.com`); a base that already ends in
 * an API version (`.../v1beta`, `.../v1`) is used as is.
 * Optional provider setting: `api_version` (default v1beta).
 *
 * @see https://ai.google.dev/api/generate-content
 * @see https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
 * @see https://ai.google.dev/gemini-api/docs/api-key
 * @see https://ai.google.dev/api/tokens#method:-models.counttokens
 */
import { GatewayError } from '../errors/gateway-error.js';
import type { CountTokensEndpoint, Endpoint, EndpointContext, Operation, ProviderDefinition } from './types.js';

export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';
const DEFAULT_API_VERSION = 'v1beta';

/** Current Gemini API model codes. @see https://ai.google.dev/gemini-api/docs/models */
export const GEMINI_MODELS: readonly string[] = [
  'gemini-3.5-flash',
  'gemini-3.1-pro-preview',
  'gemini-3.1-flash-lite',
  'gemini-3-pro-preview',
  'gemini-3-flash-preview',
  'gemini-2.5-pro',
  'gemini-2.5-flash',
  'gemini-2.5-flash-lite',
  'gemini-2.0-flash',
  'gemini-2.0-flash-lite',
  'gemini-pro-latest',
  'gemini-flash-latest',
  'gemini-flash-lite-latest',
];

/** @see https://ai.google.dev/gemini-api/docs/embeddings */
export const GEMINI_EMBEDDING_MODELS: readonly string[] = ['gemini-embedding-001', 'text-embedding-004'];

/** `https://host` -> `https://host/v1beta`; a base that already names a version is kept. */
export function geminiApiRoot(context: Pick<EndpointContext, 'baseUrl' | 'options'>): string {
  const base = (context.baseUrl || GEMINI_DEFAULT_BASE_URL).replace(/\/+$/, '');
  if (/\/v\d+(alpha|beta)?\d*$/.test(base)) return base;
  const version = context.options.api_version;
  return `${base}/${typeof version === 'string' && version !== '' ? version : DEFAULT_API_VERSION}`;
}

/**
 * The `models/{model}` path: bare ids get `models/`; full resource names
 * (`models/x`, `tunedModels/x`) keep their collection. The id is one escaped
 * segment (a slash in it is `%2F`), so a model name cannot change the path:
 * the URL names exactly the model that access was checked on.
 */
export function geminiModelPath(model: string): string {
  const collection = /^(models|tunedModels)\//.exec(model);
  const id = collection === null ? model : model.slice(collection[0].length);
  return `${collection?.[1] ?? 'models'}/${encodeURIComponent(id).replace(/%40/g, '@')}`;
}

/** Imagen (`imagen-4.0-generate-001`...) takes `:predict`; every other image model is a Gemini model. */
export function isImagenModel(model: string): boolean {
  return /(^|\/)imagen-/.test(model);
}

function headers(context: EndpointContext, withBody: boolean): Record<string, string> {
  const result: Record<string, string> = {};
  if (context.apiKey !== undefined) result['x-goog-api-key'] = context.apiKey;
  if (withBody) result['content-type'] = 'application/json';
  return result;
}

export const geminiProvider: ProviderDefinition = {
  id: 'gemini',
  name: 'Google Gemini',
  format: 'gemini',
  defaultBaseUrl: GEMINI_DEFAULT_BASE_URL,
  apiKeyEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
  baseUrlEnv: 'GEMINI_BASE_URL',
  keyRequired: true,
  operations: { chat: true, embeddings: true, models: true, images: true, speech: true, transcriptions: true, translations: true },
  models: GEMINI_MODELS,
  embeddingModels: GEMINI_EMBEDDING_MODELS,
  docs: 'https://ai.google.dev/api/generate-content',
  countTokens(context: EndpointContext): CountTokensEndpoint {
    return { url: `${geminiApiRoot(context)}/${geminiModelPath(context.model)}:countTokens`, headers: headers(context, true), format: 'gemini' };
  },
  endpoint(operation: Operation, context: EndpointContext): Endpoint {
    const root = geminiApiRoot(context);
    switch (operation) {
      case 'chat':
        return context.stream
          ? { url: `${root}/${geminiModelPath(context.model)}:streamGenerateContent?alt=sse`, headers: headers(context, true), streamFraming: 'sse' }
          : { url: `${root}/${geminiModelPath(context.model)}:generateContent`, headers: headers(context, true) };
      case 'embeddings':
        return { url: `${root}/${geminiModelPath(context.model)}:batchEmbedContents`, headers: headers(context, true) };
      case 'models':
        return { url: `${root}/models`, headers: headers(context, false) };
      case 'images':
        // Imagen models predict; Gemini's own image models answer generateContent with image parts (formats/images).
        return { url: `${root}/${geminiModelPath(context.model)}:${isImagenModel(context.model) ? 'predict' : 'generateContent'}`, headers: headers(context, true) };
      case 'speech':
      case 'transcriptions':
      case 'translations':
        // TTS models answer audio parts; every Gemini model hears audio (formats/audio/gemini.ts).
        return { url: `${root}/${geminiModelPath(context.model)}:generateContent`, headers: headers(context, true) };
      default:
        throw new GatewayError('HD_ERR_PROVIDER_UNSUPPORTED_OPERATION', `Gemini does not offer the '${operation}' operation.`);
    }
  },
};
