import type { ChatCompletion, ChatMessage } from '../openai/types.js';
import type { CodecContext } from '../types.js';
import { stopReasonFromFinish } from './stop-reason.js';
import { assistantThinkingBlocks } from './thinking.js';
import type { AnthropicContentBlock, AnthropicStopReason } from './types.js';
import { type AnthropicUsageOut, usageToAnthropic } from './usage.js';

/**
 * Canonical ChatCompletion -> the Anthropic Message a client of the Anthropic surface expects.
 * Content order follows Anthropic's: thinking, then text, then tool_use.
 * @see https://docs.anthropic.com/en/api/messages#response
 */

export interface AnthropicMessageOut {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: AnthropicStopReason;
  stop_sequence: string | null;
  usage: AnthropicUsageOut;
}

/** An Anthropic-looking message id: the upstream's own when it has one, else derived from the context id. */
export function anthropicMessageId(upstreamId: unknown, context: CodecContext): string {
  if (typeof upstreamId === 'string' && upstreamId.startsWith('msg_')) return upstreamId;
  if (context.id.startsWith('msg_')) return context.id;
  return `msg_${context.id.replace(/^chatcmpl-/, '')}`;
}

/** Tool arguments -> tool_use input. Anthropic SDKs expect an object; arguments that are not one are wrapped, never lost. */
export function toolInput(args: string | undefined): Record<string, unknown> {
  if (args === undefined || args.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(args);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    return { value: parsed };
  } catch {
    return { arguments: args };
  }
}

/**
 * The thinking blocks a client sees: Anthropic's own when the upstream was Claude (exact, signatures
 * kept), else one thinking block from reasoning_content with whatever signature the upstream gave
 * (a Gemini thought signature goes out and comes back the same way).
 */
function surfaceThinkingBlocks(message: ChatMessage): AnthropicContentBlock[] {
  const { blocks } = assistantThinkingBlocks(message);
  if (blocks.length > 0) return blocks;
  if (typeof message.reasoning_content === 'string' && message.reasoning_content !== '') {
    return [{ type: 'thinking', thinking: message.reasoning_content, signature: message.reasoning_signature ?? '' }];
  }
  return [];
}

function contentBlocks(message: ChatMessage | undefined): AnthropicContentBlock[] {
  if (message === undefined) return [];
  const blocks: AnthropicContentBlock[] = surfaceThinkingBlocks(message);
  if (Array.isArray(message.anthropic_server_blocks)) {
    for (const block of message.anthropic_server_blocks) blocks.push(block as unknown as AnthropicContentBlock);
  }
  const before = blocks.length;
  if (typeof message.content === 'string') {
    if (message.content !== '') blocks.push({ type: 'text', text: message.content });
  } else if (Array.isArray(message.content)) {
    for (const part of message.content) if (part.type === 'text' && part.text !== '') blocks.push({ type: 'text', text: part.text });
  }
  if (blocks.length === before && typeof message.refusal === 'string' && message.refusal !== '') {
    blocks.push({ type: 'text', text: message.refusal });
  }
  for (const call of message.tool_calls ?? []) {
    blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolInput(call.function.arguments) });
  }
  return blocks;
}

export function encodeAnthropicSurfaceResponse(completion: ChatCompletion, context: CodecContext): AnthropicMessageOut {
  const choice = completion.choices[0];
  const stopSequence = typeof completion.stop_sequence === 'string' ? completion.stop_sequence : null;
  const stopReason = stopReasonFromFinish(choice?.finish_reason, stopSequence);
  return {
    id: anthropicMessageId(completion.id, context),
    type: 'message',
    role: 'assistant',
    model: context.model,
    content: contentBlocks(choice?.message),
    stop_reason: stopReason,
    stop_sequence: stopReason === 'stop_sequence' ? stopSequence : null,
    usage: usageToAnthropic(completion.usage),
  };
}
