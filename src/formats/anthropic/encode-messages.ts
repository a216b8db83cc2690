import { invalidField } from '../../errors/gateway-error.js';
import type { ChatMessage, ToolCall } from '../openai/types.js';
import type { CodecWarning } from '../types.js';
import { cacheControlOf, encodeContent } from './encode-content.js';
import { assistantThinkingBlocks } from './thinking.js';
import type {
  AnthropicContentBlock,
  AnthropicMessageParam,
  AnthropicTextBlock,
  AnthropicToolResultBlock,
  AnthropicToolUseBlock,
} from './types.js';

/**
 * Canonical messages -> Anthropic `system` + `messages`.
 * - system and developer messages, wherever they are, become the top-level `system`
 *   (one after the conversation started is moved there with a warning);
 * - assistant thinking goes first, exactly as Anthropic sent it (`thinking_blocks`),
 *   then server-tool blocks, text and tool_use;
 * - `tool` messages become `tool_result` blocks in a user turn;
 * - consecutive turns of one role are merged, as Anthropic requires alternation.
 * @see https://docs.anthropic.com/en/api/messages#body-messages
 * @see https://docs.anthropic.com/en/docs/build-with-claude/tool-use/implement-tool-use#handling-tool-use-and-tool-result-content-blocks
 */

export interface EncodedMessages {
  system: string | AnthropicTextBlock[] | undefined;
  messages: AnthropicMessageParam[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function systemBlocks(message: ChatMessage, path: string, warnings: CodecWarning[]): AnthropicTextBlock[] {
  const blocks: AnthropicTextBlock[] = [];
  for (const block of encodeContent(message.content, `${path}.content`, warnings)) {
    if (block.type === 'text') blocks.push(block);
    else warnings.push({ param: `${path}.content`, message: 'Anthropic system prompts take text only; a non-text part was dropped.' });
  }
  return blocks;
}

function parseArguments(call: ToolCall, path: string): unknown {
  const raw = call.function?.arguments;
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return {};
  if (typeof raw !== 'string') throw invalidField(path, 'Tool call arguments must be a JSON string.');
  let input: unknown;
  try {
    input = JSON.parse(raw);
  } catch {
    throw invalidField(path, 'Tool call arguments are not valid JSON.');
  }
  if (!isRecord(input)) throw invalidField(path, 'Tool call arguments must be a JSON object.');
  return input;
}

function assistantBlocks(message: ChatMessage, i: number, warnings: CodecWarning[]): AnthropicContentBlock[] {
  const { blocks: thinking, unsigned } = assistantThinkingBlocks(message);
  if (unsigned) {
    warnings.push({
      param: `messages[${i}].reasoning_content`,
      message: 'Reasoning without an Anthropic signature cannot be sent back to Anthropic; it was dropped.',
    });
  }
  const blocks: AnthropicContentBlock[] = [...thinking];
  if (Array.isArray(message.anthropic_server_blocks)) {
    for (const block of message.anthropic_server_blocks) if (isRecord(block)) blocks.push(block as unknown as AnthropicContentBlock);
  }
  blocks.push(...encodeContent(message.content, `messages[${i}].content`, warnings));
  if (message.tool_calls !== undefined && message.tool_calls !== null) {
    if (!Array.isArray(message.tool_calls)) throw invalidField(`messages[${i}].tool_calls`, 'tool_calls must be an array.');
    message.tool_calls.forEach((call, j) => {
      const path = `messages[${i}].tool_calls[${j}]`;
      if (!isRecord(call) || !isRecord(call.function) || typeof call.function.name !== 'string') {
        throw invalidField(`${path}.function.name`, 'A tool call needs a function name.');
      }
      if (typeof call.id !== 'string' || call.id === '') throw invalidField(`${path}.id`, 'A tool call needs an id.');
      const block: AnthropicToolUseBlock = {
        type: 'tool_use',
        id: call.id,
        name: call.function.name,
        input: parseArguments(call, `${path}.function.arguments`),
      };
      blocks.push(block);
    });
  }
  return blocks;
}

function toolResultBlock(message: ChatMessage, i: number, warnings: CodecWarning[]): AnthropicToolResultBlock {
  if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') {
    throw invalidField(`messages[${i}].tool_call_id`, 'A tool message needs the tool_call_id it answers.');
  }
  const block: AnthropicToolResultBlock = { type: 'tool_result', tool_use_id: message.tool_call_id };
  if (typeof message.content === 'string') {
    if (message.content !== '') block.content = message.content;
  } else {
    const parts = encodeContent(message.content, `messages[${i}].content`, warnings);
    if (parts.length > 0) block.content = parts;
  }
  if (message.is_error === true) block.is_error = true;
  const marker = cacheControlOf(message);
  if (marker !== undefined) block.cache_control = marker;
  return block;
}

/** A message-level `cache_control` marks the last block of that message. */
function applyMessageCache(message: ChatMessage, blocks: AnthropicContentBlock[]): void {
  const marker = cacheControlOf(message);
  const last = blocks[blocks.length - 1];
  if (marker === undefined || last === undefined) return;
  if (last.type === 'thinking' || last.type === 'redacted_thinking') return;
  last.cache_control = marker;
}

/** One plain text block reads best as a string; everything else stays blocks. */
function compact(content: AnthropicContentBlock[]): string | AnthropicContentBlock[] {
  const only = content[0];
  if (content.length === 1 && only.type === 'text' && only.cache_control === undefined && only.citations === undefined) {
    return only.text;
  }
  return content;
}

export function encodeMessages(messages: unknown, warnings: CodecWarning[]): EncodedMessages {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw invalidField('messages', 'messages must be a non-empty array.');
  }
  const system: AnthropicTextBlock[] = [];
  const turns: Array<{ role: 'user' | 'assistant'; content: AnthropicContentBlock[] }> = [];
  const push = (role: 'user' | 'assistant', content: AnthropicContentBlock[]): void => {
    const last = turns[turns.length - 1];
    if (last !== undefined && last.role === role) last.content.push(...content);
    else turns.push({ role, content });
  };

  (messages as unknown[]).forEach((raw, i) => {
    if (!isRecord(raw)) throw invalidField(`messages[${i}]`, 'A message must be an object.');
    const message = raw as ChatMessage;
    if (typeof message.name === 'string' && message.role !== 'tool') {
      warnings.push({ param: `messages[${i}].name`, message: 'Anthropic has no participant names; the name was dropped.' });
    }
    let blocks: AnthropicContentBlock[];
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...systemBlocks(message, `messages[${i}]`, warnings));
        return;
      case 'user':
        blocks = encodeContent(message.content, `messages[${i}].content`, warnings);
        break;
      case 'assistant':
        blocks = assistantBlocks(message, i, warnings);
        break;
      case 'tool':
        push('user', [toolResultBlock(message, i, warnings)]);
        return;
      case 'function':
        throw invalidField(`messages[${i}].role`, "The legacy 'function' role is not supported; use tool messages.");
      default:
        throw invalidField(`messages[${i}].role`, `Unknown message role '${String(message.role)}'.`);
    }
    if (blocks.length === 0) {
      warnings.push({ param: `messages[${i}].content`, message: 'Anthropic rejects empty messages; an empty message was dropped.' });
      return;
    }
    applyMessageCache(message, blocks);
    push(message.role, blocks);
  });

  if (turns.length === 0) {
    throw invalidField('messages', 'messages must hold at least one user or assistant message with content.');
  }
  const onlySystem = system[0];
  const encodedSystem = system.length === 0
    ? undefined
    : system.length === 1 && onlySystem.cache_control === undefined ? onlySystem.text : system;
  return {
    system: encodedSystem,
    messages: turns.map((turn) => ({ role: turn.role, content: compact(turn.content) })),
  };
}
