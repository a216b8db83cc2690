import type { ProviderChatCodec } from '../types.js';
import { decodeAnthropicError } from './errors.js';
import { encodeAnthropicRequest } from './request.js';
import { decodeAnthropicResponse } from './response.js';
import { AnthropicStreamDecoder } from './stream-decoder.js';

/**
 * Canonical (OpenAI Chat Completions) <-> Anthropic Messages API, for calls
 * Heimdall makes to Anthropic (and to anything that speaks its format).
 * @see https://docs.anthropic.com/en/api/messages
 */
export const anthropicChatCodec: ProviderChatCodec = {
  format: 'anthropic',
  encodeRequest: encodeAnthropicRequest,
  decodeResponse: decodeAnthropicResponse,
  createStreamDecoder: (context) => new AnthropicStreamDecoder(context),
  decodeError: decodeAnthropicError,
};
