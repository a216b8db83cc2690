/** Provider codecs by wire format. The OpenAI format is also the canonical one. */
import { openaiChatCodec } from './openai/codec.js';
import type { ProviderChatCodec, ProviderEmbeddingCodec, WireFormat } from './types.js';

const CHAT_CODECS: Partial<Record<WireFormat, ProviderChatCodec>> = {
  openai: openaiChatCodec,
};

const EMBEDDING_CODECS: Partial<Record<WireFormat, ProviderEmbeddingCodec>> = {};

export function chatCodecFor(format: WireFormat): ProviderChatCodec | undefined {
  return CHAT_CODECS[format];
}

export function embeddingCodecFor(format: WireFormat): ProviderEmbeddingCodec | undefined {
  return EMBEDDING_CODECS[format];
}
