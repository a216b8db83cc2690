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
