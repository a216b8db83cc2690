/**
 * Fits a canonical chat request to its target model before the provider codec
 * encodes it: the output limit is lowered to the model's maximum, OpenAI
 * reasoning models get `max_completion_tokens` instead of `max_tokens` and lose
 * the sampling parameters they refuse, and a model that refuses two parameters
 * together (current Claude: temperature and top_p) keeps the first. Everything
 * dropped or changed is named in a warning. Pure: the request is not mutated.
 */
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
    }
  }
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
