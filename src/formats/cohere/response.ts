/**
 * Cohere v2 chat response -> canonical chat completion.
 * @see https://docs.cohere.com/v2/reference/chat#response
 */
import { GatewayError } from '../../errors/gateway-error.js';
import type { CodecContext } from '../types.js';
import type { ChatCompletion, ChatMessage, FinishReason, ToolCall, Usage } from '../openai/types.js';

/**
 * ERROR is not a finish reason in OpenAI's sense: decoders raise it as an error.
 * @see https://docs.cohere.com/v2/reference/chat#response.body.finish_reason
 */
const FINISH_REASONS: Readonly<Record<string, FinishReason>> = {
  COMPLETE: 'stop',
  STOP_SEQUENCE: 'stop',
  MAX_TOKENS: 'length',
  TOOL_CALL: 'tool_calls',
};

export function mapFinishReason(reason: unknown): FinishReason {
  return (typeof reason === 'string' ? FINISH_REASONS[reason] : undefined) ?? 'stop';
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/**
 * Cohere reports `billed_units` (what is charged) and `tokens` (what the model
 * saw, including Cohere's own prompt template). Usage feeds cost, so billed
 * units come first; `tokens` fills in when they are missing.
 * @see https://docs.cohere.com/v2/reference/chat#response.body.usage
 */
export function mapUsage(usage: unknown): Usage {
  const billed = isObject(usage) && isObject(usage.billed_units) ? usage.billed_units : undefined;
  const tokens = isObject(usage) && isObject(usage.tokens) ? usage.tokens : undefined;
  const source = billed !== undefined && (billed.input_tokens !== undefined || billed.output_tokens !== undefined) ? billed : tokens;
  const prompt = count(source?.input_tokens);
  const completion = count(source?.output_tokens);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function badResponse(message: string): GatewayError {
  return new GatewayError('HD_ERR_UPSTREAM_BAD_RESPONSE', `Cohere: ${message}`);
}

export function decodeCohereResponse(body: unknown, context: CodecContext): ChatCompletion {
  if (!isObject(body) || !isObject(body.message)) throw badResponse('the response has no message.');
  if (body.finish_reason === 'ERROR') {
    throw new GatewayError('HD_ERR_UPSTREAM_ERROR', 'Cohere: the generation failed (finish_reason ERROR).');
  }
  const reply = body.message;
  const texts: string[] = [];
  const reasoning: string[] = [];
  if (typeof reply.content === 'string') texts.push(reply.content);
  else if (Array.isArray(reply.content)) {
    for (const part of reply.content) {
      if (!isObject(part)) continue;
      if (part.type === 'text' && typeof part.text === 'string') texts.push(part.text);
      else if (part.type === 'thinking' && typeof part.thinking === 'string') reasoning.push(part.thinking);
    }
  }
  if (typeof reply.tool_plan === 'string' && reply.tool_plan !== '') reasoning.push(reply.tool_plan);

  const toolCalls: ToolCall[] = [];
  if (Array.isArray(reply.tool_calls)) {
    for (const call of reply.tool_calls) {
      if (!isObject(call) || !isObject(call.function)) continue;
      toolCalls.push({
        id: String(call.id ?? ''),
        type: 'function',
        function: { name: String(call.function.name ?? ''), arguments: String(call.function.arguments ?? '{}') },
      });
    }
  }

  const message: ChatMessage & { role: 'assistant' } = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null };
  if (reasoning.length > 0) message.reasoning_content = reasoning.join('\n');
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: typeof body.id === 'string' && body.id !== '' ? body.id : context.id,
    object: 'chat.completion',
    created: context.created,
    model: context.model,
    choices: [{ index: 0, message, finish_reason: mapFinishReason(body.finish_reason), logprobs: null }],
    usage: mapUsage(body.usage),
  };
}
