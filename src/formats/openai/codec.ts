/**
 * The OpenAI format as a provider codec, used when a non-OpenAI surface
 * (Anthropic, Gemini) calls an OpenAI-compatible provider. OpenAI to OpenAI
 * never goes through here: it is a byte pass-through.
 * @see https://platform.openai.com/docs/api-reference/chat/object
 */
import { UpstreamStreamError, type CodecContext, type CodecWarning, type ProviderChatCodec, type StreamDecoder, type UpstreamErrorInfo } from '../types.js';
import type { SseEvent } from '../../gateway/sse.js';
import { foreignConversationWarnings } from '../conversation-warnings.js';
import { effortForBudget } from '../reasoning-effort.js';
import type { ChatCompletion, ChatCompletionChunk, ChatMessage, ChatRequest, ToolCall } from './types.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function decodeOpenAIError(status: number, body: unknown): UpstreamErrorInfo {
  const error = isObject(body) ? body.error : undefined;
  if (isObject(error)) {
    const message = typeof error.message === 'string' ? error.message : JSON.stringify(error);
    return {
      message,
      type: typeof error.type === 'string' ? error.type : undefined,
      code: typeof error.code === 'string' ? error.code : undefined,
      param: typeof error.param === 'string' ? error.param : undefined,
    };
  }
  if (typeof error === 'string') return { message: error };
  if (isObject(body) && typeof body.message === 'string') return { message: body.message };
  return { message: `upstream returned HTTP ${status}` };
}

class OpenAIStreamDecoder implements StreamDecoder {
  constructor(private readonly context: CodecContext) {}

  onEvent(event: SseEvent): ChatCompletionChunk[] {
    const data = event.data;
    if (data === '[DONE]' || data === '') return [];
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      throw new UpstreamStreamError(`invalid JSON in stream event: ${data.slice(0, 200)}`, 502);
    }
    if (!isObject(chunk)) return [];
    if (chunk.error !== undefined) {
      const info = decodeOpenAIError(502, chunk);
      throw new UpstreamStreamError(info.message, 502, info.type);
    }
    const out = chunk as unknown as ChatCompletionChunk;
    if (typeof out.model !== 'string') out.model = this.context.model;
    if (!Array.isArray(out.choices)) out.choices = [];
    return [out];
  }

  onEnd(): ChatCompletionChunk[] {
    return [];
  }
}

/**
 * The Chat Completions parameters, as the openai SDK types list them. A
 * canonical request built from another surface may carry fields of that
 * surface (Anthropic's `container`, Gemini's safety settings): they are dropped
 * with a warning, since OpenAI-compatible servers refuse unknown parameters.
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
const CHAT_PARAMS = new Set([
  'messages', 'model', 'audio', 'frequency_penalty', 'function_call', 'functions', 'logit_bias', 'logprobs',
  'max_completion_tokens', 'max_tokens', 'metadata', 'modalities', 'moderation', 'n', 'parallel_tool_calls',
  'prediction', 'presence_penalty', 'prompt_cache_key', 'prompt_cache_options', 'prompt_cache_retention',
  'reasoning_effort', 'response_format', 'safety_identifier', 'seed', 'service_tier', 'stop', 'store', 'stream',
  'stream_options', 'temperature', 'tool_choice', 'tools', 'top_logprobs', 'top_p', 'user', 'verbosity',
  'web_search_options',
]);

/** Message fields the OpenAI format has; others (signatures, thinking blocks, cache markers) stay behind. */
const MESSAGE_FIELDS = new Set(['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'refusal', 'audio', 'function_call']);

/** Tool call fields the OpenAI format has: a Gemini thought signature (`extra_content`) stays behind too. */
const TOOL_CALL_FIELDS = new Set(['id', 'type', 'function']);

/** Content part fields of other formats (Anthropic cache markers and citations) that OpenAI would refuse. */
const FOREIGN_PART_FIELDS = ['cache_control', 'citations'] as const;

function cleanPart<T extends object>(part: T): T {
  if (!FOREIGN_PART_FIELDS.some((key) => key in part)) return part;
  const rest = { ...part } as Record<string, unknown>;
  for (const key of FOREIGN_PART_FIELDS) delete rest[key];
  return rest as unknown as T;
}

function cleanToolCall(call: ToolCall): ToolCall {
  if (Object.keys(call).every((key) => TOOL_CALL_FIELDS.has(key))) return call;
  return { id: call.id, type: call.type, function: call.function };
}

/** A copy without the fields OpenAI does not take (the canonical message is never changed: a fallback may need them). */
function cleanMessage(message: ChatMessage): ChatMessage {
  const out: ChatMessage = { role: message.role };
  for (const key in message) if (MESSAGE_FIELDS.has(key)) out[key] = message[key];
  if (Array.isArray(out.tool_calls)) out.tool_calls = out.tool_calls.map(cleanToolCall);
  if (Array.isArray(out.content)) out.content = out.content.map(cleanPart);
  return out;
}

/**
 * Anthropic `thinking` (from an Anthropic caller, or a Gemini caller's thinkingBudget) -> reasoning_effort,
 * by the shared table; an explicit reasoning_effort wins. Adaptive thinking leaves the model its default.
 */
function encodeThinking(request: ChatRequest, body: Record<string, unknown>, warnings: CodecWarning[]): void {
  const thinking = request.thinking as { type?: unknown; budget_tokens?: unknown } | null | undefined;
  if (thinking === undefined || thinking === null || body.reasoning_effort !== undefined) return;
  if (thinking.type === 'enabled' && typeof thinking.budget_tokens === 'number') {
    body.reasoning_effort = effortForBudget(thinking.budget_tokens);
  } else if (thinking.type === 'disabled') {
    warnings.push({ param: 'thinking', message: 'OpenAI reasoning models cannot turn reasoning off on every model; thinking: disabled was dropped (the model default applies).' });
  } else if (thinking.type !== 'adaptive') {
    warnings.push({ param: 'thinking', message: `thinking type '${String(thinking.type)}' has no OpenAI equivalent; it was dropped.` });
  }
}

export const openaiChatCodec: ProviderChatCodec = {
  format: 'openai',
  encodeRequest(request: ChatRequest, options) {
    const body: Record<string, unknown> = {};
    const warnings: CodecWarning[] = [];
    for (const key in request) {
      const value = request[key];
      if (value === undefined || key === 'thinking') continue;
      if (CHAT_PARAMS.has(key)) body[key] = value;
      else warnings.push({ param: key, message: `${key} is not an OpenAI chat parameter and was dropped` });
    }
    encodeThinking(request, body, warnings);
    warnings.push(...foreignConversationWarnings(request, 'OpenAI', { systemMoves: false }));
    body.model = options.model;
    body.stream = options.stream;
    if (options.stream) body.stream_options = { ...request.stream_options, include_usage: true };
    body.messages = request.messages.map(cleanMessage);
    return { body, warnings };
  },
  decodeResponse(body: unknown, context: CodecContext): ChatCompletion {
    if (!isObject(body) || !Array.isArray(body.choices)) {
      throw new UpstreamStreamError('response has no choices array', 502);
    }
    const completion = body as unknown as ChatCompletion;
    if (typeof completion.id !== 'string') completion.id = context.id;
    if (typeof completion.model !== 'string') completion.model = context.model;
    return completion;
  },
  createStreamDecoder(context: CodecContext): StreamDecoder {
    return new OpenAIStreamDecoder(context);
  },
  decodeError: decodeOpenAIError,
};
