/**
 * Fits a canonical chat request to its target model before the provider codec
 * encodes it: the output limit is lowered to the model's maximum, OpenAI
 * reasoning models get `max_completion_tokens` instead of `max_tokens` and lose
 * the sampling parameters they refuse, and a model that refuses two parameters
 * together (current Claude: temperature and top_p) keeps the first; a model the
 * catalog knows does not reason loses the thinking parameters (it would refuse
 * them), and a thinking budget is kept below a lowered output limit. Everything
 * dropped or changed is named in a warning. Pure: the request is not mutated.
 */
import { MIN_THINKING_BUDGET } from '../formats/anthropic/thinking.js';
import type { ChatRequest } from '../formats/openai/types.js';
import type { CodecWarning } from '../formats/types.js';
import type { ModelFacts, RefusedParam } from './types.js';

export interface FittedRequest {
  request: ChatRequest;
  warnings: CodecWarning[];
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** A refused parameter is harmless when it holds the one value the model takes (or `false` for a switch). */
function harmless(rule: RefusedParam, value: unknown): boolean {
  return value === rule.allowed || value === false;
}

/**
 * The canonical fields that ask a model to think: OpenAI `reasoning_effort`, Anthropic `thinking`
 * (also a Gemini caller's thinkingBudget), and a Gemini caller's own thinkingConfig.
 */
const THINKING_PARAMS = ['reasoning_effort', 'thinking', 'gemini_thinking_config'] as const;

/** False when the value turns thinking off (nothing is lost when it is dropped for a model that does not think). */
function asksToThink(param: (typeof THINKING_PARAMS)[number], value: unknown): boolean {
  const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  if (param === 'reasoning_effort') return value !== 'none';
  if (param === 'thinking') return record?.type !== 'disabled';
  return record?.thinkingBudget !== 0;
}

/** Drops the thinking parameters for a model that does not reason; one warning names what was asked. */
function dropThinking(fields: Record<string, unknown>, edit: () => Record<string, unknown>, model: string, warnings: CodecWarning[]): void {
  let warned = false;
  for (const param of THINKING_PARAMS) {
    const value = fields[param];
    if (!isSet(value)) continue;
    delete edit()[param];
    if (warned || !asksToThink(param, value)) continue;
    warned = true;
    const name = param === 'gemini_thinking_config' ? 'thinkingConfig' : param;
    warnings.push({ param: name, message: `${model} is not a reasoning model and refuses '${name}', so it was dropped.` });
  }
}

/**
 * A thinking budget must stay below the output limit (Anthropic refuses `max_tokens` <= `budget_tokens`):
 * after the limit was lowered to `max`, a budget at or above it is lowered to half of it (at least
 * Anthropic's minimum), or thinking is dropped when not even that fits, as the Anthropic codec
 * does for an effort's budget (formats/anthropic/thinking.ts).
 */
function fitThinkingBudget(fields: Record<string, unknown>, edit: () => Record<string, unknown>, max: number, model: string, warnings: CodecWarning[]): void {
  const thinking = fields.thinking as { type?: unknown; budget_tokens?: unknown } | null | undefined;
  if (thinking?.type !== 'enabled' || typeof thinking.budget_tokens !== 'number' || thinking.budget_tokens < max) return;
  const budget = Math.max(MIN_THINKING_BUDGET, Math.floor(max / 2));
  if (budget >= max) {
    delete edit().thinking;
    warnings.push({ param: 'thinking', message: `thinking.budget_tokens ${thinking.budget_tokens} does not fit below the output limit of ${model} (${max} tokens), so thinking was dropped.` });
    return;
  }
  edit().thinking = { ...thinking, budget_tokens: budget };
  warnings.push({ param: 'thinking', message: `thinking.budget_tokens ${thinking.budget_tokens} is not below the lowered output limit of ${model} (${max} tokens), so it was lowered to ${budget}.` });
}

export function fitRequestToModel(request: ChatRequest, facts: ModelFacts, model: string = request.model): FittedRequest {
  const warnings: CodecWarning[] = [];
  let out: ChatRequest | undefined;
  const edit = (): Record<string, unknown> => (out ??= { ...request }) as Record<string, unknown>;
  const fields = request as unknown as Record<string, unknown>;

  // The output limit: whichever field the caller used, capped at the model's maximum.
  const field = isSet(request.max_completion_tokens) ? 'max_completion_tokens' : isSet(request.max_tokens) ? 'max_tokens' : undefined;
  const max = facts.maxOutputTokens;
  if (field !== undefined && max !== undefined) {
    const asked = fields[field];
    if (typeof asked === 'number' && asked > max) {
      edit()[field] = max;
      warnings.push({ param: field, message: `${field} ${asked} is above the maximum output of ${model} (${max} tokens), so it was lowered to ${max}.` });
      if (facts.reasoning || !facts.reasoningKnown) fitThinkingBudget(fields, edit, max, model, warnings);
    }
  }
  if (facts.reasoningKnown && !facts.reasoning) dropThinking(fields, edit, model, warnings);
  const rules = facts.rules;
  if (rules.maxTokensField === 'max_completion_tokens' && isSet(request.max_tokens)) {
    const body = edit();
    body.max_completion_tokens ??= body.max_tokens;
    delete body.max_tokens;
  }
  for (const rule of rules.refuses) {
    const value = fields[rule.param];
    if (!isSet(value) || harmless(rule, value)) continue;
    delete edit()[rule.param];
    const only = rule.allowed === undefined ? '' : ` (only ${String(rule.allowed)})`;
    warnings.push({ param: rule.param, message: `${model} does not take '${rule.param}'${only}, so it was dropped.` });
  }
  for (const [kept, dropped] of rules.exclusive) {
    if (!isSet(fields[kept]) || !isSet(fields[dropped])) continue;
    delete edit()[dropped];
    warnings.push({ param: dropped, message: `${model} does not take '${kept}' and '${dropped}' together, so '${dropped}' was dropped.` });
  }
  return { request: out ?? request, warnings };
}
