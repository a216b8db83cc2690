import type { FinishReason } from '../openai/types.js';

/**
 * Gemini finishReason -> OpenAI finish_reason. A candidate that holds a
 * functionCall part finishes with `tool_calls` whatever Gemini says (Gemini
 * reports STOP). MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL and
 * TOO_MANY_TOOL_CALLS carry no usable call, so they end as `stop` (the
 * content is what the model produced before it failed). LANGUAGE, OTHER,
 * NO_IMAGE and unknown future reasons are `stop` too.
 *
 * @see https://ai.google.dev/api/generate-content#FinishReason
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices
 */
const FROM_GEMINI: Readonly<Record<string, FinishReason>> = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
  IMAGE_PROHIBITED_CONTENT: 'content_filter',
  IMAGE_RECITATION: 'content_filter',
  MALFORMED_FUNCTION_CALL: 'stop',
  UNEXPECTED_TOOL_CALL: 'stop',
  TOO_MANY_TOOL_CALLS: 'stop',
  LANGUAGE: 'stop',
  OTHER: 'stop',
  NO_IMAGE: 'stop',
  FINISH_REASON_UNSPECIFIED: 'stop',
};

export function mapGeminiFinishReason(reason: string | undefined, hasToolCalls: boolean): FinishReason {
  if (hasToolCalls) return 'tool_calls';
  return (reason !== undefined && FROM_GEMINI[reason]) || 'stop';
}

/**
 * OpenAI finish_reason -> Gemini finishReason, for the Gemini surface.
 * Gemini has no "tool_calls" reason: a function call ends with STOP.
 */
const TO_GEMINI: Readonly<Record<FinishReason, string>> = {
  stop: 'STOP',
  length: 'MAX_TOKENS',
  tool_calls: 'STOP',
  function_call: 'STOP',
  content_filter: 'SAFETY',
};

export function toGeminiFinishReason(reason: FinishReason | null | undefined): string {
  return (reason != null && TO_GEMINI[reason]) || 'STOP';
}
