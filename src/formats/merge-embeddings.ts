/**
 * One answer from the answers of a request that went upstream as several
 * calls (EncodedRequest.bodies: Bedrock Titan embeds one text per call):
 * vectors in call order, renumbered, usage summed. Pure.
 */
import type { EmbeddingResponse } from './openai/types.js';

export function mergeEmbeddingResponses(responses: readonly EmbeddingResponse[]): EmbeddingResponse {
  if (responses.length === 1) return responses[0];
  const data: EmbeddingResponse['data'] = [];
  let promptTokens = 0;
  let totalTokens = 0;
  for (const response of responses) {
    for (const item of response.data) data.push({ ...item, index: data.length });
    promptTokens += response.usage.prompt_tokens;
    totalTokens += response.usage.total_tokens;
  }
  return { ...responses[0], data, usage: { prompt_tokens: promptTokens, total_tokens: totalTokens } };
}
