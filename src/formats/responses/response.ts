/**
 * A canonical chat completion -> a Responses API `response` object.
 *
 * | canonical | Responses |
 * | --- | --- |
 * | `reasoning_content`, `reasoning_signature`, `redacted_thinking` | a `reasoning` item: summary text when summaries were asked for, the provider's state sealed in `encrypted_content` when `include` asked for it |
 * | `content` / `refusal` | a `message` item with an `output_text` / `refusal` part |
 * | `tool_calls` | `function_call` items (`custom_tool_call` for custom tools; `namespace` for namespaced ones) |
 * | `finish_reason` `length` / `content_filter` | status `incomplete`, `incomplete_details.reason` `max_output_tokens` / `content_filter` |
 * | usage | `input_tokens` (+ cached), `output_tokens` (+ reasoning), `total_tokens` |
 *
 * @see https://platform.openai.com/docs/api-reference/responses/object
 */
import type { ChatCompletion, ChatMessage, FinishReason, ToolCall, Usage } from '../openai/types.js';
import { CUSTOM_TOOL_ARGUMENT } from './request-tools.js';
import type { JsonRecord, ReasoningState, ResponsesEncodeContext } from './types.js';

/** A `resp_` id from a request id (letters, digits, `_` and `-` only). */
export function responseIdFor(requestId: string): string {
  return `resp_${requestId.replace(/[^A-Za-z0-9_-]/g, '')}`;
}

/** Item ids share the response's suffix: `msg_<suffix>_<n>`, `fc_<suffix>_<n>`, `rs_<suffix>_<n>`. */
export function itemId(context: ResponsesEncodeContext, prefix: 'msg' | 'fc' | 'ctc' | 'rs', index: number): string {
  return `${prefix}_${context.id.startsWith('resp_') ? context.id.slice(5) : context.id}_${index}`;
}

/** Canonical usage -> Responses usage. */
export function responsesUsage(usage: Usage | undefined | null): JsonRecord | undefined {
  if (usage === undefined || usage === null) return undefined;
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: {
      cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
      cache_write_tokens: usage.cache_creation_input_tokens ?? 0,
    },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens,
  };
}

/** The provider's reasoning state of a message (what must come back on the next turn). */
export function reasoningStateOf(message: ChatMessage): ReasoningState | undefined {
  const state: ReasoningState = {};
  if (typeof message.reasoning_content === 'string' && message.reasoning_content !== '') state.reasoning_content = message.reasoning_content;
  if (typeof message.reasoning_signature === 'string' && message.reasoning_signature !== '') state.reasoning_signature = message.reasoning_signature;
  if (Array.isArray(message.redacted_thinking) && message.redacted_thinking.length > 0) state.redacted_thinking = message.redacted_thinking as string[];
  return Object.keys(state).length === 0 ? undefined : state;
}

/** A finished reasoning item. */
export function reasoningItem(context: ResponsesEncodeContext, id: string, state: ReasoningState): JsonRecord {
  const item: JsonRecord = { id, type: 'reasoning', summary: [] as JsonRecord[] };
  if (context.facts.summaries && state.reasoning_content !== undefined) {
    item.summary = [{ type: 'summary_text', text: state.reasoning_content }];
  }
  // Only thinking that must go back (a signature, redacted blocks) is worth sealing.
  const needed = state.reasoning_signature !== undefined || state.redacted_thinking !== undefined;
  if (context.facts.encryptedReasoning && needed && context.seal !== undefined) item.encrypted_content = context.seal.seal(state);
  return item;
}

/** A finished function (or custom tool) call item. */
export function toolCallItem(context: ResponsesEncodeContext, index: number, call: Pick<ToolCall, 'id' | 'function'>): JsonRecord {
  const declared = context.facts.tools.get(call.function.name);
  const name = declared?.name ?? call.function.name;
  const namespace = declared?.namespace;
  let item: JsonRecord;
  if (declared?.kind === 'custom') {
    item = { id: itemId(context, 'ctc', index), type: 'custom_tool_call', status: 'completed', call_id: call.id, name, input: customInput(call.function.arguments) };
  } else {
    item = { id: itemId(context, 'fc', index), type: 'function_call', status: 'completed', call_id: call.id, name, arguments: call.function.arguments };
  }
  if (namespace !== undefined) item.namespace = namespace;
  return item;
}

/** A custom tool's free text from the `{"input": "..."}` arguments it was called with (the raw arguments when they are not). */
export function customInput(args: string): string {
  try {
    const parsed = JSON.parse(args) as unknown;
    if (typeof parsed === 'object' && parsed !== null) {
      const value = (parsed as JsonRecord)[CUSTOM_TOOL_ARGUMENT];
      if (typeof value === 'string') return value;
    }
  } catch {
    // not JSON: the model wrote the text itself
  }
  return args;
}

export function outputTextPart(text: string): JsonRecord {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

export function messageItem(id: string, parts: JsonRecord[], status: 'in_progress' | 'completed' | 'incomplete'): JsonRecord {
  return { id, type: 'message', status, role: 'assistant', content: parts };
}

/** Status and incomplete_details from a finish reason. */
export function responseStatus(finish: FinishReason | null | undefined): { status: 'completed' | 'incomplete'; incomplete_details: JsonRecord | null } {
  if (finish === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finish === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

/** The response object around its output (also the body of response.created / .completed events). */
export function responseObject(context: ResponsesEncodeContext, fields: JsonRecord): JsonRecord {
  const echo = context.facts.echo;
  return {
    id: context.id,
    object: 'response',
    created_at: context.created,
    status: 'in_progress',
    background: echo.background ?? false,
    error: null,
    incomplete_details: null,
    instructions: echo.instructions ?? null,
    max_output_tokens: echo.max_output_tokens ?? null,
    metadata: echo.metadata ?? {},
    model: context.model,
    output: [],
    parallel_tool_calls: echo.parallel_tool_calls ?? true,
    previous_response_id: echo.previous_response_id ?? null,
    reasoning: echo.reasoning ?? { effort: null, summary: null },
    service_tier: echo.service_tier ?? 'default',
    store: echo.store ?? false,
    temperature: echo.temperature ?? null,
    text: echo.text ?? { format: { type: 'text' } },
    tool_choice: echo.tool_choice ?? 'auto',
    tools: echo.tools ?? [],
    top_logprobs: echo.top_logprobs ?? 0,
    top_p: echo.top_p ?? null,
    truncation: echo.truncation ?? 'disabled',
    usage: null,
    user: echo.user ?? null,
    ...fields,
  };
}

export function encodeResponsesResponse(completion: ChatCompletion, context: ResponsesEncodeContext): JsonRecord {
  const choice = completion.choices[0];
  const message = choice?.message;
  const output: JsonRecord[] = [];
  const { status, incomplete_details } = responseStatus(choice?.finish_reason);
  if (message !== undefined) {
    const state = reasoningStateOf(message);
    if (state !== undefined) output.push(reasoningItem(context, itemId(context, 'rs', output.length), state));
    const parts: JsonRecord[] = [];
    const text = typeof message.content === 'string'
      ? message.content
      : Array.isArray(message.content) ? message.content.map((part) => (part.type === 'text' ? part.text : '')).join('') : '';
    if (text !== '') parts.push(outputTextPart(text));
    if (typeof message.refusal === 'string' && message.refusal !== '') parts.push({ type: 'refusal', refusal: message.refusal });
    if (parts.length > 0) output.push(messageItem(itemId(context, 'msg', output.length), parts, status));
    for (const call of message.tool_calls ?? []) output.push(toolCallItem(context, output.length, call));
  }
  return responseObject(context, {
    status,
    incomplete_details,
    output,
    usage: responsesUsage(completion.usage) ?? null,
  });
}
