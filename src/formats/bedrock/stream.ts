/**
 * ConverseStream events (from AwsEventStreamParser) -> canonical chunks.
 *
 * Order on the wire: messageStart, then per content block contentBlockStart
 * (tool use only), contentBlockDelta..., contentBlockStop; then messageStop
 * (stop reason) and metadata (usage). Exceptions arrive as `exception:<name>`.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/conversation-inference-call.html
 */
import type { SseEvent } from '../../gateway/sse.js';
import { UpstreamStreamError, type CodecContext, type StreamDecoder } from '../types.js';
import type { ChatCompletionChunk, ChunkDelta, FinishReason } from '../openai/types.js';
import { exceptionStatus } from './errors.js';
import { mapStopReason, mapUsage } from './response.js';
import type { BedrockUsage } from './types.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parse(event: SseEvent): Json {
  try {
    const value: unknown = JSON.parse(event.data);
    if (isObject(value)) return value;
  } catch {
    // fall through
  }
  throw new UpstreamStreamError(`Bedrock sent an unreadable ${event.event ?? 'stream'} event.`, 502, 'upstream_bad_response');
}

export class BedrockStreamDecoder implements StreamDecoder {
  /** contentBlockIndex -> OpenAI tool call index (tool blocks only, counted from 0). */
  private readonly toolIndexes = new Map<number, number>();
  private finished = false;

  constructor(private readonly context: CodecContext) {}

  onEvent(event: SseEvent): ChatCompletionChunk[] {
    const name = event.event ?? '';
    if (name.startsWith('exception:')) throw this.exception(name.slice('exception:'.length), event.data);
    switch (name) {
      case 'messageStart':
        return [this.chunk({ role: 'assistant', content: '' })];
      case 'contentBlockStart':
        return this.onBlockStart(parse(event));
      case 'contentBlockDelta':
        return this.onBlockDelta(parse(event));
      case 'messageStop': {
        this.finished = true;
        return [this.chunk({}, mapStopReason(parse(event).stopReason))];
      }
      case 'metadata': {
        const usage = parse(event).usage;
        return isObject(usage) ? [this.usageChunk(usage as BedrockUsage)] : [];
      }
      default:
        return []; // contentBlockStop, and events added after this was written
    }
  }

  onEnd(): ChatCompletionChunk[] {
    // Converse always ends with messageStop; without it the answer was cut short,
    // and passing it off as complete would hide that.
    if (!this.finished) throw new UpstreamStreamError('Bedrock stream ended before messageStop.', 502, 'upstream_bad_response');
    return [];
  }

  private onBlockStart(payload: Json): ChatCompletionChunk[] {
    const start = payload.start;
    if (!isObject(start) || !isObject(start.toolUse)) return [];
    const index = this.toolIndex(payload.contentBlockIndex);
    return [this.chunk({
      tool_calls: [{
        index,
        id: String(start.toolUse.toolUseId ?? ''),
        type: 'function',
        function: { name: String(start.toolUse.name ?? ''), arguments: '' },
      }],
    })];
  }

  private onBlockDelta(payload: Json): ChatCompletionChunk[] {
    const delta = payload.delta;
    if (!isObject(delta)) return [];
    if (typeof delta.text === 'string') return [this.chunk({ content: delta.text })];
    if (isObject(delta.toolUse)) {
      const input = delta.toolUse.input;
      const index = this.toolIndex(payload.contentBlockIndex);
      return [this.chunk({ tool_calls: [{ index, function: { arguments: typeof input === 'string' ? input : JSON.stringify(input ?? {}) } }] })];
    }
    if (isObject(delta.reasoningContent)) {
      const reasoning = delta.reasoningContent;
      if (typeof reasoning.text === 'string') return [this.chunk({ reasoning_content: reasoning.text })];
      if (typeof reasoning.signature === 'string') return [this.chunk({ reasoning_signature: reasoning.signature })];
    }
    return []; // redacted reasoning, citations: no canonical slot
  }

  private toolIndex(blockIndex: unknown): number {
    const key = typeof blockIndex === 'number' ? blockIndex : -1;
    let index = this.toolIndexes.get(key);
    if (index === undefined) {
      index = this.toolIndexes.size;
      this.toolIndexes.set(key, index);
    }
    return index;
  }

  private exception(name: string, data: string): UpstreamStreamError {
    let message = `Bedrock stream failed: ${name}.`;
    try {
      const body: unknown = JSON.parse(data);
      if (isObject(body) && typeof (body.message ?? body.Message) === 'string') message = String(body.message ?? body.Message);
    } catch {
      if (data.length > 0) message = data;
    }
    return new UpstreamStreamError(message, exceptionStatus(name), name);
  }

  private chunk(delta: ChunkDelta, finishReason: FinishReason | null = null): ChatCompletionChunk {
    return {
      id: this.context.id,
      object: 'chat.completion.chunk',
      created: this.context.created,
      model: this.context.model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    };
  }

  private usageChunk(usage: BedrockUsage): ChatCompletionChunk {
    return {
      id: this.context.id,
      object: 'chat.completion.chunk',
      created: this.context.created,
      model: this.context.model,
      choices: [],
      usage: mapUsage(usage),
    };
  }
}
