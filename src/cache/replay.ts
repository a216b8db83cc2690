/**
 * A stored answer replayed as a stream, in the canonical (OpenAI Chat) form:
 * role first, text in pieces of a few words (as a model streams it, so a
 * client's incremental rendering behaves as it does live), each tool call's
 * name then its arguments in pieces, the finish reason, and a last chunk with
 * the usage. The caller's stream encoder turns them into its own format.
 *
 * Pure: ids and times come from the stored answer.
 */
import type { ChatChoice, ChatCompletion, ChatCompletionChunk, ChunkDelta, ToolCall, Usage } from '../formats/openai/types.js';

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

/** A legacy completion (`POST /v1/completions`), as OpenAI returns it. @see https://platform.openai.com/docs/api-reference/completions/object */
export interface LegacyCompletion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: Array<{ index: number; text: string; logprobs: unknown; finish_reason: string | null }>;
  usage?: Usage;
  system_fingerprint?: string;
}

/**
 * A legacy completion as stored: the provider's own JSON, or (a streamed answer, collected by the
 * gateway in the chat shape) rebuilt from the collected text.
 */
export function legacyCompletionOf(answer: ChatCompletion | LegacyCompletion): LegacyCompletion {
  if (answer.object === 'text_completion') return answer as LegacyCompletion;
  const chat = answer as ChatCompletion;
  const out: LegacyCompletion = {
    id: chat.id,
    object: 'text_completion',
    created: chat.created,
    model: chat.model,
    choices: chat.choices.map((choice) => ({ index: choice.index, text: contentText(choice.message.content), logprobs: null, finish_reason: choice.finish_reason ?? null })),
  };
  if (chat.usage !== undefined) out.usage = chat.usage;
  return out;
}

/**
 * The chunks of one stored legacy completion, in stream order: its text in pieces, an empty
 * text with the finish reason, and the usage last (sent to a caller that asked for it).
 * @see https://platform.openai.com/docs/api-reference/completions/create#completions-create-stream
 */
export function replayLegacyChunks(answer: LegacyCompletion): ChatCompletionChunk[] {
  const base = { id: answer.id, object: 'text_completion', created: answer.created, model: answer.model };
  const out: unknown[] = [];
  for (const choice of answer.choices) {
    for (const piece of pieces(choice.text ?? '')) out.push({ ...base, choices: [{ index: choice.index, text: piece, logprobs: null, finish_reason: null }] });
    out.push({ ...base, choices: [{ index: choice.index, text: '', logprobs: null, finish_reason: choice.finish_reason ?? 'stop' }] });
  }
  if (answer.usage !== undefined) out.push({ ...base, choices: [], usage: answer.usage });
  // The OpenAI stream encoder writes each chunk as it is: these keep the legacy shape.
  return out as ChatCompletionChunk[];
}
