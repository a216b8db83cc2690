/**
 * The OpenAI format as a provider codec, used when a non-OpenAI surface
 * (Anthropic, Gemini) calls an OpenAI-compatible provider. OpenAI to OpenAI
 * never goes through here: it is a byte pass-through.
 * @see https://platform.openai.com/docs/api-reference/chat/object
 */
import { UpstreamStreamError, type CodecContext, type ProviderChatCodec, type StreamDecoder, type UpstreamErrorInfo } from '../types.js';
import type { SseEvent } from '../../gateway/sse.js';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from './types.js';

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

export const openaiChatCodec: ProviderChatCodec = {
  format: 'openai',
  encodeRequest(request: ChatRequest, options) {
    const body: ChatRequest = { ...request, model: options.model, stream: options.stream };
    if (options.stream) body.stream_options = { ...request.stream_options, include_usage: true };
    // Fields only Anthropic-style surfaces produce; OpenAI-compatible servers reject unknown ones.
    const warnings = [];
    if (body.thinking !== undefined) {
      delete body.thinking;
      warnings.push({ param: 'thinking', message: 'thinking is not supported by OpenAI-format providers and was dropped' });
    }
    for (const message of body.messages) {
      if (message.reasoning_signature !== undefined) delete message.reasoning_signature;
    }
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
