export { cohereChatCodec } from './codec.js';
export { cohereEmbeddingCodec } from './embeddings.js';
export { decodeCohereError } from './errors.js';
export { encodeCohereRequest } from './request.js';
export { decodeCohereResponse, mapFinishReason as mapCohereFinishReason, mapUsage as mapCohereUsage } from './response.js';
export { CohereStreamDecoder } from './stream.js';
