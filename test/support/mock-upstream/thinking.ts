/**
 * Thinking in the mock, as the real APIs do it, so that a test can tell whether a provider's
 * reasoning state survived a round trip through a client:
 *
 * Anthropic (`thinking.type` 'enabled' or 'adaptive'):
 *   - the reply starts with `{type:'thinking', thinking:'Thinking about: <user text>', signature}`
 *     (streamed as thinking_delta then signature_delta);
 *   - every thinking block sent back must carry the signature the mock gave it, else 400
 *     "messages.<i>.content.<j>: Invalid `signature` in `thinking` block";
 *   - when the conversation ends in tool results, the assistant turn that made the calls must start
 *     with a thinking block, else 400 with Anthropic's wording ("Expected `thinking` or
 *     `redacted_thinking`, but found `tool_use`...").
 * Gemini 3 (models that validate thought signatures):
 *   - the first functionCall part of a reply carries a `thoughtSignature`;
 *   - in the current turn (after the last user text), the first functionCall part of each model
 *     content must carry a signature the mock gave (or Google's documented
 *     'skip_thought_signature_validator'), else 400 INVALID_ARGUMENT with Google's wording.
 *
 * @see https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#preserving-thinking-blocks
 * @see https://ai.google.dev/gemini-api/docs/thought-signatures
 */
import { createHash } from 'node:crypto';
import { isRecord } from './openai-common.js';

type Json = Record<string, unknown>;

/** The signature the mock gives a thought: the same text always gets the same signature. */
export function mockThoughtSignature(provider: 'anthropic' | 'gemini', text: string): string {
  return `mocksig_${createHash('sha256').update(`${provider}:${text}`).digest('base64url').slice(0, 32)}`;
}

export function anthropicThinkingOn(body: Json): boolean {
  return isRecord(body.thinking) && (body.thinking.type === 'enabled' || body.thinking.type === 'adaptive');
}

/** The thinking block a reply starts with. */
export function anthropicThinkingBlock(userText: string): Json {
  const thinking = `Thinking about: ${userText}`;
  return { type: 'thinking', thinking, signature: mockThoughtSignature('anthropic', thinking) };
}

function blocks(content: unknown): Json[] {
  return Array.isArray(content) ? content.filter(isRecord) : [];
}

/** Anthropic's 400 message for thinking blocks sent back wrong; undefined when they are fine. */
export function anthropicThinkingError(body: Json): string | undefined {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  for (const [i, message] of messages.entries()) {
    if (message.role !== 'assistant') continue;
    for (const [j, block] of blocks(message.content).entries()) {
      if (block.type !== 'thinking') continue;
      if (block.signature !== mockThoughtSignature('anthropic', String(block.thinking))) return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
    }
  }
  if (!anthropicThinkingOn(body)) return undefined;
  const last = messages[messages.length - 1];
  if (last === undefined || !blocks(last.content).some((block) => block.type === 'tool_result')) return undefined;
  const index = messages.length - 2;
  const assistant = messages[index];
  const first = assistant === undefined ? undefined : blocks(assistant.content)[0];
  if (first === undefined || first.type === 'thinking' || first.type === 'redacted_thinking') return undefined;
  return `messages.${index}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first.type)}\`. `
    + 'When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). '
    + 'We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. '
    + 'Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking';
}

/** Gemini 3 and later validate thought signatures (1.x and 2.x do not). */
export function geminiValidatesSignatures(model: string): boolean {
  return /gemini-([3-9]|\d{2,})/.test(model);
}

/** Signs the first functionCall part of a reply (Gemini 3). */
export function signGeminiCalls(parts: Json[]): Json[] {
  const first = parts.findIndex((part) => isRecord(part.functionCall));
  if (first === -1) return parts;
  const signed = [...parts];
  signed[first] = { ...parts[first], thoughtSignature: callSignature(parts[first].functionCall as Json) };
  return signed;
}

function callSignature(call: Json): string {
  return mockThoughtSignature('gemini', `${String(call.name)}:${JSON.stringify(call.args ?? {})}`);
}

const SKIP_VALIDATOR = 'skip_thought_signature_validator';

/** Google's 400 message for a function call of the current turn sent back without its signature. */
export function geminiSignatureError(body: Json): string | undefined {
  const contents = Array.isArray(body.contents) ? body.contents.filter(isRecord) : [];
  let start = 0;
  contents.forEach((content, i) => {
    const parts = Array.isArray(content.parts) ? content.parts.filter(isRecord) : [];
    if (content.role !== 'model' && parts.some((part) => typeof part.text === 'string')) start = i + 1;
  });
  let position = 0;
  for (const content of contents.slice(start)) {
    const parts = Array.isArray(content.parts) ? content.parts.filter(isRecord) : [];
    if (content.role !== 'model') continue;
    const call = parts.find((part) => isRecord(part.functionCall));
    position += 1;
    if (call === undefined) continue;
    const signature = call.thoughtSignature;
    const name = String((call.functionCall as Json).name);
    if (signature === undefined) {
      return `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${name}\` , position ${position}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`;
    }
    if (signature !== SKIP_VALIDATOR && signature !== callSignature(call.functionCall as Json)) {
      return 'Thought signature is not valid.';
    }
  }
  return undefined;
}
