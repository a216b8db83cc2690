import { GatewayError } from '../../errors/gateway-error.js';
import type { ChatCompletion, ChatMessage, ToolCall } from '../openai/types.js';
import type { CodecContext } from '../types.js';
import { finishReasonFromAnthropic } from './stop-reason.js';
import type { AnthropicMessage, AnthropicUsage } from './types.js';
import { usageFromAnthropic } from './usage.js';

/**
 * Anthropic Message -> canonical ChatCompletion.
 * - text blocks are joined into `content`; `tool_use` blocks become `tool_calls`;
 * - `thinking` blocks become `reasoning_content` + `reasoning_signature`;
 *   `redacted_thinking` data is kept in the extra `redacted_thinking` field so a
 *   later Anthropic request can send it back;
 * - the matched stop sequence is kept in the extra `stop_sequence` field, so the
 *   Anthropic surface can report `stop_reason: "stop_sequence"`.
 * Server tool blocks (web search results, code execution) have no canonical form and are not carried.
 * @see https://docs.anthropic.com/en/api/messages#response
 */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function badResponse(message: string): GatewayError {
  return new GatewayError('HD_ERR_UPSTREAM_BAD_RESPONSE', `Anthropic returned an unexpected response: ${message}`);
}

function stringifyInput(input: unknown): string {
  if (input === undefined || input === null) return '{}';
  return JSON.stringify(input);
}

export function decodeAnthropicResponse(body: unknown, context: CodecContext): ChatCompletion {
  if (!isRecord(body)) throw badResponse('the body is not a JSON object.');
  if (!Array.isArray(body.content)) throw badResponse('`content` is not an array.');
  const message = body as unknown as AnthropicMessage;

  const texts: string[] = [];
  const thinking: string[] = [];
  const redacted: string[] = [];
  const toolCalls: ToolCall[] = [];
  let signature: string | undefined;
  for (const block of message.content) {
    if (!isRecord(block)) continue;
    switch (block.type) {
      case 'text':
        if (typeof block.text === 'string') texts.push(block.text);
        break;
      case 'thinking':
        if (typeof block.thinking === 'string') thinking.push(block.thinking);
        if (typeof block.signature === 'string' && block.signature !== '') signature = block.signature;
        break;
      case 'redacted_thinking':
        if (typeof block.data === 'string') redacted.push(block.data);
        break;
      case 'tool_use':
        toolCalls.push({
          id: String(block.id),
          type: 'function',
          function: { name: String(block.name), arguments: stringifyInput(block.input) },
        });
        break;
      default:
        break;
    }
  }

  const assistant: ChatMessage & { role: 'assistant' } = {
    role: 'assistant',
    content: texts.length > 0 ? texts.join('') : toolCalls.length > 0 ? null : '',
  };
  if (thinking.length > 0) assistant.reasoning_content = thinking.join('');
  if (signature !== undefined) assistant.reasoning_signature = signature;
  if (redacted.length > 0) assistant.redacted_thinking = redacted;
  if (toolCalls.length > 0) assistant.tool_calls = toolCalls;

  const completion: ChatCompletion = {
    id: typeof message.id === 'string' && message.id !== '' ? message.id : context.id,
    object: 'chat.completion',
    created: context.created,
    model: context.model,
    choices: [{ index: 0, message: assistant, finish_reason: finishReasonFromAnthropic(message.stop_reason) ?? 'stop', logprobs: null }],
    usage: usageFromAnthropic(isRecord(message.usage) ? (message.usage as AnthropicUsage) : undefined),
  };
  if (message.stop_reason === 'stop_sequence' && typeof message.stop_sequence === 'string') {
    completion.stop_sequence = message.stop_sequence;
  }
  return completion;
}
