/**
 * The Bedrock Converse codec: canonical chat <-> Converse / ConverseStream.
 * The stream decoder takes events from AwsEventStreamParser (event-stream.ts).
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/conversation-inference.html
 */
import { registerEventFramer } from '../../gateway/event-framer.js';
import type { ProviderChatCodec } from '../types.js';
import { AwsEventStreamParser } from './event-stream.js';
import { decodeBedrockError } from './errors.js';
import { encodeBedrockRequest } from './request.js';
import { decodeBedrockResponse } from './response.js';
import { BedrockStreamDecoder } from './stream.js';

// ConverseStream replies are framed in the AWS binary event stream, not SSE;
// the stream pump looks the framer up by the endpoint's `streamFraming`.
registerEventFramer('aws-eventstream', () => new AwsEventStreamParser());

export const bedrockChatCodec: ProviderChatCodec = {
  format: 'bedrock',
  encodeRequest: encodeBedrockRequest,
  decodeResponse: decodeBedrockResponse,
  createStreamDecoder: (context) => new BedrockStreamDecoder(context),
  decodeError: decodeBedrockError,
};
