import type { Usage } from '../openai/types.js';
import type { GeminiUsageMetadata } from './types.js';

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/**
 * Gemini usageMetadata -> OpenAI usage. Thought tokens are billed as output,
 * so completion_tokens = candidates + thoughts (and reported again as
 * reasoning_tokens, as OpenAI does). Tokens of server-side tool results are
 * input, so they are added to prompt_tokens; the total then equals Gemini's.
 *
 * @see https://ai.google.dev/api/generate-content#UsageMetadata
 */
export function usageFromGemini(metadata: GeminiUsageMetadata | undefined): Usage {
  const prompt = count(metadata?.promptTokenCount) + count(metadata?.toolUsePromptTokenCount);
  const thoughts = count(metadata?.thoughtsTokenCount);
  const completion = count(metadata?.candidatesTokenCount) + thoughts;
  const usage: Usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: metadata?.totalTokenCount !== undefined ? count(metadata.totalTokenCount) : prompt + completion,
  };
  if (metadata?.cachedContentTokenCount !== undefined) {
    usage.prompt_tokens_details = { cached_tokens: count(metadata.cachedContentTokenCount) };
  }
  if (metadata?.thoughtsTokenCount !== undefined) {
    usage.completion_tokens_details = { reasoning_tokens: thoughts };
  }
  return usage;
}

/** OpenAI usage -> Gemini usageMetadata (the Gemini surface): the reverse split. */
export function usageToGemini(usage: Usage): GeminiUsageMetadata {
  const reasoning = count(usage.completion_tokens_details?.reasoning_tokens);
  const metadata: GeminiUsageMetadata = {
    promptTokenCount: count(usage.prompt_tokens),
    candidatesTokenCount: Math.max(0, count(usage.completion_tokens) - reasoning),
    totalTokenCount: count(usage.total_tokens) || count(usage.prompt_tokens) + count(usage.completion_tokens),
  };
  const cached = usage.prompt_tokens_details?.cached_tokens;
  if (cached !== undefined && cached > 0) metadata.cachedContentTokenCount = cached;
  if (reasoning > 0) metadata.thoughtsTokenCount = reasoning;
  return metadata;
}
