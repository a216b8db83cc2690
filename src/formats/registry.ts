/** Provider codecs by wire format. The OpenAI format is also the canonical one. */
import { anthropicChatCodec } from './anthropic/index.js';
import { bedrockChatCodec, bedrockEmbeddingCodec } from './bedrock/index.js';
import { cohereChatCodec, cohereEmbeddingCodec } from './cohere/index.js';
import { geminiChatCodec, geminiEmbeddingCodec, vertexEmbeddingCodec } from './gemini/index.js';
import { openaiChatCodec } from './openai/codec.js';
import type { ProviderChatCodec, ProviderEmbeddingCodec, WireFormat } from './types.js';

const CHAT_CODECS: Partial<Record<WireFormat, ProviderChatCodec>> = {
  openai: openaiChatCodec,
  anthropic: anthropicChatCodec,
  gemini: geminiChatCodec,
  bedrock: bedrockChatCodec,
  cohere: cohereChatCodec,
};

const EMBEDDING_CODECS: Partial<Record<WireFormat, ProviderEmbeddingCodec>> = {
  gemini: geminiEmbeddingCodec,
  bedrock: bedrockEmbeddingCodec,
  cohere: cohereEmbeddingCodec,
};

export function chatCodecFor(format: WireFormat): ProviderChatCodec | undefined {
  return CHAT_CODECS[format];
}

/** Providers whose embeddings body is not their chat format's (Vertex AI's `:predict`), by provider type. */
const PROVIDER_EMBEDDING_CODECS: Readonly<Record<string, ProviderEmbeddingCodec>> = {
  vertex: vertexEmbeddingCodec,
};

/** The embeddings codec of a wire format, or of the provider type `providerId` when it has its own. */
export function embeddingCodecFor(format: WireFormat, providerId?: string): ProviderEmbeddingCodec | undefined {
  return (providerId !== undefined && Object.hasOwn(PROVIDER_EMBEDDING_CODECS, providerId) ? PROVIDER_EMBEDDING_CODECS[providerId] : undefined) ?? EMBEDDING_CODECS[format];
}
