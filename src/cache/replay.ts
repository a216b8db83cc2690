/**
 * Streams and whole answers, both ways, in the canonical (OpenAI Chat) form:
 *
 * - `replayChunks`: a stored answer as the chunks of a stream (role first,
 *   text in pieces of a few words, each tool call's name then its arguments
 *   in pieces, the finish reason, and a last chunk with the usage), which the
 *   caller's stream encoder turns into its own format;
 * - `ChunkCollector`: the chunks of a streamed answer gathered back into one
 *   answer, stored only when the stream ended with a finish reason.
 *
 * Pure: ids and times come from the stored answer.
 */
import type { ChatChoice, ChatCompletion, ChatCompletionChunk, ChunkDelta, FinishReason, ToolCall, Usage } from '../formats/openai/types.js';

/** Characters per replayed text piece: about a dozen tokens, at a word boundary when there is one. */
const PIECE_CHARS = 48;

/** `text` in pieces of about `size` characters, cut after a space when one is near. */
export function pieces(text: string, size = PIECE_CHARS): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + size);
    if (end < text.length) {
      const space = text.lastIndexOf(' ', end);
      if (space > start + size / 2) end = space + 1;
      // Never split a surrogate pair.
      const code = text.charCodeAt(end - 1);
      if (code >= 0xd800 && code <= 0xdbff) end++;
    }
    out.push(text.slice(start, end));
    start = end;
  }
  return out;
}

function chunk(answer: ChatCompletion, choices: ChatCompletionChunk['choices'], usage?: Usage): ChatCompletionChunk {
  const out: ChatCompletionChunk = { id: answer.id, object: 'chat.completion.chunk', created: answer.created, model: answer.model, choices };
  if (answer.system_fingerprint !== undefined) out.system_fingerprint = answer.system_fingerprint;
  if (usage !== undefined) out.usage = usage;
  return out;
}

function contentText(content: ChatChoice['message']['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : '')).join('');
}

/** The chunks of one stored answer, in stream order. */
export function replayChunks(answer: ChatCompletion): ChatCompletionChunk[] {
  const out: ChatCompletionChunk[] = [];
  for (const choice of answer.choices) {
    const index = choice.index;
    const message = choice.message;
    const first: ChunkDelta = { role: 'assistant' };
    if (typeof message.reasoning_content === 'string' && message.reasoning_content !== '') first.reasoning_content = message.reasoning_content;
    if (typeof message.reasoning_signature === 'string') first.reasoning_signature = message.reasoning_signature;
    out.push(chunk(answer, [{ index, delta: first, finish_reason: null }]));
    if (typeof message.refusal === 'string' && message.refusal !== '') out.push(chunk(answer, [{ index, delta: { refusal: message.refusal }, finish_reason: null }]));
    for (const piece of pieces(contentText(message.content))) out.push(chunk(answer, [{ index, delta: { content: piece }, finish_reason: null }]));
    (message.tool_calls ?? []).forEach((call: ToolCall, at: number) => {
      const head: ChunkDelta = { tool_calls: [{ index: at, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] };
      if (call.extra_content !== undefined) head.tool_calls![0].extra_content = call.extra_content;
      out.push(chunk(answer, [{ index, delta: head, finish_reason: null }]));
      for (const piece of pieces(call.function.arguments ?? '', 96)) {
        out.push(chunk(answer, [{ index, delta: { tool_calls: [{ index: at, function: { arguments: piece } }] }, finish_reason: null }]));
      }
    });
    out.push(chunk(answer, [{ index, delta: {}, finish_reason: choice.finish_reason ?? 'stop' }]));
  }
  if (answer.usage !== undefined) out.push(chunk(answer, [], answer.usage));
  return out;
}

interface ChoiceState {
  content: string;
  reasoning: string;
  reasoningSignature: string | undefined;
  refusal: string;
  calls: ToolCall[];
  finish: FinishReason | null;
}

/** Gathers a stream's canonical chunks into the answer they make. */
export class ChunkCollector {
  private readonly choices = new Map<number, ChoiceState>();
  private id = '';
  private created = 0;
  private model = '';
  private fingerprint: string | null | undefined;
  private usage: Usage | undefined;
  /** Something the collector cannot rebuild exactly (thinking blocks, audio...): the answer is not stored. */
  unsupported = false;

  add(item: ChatCompletionChunk): void {
    if (this.id === '') {
      this.id = item.id;
      this.created = item.created;
      this.model = item.model;
    }
    if (item.system_fingerprint !== undefined) this.fingerprint = item.system_fingerprint;
    if (item.usage) this.usage = item.usage;
    for (const choice of item.choices ?? []) {
      let state = this.choices.get(choice.index);
      if (state === undefined) {
        state = { content: '', reasoning: '', reasoningSignature: undefined, refusal: '', calls: [], finish: null };
        this.choices.set(choice.index, state);
      }
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string') state.content += delta.content;
      if (typeof delta.reasoning_content === 'string') state.reasoning += delta.reasoning_content;
      if (typeof delta.reasoning_signature === 'string') state.reasoningSignature = (state.reasoningSignature ?? '') + delta.reasoning_signature;
      if (typeof delta.refusal === 'string') state.refusal += delta.refusal;
      if (delta.redacted_thinking !== undefined) this.unsupported = true;
      for (const call of delta.tool_calls ?? []) {
        let target = state.calls[call.index];
        if (target === undefined) {
          target = { id: call.id ?? '', type: 'function', function: { name: '', arguments: '' } };
          state.calls[call.index] = target;
        }
        if (call.id !== undefined) target.id = call.id;
        if (call.function?.name !== undefined) target.function.name += call.function.name;
        if (call.function?.arguments !== undefined) target.function.arguments += call.function.arguments;
        if (call.extra_content !== undefined) target.extra_content = call.extra_content;
      }
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) state.finish = choice.finish_reason;
    }
  }

  /** The whole answer, or undefined when the stream did not finish every choice. */
  completion(): ChatCompletion | undefined {
    if (this.unsupported || this.choices.size === 0) return undefined;
    const choices: ChatChoice[] = [];
    for (const [index, state] of [...this.choices.entries()].sort((a, b) => a[0] - b[0])) {
      if (state.finish === null) return undefined;
      const message: ChatChoice['message'] = { role: 'assistant', content: state.content === '' && state.calls.length > 0 ? null : state.content };
      if (state.reasoning !== '') message.reasoning_content = state.reasoning;
      if (state.reasoningSignature !== undefined) message.reasoning_signature = state.reasoningSignature;
      if (state.refusal !== '') message.refusal = state.refusal;
      const calls = state.calls.filter((call) => call !== undefined);
      if (calls.length > 0) message.tool_calls = calls;
      choices.push({ index, message, finish_reason: state.finish });
    }
    const answer: ChatCompletion = { id: this.id, object: 'chat.completion', created: this.created, model: this.model, choices };
    if (this.usage !== undefined) answer.usage = this.usage;
    if (this.fingerprint !== undefined) answer.system_fingerprint = this.fingerprint;
    return answer;
  }
}
