/**
 * Gemini `streamGenerateContent?alt=sse` -> canonical chunks. Every SSE data
 * event is a whole GenerateContentResponse holding the next piece of each
 * candidate; usageMetadata is cumulative, so the last one seen is the total.
 *
 * Chunk order per candidate: role, then one chunk per part (text, thought
 * text as reasoning_content, a function call as one complete tool-call delta
 * with its own index), then the finish reason. After all candidates, one
 * `choices: []` chunk with the usage (always sent, zeros if Gemini sent none).
 *
 * @see https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 */
import type { SseEvent } from '../../gateway/sse.js';
import type { ChatCompletionChunk, ChunkChoice, ChunkDelta } from '../openai/types.js';
import { UpstreamStreamError, type CodecContext, type StreamDecoder } from '../types.js';
import { mapGeminiFinishReason } from './finish-reason.js';
import { toolCallId, withThoughtSignature } from './response.js';
import type { GeminiCandidate, GeminiPart, GeminiUsageMetadata, GenerateContentResponse } from './types.js';
import { usageFromGemini } from './usage.js';

interface CandidateState {
  finished: boolean;
  /** Tool calls emitted so far: the next call's delta index. */
  calls: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class GeminiStreamDecoder implements StreamDecoder {
  private id: string | undefined;
  private usage: GeminiUsageMetadata | undefined;
  private readonly candidates = new Map<number, CandidateState>();

  constructor(private readonly context: CodecContext) {}

  onEvent(event: SseEvent): ChatCompletionChunk[] {
    const data = event.data.trim();
    if (data === '' || data === '[DONE]') return [];
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      throw new UpstreamStreamError('Gemini sent a stream event that is not JSON.', 502, 'upstream_bad_response');
    }
    const chunks: ChatCompletionChunk[] = [];
    for (const item of Array.isArray(payload) ? payload : [payload]) this.onResponse(item, chunks);
    return chunks;
  }

  onEnd(): ChatCompletionChunk[] {
    const chunks: ChatCompletionChunk[] = [];
    if (this.candidates.size === 0) this.start(0, chunks);
    for (const [index, state] of this.candidates) {
      if (!state.finished) this.finish(index, state.calls > 0 ? 'tool_calls' : 'stop', chunks);
    }
    chunks.push({ ...this.envelope([]), usage: usageFromGemini(this.usage) });
    return chunks;
  }

  private onResponse(item: unknown, chunks: ChatCompletionChunk[]): void {
    if (!isObject(item)) throw new UpstreamStreamError('Gemini sent a stream event that is not an object.', 502, 'upstream_bad_response');
    if (isObject(item.error)) {
      const error = item.error;
      const status = typeof error.code === 'number' && error.code >= 400 ? error.code : 500;
      const message = typeof error.message === 'string' ? error.message : 'Gemini reported an error in the stream.';
      throw new UpstreamStreamError(message, status, typeof error.status === 'string' ? error.status : undefined);
    }
    const response = item as GenerateContentResponse;
    if (this.id === undefined) {
      this.id = typeof response.responseId === 'string' && response.responseId !== '' ? response.responseId : this.context.id;
    }
    if (isObject(response.usageMetadata)) this.usage = response.usageMetadata;
    const candidates = Array.isArray(response.candidates) ? response.candidates : [];
    candidates.forEach((candidate, position) => this.onCandidate(candidate, position, chunks));
    if (candidates.length === 0 && response.promptFeedback?.blockReason !== undefined) {
      const state = this.start(0, chunks);
      if (!state.finished) this.finish(0, 'content_filter', chunks);
    }
  }

  private onCandidate(candidate: GeminiCandidate, position: number, chunks: ChatCompletionChunk[]): void {
    const index = typeof candidate.index === 'number' ? candidate.index : position;
    const state = this.start(index, chunks);
    for (const part of candidate.content?.parts ?? []) {
      const delta = this.partDelta(part, index, state);
      if (delta !== undefined) chunks.push(this.envelope([{ index, delta, finish_reason: null }]));
    }
    if (candidate.finishReason !== undefined && !state.finished) {
      this.finish(index, mapGeminiFinishReason(candidate.finishReason, state.calls > 0), chunks);
    }
  }

  private partDelta(part: GeminiPart, index: number, state: CandidateState): ChunkDelta | undefined {
    let delta: ChunkDelta | undefined;
    if (isObject(part.functionCall)) {
      const call = part.functionCall;
      const id = typeof call.id === 'string' && call.id !== '' ? call.id : toolCallId(this.context.id, index, state.calls);
      delta = {
        tool_calls: [withThoughtSignature({ index: state.calls, id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) } }, part.thoughtSignature)],
      };
      state.calls += 1;
    } else if (typeof part.text === 'string' && part.text !== '') {
      delta = part.thought === true ? { reasoning_content: part.text } : { content: part.text };
    }
    if (typeof part.thoughtSignature === 'string' && part.thoughtSignature !== '') {
      delta = { ...delta, reasoning_signature: part.thoughtSignature };
    }
    return delta;
  }

  private start(index: number, chunks: ChatCompletionChunk[]): CandidateState {
    let state = this.candidates.get(index);
    if (state === undefined) {
      state = { finished: false, calls: 0 };
      this.candidates.set(index, state);
      chunks.push(this.envelope([{ index, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
    }
    return state;
  }

  private finish(index: number, reason: ChunkChoice['finish_reason'], chunks: ChatCompletionChunk[]): void {
    const state = this.candidates.get(index);
    if (state !== undefined) state.finished = true;
    chunks.push(this.envelope([{ index, delta: {}, finish_reason: reason }]));
  }

  private envelope(choices: ChunkChoice[]): ChatCompletionChunk {
    return {
      id: this.id ?? this.context.id,
      object: 'chat.completion.chunk',
      created: this.context.created,
      model: this.context.model,
      choices,
    };
  }
}
