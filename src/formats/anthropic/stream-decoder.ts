import type { SseEvent } from '../../gateway/sse.js';
import type { ChatCompletionChunk, ChunkDelta, FinishReason } from '../openai/types.js';
import { type CodecContext, type StreamDecoder, UpstreamStreamError } from '../types.js';
import { streamEventJson } from '../stream-event-json.js';
import { statusForAnthropicErrorType } from './errors.js';
import { finishReasonFromAnthropic } from './stop-reason.js';
import type { AnthropicUsage } from './types.js';
import { usageFromAnthropic } from './usage.js';

/**
 * Anthropic stream events -> canonical chunks.
 *
 * | event               | chunk(s)                                                        |
 * | ------------------- | --------------------------------------------------------------- |
 * | message_start       | `{role:'assistant', content:''}`                                |
 * | content_block_start | text: its text if any; tool_use: the tool call head (id, name, `arguments: ''`); thinking: its text if any; redacted_thinking: its data (`redacted_thinking`) |
 * | content_block_delta | text_delta -> content; input_json_delta -> arguments of that tool; thinking_delta -> reasoning_content; signature_delta -> reasoning_signature |
 * | message_delta       | the finish chunk (usage is recorded)                            |
 * | message_stop        | the usage chunk (`choices: []`), as OpenAI `include_usage` does |
 * | ping, content_block_stop, unknown events | nothing                                |
 * | error               | throws UpstreamStreamError                                      |
 *
 * Tool call indexes count tool_use blocks only (0, 1, 2...), not content block
 * indexes, so parallel calls stay apart and start at 0 as OpenAI's do.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types
 */

type BlockKind = 'text' | 'thinking' | 'tool' | 'other';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class AnthropicStreamDecoder implements StreamDecoder {
  private id: string;
  private sentRole = false;
  private finishReason: FinishReason | null = null;
  private stopSequence: string | null = null;
  private sentFinish = false;
  private sentUsage = false;
  private usage: AnthropicUsage = {};
  private readonly blocks = new Map<number, { kind: BlockKind; toolIndex: number }>();
  private toolCount = 0;

  constructor(private readonly context: CodecContext) {
    this.id = context.id;
  }

  onEvent(event: SseEvent): ChatCompletionChunk[] {
    const data = streamEventJson(event, 'Anthropic sent a stream event that is not JSON.');
    if (data === undefined) return [];
    const type = typeof data.type === 'string' ? data.type : event.event;
    switch (type) {
      case 'message_start': return this.onMessageStart(data);
      case 'content_block_start': return this.onBlockStart(data);
      case 'content_block_delta': return this.onBlockDelta(data);
      case 'message_delta': return this.onMessageDelta(data);
      case 'message_stop': return this.flush();
      case 'error': throw this.streamError(data);
      default: return []; // ping, content_block_stop, and event types added later
    }
  }

  onEnd(): ChatCompletionChunk[] {
    if (!this.sentFinish) {
      throw new UpstreamStreamError('The Anthropic stream ended before the message was complete.', 502);
    }
    return this.flush();
  }

  private streamError(data: Record<string, unknown>): UpstreamStreamError {
    const error = isRecord(data.error) ? data.error : {};
    const type = typeof error.type === 'string' ? error.type : undefined;
    const message = typeof error.message === 'string' && error.message !== '' ? error.message : 'Anthropic stream error.';
    return new UpstreamStreamError(message, statusForAnthropicErrorType(type), type);
  }

  private chunk(delta: ChunkDelta, finishReason: FinishReason | null = null): ChatCompletionChunk {
    if (!this.sentRole) {
      delta = { role: 'assistant', ...delta };
      this.sentRole = true;
    }
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.context.created,
      model: this.context.model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    };
  }

  private addUsage(usage: unknown): void {
    if (!isRecord(usage)) return;
    // message_delta usage is cumulative; its null fields mean "unchanged".
    for (const [key, value] of Object.entries(usage)) {
      if (value !== null && value !== undefined) this.usage[key] = value;
    }
  }

  private onMessageStart(data: Record<string, unknown>): ChatCompletionChunk[] {
    const message = isRecord(data.message) ? data.message : {};
    if (typeof message.id === 'string' && message.id !== '') this.id = message.id;
    this.addUsage(message.usage);
    if (this.sentRole) return [];
    return [this.chunk({ content: '' })];
  }

  private onBlockStart(data: Record<string, unknown>): ChatCompletionChunk[] {
    const index = typeof data.index === 'number' ? data.index : this.blocks.size;
    const block = isRecord(data.content_block) ? data.content_block : {};
    switch (block.type) {
      case 'text':
        this.blocks.set(index, { kind: 'text', toolIndex: -1 });
        return typeof block.text === 'string' && block.text !== '' ? [this.chunk({ content: block.text })] : [];
      case 'thinking':
        this.blocks.set(index, { kind: 'thinking', toolIndex: -1 });
        return typeof block.thinking === 'string' && block.thinking !== '' ? [this.chunk({ reasoning_content: block.thinking })] : [];
      case 'redacted_thinking':
        this.blocks.set(index, { kind: 'other', toolIndex: -1 });
        return typeof block.data === 'string' && block.data !== '' ? [this.chunk({ redacted_thinking: block.data })] : [];
      case 'tool_use': {
        const toolIndex = this.toolCount++;
        this.blocks.set(index, { kind: 'tool', toolIndex });
        return [this.chunk({
          tool_calls: [{ index: toolIndex, id: String(block.id), type: 'function', function: { name: String(block.name), arguments: '' } }],
        })];
      }
      default:
        this.blocks.set(index, { kind: 'other', toolIndex: -1 });
        return [];
    }
  }

  private onBlockDelta(data: Record<string, unknown>): ChatCompletionChunk[] {
    const block = typeof data.index === 'number' ? this.blocks.get(data.index) : undefined;
    const delta = isRecord(data.delta) ? data.delta : {};
    switch (delta.type) {
      case 'text_delta':
        return typeof delta.text === 'string' && delta.text !== '' ? [this.chunk({ content: delta.text })] : [];
      case 'thinking_delta':
        return typeof delta.thinking === 'string' && delta.thinking !== '' ? [this.chunk({ reasoning_content: delta.thinking })] : [];
      case 'signature_delta':
        return typeof delta.signature === 'string' && delta.signature !== '' ? [this.chunk({ reasoning_signature: delta.signature })] : [];
      case 'input_json_delta': {
        if (block?.kind !== 'tool' || typeof delta.partial_json !== 'string' || delta.partial_json === '') return [];
        return [this.chunk({ tool_calls: [{ index: block.toolIndex, function: { arguments: delta.partial_json } }] })];
      }
      default:
        return []; // citations_delta and later delta types have no canonical form
    }
  }

  private onMessageDelta(data: Record<string, unknown>): ChatCompletionChunk[] {
    this.addUsage(data.usage);
    const delta = isRecord(data.delta) ? data.delta : {};
    if (typeof delta.stop_sequence === 'string') this.stopSequence = delta.stop_sequence;
    const finish = finishReasonFromAnthropic(delta.stop_reason);
    if (finish === null || this.sentFinish) return [];
    this.finishReason = finish;
    return [this.finishChunk()];
  }

  private finishChunk(): ChatCompletionChunk {
    this.sentFinish = true;
    const chunk = this.chunk({}, this.finishReason ?? 'stop');
    if (this.stopSequence !== null) chunk.stop_sequence = this.stopSequence;
    return chunk;
  }

  /** The finish chunk if it is still owed, then the usage chunk, once. */
  private flush(): ChatCompletionChunk[] {
    const out: ChatCompletionChunk[] = [];
    if (!this.sentFinish) out.push(this.finishChunk());
    if (!this.sentUsage) {
      this.sentUsage = true;
      out.push({
        id: this.id,
        object: 'chat.completion.chunk',
        created: this.context.created,
        model: this.context.model,
        choices: [],
        usage: usageFromAnthropic(this.usage),
      });
    }
    return out;
  }
}
