/**
 * The Cohere v2 chat codec: canonical chat <-> `POST /v2/chat` (stream and not).
 * @see https://docs.cohere.com/v2/reference/chat
 */
import type { ProviderChatCodec } from '../types.js';
import { decodeCohereError } from './errors.js';
import { encodeCohereRequest } from './request.js';
import { decodeCohereResponse } from './response.js';
import { CohereStreamDecoder } from './stream.js';

export const cohereChatCodec: ProviderChatCodec = {
  format: 'cohere',
  encodeRequest: encodeCohereRequest,
  decodeResponse: decodeCohereResponse,
  createStreamDecoder: (context) => new CohereStreamDecoder(context),
  decodeError: decodeCohereError,
};
