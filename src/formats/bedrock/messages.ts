/**
 * Canonical (OpenAI) messages -> Converse `system` and `messages`.
 *
 * - system and developer messages become `system` text blocks, wherever they are.
 * - tool messages become `toolResult` blocks in a user message; Converse wants
 *   user and assistant turns to alternate, so consecutive turns of one role merge.
 * - assistant tool calls become `toolUse` blocks (arguments parsed to an object).
 * - a part carrying `cache_control` (Anthropic surface) is followed by a `cachePoint`.
 * - `toolResult.status` is left out: only Claude models take it.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Message.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html
 */
import { invalidField } from '../../errors/gateway-error.js';
import type { ChatMessage, ContentPart } from '../openai/types.js';
import { documentBlock, imageBlock } from './media.js';
import type { BedrockContentBlock, BedrockMessage, BedrockSystemBlock } from './types.js';

const CACHE_POINT = { cachePoint: { type: 'default' } } as const;

export interface ConvertedMessages {
  system: BedrockSystemBlock[];
  messages: BedrockMessage[];
  /** True when the history holds toolUse/toolResult blocks (Converse then requires a toolConfig). */
  hasToolBlocks: boolean;
}

function hasCacheControl(part: unknown): boolean {
  return typeof part === 'object' && part !== null && (part as { cache_control?: unknown }).cache_control != null;
}

function systemBlocks(message: ChatMessage, index: number): BedrockSystemBlock[] {
  const content = message.content;
  if (typeof content === 'string') return content.length > 0 ? [{ text: content }] : [];
  if (content == null) return [];
  const blocks: BedrockSystemBlock[] = [];
  content.forEach((part, j) => {
    if (part.type !== 'text') throw invalidField(`messages[${index}].content[${j}]`, 'System messages may hold text parts only.');
    if (part.text.length > 0) blocks.push({ text: part.text });
    if (hasCacheControl(part)) blocks.push(CACHE_POINT);
  });
  return blocks;
}

function userBlocks(content: ChatMessage['content'], index: number): BedrockContentBlock[] {
  if (typeof content === 'string') return content.length > 0 ? [{ text: content }] : [];
  if (content == null) return [];
  const blocks: BedrockContentBlock[] = [];
  content.forEach((part: ContentPart, j) => {
    const param = `messages[${index}].content[${j}]`;
    switch (part.type) {
      case 'text':
        if (part.text.length > 0) blocks.push({ text: part.text });
        break;
      case 'image_url':
        blocks.push(imageBlock(part, `${param}.image_url.url`));
        break;
      case 'file':
        blocks.push(documentBlock(part, param, `document-${index}-${j}`));
        break;
      case 'input_audio':
        throw invalidField(param, 'Bedrock Converse does not take audio input.');
      default:
        throw invalidField(`${param}.type`, `Unknown content part type "${(part as { type?: unknown }).type}".`);
    }
    if (hasCacheControl(part)) blocks.push(CACHE_POINT);
  });
  return blocks;
}

function parseArguments(text: string, param: string): unknown {
  if (text.trim().length === 0) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw invalidField(param, 'Tool call arguments must be a JSON string.');
  }
}

function assistantBlocks(message: ChatMessage, index: number): BedrockContentBlock[] {
  const blocks: BedrockContentBlock[] = [];
  // Claude's thinking blocks, exactly (an Anthropic caller's, or a Claude answer's), as reasoningContent.
  if (Array.isArray(message.thinking_blocks) && message.thinking_blocks.length > 0) {
    for (const block of message.thinking_blocks) {
      if (block?.type === 'thinking') blocks.push({ reasoningContent: { reasoningText: { text: block.thinking, signature: block.signature } } });
      else if (block?.type === 'redacted_thinking') blocks.push({ reasoningContent: { redactedContent: block.data } });
    }
  } else if (typeof message.reasoning_content === 'string' && message.reasoning_content.length > 0 && message.reasoning_signature) {
    // A thinking block can only be replayed with its signature (Claude rejects it otherwise).
    blocks.push({ reasoningContent: { reasoningText: { text: message.reasoning_content, signature: message.reasoning_signature } } });
  }
  const content = message.content;
  if (typeof content === 'string') {
    if (content.length > 0) blocks.push({ text: content });
  } else if (content != null) {
    content.forEach((part, j) => {
      const text = part.type === 'text' ? part.text : (part as { refusal?: unknown }).refusal;
      if (typeof text !== 'string') throw invalidField(`messages[${index}].content[${j}]`, 'Assistant messages may hold text parts only.');
      if (text.length > 0) blocks.push({ text });
      if (hasCacheControl(part)) blocks.push(CACHE_POINT);
    });
  }
  message.tool_calls?.forEach((call, j) => {
    const param = `messages[${index}].tool_calls[${j}]`;
    if (typeof call?.id !== 'string' || typeof call.function?.name !== 'string') {
      throw invalidField(param, 'A tool call needs an id and a function name.');
    }
    blocks.push({
      toolUse: {
        toolUseId: call.id,
        name: call.function.name,
        input: parseArguments(call.function.arguments ?? '', `${param}.function.arguments`),
      },
    });
  });
  return blocks;
}

function toolResultBlock(message: ChatMessage, index: number): BedrockContentBlock {
  if (typeof message.tool_call_id !== 'string') throw invalidField(`messages[${index}].tool_call_id`, 'A tool message needs tool_call_id.');
  const content = message.content;
  const parts: Array<{ text: string }> = [];
  if (typeof content === 'string' || content == null) {
    parts.push({ text: content ?? '' });
  } else {
    content.forEach((part, j) => {
      if (part.type !== 'text') throw invalidField(`messages[${index}].content[${j}]`, 'Tool messages may hold text parts only.');
      parts.push({ text: part.text });
    });
  }
  return { toolResult: { toolUseId: message.tool_call_id, content: parts } };
}

export function convertMessages(input: readonly ChatMessage[]): ConvertedMessages {
  if (!Array.isArray(input)) throw invalidField('messages', 'messages must be an array.');
  const system: BedrockSystemBlock[] = [];
  const messages: BedrockMessage[] = [];
  let hasToolBlocks = false;
  const append = (role: 'user' | 'assistant', blocks: BedrockContentBlock[]): void => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last !== undefined && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  input.forEach((message, i) => {
    switch (message?.role) {
      case 'system':
      case 'developer':
        system.push(...systemBlocks(message, i));
        break;
      case 'user':
        append('user', userBlocks(message.content, i));
        break;
      case 'assistant': {
        const blocks = assistantBlocks(message, i);
        if (message.tool_calls?.length) hasToolBlocks = true;
        append('assistant', blocks);
        break;
      }
      case 'tool':
        hasToolBlocks = true;
        append('user', [toolResultBlock(message, i)]);
        break;
      default:
        throw invalidField(`messages[${i}].role`, `Bedrock does not take messages with role "${String(message?.role)}".`);
    }
  });
  return { system, messages, hasToolBlocks };
}
