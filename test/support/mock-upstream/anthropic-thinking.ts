/**
 * Extended thinking on the mock's Anthropic Messages route, with the rules
 * the real API enforces and its error texts:
 *
 * - `thinking: {type: 'enabled', budget_tokens}` (or `adaptive`): the reply
 *   starts with a `thinking` block carrying a `signature`;
 * - budget_tokens at least 1,024 and below max_tokens; no temperature other than 1;
 * - with thinking on, a conversation that ends with tool results must send
 *   back the assistant turn that made the calls starting with its thinking
 *   block, and every thinking block with the signature it came with.
 *
 * The signature is derived from the thinking text, so one that comes back
 * changed is caught without keeping state.
 *
 * @see https://docs.claude.com/en/docs/build-with-claude/extended-thinking
 */
import { isRecord } from './openai-common.js';

type Json = Record<string, unknown>;

const DOCS = 'https://docs.claude.com/en/docs/build-with-claude/extended-thinking';

/** The thinking text of every reply. */
export const MOCK_THINKING = 'Let me work out what to answer.';

export function thinkingEnabled(body: Json): boolean {
  return isRecord(body.thinking) && (body.thinking.type === 'enabled' || body.thinking.type === 'adaptive');
}

export function thinkingSignatureFor(thinking: string): string {
  return Buffer.from(`heimdall-mock-thinking:${thinking}`).toString('base64');
}

/** The block a reply starts with when thinking is on. */
export function thinkingBlock(): { type: 'thinking'; thinking: string; signature: string } {
  return { type: 'thinking', thinking: MOCK_THINKING, signature: thinkingSignatureFor(MOCK_THINKING) };
}

function blocksOf(content: unknown): Json[] {
  return Array.isArray(content) ? content.filter(isRecord) : [];
}

/** The error message for a thinking request the real API refuses; undefined when it is accepted. */
export function anthropicThinkingRefusal(body: Json): string | undefined {
  if (!thinkingEnabled(body)) return undefined;
  const thinking = body.thinking as Json;
  if (thinking.type === 'enabled') {
    const budget = thinking.budget_tokens;
    if (typeof budget !== 'number' || budget < 1024) return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
    if (typeof body.max_tokens === 'number' && body.max_tokens <= budget) {
      return `\`max_tokens\` must be greater than \`thinking.budget_tokens\`. Please consult our documentation at ${DOCS}#max-tokens-and-context-window-size`;
    }
  }
  if (typeof body.temperature === 'number' && body.temperature !== 1) {
    return `\`temperature\` may only be set to 1 when thinking is enabled. Please consult our documentation at ${DOCS}#feature-compatibility`;
  }
  const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  for (const [i, message] of messages.entries()) {
    if (message.role !== 'assistant') continue;
    for (const [j, block] of blocksOf(message.content).entries()) {
      if (block.type === 'thinking' && block.signature !== thinkingSignatureFor(String(block.thinking))) {
        return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
      }
    }
  }
  const last = messages[messages.length - 1];
  const endsWithResults = last?.role === 'user' && blocksOf(last.content).some((block) => block.type === 'tool_result');
  const callsAt = messages.length - 2;
  const calls = messages[callsAt];
  if (endsWithResults && calls?.role === 'assistant') {
    const first = blocksOf(calls.content)[0];
    if (first !== undefined && first.type !== 'thinking' && first.type !== 'redacted_thinking') {
      return `messages.${callsAt}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first.type)}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. Please consult our documentation at ${DOCS}`;
    }
  }
  return undefined;
}
