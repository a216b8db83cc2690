/**
 * The per-model parameter rules the real APIs enforce, with their real error
 * texts, so that a request the gateway failed to fit is refused here as it
 * would be in production. The mock keeps its own table (written from the
 * vendors' documents and observed errors), not the gateway's catalog: a test
 * must be able to catch the catalog being wrong.
 */
import type { MockContext } from './context.js';
import { anthropicErrorBody } from './anthropic.js';
import { openaiErrorBody } from './openai-errors.js';

/**
 * OpenAI reasoning models: `max_completion_tokens` only, temperature 1 only, no top_p, penalties or logprobs.
 * @see https://platform.openai.com/docs/guides/reasoning
 */
const OPENAI_REASONING = /^(o[1-9]|gpt-5|gpt-6|codex-)(?!.*-chat)/;
const OPENAI_REASONING_REFUSED = ['top_p', 'presence_penalty', 'frequency_penalty', 'logprobs', 'top_logprobs'];

/**
 * OpenAI models that do not reason: they refuse reasoning_effort.
 * @see https://platform.openai.com/docs/guides/reasoning
 */
const OPENAI_NOT_REASONING = /^(gpt-3\.5|gpt-4($|-|o|\.1|\.5)|chatgpt-4o)/;

/**
 * Claude models without extended thinking (Claude 3 and 3.5; 3.7 thinks).
 * @see https://docs.claude.com/en/docs/build-with-claude/extended-thinking#supported-models
 */
const CLAUDE_NO_THINKING = /^claude-(3-(opus|sonnet|haiku)|3-5-(sonnet|haiku))(-|$)/;

/**
 * Gemini models that do not think (1.x, 2.0 but its thinking previews, 2.5 Flash Image).
 * @see https://ai.google.dev/gemini-api/docs/thinking#supported-models
 */
const GEMINI_NO_THINKING = /^gemini-((1\.\d|2\.0)-(?!.*thinking)|2\.5-flash-image)/;

/**
 * Largest output per OpenAI model, longest prefix first.
 * @see https://platform.openai.com/docs/models
 */
const OPENAI_MAX_OUTPUT: ReadonlyArray<readonly [string, number]> = [
  ['gpt-4o-mini', 16_384],
  ['gpt-4o', 16_384],
  ['gpt-4.1', 32_768],
  ['gpt-4-turbo', 4_096],
  ['gpt-3.5-turbo', 4_096],
  ['gpt-5', 128_000],
  ['o1', 100_000],
  ['o3', 100_000],
  ['o4-mini', 100_000],
];

/**
 * Largest output per Claude model (max_tokens), longest prefix first.
 * @see https://docs.claude.com/en/docs/about-claude/models/overview
 */
const CLAUDE_MAX_OUTPUT: ReadonlyArray<readonly [string, number]> = [
  ['claude-opus-4-1', 32_000],
  ['claude-opus-4-0', 32_000],
  ['claude-opus-4-2025', 32_000],
  ['claude-opus-4-5', 64_000],
  ['claude-opus-4-6', 128_000],
  ['claude-sonnet-4', 64_000],
  ['claude-haiku-4-5', 64_000],
  ['claude-3-7-sonnet', 64_000],
  ['claude-3-5-haiku', 8_192],
  ['claude-3-haiku', 4_096],
];

/**
 * Claude models that refuse temperature and top_p in one request (Opus 4.1, Sonnet 4.5, Haiku 4.5 and every later family).
 * @see https://docs.claude.com/en/docs/about-claude/models/migrating-to-claude-4
 */
const CLAUDE_SAMPLING_EXCLUSIVE = /^claude-(opus-4-([1-9]|[1-9]\d)|sonnet-4-([5-9]|[1-9]\d)|haiku-4-([5-9]|[1-9]\d)|[a-z]+-([5-9]|[1-9]\d))(-|$)/;

function maxOutput(table: ReadonlyArray<readonly [string, number]>, model: string): number | undefined {
  let best: readonly [string, number] | undefined;
  for (const entry of table) if (model.startsWith(entry[0]) && (best === undefined || entry[0].length > best[0].length)) best = entry;
  return best?.[1];
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function openAIRefusal(body: Record<string, unknown>): { message: string; param: string; code: string } | undefined {
  const model = typeof body.model === 'string' ? body.model : '';
  const reasoning = OPENAI_REASONING.test(model);
  if (reasoning && isSet(body.max_tokens)) {
    return { message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", param: 'max_tokens', code: 'unsupported_parameter' };
  }
  if (reasoning && isSet(body.temperature) && body.temperature !== 1) {
    return { message: `Unsupported value: 'temperature' does not support ${String(body.temperature)} with this model. Only the default (1) value is supported.`, param: 'temperature', code: 'unsupported_value' };
  }
  if (reasoning) {
    for (const param of OPENAI_REASONING_REFUSED) {
      if (isSet(body[param]) && body[param] !== false) {
        return { message: `Unsupported parameter: '${param}' is not supported with this model.`, param, code: 'unsupported_parameter' };
      }
    }
  }
  if (OPENAI_NOT_REASONING.test(model) && isSet(body.reasoning_effort)) {
    return { message: "Unsupported parameter: 'reasoning_effort' is not supported with this model.", param: 'reasoning_effort', code: 'unsupported_parameter' };
  }
  const max = maxOutput(OPENAI_MAX_OUTPUT, model);
  for (const field of ['max_tokens', 'max_completion_tokens']) {
    const asked = body[field];
    if (max !== undefined && typeof asked === 'number' && asked > max) {
      return { message: `${field} is too large: ${asked}. This model supports at most ${max} completion tokens, whereas you provided ${asked}.`, param: field, code: 'invalid_value' };
    }
  }
  return undefined;
}

function anthropicRefusal(body: Record<string, unknown>, named: string): string | undefined {
  // Vertex names the model with its version: claude-sonnet-4-5@20250929.
  const model = named.split('@')[0];
  if (CLAUDE_SAMPLING_EXCLUSIVE.test(model) && isSet(body.temperature) && isSet(body.top_p)) {
    return '`temperature` and `top_p` cannot both be specified for this model. Please use only one.';
  }
  const max = maxOutput(CLAUDE_MAX_OUTPUT, model);
  if (max !== undefined && typeof body.max_tokens === 'number' && body.max_tokens > max) {
    return `max_tokens: ${body.max_tokens} > ${max}, which is the maximum allowed number of output tokens for ${named}`;
  }
  const thinking = body.thinking as { type?: unknown; budget_tokens?: unknown } | undefined;
  if (CLAUDE_NO_THINKING.test(model) && isSet(thinking) && thinking?.type !== 'disabled') return `'${named}' does not support thinking.`;
  if (thinking?.type === 'enabled' && typeof thinking.budget_tokens === 'number' && typeof body.max_tokens === 'number' && body.max_tokens <= thinking.budget_tokens) {
    return '`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size';
  }
  return undefined;
}

/**
 * A Gemini generateContent body a model refuses for its thinkingConfig (undefined when it passes):
 * the Gemini API and Vertex AI word it differently.
 */
export function geminiModelRuleError(body: Record<string, unknown>, model: string, api: 'gemini' | 'vertex'): string | undefined {
  const generation = body.generationConfig as Record<string, unknown> | undefined;
  if (!GEMINI_NO_THINKING.test(model) || !isSet(generation?.thinkingConfig)) return undefined;
  return api === 'gemini'
    ? 'thinking_config is not supported.'
    : 'Unable to submit request because thinking is not supported by this model. Learn more: https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/gemini';
}

/**
 * Answers 400 in the provider's format when the body breaks its model's rules; undefined when it passes.
 * `model` defaults to the body's (Vertex and Bedrock name it in the URL).
 */
export function refuseByModelRules(context: MockContext, format: 'openai' | 'anthropic', body: Record<string, unknown>, model?: string): Promise<void> | undefined {
  if (format === 'openai') {
    const refusal = openAIRefusal(body);
    return refusal === undefined ? undefined : context.json(400, openaiErrorBody(400, refusal.message, { type: 'invalid_request_error', param: refusal.param, code: refusal.code }));
  }
  const message = anthropicRefusal(body, model ?? (typeof body.model === 'string' ? body.model : ''));
  return message === undefined ? undefined : context.json(400, anthropicErrorBody(400, message, 'invalid_request_error'));
}
