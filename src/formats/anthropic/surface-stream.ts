import { formatSse } from '../../gateway/sse.js';
import type { ChatCompletionChunk, ChunkDelta, FinishReason, ToolCallDelta, Usage } from '../openai/types.js';
import type { CodecContext, StreamEncoder } from '../types.js';
import { anthropicErrorTypeForStatus, isAnthropicErrorType } from './errors.js';
import { stopReasonFromFinish } from './stop-reason.js';
import { anthropicMessageId } from './surface-response.js';
import { usageToAnthropic } from './usage.js';

/**
 * Canonical chunks -> the Anthropic event stream a client of the Anthropic surface reads:
 * message_start, then per block content_block_start / _delta / _stop (one block
 * open at a time; a change of kind closes it), then message_delta (stop_reason,
 * usage) and message_stop.
 *
 * Usage often arrives after the finish chunk (OpenAI `include_usage` sends it in
 * a last chunk with no choices), so message_delta waits for usage after the
 * finish, or for onEnd(), to report real token counts.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types
 */

type OpenBlock = { kind: 'text' } | { kind: 'thinking'; signed: boolean } | { kind: 'tool'; toolIndex: number };

export class AnthropicStreamEncoder implements StreamEncoder {
  private started = false;
  private ended = false;
  private nextBlock = 0;
  private open: OpenBlock | null = null;
  private readonly seenTools = new Set<number>();
  private finish: FinishReason | null = null;
  private stopSequence: string | null = null;
  private usage: Usage | undefined;

  constructor(private readonly context: CodecContext) {}

  onChunk(chunk: ChatCompletionChunk): string {
    if (this.ended) return '';
    let out = this.started ? '' : this.messageStart(chunk);
    const choice = chunk.choices?.find((c) => c.index === 0) ?? chunk.choices?.[0];
    if (choice !== undefined) {
      if (choice.delta !== undefined && choice.delta !== null) out += this.delta(choice.delta);
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
        out += this.closeBlock();
        this.finish = choice.finish_reason;
      }
    }
    if (typeof chunk.stop_sequence === 'string') this.stopSequence = chunk.stop_sequence;
    if (chunk.usage !== undefined && chunk.usage !== null) {
      this.usage = chunk.usage;
      if (this.finish !== null) out += this.end();
    }
    return out;
  }

  onEnd(): string {
    if (this.ended) return '';
    const start = this.started ? '' : this.messageStart(undefined);
    return start + this.end();
  }

  onError(error: { status: number; message: string; type?: string }): string {
    this.ended = true;
    const type = isAnthropicErrorType(error.type) ? error.type : anthropicErrorTypeForStatus(error.status);
    return formatSse(JSON.stringify({ type: 'error', error: { type, message: error.message } }), 'error');
  }

  private event(name: string, data: Record<string, unknown>): string {
    return formatSse(JSON.stringify({ type: name, ...data }), name);
  }

  private messageStart(chunk: ChatCompletionChunk | undefined): string {
    this.started = true;
    const usage = usageToAnthropic(chunk?.usage ?? undefined);
    return this.event('message_start', {
      message: {
        id: anthropicMessageId(chunk?.id, this.context),
        type: 'message',
        role: 'assistant',
        model: this.context.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 0 },
      },
    });
  }

  private delta(delta: ChunkDelta): string {
    let out = '';
    if (typeof delta.redacted_thinking === 'string' && delta.redacted_thinking !== '') {
      // A whole block in one event, as Anthropic sends it: start with its data, then stop.
      out += this.closeBlock();
      out += this.event('content_block_start', { index: this.nextBlock, content_block: { type: 'redacted_thinking', data: delta.redacted_thinking } });
      out += this.event('content_block_stop', { index: this.nextBlock++ });
    }
    if (typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '') {
      // A signature ends a thinking block: thinking after it is the next block (interleaved thinking).
      if (this.open?.kind === 'thinking' && this.open.signed) out += this.closeBlock();
      out += this.ensure('thinking') + this.blockDelta({ type: 'thinking_delta', thinking: delta.reasoning_content });
    }
    if (typeof delta.reasoning_signature === 'string' && delta.reasoning_signature !== '') {
      out += this.ensure('thinking') + this.blockDelta({ type: 'signature_delta', signature: delta.reasoning_signature });
      if (this.open?.kind === 'thinking') this.open.signed = true;
    }
    for (const text of [delta.content, delta.refusal]) {
      if (typeof text === 'string' && text !== '') out += this.ensure('text') + this.blockDelta({ type: 'text_delta', text });
    }
    for (const call of delta.tool_calls ?? []) out += this.toolDelta(call);
    return out;
  }

  private toolDelta(call: ToolCallDelta): string {
    const index = typeof call.index === 'number' ? call.index : 0;
    let out = '';
    if (this.open?.kind !== 'tool' || this.open.toolIndex !== index) {
      // A block, once closed, cannot reopen: late arguments for an earlier call have nowhere to go.
      if (this.seenTools.has(index)) return '';
      out += this.closeBlock();
      this.seenTools.add(index);
      this.open = { kind: 'tool', toolIndex: index };
      out += this.event('content_block_start', {
        index: this.nextBlock,
        content_block: {
          type: 'tool_use',
          id: call.id ?? `toolu_${this.context.id}_${index}`,
          name: call.function?.name ?? '',
          input: {},
        },
      });
    }
    const args = call.function?.arguments;
    if (typeof args === 'string' && args !== '') out += this.blockDelta({ type: 'input_json_delta', partial_json: args });
    return out;
  }

  private ensure(kind: 'text' | 'thinking'): string {
    if (this.open?.kind === kind) return '';
    const out = this.closeBlock();
    this.open = kind === 'text' ? { kind } : { kind, signed: false };
    const block = kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' };
    return out + this.event('content_block_start', { index: this.nextBlock, content_block: block });
  }

  private blockDelta(delta: Record<string, unknown>): string {
    return this.event('content_block_delta', { index: this.nextBlock, delta });
  }

  private closeBlock(): string {
    if (this.open === null) return '';
    this.open = null;
    return this.event('content_block_stop', { index: this.nextBlock++ });
  }

  private end(): string {
    this.ended = true;
    const stopReason = stopReasonFromFinish(this.finish, this.stopSequence);
    return this.closeBlock()
      + this.event('message_delta', {
        delta: { stop_reason: stopReason, stop_sequence: stopReason === 'stop_sequence' ? this.stopSequence : null },
        usage: usageToAnthropic(this.usage),
      })
      + this.event('message_stop', {});
  }
}

export function createAnthropicStreamEncoder(context: CodecContext): StreamEncoder {
  return new AnthropicStreamEncoder(context);
}
