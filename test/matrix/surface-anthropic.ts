/**
 * The Anthropic surface (`POST /anthropic/v1/messages`) in the matrix: the
 * request an Anthropic SDK sends for each case, and the Message (or event
 * stream) assembled the way the SDK's MessageStream does.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming
 */
import type { SseEvent } from '../../src/gateway/sse.js';
import { checkCallIds, emptyAssembled, eventJson, isRecord, type Assembled, type AssembledCall, type SurfaceRequest } from './assembled.js';
import { maxTokensFor, promptFor, SYSTEM_PROMPT, TOOL_RESULTS, TOOLS, type CaseKind, type CaseMode } from './cases.js';

export const ANTHROPIC_FINISH = { stop: 'end_turn', tool_calls: 'tool_use', length: 'max_tokens' } as const;

export function anthropicRequest(model: string, kind: CaseKind, mode: CaseMode): SurfaceRequest {
  const prompt = promptFor(kind);
  const messages: unknown[] = [{ role: 'user', content: prompt }];
  if (kind === 'tool-results') {
    const ids = TOOLS.map((_, i) => `toolu_prev_${i}`);
    messages.push({ role: 'assistant', content: TOOLS.map((tool, i) => ({ type: 'tool_use', id: ids[i], name: tool.name, input: { text: prompt } })) });
    messages.push({ role: 'user', content: TOOLS.map((tool, i) => ({ type: 'tool_result', tool_use_id: ids[i], content: TOOL_RESULTS[tool.name] })) });
  }
  const body: Record<string, unknown> = { model, max_tokens: maxTokensFor(kind), system: SYSTEM_PROMPT, messages };
  if (kind === 'tools' || kind === 'tool-results') body.tools = TOOLS.map((tool) => ({ name: tool.name, description: tool.description, input_schema: tool.parameters }));
  if (mode === 'stream') body.stream = true;
  return { path: '/anthropic/v1/messages', headers: { 'x-api-key': 'client-key', 'anthropic-version': '2023-06-01' }, body };
}

export function assembleAnthropicJson(json: unknown): Assembled {
  const out = emptyAssembled();
  if (!isRecord(json) || json.type !== 'message' || !Array.isArray(json.content)) {
    out.problems.push(`not an Anthropic message: ${JSON.stringify(json).slice(0, 200)}`);
    return out;
  }
  for (const block of json.content) {
    if (!isRecord(block)) continue;
    if (block.type === 'text') out.text += String(block.text);
    else if (block.type === 'tool_use') {
      out.calls.push({ id: typeof block.id === 'string' ? block.id : undefined, name: String(block.name), arguments: JSON.stringify(block.input) });
    }
  }
  out.finish = typeof json.stop_reason === 'string' ? json.stop_reason : undefined;
  const usage = isRecord(json.usage) ? json.usage : undefined;
  if (usage !== undefined) out.usage = { input: Number(usage.input_tokens), output: Number(usage.output_tokens) };
  checkCallIds(out.calls, out.problems, true);
  return out;
}

interface OpenBlock {
  index: number;
  type: string;
  call?: AssembledCall;
}

/**
 * Events -> the message, with the stream's rules checked: message_start
 * first and message_stop last, each event's name equal to its `type`, one
 * block open at a time and never reopened, a tool_use block starting with
 * its id and name, its input_json_delta pieces making the arguments, one
 * message_delta with the stop reason and the usage.
 */
export function assembleAnthropicStream(events: readonly SseEvent[]): Assembled {
  const out = emptyAssembled();
  let open: OpenBlock | undefined;
  const seen = new Set<number>();
  let inputAtStart: number | undefined;
  let messageDeltas = 0;
  const named = events.filter((event) => event.event !== 'ping');
  named.forEach((event, position) => {
    const data = eventJson(event, out.problems);
    if (data === undefined) return;
    if (data.type !== event.event) out.problems.push(`event '${String(event.event)}' carries type '${String(data.type)}'`);
    if (position === 0 && data.type !== 'message_start') out.problems.push(`the stream starts with ${String(data.type)}`);
    switch (data.type) {
      case 'message_start': {
        const message = isRecord(data.message) ? data.message : {};
        const usage = isRecord(message.usage) ? message.usage : {};
        inputAtStart = typeof usage.input_tokens === 'number' ? usage.input_tokens : undefined;
        break;
      }
      case 'content_block_start': {
        const index = Number(data.index);
        const block = isRecord(data.content_block) ? data.content_block : {};
        if (open !== undefined) out.problems.push(`block ${index} starts while block ${open.index} is open`);
        if (seen.has(index)) out.problems.push(`block ${index} starts twice`);
        seen.add(index);
        open = { index, type: String(block.type) };
        if (block.type === 'tool_use') {
          if (typeof block.id !== 'string' || block.id === '') out.problems.push(`tool_use block ${index}: no id at its start`);
          if (typeof block.name !== 'string' || block.name === '') out.problems.push(`tool_use block ${index}: no name at its start`);
          open.call = { id: typeof block.id === 'string' ? block.id : undefined, name: String(block.name ?? ''), arguments: '' };
          out.calls.push(open.call);
        } else if (block.type === 'text' && typeof block.text === 'string') out.text += block.text;
        break;
      }
      case 'content_block_delta': {
        const delta = isRecord(data.delta) ? data.delta : {};
        if (open === undefined || open.index !== data.index) {
          out.problems.push(`a delta for block ${String(data.index)} which is not open`);
          break;
        }
        if (delta.type === 'text_delta') out.text += String(delta.text);
        else if (delta.type === 'input_json_delta' && open.call !== undefined) open.call.arguments += String(delta.partial_json);
        else if (delta.type === 'input_json_delta' || delta.type === 'text_delta') out.problems.push(`a ${String(delta.type)} in a ${open.type} block`);
        break;
      }
      case 'content_block_stop':
        if (open === undefined || open.index !== data.index) out.problems.push(`block ${String(data.index)} stops but is not open`);
        open = undefined;
        break;
      case 'message_delta': {
        messageDeltas++;
        const delta = isRecord(data.delta) ? data.delta : {};
        const usage = isRecord(data.usage) ? data.usage : {};
        out.finish = typeof delta.stop_reason === 'string' ? delta.stop_reason : undefined;
        // The SDK keeps message_start's input_tokens unless message_delta carries them.
        const input = typeof usage.input_tokens === 'number' ? usage.input_tokens : inputAtStart;
        out.usage = { input: Number(input), output: Number(usage.output_tokens) };
        break;
      }
      case 'message_stop':
        if (position !== named.length - 1) out.problems.push('message_stop is not the last event');
        break;
      case 'error':
        out.problems.push(`error event: ${JSON.stringify(data.error)}`);
        break;
      default:
        out.problems.push(`unknown event type ${String(data.type)}`);
    }
  });
  if (open !== undefined) out.problems.push(`block ${open.index} never stops`);
  if (messageDeltas !== 1) out.problems.push(`${messageDeltas} message_delta events`);
  if (named[named.length - 1]?.event !== 'message_stop') out.problems.push('the stream does not end with message_stop');
  // A client parses the tool input when the block stops: it must be the JSON of an object.
  for (const call of out.calls) {
    try {
      if (!isRecord(JSON.parse(call.arguments === '' ? '{}' : call.arguments))) out.problems.push(`tool ${call.name}: input is not an object`);
    } catch {
      out.problems.push(`tool ${call.name}: input_json_delta pieces are not JSON: ${call.arguments}`);
    }
  }
  checkCallIds(out.calls, out.problems, true);
  return out;
}
