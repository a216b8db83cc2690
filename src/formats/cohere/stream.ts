/**
 * Cohere v2 chat stream (SSE; each data line is JSON with a `type`) -> canonical chunks.
 *
 * message-start, then content-start / content-delta / content-end per text (or
 * thinking) block, tool-plan-delta, tool-call-start / tool-call-delta /
 * tool-call-end per call, citation-* (ignored), and message-end with the
 * finish reason and usage: a finish chunk, then a `choices: []` usage chunk.
 * @see https://docs.cohere.com/v2/docs/streaming
 * @see https://docs.cohere.com/v2/reference/chat-stream
 */
import type { SseEvent } from '../../gateway/sse.js';
import { UpstreamStreamError, type CodecContext, type StreamDecoder } from '../types.js';
import type { ChatCompletionChunk, ChunkDelta, FinishReason } from '../openai/types.js';
import { isObject, mapFinishReason, mapUsage } from './response.js';

type Json = Record<string, unknown>;

/** `delta.message` of an event, or an empty object. */
function deltaMessage(payload: Json): Json {
  const delta = payload.delta;
  return isObject(delta) && isObject(delta.message) ? delta.message : {};
}

export class CohereStreamDecoder implements StreamDecoder {
  private id: string;
  /** Cohere's tool call `index` -> OpenAI tool call index. */
  private readonly toolIndexes = new Map<number, number>();
  private finished = false;

  constructor(private readonly context: CodecContext) {
    this.id = context.id;
  }

  onEvent(event: SseEvent): ChatCompletionChunk[] {
    if (event.data === '' || event.data === '[DONE]') return [];
    let payload: Json;
    try {
      const value: unknown = JSON.parse(event.data);
      if (!isObject(value)) throw new Error('not an object');
      payload = value;
    } catch {
      throw new UpstreamStreamError('Cohere sent an unreadable stream event.', 502, 'upstream_bad_response');
    }
    const type = typeof payload.type === 'string' ? payload.type : event.event;
    switch (type) {
      case 'message-start':
        if (typeof payload.id === 'string' && payload.id !== '') this.id = payload.id;
        return [this.chunk({ role: 'assistant', content: '' })];
      case 'content-start':
      case 'content-delta':
        return this.onContent(deltaMessage(payload));
      case 'tool-plan-delta': {
        const plan = deltaMessage(payload).tool_plan;
        return typeof plan === 'string' && plan !== '' ? [this.chunk({ reasoning_content: plan })] : [];
      }
      case 'tool-call-start':
      case 'tool-call-delta':
        return this.onToolCall(type, payload);
      case 'message-end':
        return this.onMessageEnd(payload);
      default:
        return []; // content-end, tool-call-end, citation-start/end, debug
    }
  }

  onEnd(): ChatCompletionChunk[] {
    if (!this.finished) throw new UpstreamStreamError('Cohere stream ended before message-end.', 502, 'upstream_bad_response');
    return [];
  }

  private onContent(message: Json): ChatCompletionChunk[] {
    const content = message.content;
    if (!isObject(content)) return [];
    if (typeof content.text === 'string' && content.text !== '') return [this.chunk({ content: content.text })];
    if (typeof content.thinking === 'string' && content.thinking !== '') return [this.chunk({ reasoning_content: content.thinking })];
    return [];
  }

  private onToolCall(type: string, payload: Json): ChatCompletionChunk[] {
    const call = deltaMessage(payload).tool_calls;
    if (!isObject(call)) return [];
    const index = this.toolIndex(payload.index);
    const fn = isObject(call.function) ? call.function : {};
    if (type === 'tool-call-start') {
      return [this.chunk({
        tool_calls: [{
          index,
          id: String(call.id ?? ''),
          type: 'function',
          function: { name: String(fn.name ?? ''), arguments: typeof fn.arguments === 'string' ? fn.arguments : '' },
        }],
      })];
    }
    if (typeof fn.arguments !== 'string' || fn.arguments === '') return [];
    return [this.chunk({ tool_calls: [{ index, function: { arguments: fn.arguments } }] })];
  }

  private onMessageEnd(payload: Json): ChatCompletionChunk[] {
    this.finished = true;
    const delta = isObject(payload.delta) ? payload.delta : {};
    if (delta.finish_reason === 'ERROR' || (typeof delta.error === 'string' && delta.error !== '')) {
      const message = typeof delta.error === 'string' && delta.error !== '' ? delta.error : 'the generation failed (finish_reason ERROR).';
      throw new UpstreamStreamError(`Cohere: ${message}`, 502, 'upstream_error');
    }
    const usage: ChatCompletionChunk = {
      id: this.id, object: 'chat.completion.chunk', created: this.context.created, model: this.context.model,
      choices: [], usage: mapUsage(delta.usage),
    };
    return [this.chunk({}, mapFinishReason(delta.finish_reason)), usage];
  }

  private toolIndex(cohereIndex: unknown): number {
    const key = typeof cohereIndex === 'number' ? cohereIndex : -1;
    let index = this.toolIndexes.get(key);
    if (index === undefined) {
      index = this.toolIndexes.size;
      this.toolIndexes.set(key, index);
    }
    return index;
  }

  private chunk(delta: ChunkDelta, finishReason: FinishReason | null = null): ChatCompletionChunk {
    return {
      id: this.id, object: 'chat.completion.chunk', created: this.context.created, model: this.context.model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    };
  }
}
