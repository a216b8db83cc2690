/**
 * A pass-through answer's bytes in canonical form, for the plugins that read
 * the final answer (a pass-through is otherwise never decoded): the OpenAI
 * shapes as they are, the Responses API and other formats through their codec.
 */
import type { ChatCompletion, EmbeddingResponse } from '../formats/openai/types.js';
import { chatCodecFor, embeddingCodecFor } from '../formats/registry.js';
import { responsesProviderCodec } from '../formats/responses/index.js';
import type { CodecContext } from '../formats/types.js';
import type { UpstreamOperation } from './pipeline.js';
import type { Target } from './router.js';

export function canonicalOfRaw(raw: Buffer, target: Target, operation: UpstreamOperation, context: CodecContext): ChatCompletion | EmbeddingResponse | undefined {
  const body = JSON.parse(raw.toString('utf8')) as unknown;
  const definition = target.provider.definition;
  const format = definition.format;
  if (operation === 'responses') return responsesProviderCodec.decodeResponse(body, context);
  if (operation === 'embeddings') {
    return format === 'openai' ? body as EmbeddingResponse : embeddingCodecFor(format, definition.id)?.decodeResponse(body, context);
  }
  if (format === 'openai') return body as ChatCompletion; // chat and legacy completions: the caller's own shape
  return chatCodecFor(format)?.decodeResponse(body, context);
}
