/**
 * A caller that did not ask for stream usage still gets it counted: the
 * OpenAI surface adds `stream_options.include_usage` to a pass-through
 * stream, and this takes the additions back out of what the caller sees:
 * the final usage chunk (empty `choices`) and the `"usage": null` every other
 * chunk then carries. Events without usage are re-emitted as they came.
 * @see https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options
 */
import { formatSse, type SseEvent } from '../gateway/sse.js';

const NULL_USAGE = '"usage":null';

/** `"usage":null` cut out of the JSON text when it appears once, with its comma; undefined otherwise. */
function cutNullUsage(data: string): string | undefined {
  const at = data.indexOf(NULL_USAGE);
  if (at === -1 || data.indexOf(NULL_USAGE, at + 1) !== -1) return undefined;
  const end = at + NULL_USAGE.length;
  if (data.charCodeAt(at - 1) === 44 /* , */) return data.slice(0, at - 1) + data.slice(end);
  if (data.charCodeAt(end) === 44) return data.slice(0, at) + data.slice(end + 1);
  return undefined;
}

/** The event as the caller would have seen it without include_usage; undefined: drop it. */
export function withoutAddedUsage(event: SseEvent): string | undefined {
  const data = event.data;
  if (data.indexOf('"usage"') === -1) return formatSse(data, event.event);
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch {
    return formatSse(data, event.event);
  }
  if (typeof chunk !== 'object' || chunk === null || !('usage' in chunk)) return formatSse(data, event.event);
  const record = chunk as Record<string, unknown>;
  if (Array.isArray(record.choices) && record.choices.length === 0 && record.usage !== null) return undefined;
  if (record.usage === null) {
    const cut = cutNullUsage(data);
    if (cut !== undefined) return formatSse(cut, event.event);
  }
  delete record.usage;
  return formatSse(JSON.stringify(record), event.event);
}
