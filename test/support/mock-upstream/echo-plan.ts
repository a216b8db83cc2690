/**
 * The reply rules every wire format of the mock shares, so that one
 * expectation holds whichever provider format answers (see openai.ts for the
 * OpenAI original):
 *
 * - text `echo: <text of the last user turn>`;
 * - tool calls instead when tools are declared, the choice is not 'none' and
 *   the conversation ends with a user turn (not a tool result): a named choice
 *   -> one call to it; else user text containing 'parallel' (and parallel calls
 *   allowed) -> one call per tool, first two tools; else one call to the first
 *   tool. Arguments `{"text":"<user text>"}`;
 * - usage: prompt = words over every counted text; completion = words of the
 *   text, or TOOL_CALL_TOKENS per call;
 * - a text longer than the request's output limit (max_tokens, maxOutputTokens,
 *   maxTokens: whichever the format calls it) is cut to that many words and the
 *   reply finishes for length, in the format's own spelling. Tool calls are never cut.
 *
 * Each format module turns its own request into an EchoRequest and the plan
 * back into its own reply and stream framing.
 */
import { TOOL_CALL_TOKENS } from './openai-chat.js';
import { countWords, limitText, splitEvenly, splitWords } from './text.js';

export { TOOL_CALL_TOKENS };

export type EchoToolChoice = 'auto' | 'none' | 'required' | { name: string };

export interface EchoRequest {
  /** Text of the last user turn ('' when there is none). */
  userText: string;
  /** True when the conversation ends with a user turn that is not (only) tool results. */
  endsWithUser: boolean;
  /** Every text counted for prompt tokens (system, every turn). */
  promptTexts: readonly string[];
  /** Declared function names, in order. */
  toolNames: readonly string[];
  toolChoice?: EchoToolChoice;
  /** False when the caller turned parallel calls off. Default true. */
  parallel?: boolean;
  /** The request's output token limit, if it set one. */
  maxTokens?: number;
}

export interface EchoCall {
  name: string;
  /** The arguments as a JSON string, exactly `{"text":"<user text>"}` (a scripted turn's: see scripted-turn.ts). */
  arguments: string;
  /** The same arguments as an object. */
  input: Readonly<Record<string, unknown>>;
}

export interface EchoPlan {
  /** The reply text; undefined when the reply is tool calls. */
  text: string | undefined;
  calls: EchoCall[];
  promptTokens: number;
  completionTokens: number;
  /** The text was cut at the output limit: the reply finishes for length. */
  truncated: boolean;
}

export function planEcho(request: EchoRequest): EchoPlan {
  const promptTokens = request.promptTexts.reduce((sum, text) => sum + countWords(text), 0);
  const names = plannedNames(request);
  if (names === undefined) {
    const { text, truncated } = limitText(`echo: ${request.userText}`, request.maxTokens);
    return { text, calls: [], promptTokens, completionTokens: countWords(text), truncated };
  }
  const input = { text: request.userText };
  const calls = names.map((name) => ({ name, arguments: JSON.stringify(input), input }));
  return { text: undefined, calls, promptTokens, completionTokens: TOOL_CALL_TOKENS * calls.length, truncated: false };
}

function plannedNames(request: EchoRequest): string[] | undefined {
  const tools = request.toolNames;
  if (tools.length === 0 || request.toolChoice === 'none' || !request.endsWithUser) return undefined;
  const choice = request.toolChoice;
  if (typeof choice === 'object') return [choice.name];
  if (request.userText.includes('parallel') && request.parallel !== false) return tools.slice(0, 2);
  return [tools[0]];
}

/** Stream pieces of the reply text (one per word, whitespace kept). */
export function textPieces(text: string): string[] {
  return splitWords(text);
}

/** Stream pieces of a call's arguments: 3 near-equal pieces, as the OpenAI mock sends them. */
export function argumentPieces(call: EchoCall): string[] {
  return splitEvenly(call.arguments, 3);
}
