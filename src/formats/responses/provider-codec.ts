/**
 * The Responses API as a provider wire format: for OpenAI models served only
 * there (the `-codex` and `-pro` families), a chat completions, Anthropic or
 * Gemini caller's canonical request is sent to `/v1/responses` and the answer
 * (or its event stream) is read back as a chat completion.
 *
 * | canonical | Responses |
 * | --- | --- |
 * | `messages` (system, developer, user) | `input` message items (`input_text`, `input_image`, `input_file`, `input_audio`) |
 * | assistant `content`, `tool_calls` | `message` item with `output_text`; `function_call` items |
 * | `tool` messages | `function_call_output` items |
 * | `tools`, `tool_choice`, `parallel_tool_calls` | function tools, the same choice |
 * | `response_format` | `text.format` |
 * | `reasoning_effort` | `reasoning.effort` |
 * | `max_completion_tokens` / `max_tokens` | `max_output_tokens` |
 * | `stop`, `n` > 1, `seed`, penalties, `logit_bias`, `top_k` | no equivalent: dropped with a warning |
 *
 * Nothing is stored at OpenAI (`store: false`) unless the caller asked (`store: true`).
 * @see https://platform.openai.com/docs/api-reference/responses/create
 */
import type { SseEvent } from '../../gateway/sse.js';
import { decodeOpenAIError } from '../openai/codec.js';
import { streamEventJson } from '../stream-event-json.js';
import type { ChatCompletion, ChatCompletionChunk, ChatMessage, ChatRequest, ContentPart, FinishReason, ToolCall } from '../openai/types.js';
import { UpstreamStreamError, type CodecContext, type CodecWarning, type EncodeOptions, type EncodedRequest, type ProviderChatCodec, type StreamDecoder } from '../types.js';
import type { JsonRecord } from './types.js';
import { canonicalUsage } from './usage.js';

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Canonical fields with the same name and meaning in the Responses API. */
const SAME_FIELDS = ['temperature', 'top_p', 'user', 'metadata', 'service_tier', 'safety_identifier', 'prompt_cache_key', 'parallel_tool_calls', 'top_logprobs'];

/** Canonical fields the encoder reads itself. */
const HANDLED = new Set([...SAME_FIELDS, 'model', 'messages', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'tools', 'tool_choice', 'response_format', 'reasoning_effort', 'verbosity', 'logprobs', 'store']);

/** Chat parameters the Responses API has no equivalent for (dropped unless at their default). */
const UNSUPPORTED: ReadonlyArray<[string, (value: unknown) => boolean]> = [
  ['stop', () => false],
  ['n', (v) => v === 1],
  ['seed', () => false],
  ['presence_penalty', (v) => v === 0],
  ['frequency_penalty', (v) => v === 0],
  ['logit_bias', (v) => isRecord(v) && Object.keys(v).length === 0],
  ['top_k', () => false],
];

function inputPart(part: ContentPart): JsonRecord {
  switch (part.type) {
    case 'text':
      return { type: 'input_text', text: part.text };
    case 'image_url':
      return { type: 'input_image', image_url: part.image_url.url, detail: part.image_url.detail ?? 'auto' };
    case 'file':
      return { type: 'input_file', ...part.file };
    default:
      return { type: 'input_audio', input_audio: (part as { input_audio: unknown }).input_audio };
  }
}

function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

function encodeMessages(messages: readonly ChatMessage[]): JsonRecord[] {
  const items: JsonRecord[] = [];
  for (const message of messages) {
    if (message.role === 'assistant') {
      const text = textOf(message.content);
      if (text !== '') items.push({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] });
      for (const call of message.tool_calls ?? []) items.push({ type: 'function_call', call_id: call.id, name: call.function.name, arguments: call.function.arguments });
    } else if (message.role === 'tool' || message.role === 'function') {
      items.push({ type: 'function_call_output', call_id: message.tool_call_id ?? '', output: textOf(message.content) });
    } else {
      const content = typeof message.content === 'string' ? message.content : (message.content ?? []).map(inputPart);
      items.push({ type: 'message', role: message.role, content });
    }
  }
  return items;
}

function encodeRequest(request: ChatRequest, options: EncodeOptions): EncodedRequest {
  const warnings: CodecWarning[] = [];
  const body: JsonRecord = { model: options.model, input: encodeMessages(request.messages), store: false };
  for (const field of SAME_FIELDS) if (request[field] !== undefined && request[field] !== null) body[field] = request[field];
  const max = request.max_completion_tokens ?? request.max_tokens;
  if (typeof max === 'number') body.max_output_tokens = max;
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => ({ type: 'function', name: tool.function.name, description: tool.function.description, parameters: tool.function.parameters ?? { type: 'object', properties: {} }, strict: tool.function.strict ?? false }));
  }
  const choice = request.tool_choice;
  if (choice !== undefined) body.tool_choice = typeof choice === 'string' ? choice : { type: 'function', name: choice.function.name };
  const text: JsonRecord = {};
  const format = request.response_format;
  if (format?.type === 'json_object') text.format = { type: 'json_object' };
  else if (format?.type === 'json_schema' && format.json_schema !== undefined) text.format = { type: 'json_schema', ...format.json_schema };
  if (typeof request.verbosity === 'string') text.verbosity = request.verbosity;
  if (Object.keys(text).length > 0) body.text = text;
  if (typeof request.reasoning_effort === 'string') body.reasoning = { effort: request.reasoning_effort };
  if (request.logprobs === true) body.include = ['message.output_text.logprobs'];
  if (request.store === true) body.store = true;
  if (options.stream) body.stream = true;
  for (const [param, isDefault] of UNSUPPORTED) {
    const value = request[param];
    if (value !== undefined && value !== null && !isDefault(value)) warnings.push({ param, message: `The Responses API has no '${param}'; it was dropped.` });
  }
  for (const [key, value] of Object.entries(request)) {
    if (value === undefined || value === null || HANDLED.has(key) || UNSUPPORTED.some(([param]) => param === key)) continue;
    warnings.push({ param: key, message: `The Responses API does not take '${key}'; it was dropped.` });
  }
  return { body, warnings };
}

function finishOf(status: unknown, details: unknown, calls: number): FinishReason {
  if (status === 'incomplete') return isRecord(details) && details.reason === 'content_filter' ? 'content_filter' : 'length';
  return calls > 0 ? 'tool_calls' : 'stop';
}

function decodeResponse(body: unknown, context: CodecContext): ChatCompletion {
  if (!isRecord(body) || !Array.isArray(body.output)) throw new UpstreamStreamError('the Responses answer has no output array', 502);
  let text = '';
  let reasoning = '';
  let refusal = '';
  const calls: ToolCall[] = [];
  for (const item of body.output) {
    if (!isRecord(item)) continue;
    if (item.type === 'message' && Array.isArray(item.content)) {
      for (const part of item.content) {
        if (isRecord(part) && part.type === 'output_text') text += String(part.text ?? '');
        else if (isRecord(part) && part.type === 'refusal') refusal += String(part.refusal ?? '');
      }
    } else if (item.type === 'function_call') {
      calls.push({ id: String(item.call_id), type: 'function', function: { name: String(item.name), arguments: String(item.arguments ?? '') } });
    } else if (item.type === 'reasoning' && Array.isArray(item.summary)) {
      for (const part of item.summary) if (isRecord(part) && typeof part.text === 'string') reasoning += part.text;
    }
  }
  const message: ChatCompletion['choices'][0]['message'] = { role: 'assistant', content: text !== '' || calls.length === 0 ? text : null };
  if (refusal !== '') message.refusal = refusal;
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (calls.length > 0) message.tool_calls = calls;
  const completion: ChatCompletion = {
    id: context.id,
    object: 'chat.completion',
    created: typeof body.created_at === 'number' ? body.created_at : context.created,
    model: typeof body.model === 'string' ? body.model : context.model,
    choices: [{ index: 0, message, finish_reason: finishOf(body.status, body.incomplete_details, calls.length) }],
  };
  const usage = canonicalUsage(body.usage);
  if (usage !== undefined) completion.usage = usage;
  return completion;
}

/** Responses events -> canonical chunks: text, reasoning summaries, function calls, one finish, then usage. */
class ResponsesStreamDecoder implements StreamDecoder {
  /** item_id -> the tool call's index. */
  private readonly calls = new Map<string, number>();
  private finished = false;

  constructor(private readonly context: CodecContext) {}

  private chunk(delta: ChatCompletionChunk['choices'][0]['delta'], finish: FinishReason | null = null): ChatCompletionChunk {
    return { id: this.context.id, object: 'chat.completion.chunk', created: this.context.created, model: this.context.model, choices: [{ index: 0, delta, finish_reason: finish }] };
  }

  onEvent(event: SseEvent): ChatCompletionChunk[] {
    const data = streamEventJson(event, `invalid JSON in stream event: ${event.data.slice(0, 200)}`);
    if (data === undefined) return [];
    switch (data.type) {
      case 'response.output_text.delta':
        return [this.chunk({ content: String(data.delta ?? '') })];
      case 'response.refusal.delta':
        return [this.chunk({ refusal: String(data.delta ?? '') })];
      case 'response.reasoning_summary_text.delta':
        return [this.chunk({ reasoning_content: String(data.delta ?? '') })];
      case 'response.output_item.added': {
        const item = isRecord(data.item) ? data.item : {};
        if (item.type !== 'function_call') return [];
        const index = this.calls.size;
        this.calls.set(String(item.id), index);
        return [this.chunk({ tool_calls: [{ index, id: String(item.call_id), type: 'function', function: { name: String(item.name), arguments: '' } }] })];
      }
      case 'response.function_call_arguments.delta': {
        const index = this.calls.get(String(data.item_id));
        return index === undefined ? [] : [this.chunk({ tool_calls: [{ index, function: { arguments: String(data.delta ?? '') } }] })];
      }
      case 'response.completed':
      case 'response.incomplete': {
        if (this.finished) return [];
        this.finished = true;
        const response = isRecord(data.response) ? data.response : {};
        const finish = this.chunk({}, finishOf(response.status, response.incomplete_details, this.calls.size));
        const usage = canonicalUsage(response.usage);
        return usage === undefined ? [finish] : [finish, { ...this.chunk({}), choices: [], usage }];
      }
      case 'response.failed': {
        const response = isRecord(data.response) ? data.response : {};
        const error = isRecord(response.error) ? response.error : {};
        throw new UpstreamStreamError(typeof error.message === 'string' ? error.message : 'the response failed', 502, typeof error.code === 'string' ? error.code : undefined);
      }
      case 'error':
        throw new UpstreamStreamError(typeof data.message === 'string' ? data.message : 'upstream stream error', 502, typeof data.code === 'string' ? data.code : undefined);
      default:
        return [];
    }
  }

  onEnd(): ChatCompletionChunk[] {
    return [];
  }
}

/**
 * Not in the registry by wire format: the gateway picks it per model, for OpenAI models that only the
 * Responses API serves (the catalog's `responses_only` models, src/catalog/rules.ts).
 */
export const responsesProviderCodec: ProviderChatCodec = {
  format: 'openai',
  encodeRequest,
  decodeResponse,
  createStreamDecoder: (context) => new ResponsesStreamDecoder(context),
  decodeError: decodeOpenAIError,
};
