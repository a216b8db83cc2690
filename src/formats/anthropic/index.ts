/** Anthropic Messages API codecs: provider direction (Heimdall -> Anthropic) and surface direction (client -> Heimdall). */
export { anthropicChatCodec } from './provider-codec.js';
export { anthropicSurfaceCodec } from './surface-codec.js';
export { DEFAULT_MAX_TOKENS, encodeAnthropicRequest } from './request.js';
export { encodeContent, encodePart, parseDataUrl } from './encode-content.js';
export { encodeMessages, type EncodedMessages } from './encode-messages.js';
export { decodeAnthropicResponse } from './response.js';
export { AnthropicStreamDecoder } from './stream-decoder.js';
export {
  anthropicErrorTypeForStatus,
  decodeAnthropicError,
  isAnthropicErrorType,
  statusForAnthropicErrorType,
} from './errors.js';
export { finishReasonFromAnthropic, stopReasonFromFinish } from './stop-reason.js';
export { usageFromAnthropic, usageToAnthropic, type AnthropicUsageOut } from './usage.js';
export { MIN_THINKING_BUDGET, planThinking, thinkingStyleForModel, type ThinkingStyle } from './thinking.js';
export { decodeAnthropicSurfaceRequest } from './surface-request.js';
export { checkAnthropicEnvelope, validateAnthropicRequest } from './surface-validate.js';
export { anthropicMessageId, encodeAnthropicSurfaceResponse, toolInput, type AnthropicMessageOut } from './surface-response.js';
export { AnthropicStreamEncoder, createAnthropicStreamEncoder } from './surface-stream.js';
export * from './types.js';
