import type { ChatRequest } from '../openai/types.js';
import type { CodecWarning } from '../types.js';
import type { AnthropicOutputConfig, AnthropicThinkingConfig } from './types.js';

/**
 * OpenAI `reasoning_effort` -> Anthropic extended thinking.
 *
 * Claude models think in one of two styles:
 * - adaptive (Opus/Sonnet 4.6 and later, every 5.x, Fable, Mythos): the model
 *   decides how long to think; `output_config.effort` steers it. Several of
 *   these models reject `thinking.type: "enabled"`.
 * - budget (4.5 and earlier): `thinking.type: "enabled"` with `budget_tokens`
 *   (>= 1024 and below `max_tokens`).
 *
 * | reasoning_effort | adaptive models              | budget models         |
 * | ---------------- | ---------------------------- | --------------------- |
 * | none             | no thinking sent             | no thinking sent      |
 * | minimal          | adaptive, effort `low`       | budget_tokens 1024    |
 * | low              | adaptive, effort `low`       | budget_tokens 2048    |
 * | medium           | adaptive, effort `medium`    | budget_tokens 8192    |
 * | high             | adaptive, effort `high`      | budget_tokens 16384   |
 *
 * With a budget and no caller `max_tokens`, `max_tokens` becomes budget +
 * default so the answer keeps its room; with a caller `max_tokens` too small
 * for the budget, the budget shrinks (with a warning) or thinking is dropped.
 *
 * @see https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking
 * @see https://docs.anthropic.com/en/docs/build-with-claude/adaptive-thinking
 * @see https://platform.openai.com/docs/api-reference/chat/create#chat-create-reasoning_effort
 */
export type ThinkingStyle = 'adaptive' | 'budget';

export const MIN_THINKING_BUDGET = 1024;

const BUDGET_BY_EFFORT: Readonly<Record<string, number>> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 16384,
};

const ADAPTIVE_EFFORT: Readonly<Record<string, 'low' | 'medium' | 'high'>> = {
  minimal: 'low',
  low: 'low',
  medium: 'medium',
  high: 'high',
};

/** Which thinking style a Claude model id takes; unknown ids (custom deployments) get the budget style. */
export function thinkingStyleForModel(model: string): ThinkingStyle {
  const match = /claude-(opus|sonnet|haiku|fable|mythos)-(\d+)(?:-(\d{1,2}))?(?![\d])/.exec(model);
  if (match === null) return 'budget';
  const [, family, majorText, minorText] = match;
  if (family === 'fable' || family === 'mythos') return 'adaptive';
  const major = Number(majorText);
  const minor = minorText === undefined ? 0 : Number(minorText);
  if (major >= 5) return 'adaptive';
  return major === 4 && minor >= 6 && family !== 'haiku' ? 'adaptive' : 'budget';
}

export interface ThinkingPlan {
  thinking?: AnthropicThinkingConfig;
  effort?: 'low' | 'medium' | 'high';
  maxTokens: number;
}

/**
 * Decide `thinking`, `output_config.effort` and the final `max_tokens`.
 * An explicit `thinking` object passes through unchanged and wins over reasoning_effort.
 */
export function planThinking(
  request: ChatRequest,
  model: string,
  maxTokens: number,
  callerSetMaxTokens: boolean,
  defaultMaxTokens: number,
  outputConfig: AnthropicOutputConfig | undefined,
  warnings: CodecWarning[],
): ThinkingPlan {
  const effort = request.reasoning_effort as string | null | undefined;
  if (request.thinking !== undefined && request.thinking !== null) {
    if (effort !== undefined && effort !== null) {
      warnings.push({ param: 'reasoning_effort', message: 'An explicit `thinking` setting was sent; reasoning_effort was ignored.' });
    }
    return { thinking: request.thinking as AnthropicThinkingConfig, maxTokens };
  }
  if (effort === undefined || effort === null || effort === 'none') return { maxTokens };
  if (!Object.hasOwn(BUDGET_BY_EFFORT, effort)) {
    warnings.push({ param: 'reasoning_effort', message: `reasoning_effort '${effort}' has no Anthropic equivalent; it was dropped.` });
    return { maxTokens };
  }
  if (thinkingStyleForModel(model) === 'adaptive') {
    if (outputConfig?.effort !== undefined && outputConfig.effort !== null) {
      return { thinking: { type: 'adaptive' }, maxTokens };
    }
    return { thinking: { type: 'adaptive' }, effort: ADAPTIVE_EFFORT[effort], maxTokens };
  }
  let budget = BUDGET_BY_EFFORT[effort];
  if (!callerSetMaxTokens) {
    return { thinking: { type: 'enabled', budget_tokens: budget }, maxTokens: Math.max(maxTokens, budget + defaultMaxTokens) };
  }
  if (budget >= maxTokens) {
    const shrunk = Math.floor(maxTokens / 2);
    if (shrunk < MIN_THINKING_BUDGET) {
      warnings.push({
        param: 'reasoning_effort',
        message: `max_tokens ${maxTokens} leaves no room for Anthropic's minimum thinking budget (${MIN_THINKING_BUDGET}); thinking was not enabled.`,
      });
      return { maxTokens };
    }
    warnings.push({
      param: 'reasoning_effort',
      message: `The thinking budget for '${effort}' (${budget}) must be below max_tokens (${maxTokens}); it was lowered to ${shrunk}.`,
    });
    budget = shrunk;
  }
  return { thinking: { type: 'enabled', budget_tokens: budget }, maxTokens };
}

/** True when the thinking setting turns thinking on (enabled or adaptive). */
export function thinkingIsOn(thinking: AnthropicThinkingConfig | undefined): boolean {
  return thinking !== undefined && thinking.type !== 'disabled';
}
