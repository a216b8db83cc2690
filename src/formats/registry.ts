/** Provider codecs by wire format. The OpenAI format is also the canonical one. */
import { anthropicChatCodec } from './anthropic/index.js';
import { bedrockChatCodec, bedrockEmbeddingCodec } from './bedrock/index.js';
import { cohereChatCodec, cohereEmbeddingCodec } from './cohere/index.js';
import { geminiChatCodec, geminiEmbeddingCodec } from './gemini/index.js';
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

export function embeddingCodecFor(format: WireFormat): ProviderEmbeddingCodec | undefined {
  return EMBEDDING_CODECS[format];
}
