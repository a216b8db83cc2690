/**
 * The Responses surface (`POST /v1/responses`) in the matrix: the request an
 * OpenAI SDK (or Codex) sends for each case, statelessly (the earlier turn
 * sent back as input items), and its reply (a `response` object or the event
 * stream) assembled the way the SDK's ResponseStream does.
 * @see https://platform.openai.com/docs/api-reference/responses-streaming
 */
import type { SseEvent } from '../../src/gateway/sse.js';
import { checkCallIds, emptyAssembled, eventJson, isRecord, type Assembled, type AssembledCall, type SurfaceRequest } from './assembled.js';
import { maxTokensFor, promptFor, SYSTEM_PROMPT, TOOL_RESULTS, TOOLS, type CaseKind, type CaseMode } from './cases.js';

/** The Responses API has a status, not a finish reason: tool calls complete like text does. */
export const RESPONSES_FINISH = { stop: 'completed', tool_calls: 'completed', length: 'incomplete' } as const;

export function responsesRequest(model: string, kind: CaseKind, mode: CaseMode): SurfaceRequest {
  const prompt = promptFor(kind);
  let input: unknown = prompt;
  if (kind === 'tool-results') {
    const args = JSON.stringify({ text: prompt });
    const ids = TOOLS.map((_, i) => `call_prev_${i}`);
    input = [
      { role: 'user', content: prompt },
      ...TOOLS.map((tool, i) => ({ type: 'function_call', call_id: ids[i], name: tool.name, arguments: args })),
      ...TOOLS.map((tool, i) => ({ type: 'function_call_output', call_id: ids[i], output: TOOL_RESULTS[tool.name] })),
    ];
  }
  const body: Record<string, unknown> = { model, instructions: SYSTEM_PROMPT, input, max_output_tokens: maxTokensFor(kind), store: false };
  if (kind === 'tools' || kind === 'tool-results') {
    body.tools = TOOLS.map((tool) => ({ type: 'function', name: tool.name, description: tool.description, parameters: tool.parameters, strict: false }));
  }
  if (mode === 'stream') body.stream = true;
  return { path: '/v1/responses', headers: { authorization: 'Bearer client-key' }, body };
}

function usageOf(value: unknown): Assembled['usage'] {
  if (!isRecord(value)) return undefined;
  return { input: Number(value.input_tokens), output: Number(value.output_tokens) };
}

/** A response object's text and calls, added to `out`. */
function readOutput(response: Record<string, unknown>, out: Assembled): void {
  for (const item of Array.isArray(response.output) ? response.output : []) {
    if (!isRecord(item)) continue;
    if (item.type === 'message') {
      for (const part of Array.isArray(item.content) ? item.content : []) if (isRecord(part) && part.type === 'output_text') out.text += String(part.text);
    } else if (item.type === 'function_call') {
      out.calls.push({ id: typeof item.call_id === 'string' ? item.call_id : undefined, name: String(item.name), arguments: String(item.arguments) });
    }
  }
  out.finish = typeof response.status === 'string' ? response.status : undefined;
  out.usage = usageOf(response.usage);
}

export function assembleResponsesJson(json: unknown): Assembled {
  const out = emptyAssembled();
  if (!isRecord(json) || json.object !== 'response') {
    out.problems.push(`not a Responses object: ${JSON.stringify(json).slice(0, 200)}`);
    return out;
  }
  readOutput(json, out);
  checkCallIds(out.calls, out.problems, true);
  return out;
}

interface OpenItem {
  index: number;
  id: string;
  type: string;
  call?: AssembledCall;
  text: string;
}

/**
 * Events -> the response, with the stream's rules checked: response.created first and
 * response.completed (or .incomplete) last, each event's name equal to its type, sequence numbers
 * counting from 0, one item open at a time, deltas naming the open item, a function_call item
 * added with its call_id and name, its argument deltas making the arguments of .done, and the
 * final response agreeing with what was streamed.
 */
export function assembleResponsesStream(events: readonly SseEvent[]): Assembled {
  const out = emptyAssembled();
  let open: OpenItem | undefined;
  let final: Record<string, unknown> | undefined;
  events.forEach((event, position) => {
    const data = eventJson(event, out.problems);
    if (data === undefined) return;
    if (data.type !== event.event) out.problems.push(`event '${String(event.event)}' carries type '${String(data.type)}'`);
    if (data.sequence_number !== position) out.problems.push(`${String(data.type)}: sequence_number ${String(data.sequence_number)} at position ${position}`);
    if (position === 0 && data.type !== 'response.created') out.problems.push(`the stream starts with ${String(data.type)}`);
    const mismatch = open !== undefined && data.item_id !== undefined && data.item_id !== open.id;
    if (mismatch || (open === undefined && data.item_id !== undefined)) out.problems.push(`${String(data.type)} for item ${String(data.item_id)} which is not open`);
    switch (data.type) {
      case 'response.output_item.added': {
        const item = isRecord(data.item) ? data.item : {};
        if (open !== undefined) out.problems.push(`item ${String(data.output_index)} added while item ${open.index} is open`);
        open = { index: Number(data.output_index), id: String(item.id), type: String(item.type), text: '' };
        if (item.type === 'function_call') {
          if (typeof item.call_id !== 'string' || item.call_id === '') out.problems.push(`function_call ${open.index}: no call_id when added`);
          if (typeof item.name !== 'string' || item.name === '') out.problems.push(`function_call ${open.index}: no name when added`);
          open.call = { id: typeof item.call_id === 'string' ? item.call_id : undefined, name: String(item.name ?? ''), arguments: '' };
          out.calls.push(open.call);
        }
        break;
      }
      case 'response.output_text.delta':
        out.text += String(data.delta);
        if (open !== undefined) open.text += String(data.delta);
        break;
      case 'response.output_text.done':
        if (open !== undefined && data.text !== open.text) out.problems.push('output_text.done text differs from its deltas');
        break;
      case 'response.function_call_arguments.delta':
        if (open?.call === undefined) out.problems.push('arguments for an item that is not a function call');
        else open.call.arguments += String(data.delta);
        break;
      case 'response.function_call_arguments.done':
        if (open?.call !== undefined && data.arguments !== open.call.arguments) out.problems.push(`arguments.done differs from its deltas: ${String(data.arguments)}`);
        break;
      case 'response.output_item.done':
        if (open === undefined || open.index !== data.output_index) out.problems.push(`item ${String(data.output_index)} done but not open`);
        open = undefined;
        break;
      case 'response.completed':
      case 'response.incomplete':
        if (position !== events.length - 1) out.problems.push(`${data.type} is not the last event`);
        final = isRecord(data.response) ? data.response : undefined;
        break;
      case 'error':
      case 'response.failed':
        out.problems.push(`${data.type} event: ${JSON.stringify(data).slice(0, 200)}`);
        break;
      default:
        break; // created, in_progress, content parts: nothing to assemble
    }
  });
  if (open !== undefined) out.problems.push(`item ${open.index} never done`);
  if (final === undefined) out.problems.push('no response.completed or response.incomplete event');
  else {
    const whole = emptyAssembled();
    readOutput(final, whole);
    if (whole.text !== out.text) out.problems.push(`the final response's text differs from the deltas: ${JSON.stringify(whole.text)}`);
    if (JSON.stringify(whole.calls) !== JSON.stringify(out.calls)) out.problems.push('the final response\'s calls differ from the streamed ones');
    out.finish = whole.finish;
    out.usage = whole.usage;
  }
  checkCallIds(out.calls, out.problems, true);
  return out;
}
