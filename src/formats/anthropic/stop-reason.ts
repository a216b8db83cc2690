import type { FinishReason } from '../openai/types.js';
import type { AnthropicStopReason } from './types.js';

/**
 * Anthropic `stop_reason` -> OpenAI `finish_reason`.
 * `pause_turn` (a server tool paused a long turn) ends the turn as far as the
 * caller can tell, so it reads as `stop`; a context-window stop is a length stop.
 * @see https://docs.anthropic.com/en/api/handling-stop-reasons
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices
 */
const FINISH_BY_STOP_REASON: Readonly<Record<AnthropicStopReason, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

export function finishReasonFromAnthropic(stopReason: unknown): FinishReason | null {
  if (typeof stopReason !== 'string') return null;
  return FINISH_BY_STOP_REASON[stopReason as AnthropicStopReason] ?? 'stop';
}

/**
 * OpenAI `finish_reason` -> Anthropic `stop_reason` (the surface direction).
 * `stop` becomes `stop_sequence` only when the upstream told which sequence matched.
 */
export function stopReasonFromFinish(
  finishReason: FinishReason | null | undefined,
  stopSequence: string | null,
): AnthropicStopReason {
  switch (finishReason) {
    case 'length': return 'max_tokens';
    case 'tool_calls': case 'function_call': return 'tool_use';
    case 'content_filter': return 'refusal';
    default: return stopSequence !== null ? 'stop_sequence' : 'end_turn';
  }
}
