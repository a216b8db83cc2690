/**
 * Gemini surface: canonical completion -> GenerateContentResponse, and
 * canonical chunks -> `data: {GenerateContentResponse}` events (no [DONE]:
 * the Gemini stream just ends).
 *
 * Stream: text and thought deltas are sent as they come; tool calls are
 * buffered per index and sent as whole functionCall parts in the last event,
 * with the finishReason of every candidate and the usageMetadata.
 *
 * @see https://ai.google.dev/api/generate-content#generatecontentresponse
 */
import { GatewayError } from '../../errors/gateway-error.js';
import { renderError } from '../../errors/render.js';
import { formatSse } from '../../gateway/sse.js';
import type { ChatChoice, ChatCompletion, ChatCompletionChunk, ChunkChoice, FinishReason, Usage } from '../openai/types.js';
import type { CodecContext, StreamEncoder } from '../types.js';
import { toGeminiFinishReason } from './finish-reason.js';
import { thoughtSignatureOf } from './response.js';
import type { GeminiCandidate, GeminiPart, GenerateContentResponse } from './types.js';
import { usageToGemini } from './usage.js';

function parseArgs(text: string | undefined): Record<string, unknown> {
  if (text === undefined || text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : { value };
  } catch {
    // A model that produced broken JSON: keep the text rather than lose it.
    return { arguments: text };
  }
}

function functionCallPart(id: string | undefined, name: string, args: string | undefined, signature?: string): GeminiPart {
  const call: GeminiPart['functionCall'] = { name, args: parseArgs(args) };
  if (id !== undefined && id !== '') call.id = id;
  const part: GeminiPart = { functionCall: call };
  if (signature !== undefined) part.thoughtSignature = signature;
  return part;
}

/**
 * The message's signature goes on the first functionCall part, else on the last part (Gemini's own
 * placement), unless a call already carries its own.
 */
function attachSignature(parts: GeminiPart[], signature: string | undefined): void {
  if (signature === undefined || signature === '') return;
  if (parts.some((part) => part.functionCall !== undefined && part.thoughtSignature !== undefined)) return;
  const target = parts.find((part) => part.functionCall !== undefined) ?? parts[parts.length - 1];
  if (target === undefined) parts.push({ text: '', thoughtSignature: signature });
  else target.thoughtSignature = signature;
}

function messageText(content: ChatChoice['message']['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

function encodeChoice(choice: ChatChoice): GeminiCandidate {
  const { message } = choice;
  const parts: GeminiPart[] = [];
  if (typeof message.reasoning_content === 'string' && message.reasoning_content !== '') {
    parts.push({ text: message.reasoning_content, thought: true });
  }
  const text = messageText(message.content) || (typeof message.refusal === 'string' ? message.refusal : '');
  if (text !== '') parts.push({ text });
  for (const call of message.tool_calls ?? []) parts.push(functionCallPart(call.id, call.function.name, call.function.arguments, thoughtSignatureOf(call)));
  attachSignature(parts, message.reasoning_signature);
  const candidate: GeminiCandidate = {};
  if (parts.length > 0) candidate.content = { role: 'model', parts };
  candidate.finishReason = toGeminiFinishReason(choice.finish_reason);
  candidate.index = choice.index;
  return candidate;
}

export function encodeGeminiSurfaceResponse(completion: ChatCompletion, context: CodecContext): GenerateContentResponse {
  const response: GenerateContentResponse = { candidates: completion.choices.map(encodeChoice) };
  if (completion.usage) response.usageMetadata = usageToGemini(completion.usage);
  response.modelVersion = context.model;
  response.responseId = completion.id || context.id;
  return response;
}

interface BufferedCall {
  id?: string;
  name: string;
  arguments: string;
  signature?: string;
}

interface ChoiceState {
  calls: Map<number, BufferedCall>;
  finish: FinishReason | null;
  signature?: string;
}

export class GeminiSurfaceStreamEncoder implements StreamEncoder {
  private readonly choices = new Map<number, ChoiceState>();
  private usage: Usage | undefined;
  private responseId: string | undefined;

  constructor(private readonly context: CodecContext) {}

  onChunk(chunk: ChatCompletionChunk): string {
    if (this.responseId === undefined && chunk.id) this.responseId = chunk.id;
    if (chunk.usage) this.usage = chunk.usage;
    const candidates: GeminiCandidate[] = [];
    for (const choice of chunk.choices ?? []) {
      const parts = this.onChoice(choice);
      if (parts.length > 0) candidates.push({ content: { role: 'model', parts }, index: choice.index });
    }
    return candidates.length === 0 ? '' : this.event({ candidates });
  }

  onEnd(): string {
    if (this.choices.size === 0) this.state(0);
    const candidates: GeminiCandidate[] = [];
    for (const [index, state] of [...this.choices].sort((a, b) => a[0] - b[0])) {
      const parts = [...state.calls.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([, call]) => functionCallPart(call.id, call.name, call.arguments, call.signature));
      attachSignature(parts, state.signature);
      const candidate: GeminiCandidate = {};
      if (parts.length > 0) candidate.content = { role: 'model', parts };
      candidate.finishReason = toGeminiFinishReason(state.finish ?? (state.calls.size > 0 ? 'tool_calls' : 'stop'));
      candidate.index = index;
      candidates.push(candidate);
    }
    const response: GenerateContentResponse = { candidates };
    if (this.usage) response.usageMetadata = usageToGemini(this.usage);
    return this.event(response);
  }

  onError(error: { status: number; message: string; type?: string }): string {
    const rendered = renderError(new GatewayError('HD_ERR_UPSTREAM_ERROR', error.message, { status: error.status }), 'gemini');
    return formatSse(JSON.stringify(rendered.body));
  }

  private state(index: number): ChoiceState {
    let state = this.choices.get(index);
    if (state === undefined) {
      state = { calls: new Map(), finish: null };
      this.choices.set(index, state);
    }
    return state;
  }

  private onChoice(choice: ChunkChoice): GeminiPart[] {
    const state = this.state(choice.index);
    const { delta } = choice;
    const parts: GeminiPart[] = [];
    if (typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '') parts.push({ text: delta.reasoning_content, thought: true });
    if (typeof delta.content === 'string' && delta.content !== '') parts.push({ text: delta.content });
    if (typeof delta.refusal === 'string' && delta.refusal !== '') parts.push({ text: delta.refusal });
    if (typeof delta.reasoning_signature === 'string' && delta.reasoning_signature !== '') state.signature = delta.reasoning_signature;
    for (const call of delta.tool_calls ?? []) {
      let buffered = state.calls.get(call.index);
      if (buffered === undefined) {
        buffered = { name: '', arguments: '' };
        state.calls.set(call.index, buffered);
      }
      if (call.id) buffered.id = call.id;
      buffered.signature ??= thoughtSignatureOf(call);
      // Some providers repeat the whole name in every delta: keep the first.
      if (call.function?.name && buffered.name === '') buffered.name = call.function.name;
      if (call.function?.arguments) buffered.arguments += call.function.arguments;
    }
    if (choice.finish_reason) state.finish = choice.finish_reason;
    return parts;
  }

  private event(response: GenerateContentResponse): string {
    response.modelVersion = this.context.model;
    response.responseId = this.responseId ?? this.context.id;
    return formatSse(JSON.stringify(response));
  }
}
