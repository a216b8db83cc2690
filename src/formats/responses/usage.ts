/**
 * Responses API usage -> canonical usage, so a pass-through's tokens are logged, metered and priced
 * like a chat answer's. The inclusions are the same: `input_tokens` counts cached tokens as
 * `prompt_tokens` does, `output_tokens` counts reasoning tokens as `completion_tokens` does.
 * @see https://platform.openai.com/docs/api-reference/responses/object#responses/object-usage
 */
import type { Usage } from '../openai/types.js';

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function details(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** A usage object in either shape -> the canonical one (chat usage comes back as it is). */
export function canonicalUsage(usage: unknown): Usage | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined;
  const value = usage as Record<string, unknown>;
  if (value.prompt_tokens !== undefined || (value.input_tokens === undefined && value.output_tokens === undefined)) return value as Usage;
  const input = count(value.input_tokens);
  const output = count(value.output_tokens);
  const result: Usage = { prompt_tokens: input, completion_tokens: output, total_tokens: typeof value.total_tokens === 'number' ? value.total_tokens : input + output };
  const inputDetails = details(value.input_tokens_details);
  if (typeof inputDetails.cached_tokens === 'number') result.prompt_tokens_details = { cached_tokens: inputDetails.cached_tokens };
  if (typeof inputDetails.cache_write_tokens === 'number' && inputDetails.cache_write_tokens > 0) result.cache_creation_input_tokens = inputDetails.cache_write_tokens;
  const outputDetails = details(value.output_tokens_details);
  if (typeof outputDetails.reasoning_tokens === 'number') result.completion_tokens_details = { reasoning_tokens: outputDetails.reasoning_tokens };
  return result;
}
