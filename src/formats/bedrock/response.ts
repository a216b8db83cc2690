/**
 * Converse response -> canonical chat completion.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax
 */
import { GatewayError } from '../../errors/gateway-error.js';
import type { CodecContext } from '../types.js';
import type { ChatCompletion, ChatMessage, FinishReason, ToolCall, Usage } from '../openai/types.js';
import type { BedrockUsage } from './types.js';

/**
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#bedrock-runtime_Converse-response-stopReason
 */
const STOP_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
};

export function mapStopReason(reason: unknown): FinishReason {
  return (typeof reason === 'string' ? STOP_REASONS[reason] : undefined) ?? 'stop';
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/**
 * Bedrock's `inputTokens` leaves out cached tokens (total = input + output +
 * cache read + cache write). OpenAI's `prompt_tokens` includes them, with the
 * cached part in `prompt_tokens_details.cached_tokens`; writes are reported in
 * `cache_creation_input_tokens`.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html
 */
export function mapUsage(usage: BedrockUsage | undefined): Usage {
  const cacheRead = count(usage?.cacheReadInputTokens);
  const cacheWrite = count(usage?.cacheWriteInputTokens);
  const prompt = count(usage?.inputTokens) + cacheRead + cacheWrite;
  const completion = count(usage?.outputTokens);
  const result: Usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead },
  };
  if (typeof usage?.cacheWriteInputTokens === 'number') result.cache_creation_input_tokens = cacheWrite;
  return result;
}

type Block = Record<string, unknown>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function badResponse(message: string): GatewayError {
  return new GatewayError('HD_ERR_UPSTREAM_BAD_RESPONSE', `Bedrock: ${message}`);
}

export function decodeBedrockResponse(body: unknown, context: CodecContext): ChatCompletion {
  if (!isObject(body) || !isObject(body.output) || !isObject(body.output.message)) {
    throw badResponse('the response has no output.message.');
  }
  const content = body.output.message.content;
  if (!Array.isArray(content)) throw badResponse('output.message.content is not an array.');

  const texts: string[] = [];
  const reasoning: string[] = [];
  let signature: string | undefined;
  const toolCalls: ToolCall[] = [];
  for (const block of content as Block[]) {
    if (!isObject(block)) continue;
    if (typeof block.text === 'string') texts.push(block.text);
    else if (isObject(block.toolUse)) {
      const use = block.toolUse;
      toolCalls.push({
        id: String(use.toolUseId ?? ''),
        type: 'function',
        function: { name: String(use.name ?? ''), arguments: JSON.stringify(use.input ?? {}) },
      });
    } else if (isObject(block.reasoningContent) && isObject(block.reasoningContent.reasoningText)) {
      const text = block.reasoningContent.reasoningText;
      if (typeof text.text === 'string') reasoning.push(text.text);
      if (typeof text.signature === 'string') signature = text.signature;
    }
    // redactedContent, citations, images and guard content have no canonical slot.
  }

  const message: ChatMessage & { role: 'assistant' } = {
    role: 'assistant',
    content: texts.length > 0 ? texts.join('') : null,
  };
  if (reasoning.length > 0) message.reasoning_content = reasoning.join('');
  if (signature !== undefined) message.reasoning_signature = signature;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;

  return {
    id: context.id,
    object: 'chat.completion',
    created: context.created,
    model: context.model,
    choices: [{ index: 0, message, finish_reason: mapStopReason(body.stopReason), logprobs: null }],
    usage: mapUsage(isObject(body.usage) ? (body.usage as BedrockUsage) : undefined),
  };
}
