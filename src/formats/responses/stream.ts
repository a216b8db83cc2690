/**
 * Canonical chunks -> the Responses API event stream (what the OpenAI SDK's
 * `responses.stream()` / `create({ stream: true })` and Codex read):
 *
 *   response.created, response.in_progress,
 *   per output item: response.output_item.added, then
 *     reasoning: response.reasoning_summary_part.added, response.reasoning_summary_text.delta ... .done,
 *                response.reasoning_summary_part.done (when summaries were asked for);
 *     message:   response.content_part.added, response.output_text.delta ... .done, response.content_part.done;
 *     call:      response.function_call_arguments.delta ... .done
 *                (custom tools: response.custom_tool_call_input.delta / .done);
 *   response.output_item.done,
 *   response.completed (response.incomplete when cut at the output limit),
 *   or, when the upstream fails mid-stream, response.failed and error.
 *
 * Every event carries `sequence_number`; item events carry `output_index` and `item_id`, part events
 * `content_index`, as OpenAI sends them. One item is open at a time (a change of kind closes it).
 * A provider signature that arrives after its reasoning item closed (Gemini signs the function call)
 * goes out as one more reasoning item before the end, so it comes back on the next turn.
 * @see https://platform.openai.com/docs/api-reference/responses-streaming
 */
import { formatSse } from '../../gateway/sse.js';
import type { ChatCompletionChunk, ChunkDelta, FinishReason, ToolCallDelta, Usage } from '../openai/types.js';
import type { StreamEncoder } from '../types.js';
import {
  customInput, itemId, messageItem, outputTextPart, reasoningItem, responseObject, responseStatus, responsesUsage, toolCallItem,
} from './response.js';
import type { JsonRecord, ReasoningState, ResponsesEncodeContext } from './types.js';

interface OpenReasoning { kind: 'reasoning'; index: number; id: string; state: ReasoningState; summary: boolean }
interface OpenMessage { kind: 'message'; index: number; id: string; parts: JsonRecord[]; part: 'output_text' | 'refusal'; text: string }
interface OpenCall { kind: 'call'; index: number; id: string; toolIndex: number; callId: string; name: string; args: string; custom: boolean }
type OpenItem = OpenReasoning | OpenMessage | OpenCall;

/** The OpenAI error code a mid-stream failure reports in `response.failed`. */
function failureCode(status: number): string {
  return status === 429 ? 'rate_limit_exceeded' : 'server_error';
}

export class ResponsesStreamEncoder implements StreamEncoder {
  private sequence = 0;
  private started = false;
  private ended = false;
  private open: OpenItem | null = null;
  private readonly output: JsonRecord[] = [];
  private readonly seenTools = new Set<number>();
  /** Provider state that arrived after its reasoning item closed. */
  private late: ReasoningState | undefined;
  private finish: FinishReason | null = null;
  private usage: Usage | undefined;
  /** The finished response (the body of response.completed / .incomplete), once the stream ended well. */
  final: JsonRecord | undefined;

  constructor(private readonly context: ResponsesEncodeContext) {}

  onChunk(chunk: ChatCompletionChunk): string {
    if (this.ended) return '';
    let out = this.started ? '' : this.start();
    const choice = chunk.choices?.find((c) => c.index === 0) ?? chunk.choices?.[0];
    if (choice !== undefined) {
      if (choice.delta !== undefined && choice.delta !== null) out += this.delta(choice.delta);
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
        this.finish = choice.finish_reason;
        out += this.close();
      }
    }
    if (chunk.usage !== undefined && chunk.usage !== null) {
      this.usage = chunk.usage;
      if (this.finish !== null) out += this.end();
    }
    return out;
  }

  onEnd(): string {
    if (this.ended) return '';
    return (this.started ? '' : this.start()) + this.end();
  }

  onError(error: { status: number; message: string; type?: string }): string {
    if (this.ended) return '';
    this.ended = true;
    const code = failureCode(error.status);
    const failed = responseObject(this.context, { status: 'failed', error: { code, message: error.message }, output: this.output, usage: responsesUsage(this.usage) ?? null });
    return this.event('response.failed', { response: failed }) + this.event('error', { code, message: error.message, param: null });
  }

  private event(type: string, data: JsonRecord): string {
    return formatSse(JSON.stringify({ type, sequence_number: this.sequence++, ...data }), type);
  }

  private start(): string {
    this.started = true;
    const response = responseObject(this.context, {});
    return this.event('response.created', { response }) + this.event('response.in_progress', { response });
  }

  private delta(delta: ChunkDelta): string {
    let out = '';
    const reasoning = delta.reasoning_content;
    if (typeof reasoning === 'string' && reasoning !== '') out += this.reasoningText(reasoning);
    const signature = delta.reasoning_signature;
    if (typeof signature === 'string' && signature !== '') {
      if (this.open?.kind === 'reasoning') this.open.state.reasoning_signature = signature;
      else (this.late ??= {}).reasoning_signature ??= signature;
    }
    if (typeof delta.content === 'string' && delta.content !== '') out += this.text('output_text', delta.content);
    if (typeof delta.refusal === 'string' && delta.refusal !== '') out += this.text('refusal', delta.refusal);
    for (const call of delta.tool_calls ?? []) out += this.toolDelta(call);
    return out;
  }

  private itemEvent(type: string, open: OpenItem, data: JsonRecord): string {
    return this.event(type, { item_id: open.id, output_index: open.index, ...data });
  }

  private reasoningText(text: string): string {
    let out = '';
    if (this.open?.kind !== 'reasoning') {
      out += this.close();
      const index = this.output.length;
      const open: OpenReasoning = { kind: 'reasoning', index, id: itemId(this.context, 'rs', index), state: {}, summary: false };
      this.open = open;
      out += this.event('response.output_item.added', { output_index: index, item: { id: open.id, type: 'reasoning', summary: [] } });
    }
    const open = this.open as OpenReasoning;
    open.state.reasoning_content = (open.state.reasoning_content ?? '') + text;
    if (!this.context.facts.summaries) return out;
    if (!open.summary) {
      open.summary = true;
      out += this.itemEvent('response.reasoning_summary_part.added', open, { summary_index: 0, part: { type: 'summary_text', text: '' } });
    }
    return out + this.itemEvent('response.reasoning_summary_text.delta', open, { summary_index: 0, delta: text });
  }

  private text(part: 'output_text' | 'refusal', text: string): string {
    let out = '';
    if (this.open?.kind !== 'message') {
      out += this.close();
      const index = this.output.length;
      const open: OpenMessage = { kind: 'message', index, id: itemId(this.context, 'msg', index), parts: [], part, text: '' };
      this.open = open;
      out += this.event('response.output_item.added', { output_index: index, item: messageItem(open.id, [], 'in_progress') });
      out += this.partAdded(open);
    } else if (this.open.part !== part) {
      out += this.partDone(this.open);
      this.open.part = part;
      this.open.text = '';
      out += this.partAdded(this.open);
    }
    const open = this.open as OpenMessage;
    open.text += text;
    const contentIndex = open.parts.length;
    if (part === 'refusal') return out + this.itemEvent('response.refusal.delta', open, { content_index: contentIndex, delta: text });
    return out + this.textDelta(open, contentIndex, text);
  }

  /**
   * `response.output_text.delta`, nearly every event of a stream, written as text: the same bytes as
   * itemEvent() gives (same keys, same order), without the three objects it builds per event.
   */
  private textDelta(open: OpenMessage, contentIndex: number, text: string): string {
    return `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":${this.sequence++},"item_id":${JSON.stringify(open.id)},"output_index":${open.index},"content_index":${contentIndex},"delta":${JSON.stringify(text)},"logprobs":[]}\n\n`;
  }

  private partAdded(open: OpenMessage): string {
    const part = open.part === 'refusal' ? { type: 'refusal', refusal: '' } : outputTextPart('');
    return this.itemEvent('response.content_part.added', open, { content_index: open.parts.length, part });
  }

  private partDone(open: OpenMessage): string {
    const contentIndex = open.parts.length;
    const part = open.part === 'refusal' ? { type: 'refusal', refusal: open.text } : outputTextPart(open.text);
    open.parts.push(part);
    const done = open.part === 'refusal'
      ? this.itemEvent('response.refusal.done', open, { content_index: contentIndex, refusal: open.text })
      : this.itemEvent('response.output_text.done', open, { content_index: contentIndex, text: open.text, logprobs: [] });
    return done + this.itemEvent('response.content_part.done', open, { content_index: contentIndex, part });
  }

  private toolDelta(call: ToolCallDelta): string {
    const toolIndex = typeof call.index === 'number' ? call.index : 0;
    let out = '';
    if (this.open?.kind !== 'call' || this.open.toolIndex !== toolIndex) {
      // An item, once done, cannot reopen: late arguments for an earlier call have nowhere to go.
      if (this.seenTools.has(toolIndex)) return '';
      out += this.close();
      this.seenTools.add(toolIndex);
      const index = this.output.length;
      const name = call.function?.name ?? '';
      const callId = call.id ?? `call_${this.context.id}_${toolIndex}`;
      const item = toolCallItem(this.context, index, { id: callId, function: { name, arguments: '' } });
      const open: OpenCall = { kind: 'call', index, id: item.id as string, toolIndex, callId, name, args: '', custom: item.type === 'custom_tool_call' };
      this.open = open;
      out += this.event('response.output_item.added', { output_index: index, item: { ...item, status: 'in_progress' } });
    }
    const open = this.open as OpenCall;
    const args = call.function?.arguments;
    if (typeof args === 'string' && args !== '') {
      open.args += args;
      // A custom tool's text is inside JSON arguments: it goes out whole when the call is done.
      if (!open.custom) out += this.itemEvent('response.function_call_arguments.delta', open, { delta: args });
    }
    return out;
  }

  /** Finishes the open item, if any: its done events and output_item.done. */
  private close(): string {
    const open = this.open;
    if (open === null) return '';
    this.open = null;
    let out = '';
    let item: JsonRecord;
    if (open.kind === 'reasoning') {
      const text = open.state.reasoning_content ?? '';
      if (open.summary) {
        out += this.itemEvent('response.reasoning_summary_text.done', open, { summary_index: 0, text });
        out += this.itemEvent('response.reasoning_summary_part.done', open, { summary_index: 0, part: { type: 'summary_text', text } });
      }
      item = reasoningItem(this.context, open.id, open.state);
    } else if (open.kind === 'message') {
      out += this.partDone(open);
      item = messageItem(open.id, open.parts, responseStatus(this.finish).status);
    } else {
      item = toolCallItem(this.context, open.index, { id: open.callId, function: { name: open.name, arguments: open.args } });
      if (open.custom) {
        const input = customInput(open.args);
        out += this.itemEvent('response.custom_tool_call_input.delta', open, { delta: input });
        out += this.itemEvent('response.custom_tool_call_input.done', open, { input });
      } else {
        out += this.itemEvent('response.function_call_arguments.done', open, { name: item.name, arguments: open.args });
      }
    }
    this.output.push(item);
    return out + this.event('response.output_item.done', { output_index: open.index, item });
  }

  /** Reasoning state that came after its item closed, as one more reasoning item. */
  private flushLate(): string {
    const state = this.late;
    if (state === undefined || !this.context.facts.encryptedReasoning || this.context.seal === undefined) return '';
    this.late = undefined;
    const index = this.output.length;
    const item = reasoningItem({ ...this.context, facts: { ...this.context.facts, summaries: false } }, itemId(this.context, 'rs', index), state);
    this.output.push(item);
    return this.event('response.output_item.added', { output_index: index, item: { id: item.id, type: 'reasoning', summary: [] } })
      + this.event('response.output_item.done', { output_index: index, item });
  }

  private end(): string {
    this.ended = true;
    const out = this.close() + this.flushLate();
    const { status, incomplete_details } = responseStatus(this.finish);
    const response = responseObject(this.context, { status, incomplete_details, output: this.output, usage: responsesUsage(this.usage) ?? null });
    this.final = response;
    return out + this.event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
  }
}
