import type { ChatMessage, ChatRequest, ThinkingBlock } from '../openai/types.js';
import type { CodecWarning } from '../types.js';
import { effortRow, type AnthropicEffort } from '../reasoning-effort.js';
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
 * The effort -> budget / effort values are the shared table of
 * ../reasoning-effort.ts; `none` sends no thinking.
 *
 * With a budget and no caller `max_tokens`, `max_tokens` becomes budget +
 * default so the answer keeps its room, but never above the model's largest
 * output (the catalog's, when known); with a `max_tokens` too small for the
 * budget, the budget shrinks (with a warning) or thinking is dropped.
 *
 * @see https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking
 * @see https://docs.anthropic.com/en/docs/build-with-claude/adaptive-thinking
 * @see https://platform.openai.com/docs/api-reference/chat/create#chat-create-reasoning_effort
 */
export type ThinkingStyle = 'adaptive' | 'budget';

export const MIN_THINKING_BUDGET = 1024;

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
  effort?: AnthropicEffort;
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
  maxOutputTokens: number | undefined,
  outputConfig: AnthropicOutputConfig | undefined,
  warnings: CodecWarning[],
): ThinkingPlan {
  const effort = request.reasoning_effort as string | null | undefined;
  if (request.thinking !== undefined && request.thinking !== null) {
    const row = effortRow(effort);
    if (request.thinking.type === 'adaptive' && row !== undefined && (outputConfig?.effort === undefined || outputConfig.effort === null)) {
      // Adaptive thinking is steered by an effort: the caller's reasoning_effort is that effort.
      return { thinking: request.thinking as AnthropicThinkingConfig, effort: row.anthropicEffort, maxTokens };
    }
    if (effort !== undefined && effort !== null) {
      warnings.push({ param: 'reasoning_effort', message: 'An explicit `thinking` setting was sent; reasoning_effort was ignored.' });
    }
    return { thinking: request.thinking as AnthropicThinkingConfig, maxTokens };
  }
  if (effort === undefined || effort === null || effort === 'none') return { maxTokens };
  const row = effortRow(effort);
  if (row === undefined) {
    warnings.push({ param: 'reasoning_effort', message: `reasoning_effort '${effort}' has no Anthropic equivalent; it was dropped.` });
    return { maxTokens };
  }
  if (thinkingStyleForModel(model) === 'adaptive') {
    if (outputConfig?.effort !== undefined && outputConfig.effort !== null) {
      return { thinking: { type: 'adaptive' }, maxTokens };
    }
    return { thinking: { type: 'adaptive' }, effort: row.anthropicEffort, maxTokens };
  }
  let budget = row.anthropicBudget;
  if (!callerSetMaxTokens) {
    const roomy = Math.max(maxTokens, budget + defaultMaxTokens);
    if (maxOutputTokens === undefined || roomy <= maxOutputTokens) return { thinking: { type: 'enabled', budget_tokens: budget }, maxTokens: roomy };
    // The model's largest output cannot hold the budget and the answer's room: the budget gives way below.
    maxTokens = maxOutputTokens;
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

/**
 * The thinking blocks of Anthropic content, exactly (a thinking block without a signature is kept with
 * an empty one, as the stream's content_block_start shows it).
 */
export function thinkingBlocksOf(content: readonly unknown[]): ThinkingBlock[] {
  const blocks: ThinkingBlock[] = [];
  for (const block of content) {
    if (typeof block !== 'object' || block === null) continue;
    const { type, thinking, signature, data } = block as Record<string, unknown>;
    if (type === 'thinking' && typeof thinking === 'string') {
      blocks.push({ type: 'thinking', thinking, signature: typeof signature === 'string' ? signature : '' });
    } else if (type === 'redacted_thinking' && typeof data === 'string') {
      blocks.push({ type: 'redacted_thinking', data });
    }
  }
  return blocks;
}

/**
 * An assistant message's thinking as Anthropic blocks: its exact `thinking_blocks` when it has them,
 * else `reasoning_content` + `reasoning_signature` and `redacted_thinking` (older canonical form, and
 * OpenAI-compatible clients that keep only those). Reasoning without a signature cannot go back.
 */
export function assistantThinkingBlocks(message: ChatMessage): { blocks: ThinkingBlock[]; unsigned: boolean } {
  if (Array.isArray(message.thinking_blocks)) {
    const blocks = thinkingBlocksOf(message.thinking_blocks);
    if (blocks.length > 0) return { blocks, unsigned: false };
  }
  const blocks: ThinkingBlock[] = [];
  let unsigned = false;
  const reasoning = message.reasoning_content;
  if (typeof reasoning === 'string' && reasoning !== '') {
    if (typeof message.reasoning_signature === 'string' && message.reasoning_signature !== '') {
      blocks.push({ type: 'thinking', thinking: reasoning, signature: message.reasoning_signature });
    } else unsigned = true;
  }
  if (Array.isArray(message.redacted_thinking)) {
    for (const data of message.redacted_thinking) if (typeof data === 'string') blocks.push({ type: 'redacted_thinking', data });
  }
  return { blocks, unsigned };
}

/** Canonical thinking fields of an assistant message from Anthropic blocks (the exact blocks and their summary). */
export function thinkingFields(blocks: readonly ThinkingBlock[]): Omit<Partial<ChatMessage>, 'role'> {
  if (blocks.length === 0) return {};
  const fields: Omit<Partial<ChatMessage>, 'role'> = { thinking_blocks: [...blocks] };
  const thinking = blocks.filter((block) => block.type === 'thinking');
  const redacted = blocks.filter((block) => block.type === 'redacted_thinking');
  if (thinking.length > 0) fields.reasoning_content = thinking.map((block) => block.thinking).join('');
  const signature = thinking.map((block) => block.signature).filter((s) => s !== '').pop();
  if (signature !== undefined) fields.reasoning_signature = signature;
  if (redacted.length > 0) fields.redacted_thinking = redacted.map((block) => block.data);
  return fields;
}
