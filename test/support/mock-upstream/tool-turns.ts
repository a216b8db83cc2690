/**
 * How the real APIs check that tool calls and their results match, with
 * their error texts: every call of an assistant turn answered right after it
 * (by `tool` messages with its `tool_call_id` in OpenAI Chat Completions, by
 * `tool_result` blocks with its `tool_use_id` in the next user message in
 * Anthropic Messages), and no result without its call.
 *
 * @see https://platform.openai.com/docs/guides/function-calling
 * @see https://docs.claude.com/en/docs/agents-and-tools/tool-use/implement-tool-use
 */
import { isRecord } from './openai-common.js';

type Json = Record<string, unknown>;

/** The OpenAI error message (and its param) for a conversation whose tool messages do not match its calls. */
export function openaiToolTurnRefusal(messages: readonly unknown[]): { message: string; param: string } | undefined {
  const list = messages.filter(isRecord);
  for (let i = 0; i < list.length; i++) {
    const message = list[i];
    if (message.role === 'tool') {
      const previous = list.slice(0, i).reverse().find((m) => m.role !== 'tool');
      if (!Array.isArray(previous?.tool_calls) || previous.tool_calls.length === 0) {
        return { message: "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", param: `messages.[${i}].role` };
      }
    }
    if (message.role !== 'assistant' || !Array.isArray(message.tool_calls) || message.tool_calls.length === 0) continue;
    const answered = new Set<string>();
    for (let j = i + 1; j < list.length && list[j].role === 'tool'; j++) answered.add(String(list[j].tool_call_id));
    const missing = message.tool_calls.filter(isRecord).map((call) => String(call.id)).filter((id) => !answered.has(id));
    if (missing.length > 0) {
      return {
        message: `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${missing.join(', ')}`,
        param: `messages.[${i}].role`,
      };
    }
  }
  return undefined;
}

function blocksOf(content: unknown): Json[] {
  return Array.isArray(content) ? content.filter(isRecord) : [];
}

/** The Anthropic error message for a conversation whose tool_result blocks do not match its tool_use blocks. */
export function anthropicToolTurnRefusal(messages: readonly unknown[]): string | undefined {
  const list = messages.filter(isRecord);
  for (let i = 0; i < list.length; i++) {
    const uses = list[i].role === 'assistant' ? blocksOf(list[i].content).filter((block) => block.type === 'tool_use').map((block) => String(block.id)) : [];
    const next = list[i + 1];
    const results = next?.role === 'user' ? blocksOf(next.content).filter((block) => block.type === 'tool_result') : [];
    if (uses.length > 0 && next !== undefined) {
      const answered = new Set(results.map((block) => String(block.tool_use_id)));
      const missing = uses.filter((id) => !answered.has(id));
      if (missing.length > 0) {
        return `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
      }
    }
    const own = list[i].role === 'user' ? blocksOf(list[i].content) : [];
    const previousUses = new Set(i > 0 && list[i - 1].role === 'assistant'
      ? blocksOf(list[i - 1].content).filter((block) => block.type === 'tool_use').map((block) => String(block.id))
      : []);
    for (const [j, block] of own.entries()) {
      if (block.type === 'tool_result' && !previousUses.has(String(block.tool_use_id))) {
        return `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
      }
    }
  }
  return undefined;
}
