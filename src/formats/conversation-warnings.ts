/**
 * Warnings for what a canonical conversation says that a target format can
 * only approximate or cannot keep: shared by the provider codecs so every
 * target words them the same way (STYLE.md rule 7: never silently).
 */
import type { ChatMessage, ChatRequest } from './openai/types.js';
import type { CodecWarning } from './types.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * System and developer messages after the first user or assistant turn: targets
 * with one system prompt (Anthropic `system`, Gemini `systemInstruction`,
 * Bedrock `system`) move them there, in order, and lose their position.
 */
export function movedSystemWarnings(messages: readonly ChatMessage[], target: string): CodecWarning[] {
  const warnings: CodecWarning[] = [];
  let conversationStarted = false;
  messages.forEach((message, i) => {
    if (!isRecord(message)) return;
    if (message.role !== 'system' && message.role !== 'developer') {
      conversationStarted = true;
      return;
    }
    if (conversationStarted) {
      warnings.push({
        param: `messages[${i}]`,
        message: `${target} takes system instructions only before the conversation; this ${String(message.role)} message was moved into them (its position was lost).`,
      });
    }
  });
  return warnings;
}

function hasMarker(value: unknown, key: string): boolean {
  return isRecord(value) && value[key] !== undefined && value[key] !== null;
}

/**
 * Anthropic prompt-caching markers (`cache_control` on parts, tool messages and
 * tools, carried from an Anthropic caller) for a target that has no such hint:
 * one warning naming the first one. The target caches on its own, if at all.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
 */
export function cacheControlWarnings(request: ChatRequest, target: string): CodecWarning[] {
  const found = firstCacheMarker(request);
  if (found === undefined) return [];
  return [{ param: found, message: `${target} has no cache_control hint; the Anthropic prompt-caching markers were dropped.` }];
}

function firstCacheMarker(request: ChatRequest): string | undefined {
  const messages = Array.isArray(request.messages) ? request.messages : [];
  for (const [i, message] of messages.entries()) {
    if (hasMarker(message, 'cache_control')) return `messages[${i}].cache_control`;
    if (!isRecord(message) || !Array.isArray(message.content)) continue;
    for (const [j, part] of message.content.entries()) {
      if (hasMarker(part, 'cache_control')) return `messages[${i}].content[${j}].cache_control`;
    }
  }
  for (const [i, tool] of (Array.isArray(request.tools) ? request.tools : []).entries()) {
    if (hasMarker(tool, 'cache_control')) return `tools[${i}].cache_control`;
  }
  return undefined;
}

/**
 * Anthropic citations on assistant text (an Anthropic caller's history) or
 * server-tool blocks kept for an Anthropic target: other targets have no
 * place for them.
 */
export function anthropicOnlyBlockWarnings(messages: readonly ChatMessage[], target: string): CodecWarning[] {
  const warnings: CodecWarning[] = [];
  messages.forEach((message, i) => {
    if (!isRecord(message)) return;
    if (Array.isArray(message.content) && message.content.some((part) => hasMarker(part, 'citations'))) {
      warnings.push({ param: `messages[${i}].content`, message: `${target} has no citations; the citations of this message were dropped (its text was kept).` });
    }
    if (Array.isArray(message.anthropic_server_blocks) && message.anthropic_server_blocks.length > 0) {
      const types = [...new Set(message.anthropic_server_blocks.map((block) => (isRecord(block) ? String(block.type) : '?')))].join(', ');
      warnings.push({ param: `messages[${i}]`, message: `${target} cannot take Anthropic server-tool blocks (${types}); they were dropped.` });
    }
  });
  return warnings;
}

/** Every warning above for a target with one system prompt and no Anthropic-only features. */
export function foreignConversationWarnings(request: ChatRequest, target: string, options: { systemMoves: boolean }): CodecWarning[] {
  const messages = Array.isArray(request.messages) ? request.messages : [];
  return [
    ...(options.systemMoves ? movedSystemWarnings(messages, target) : []),
    ...cacheControlWarnings(request, target),
    ...anthropicOnlyBlockWarnings(messages, target),
  ];
}
