import type { SurfaceCodec } from '../types.js';
import { decodeAnthropicSurfaceRequest } from './surface-request.js';
import { encodeAnthropicSurfaceResponse } from './surface-response.js';
import { AnthropicStreamEncoder } from './surface-stream.js';

/**
 * A client speaks Anthropic Messages to Heimdall (POST /anthropic/v1/messages);
 * the call may go to any provider through the canonical format.
 * @see https://docs.anthropic.com/en/api/messages
 */
export const anthropicSurfaceCodec: SurfaceCodec = {
  decodeRequest: decodeAnthropicSurfaceRequest,
  encodeResponse: encodeAnthropicSurfaceResponse,
  createStreamEncoder: (context) => new AnthropicStreamEncoder(context),
};
