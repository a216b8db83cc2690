/**
 * The tool loop streamed token by token: each turn's model call is a stream,
 * its events are passed to the caller as they come (one continuous stream in
 * the caller's format), and the turn's answer is rebuilt from them for the
 * loop. Calls of the MCP tools the loop runs are held back (the caller does
 * not run them); at the end the calls of the caller's own tools, the finish
 * and the summed usage close the stream.
 *
 * Chat Completions: content and refusal deltas pass; tool-call deltas, the
 * finish reason and usage are held. Responses: one `response.created`, then
 * every turn's output items except function calls, renumbered, then one
 * `response.completed` whose output is every item streamed.
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 * @see https://platform.openai.com/docs/api-reference/responses-streaming
 */
import { formatSse, SSE_DONE, type SseEvent } from '../gateway/sse.js';

type JsonObject = Record<string, unknown>;

export interface TurnStreamer {
  /** The events to write now for one event of the model's stream. */
  onEvent(event: SseEvent): string[];
  /** The turn's answer in the route's non-streamed shape; undefined when the stream carried an error (already written). */
  endTurn(): JsonObject | undefined;
  /** The closing events after the last turn. */
  finish(answer: JsonObject, usage: JsonObject | undefined, includeUsage: boolean): string[];
}

/** A progress line: an SSE comment, which SDKs skip and which keeps the connection alive. */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

function parse(data: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

interface ToolCallDraft {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

export class ChatTurnStreamer implements TurnStreamer {
  private base: JsonObject = {};
  private content = '';
  private refusal = '';
  private toolCalls = new Map<number, ToolCallDraft>();
  private finishReason: unknown = null;
  private usage: unknown;
  private failed = false;
  /** Content written in an earlier turn: the next turn's text starts on a new paragraph. */
  private wroteContent = false;
  private wroteRole = false;
  private turnWroteContent = false;

  onEvent(event: SseEvent): string[] {
    if (event.data === '[DONE]' || this.failed) return [];
    const chunk = parse(event.data);
    if (chunk === undefined) return [];
    if (chunk.error !== undefined) {
      this.failed = true;
      return [formatSse(event.data)];
    }
    this.base = { id: chunk.id, object: 'chat.completion.chunk', created: chunk.created, model: chunk.model, system_fingerprint: chunk.system_fingerprint ?? null };
    if (chunk.usage != null) this.usage = chunk.usage;
    const out: string[] = [];
    for (const choice of (chunk.choices as JsonObject[] | undefined) ?? []) {
      if ((choice.index ?? 0) !== 0) continue;
      const delta = (choice.delta ?? {}) as JsonObject;
      if (choice.finish_reason != null) this.finishReason = choice.finish_reason;
      for (const call of (delta.tool_calls as JsonObject[] | undefined) ?? []) this.addToolCall(call);
      const passed: JsonObject = {};
      if (typeof delta.content === 'string' && delta.content !== '') {
        const separator = this.wroteContent && !this.turnWroteContent ? '\n\n' : '';
        this.content += delta.content;
        passed.content = separator + delta.content;
        this.turnWroteContent = true;
      }
      if (typeof delta.refusal === 'string' && delta.refusal !== '') {
        this.refusal += delta.refusal;
        passed.refusal = delta.refusal;
      }
      if (Object.keys(passed).length > 0) out.push(this.chunk(passed, null));
    }
    return out;
  }

  private addToolCall(call: JsonObject): void {
    const index = typeof call.index === 'number' ? call.index : this.toolCalls.size;
    const fn = (call.function ?? {}) as JsonObject;
    let draft = this.toolCalls.get(index);
    if (draft === undefined) {
      draft = { id: '', type: 'function', function: { name: '', arguments: '' } };
      this.toolCalls.set(index, draft);
    }
    if (typeof call.id === 'string') draft.id = call.id;
    if (typeof fn.name === 'string') draft.function.name += fn.name;
    if (typeof fn.arguments === 'string') draft.function.arguments += fn.arguments;
  }

  private chunk(delta: JsonObject, finishReason: unknown): string {
    if (!this.wroteRole) {
      this.wroteRole = true;
      delta = { role: 'assistant', ...delta };
    }
    return formatSse(JSON.stringify({ ...this.base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] }));
  }

  endTurn(): JsonObject | undefined {
    if (this.failed) return undefined;
    const toolCalls = [...this.toolCalls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
    const message: JsonObject = { role: 'assistant', content: this.content === '' ? null : this.content };
    if (this.refusal !== '') message.refusal = this.refusal;
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    const answer: JsonObject = {
      id: this.base.id, object: 'chat.completion', created: this.base.created, model: this.base.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: this.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop') }],
      ...(this.usage === undefined ? {} : { usage: this.usage }),
    };
    this.wroteContent ||= this.turnWroteContent;
    this.turnWroteContent = false;
    this.content = '';
    this.refusal = '';
    this.toolCalls = new Map();
    this.finishReason = null;
    this.usage = undefined;
    return answer;
  }

  finish(answer: JsonObject, usage: JsonObject | undefined, includeUsage: boolean): string[] {
    const choice = ((answer.choices as JsonObject[] | undefined) ?? [])[0] ?? {};
    const message = (choice.message ?? {}) as JsonObject;
    const out: string[] = [];
    if (Array.isArray(message.tool_calls)) {
      out.push(this.chunk({ tool_calls: (message.tool_calls as JsonObject[]).map((call, index) => ({ index, ...call })) }, null));
    }
    out.push(this.chunk({}, choice.finish_reason ?? 'stop'));
    if (includeUsage && usage !== undefined) out.push(formatSse(JSON.stringify({ ...this.base, choices: [], usage })));
    out.push(SSE_DONE);
    return out;
  }
}

/** Event types that open or close the whole response: written once, by this streamer. */
const RESPONSE_LIFECYCLE = new Set(['response.created', 'response.in_progress', 'response.completed', 'response.incomplete', 'response.failed', 'response.queued']);

export class ResponsesTurnStreamer implements TurnStreamer {
  private sequence = 0;
  private started = false;
  /** Items streamed so far (all turns), in the caller's output order. */
  private readonly items: JsonObject[] = [];
  /** This turn's output index -> the caller's, for items that pass; held ones are absent. */
  private indexes = new Map<number, number>();
  private held = new Set<number>();
  private final: JsonObject | undefined;
  private failed = false;

  private emit(type: string, fields: JsonObject): string {
    return `event: ${type}\ndata: ${JSON.stringify({ ...fields, type, sequence_number: this.sequence++ })}\n\n`;
  }

  onEvent(event: SseEvent): string[] {
    if (this.failed) return [];
    const data = parse(event.data);
    if (data === undefined) return [];
    const type = typeof data.type === 'string' ? data.type : event.event ?? '';
    if (type === 'error' || type === 'response.failed') {
      this.failed = true;
      return [this.emit(type, data)];
    }
    if (RESPONSE_LIFECYCLE.has(type)) {
      const response = data.response as JsonObject | undefined;
      if (type === 'response.completed' || type === 'response.incomplete') this.final = response;
      if (type === 'response.created' && !this.started && response !== undefined) {
        this.started = true;
        return [this.emit('response.created', { response: { ...response, output: [] } }), this.emit('response.in_progress', { response: { ...response, output: [] } })];
      }
      return [];
    }
    if (typeof data.output_index !== 'number') return [this.emit(type, data)];
    const index = data.output_index;
    if (type === 'response.output_item.added') {
      const item = (data.item ?? {}) as JsonObject;
      if (item.type === 'function_call') {
        this.held.add(index);
        return [];
      }
      this.indexes.set(index, this.items.length);
      this.items.push(item);
    }
    if (this.held.has(index)) return [];
    const mapped = this.indexes.get(index);
    if (mapped === undefined) return [];
    if (type === 'response.output_item.done' && data.item !== undefined) this.items[mapped] = data.item as JsonObject;
    return [this.emit(type, { ...data, output_index: mapped })];
  }

  endTurn(): JsonObject | undefined {
    const answer = this.failed ? undefined : this.final;
    this.indexes = new Map();
    this.held = new Set();
    this.final = undefined;
    return answer;
  }

  finish(answer: JsonObject, usage: JsonObject | undefined): string[] {
    const out: string[] = [];
    for (const item of (answer.output as JsonObject[] | undefined) ?? []) {
      if (item.type !== 'function_call') continue;
      const index = this.items.length;
      this.items.push(item);
      out.push(this.emit('response.output_item.added', { output_index: index, item: { ...item, arguments: '', status: 'in_progress' } }));
      out.push(this.emit('response.function_call_arguments.done', { item_id: item.id, output_index: index, arguments: item.arguments }));
      out.push(this.emit('response.output_item.done', { output_index: index, item }));
    }
    const response = { ...answer, output: this.items, ...(usage === undefined ? {} : { usage }) };
    out.push(this.emit(answer.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response }));
    return out;
  }
}
