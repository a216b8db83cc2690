export { bedrockChatCodec } from './codec.js';
export { bedrockEmbeddingCodec } from './embeddings.js';
export {
  AwsEventStreamParser,
  crc32,
  decodeEventStreamMessage,
  encodeEvent,
  encodeEventStreamMessage,
  encodeException,
  toSseEvent,
  type EventStreamHeaderValue,
  type EventStreamMessage,
} from './event-stream.js';
export { decodeBedrockError, exceptionStatus } from './errors.js';
export { bedrockModelFamily, encodeBedrockRequest } from './request.js';
export { decodeBedrockResponse, mapStopReason as mapBedrockStopReason, mapUsage as mapBedrockUsage } from './response.js';
export { BedrockStreamDecoder } from './stream.js';
export type * from './types.js';
