/**
 * Codec contracts. Everything under src/formats/ is pure: data in, data out,
 * no I/O, no clock, no randomness (ids and times come in through the context).
 *
 * Provider codecs translate canonical (OpenAI Chat Completions) <-> a
 * provider's wire format. Surface codecs translate a client's wire format
 * (Anthropic Messages, Gemini generateContent) <-> canonical.
 */
import type { SseEvent } from '../gateway/sse.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatRequest,
  EmbeddingRequest,
  EmbeddingResponse,
} from './openai/types.js';

/** The wire formats Heimdall speaks with providers. */
export type WireFormat = 'openai' | 'anthropic' | 'gemini' | 'bedrock' | 'cohere';

/** Values a decoder needs from outside, passed in so codecs stay pure. */
export interface CodecContext {
  /** Response id when the provider gives none (`chatcmpl-...`). */
  id: string;
  /** Unix time in seconds. */
  created: number;
  /** The model name reported to the caller. */
  model: string;
}

export interface EncodeOptions {
  /** The provider's own model id (the part after `provider/`, or a deployment name). */
  model: string;
  stream: boolean;
  /** Default max output tokens when the caller set none and the provider requires one. */
  defaultMaxTokens?: number;
  /**
   * An Anthropic-format caller's `anthropic-beta` values, for a codec that serves Claude in its own
   * wire format (Bedrock: `additionalModelRequestFields.anthropic_beta`); other codecs ignore them.
   */
  anthropicBetas?: readonly string[];
  /** The target model's largest output (the model catalog's), when known: a max_tokens a codec derives stays within it. */
  maxOutputTokens?: number;
}

/** A parameter the target cannot take: dropped, and reported (STYLE.md rule 7). */
export interface CodecWarning {
  param: string;
  message: string;
}

export interface EncodedRequest {
  body: unknown;
  warnings: CodecWarning[];
  /**
   * Set when the target takes the request as several calls to the same endpoint (Bedrock Titan
   * embeddings: one text per call): every call's body, in order (`body` is the first). The gateway
   * sends them (a few at a time), decodes each answer, and merges them in order
   * (mergeEmbeddingResponses).
   */
  bodies?: unknown[];
}

/** What a provider said went wrong, decoded from its error body. */
export interface UpstreamErrorInfo {
  message: string;
  type?: string;
  code?: string;
  /** The request field the provider blamed (OpenAI `param`). */
  param?: string;
}

/**
 * Raised by a stream decoder when the provider sends an error event inside a
 * stream (Anthropic `event: error`, an OpenAI `{"error":...}` data line).
 */
export class UpstreamStreamError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly type?: string,
  ) {
    super(message);
    this.name = 'UpstreamStreamError';
  }
}

/** Upstream stream events -> canonical chunks. A small state object, not a closure soup. */
export interface StreamDecoder {
  onEvent(event: SseEvent): ChatCompletionChunk[];
  /** Called once when the upstream body ends; flushes what is pending (a last finish chunk). */
  onEnd(): ChatCompletionChunk[];
}

export interface ProviderChatCodec {
  readonly format: WireFormat;
  encodeRequest(request: ChatRequest, options: EncodeOptions): EncodedRequest;
  decodeResponse(body: unknown, context: CodecContext): ChatCompletion;
  createStreamDecoder(context: CodecContext): StreamDecoder;
  decodeError(status: number, body: unknown): UpstreamErrorInfo;
}

export interface ProviderEmbeddingCodec {
  encodeRequest(request: EmbeddingRequest, options: { model: string }): EncodedRequest;
  decodeResponse(body: unknown, context: CodecContext): EmbeddingResponse;
}

/** Canonical chunks -> the caller's stream format, as ready-to-write SSE text. */
export interface StreamEncoder {
  onChunk(chunk: ChatCompletionChunk): string;
  /** The stream ended normally. */
  onEnd(): string;
  /** The stream failed after it started: the error event in the caller's format. */
  onError(error: { status: number; message: string; type?: string }): string;
}

export interface SurfaceCodec<SurfaceRequest = unknown> {
  /** Caller's body -> canonical request. Throws GatewayError (invalid field) on bad input. */
  decodeRequest(body: SurfaceRequest, options: { model: string }): { request: ChatRequest; warnings: CodecWarning[] };
  encodeResponse(completion: ChatCompletion, context: CodecContext): unknown;
  createStreamEncoder(context: CodecContext): StreamEncoder;
}
