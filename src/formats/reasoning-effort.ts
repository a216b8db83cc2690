/**
 * How hard a model thinks, in every format's own terms, in one table: OpenAI
 * `reasoning_effort`, Anthropic `thinking.budget_tokens` (budget models) and
 * `output_config.effort` (adaptive models), Gemini `thinkingBudget` (2.x) and
 * `thinkingLevel` (3+). Every codec that maps one of them to another reads
 * this table, so a budget means the same effort whichever way a request goes.
 *
 * | reasoning_effort | Anthropic budget | Anthropic effort | Gemini budget | Gemini level |
 * | ---------------- | ---------------- | ---------------- | ------------- | ------------ |
 * | none             | (thinking off)   | (thinking off)   | 0             | MINIMAL      |
 * | minimal          | 1,024            | low              | 512           | MINIMAL      |
 * | low              | 2,048            | low              | 1,024         | LOW          |
 * | medium           | 8,192            | medium           | 8,192         | MEDIUM       |
 * | high             | 16,384           | high             | 24,576        | HIGH         |
 * | xhigh            | 32,768           | xhigh            | 32,768        | HIGH         |
 * | max              | 65,536           | max              | 32,768        | HIGH         |
 *
 * Gemini's budgets are the ones Google's own OpenAI-compatible endpoint uses
 * (low 1,024, medium 8,192, high 24,576); minimal is 512, the smallest budget
 * every 2.5 model accepts; 32,768 is the largest a 2.5 model takes. Anthropic's
 * minimum budget is 1,024.
 *
 * The other way (a budget -> an effort), a budget maps to the smallest effort
 * whose Anthropic budget covers it, and never above `high`: many OpenAI
 * reasoning models refuse `xhigh` and `max`, which only an explicit effort
 * (Anthropic `output_config.effort`) asks for.
 *
 * @see https://platform.openai.com/docs/api-reference/chat/create#chat-create-reasoning_effort
 * @see https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking
 * @see https://docs.anthropic.com/en/docs/build-with-claude/effort
 * @see https://ai.google.dev/gemini-api/docs/thinking#set-budget
 * @see https://ai.google.dev/gemini-api/docs/openai#thinking
 */

export type ReasoningEffort = 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh' | 'max';
export type AnthropicEffort = 'low' | 'medium' | 'high' | 'xhigh' | 'max';
export type GeminiLevel = 'MINIMAL' | 'LOW' | 'MEDIUM' | 'HIGH';

interface EffortRow {
  anthropicBudget: number;
  anthropicEffort: AnthropicEffort;
  geminiBudget: number;
  geminiLevel: GeminiLevel;
}

const EFFORTS: Readonly<Record<Exclude<ReasoningEffort, 'none'>, EffortRow>> = {
  minimal: { anthropicBudget: 1024, anthropicEffort: 'low', geminiBudget: 512, geminiLevel: 'MINIMAL' },
  low: { anthropicBudget: 2048, anthropicEffort: 'low', geminiBudget: 1024, geminiLevel: 'LOW' },
  medium: { anthropicBudget: 8192, anthropicEffort: 'medium', geminiBudget: 8192, geminiLevel: 'MEDIUM' },
  high: { anthropicBudget: 16384, anthropicEffort: 'high', geminiBudget: 24576, geminiLevel: 'HIGH' },
  xhigh: { anthropicBudget: 32768, anthropicEffort: 'xhigh', geminiBudget: 32768, geminiLevel: 'HIGH' },
  max: { anthropicBudget: 65536, anthropicEffort: 'max', geminiBudget: 32768, geminiLevel: 'HIGH' },
};

/** The row of an effort; undefined for 'none' and for values no format defines. */
export function effortRow(effort: unknown): EffortRow | undefined {
  return typeof effort === 'string' && Object.hasOwn(EFFORTS, effort) ? EFFORTS[effort as keyof typeof EFFORTS] : undefined;
}

/** A thinking budget (Anthropic budget_tokens, Gemini thinkingBudget > 0) -> reasoning_effort, at most 'high'. */
export function effortForBudget(budget: number): 'minimal' | 'low' | 'medium' | 'high' {
  for (const effort of ['minimal', 'low', 'medium'] as const) {
    if (budget <= EFFORTS[effort].anthropicBudget) return effort;
  }
  return 'high';
}

/** Anthropic `output_config.effort` and Gemini `thinkingLevel` share OpenAI's names (lower case). */
export function effortForLevel(level: unknown): ReasoningEffort | undefined {
  if (typeof level !== 'string') return undefined;
  const lower = level.toLowerCase();
  return lower === 'none' || Object.hasOwn(EFFORTS, lower) ? (lower as ReasoningEffort) : undefined;
}
