/** The OpenAI Responses API <-> canonical chat, for providers that do not speak it. */
export { decodeResponsesRequest } from './request.js';
export { encodeResponsesResponse, responseIdFor } from './response.js';
export { ResponsesStreamEncoder } from './stream.js';
export type { DecodedResponsesRequest, ReasoningSeal, ReasoningState, ResponsesEncodeContext, ResponsesRequestFacts } from './types.js';
export { canonicalUsage } from './usage.js';
export { responsesProviderCodec } from './provider-codec.js';
