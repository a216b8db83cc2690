/**
 * The OpenAI format as a provider codec, used when a non-OpenAI surface
 * (Anthropic, Gemini) calls an OpenAI-compatible provider. OpenAI to OpenAI
 * never goes through here: it is a byte pass-through.
 * @see https://platform.openai.com/docs/api-reference/chat/object
 */
import { UpstreamStreamError, type CodecContext, type CodecWarning, type ProviderChatCodec, type StreamDecoder, type UpstreamErrorInfo } from '../types.js';
import type { SseEvent } from '../../gateway/sse.js';
import type { ChatCompletion, ChatCompletionChunk, ChatMessage, ChatRequest } from './types.js';

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

/** Message fields the OpenAI format has; others (signatures, cache markers) stay behind. */
const MESSAGE_FIELDS = new Set(['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'refusal', 'audio', 'function_call']);

function cleanMessage(message: ChatMessage): ChatMessage {
  let clean: ChatMessage | undefined;
  for (const key in message) {
    if (MESSAGE_FIELDS.has(key)) continue;
    clean ??= { ...message };
    delete clean[key];
  }
  const out = clean ?? message;
  if (Array.isArray(out.content) && out.content.some((part) => 'cache_control' in part)) {
    out.content = out.content.map((part) => {
      if (!('cache_control' in part)) return part;
      const { cache_control: _cache, ...rest } = part as Record<string, unknown>;
      return rest as unknown as typeof part;
    });
  }
  return out;
}

export const openaiChatCodec: ProviderChatCodec = {
  format: 'openai',
  encodeRequest(request: ChatRequest, options) {
    const body: Record<string, unknown> = {};
    const warnings: CodecWarning[] = [];
    for (const key in request) {
      const value = request[key];
      if (value === undefined) continue;
      if (CHAT_PARAMS.has(key)) body[key] = value;
      else warnings.push({ param: key, message: `${key} is not an OpenAI chat parameter and was dropped` });
    }
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
