/**
 * The per-model parameter rules the real APIs enforce, with their real error
 * texts, so that a request the provider would refuse is refused here too:
 *
 * - OpenAI reasoning models (`gpt-5*`, `o1`, `o3`, `o4*`): `max_tokens` is
 *   refused (they take `max_completion_tokens`), and so is any `temperature`
 *   other than 1;
 * - OpenAI chat models: an output limit above the model's maximum is refused
 *   (`gpt-4o-mini`, `gpt-4o`: 16,384);
 * - current Claude models (Sonnet 4.5, Haiku 4.5, Opus 4.1 and later): `temperature`
 *   and `top_p` in the same request are refused.
 *
 * @see https://platform.openai.com/docs/guides/reasoning
 * @see https://docs.anthropic.com/en/docs/about-claude/models/migrating-to-claude-4
 */
import type { OpenAIErrorBody } from '../../../src/formats/openai/types.js';
import { openaiErrorBody } from './openai-errors.js';

const REASONING = /^(gpt-5|o1|o3|o4)(?![a-z])/;
const MAX_OUTPUT: ReadonlyArray<[RegExp, number]> = [[/^gpt-4o(-mini)?(-\d{4}-\d{2}-\d{2})?$/, 16_384]];
/** Claude 4.1 and later (`claude-sonnet-4-5`, `claude-opus-4-1-20250805`), not `claude-sonnet-4-20250514`. */
const SAMPLING_EXCLUSIVE = /^claude-(?:(?:sonnet|haiku|opus)-4-[1-9](?!\d)|[a-z]+-[5-9](?!\d))/;

/** The OpenAI error a Chat Completions body gets from the real API for its model; undefined when it is accepted. */
export function openaiModelRefusal(body: Record<string, unknown>): OpenAIErrorBody | undefined {
  const model = String(body.model);
  if (REASONING.test(model)) {
    if (body.max_tokens !== undefined && body.max_tokens !== null) {
      return openaiErrorBody(400, "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", {
        param: 'max_tokens', code: 'unsupported_parameter',
      });
    }
    if (typeof body.temperature === 'number' && body.temperature !== 1) {
      return openaiErrorBody(400, `Unsupported value: 'temperature' does not support ${body.temperature} with this model. Only the default (1) value is supported.`, {
        param: 'temperature', code: 'unsupported_value',
      });
    }
    return undefined;
  }
  const limit = MAX_OUTPUT.find(([pattern]) => pattern.test(model))?.[1];
  const requested = typeof body.max_completion_tokens === 'number' ? body.max_completion_tokens : body.max_tokens;
  if (limit !== undefined && typeof requested === 'number' && requested > limit) {
    const param = typeof body.max_completion_tokens === 'number' ? 'max_completion_tokens' : 'max_tokens';
    return openaiErrorBody(400, `max_tokens is too large: ${requested}. This model supports at most ${limit} completion tokens, whereas you provided ${requested}.`, {
      param, code: 'invalid_value',
    });
  }
  return undefined;
}

/** The Anthropic error message a Messages body gets from the real API for its model; undefined when it is accepted. */
export function anthropicModelRefusal(body: Record<string, unknown>): string | undefined {
  if (SAMPLING_EXCLUSIVE.test(String(body.model)) && body.temperature !== undefined && body.top_p !== undefined) {
    return '`temperature` and `top_p` cannot both be specified for this model. Please use only one.';
  }
  return undefined;
}
