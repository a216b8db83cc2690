/**
 * Canonical chat request -> Cohere v2 `POST /v2/chat` body.
 * Messages and tools are close to OpenAI's; the differences: `p`/`k` for
 * top_p/top_k, `stop_sequences`, upper-case `tool_choice`, `tool_plan` for the
 * text a model writes before its tool calls (canonical `reasoning_content`).
 * @see https://docs.cohere.com/v2/reference/chat
 * @see https://docs.cohere.com/v2/docs/tool-use-overview
 */
import { foreignConversationWarnings } from '../conversation-warnings.js';
import { invalidField } from '../../errors/gateway-error.js';
import type { CodecWarning, EncodedRequest, EncodeOptions } from '../types.js';
import type { ChatMessage, ChatRequest, FunctionTool } from '../openai/types.js';

type CohereContent = string | Array<Record<string, unknown>>;

interface CohereMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content?: CohereContent;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
  tool_plan?: string;
  tool_call_id?: string;
}

function textContent(message: ChatMessage, index: number, role: string): CohereContent | undefined {
  const content = message.content;
  if (content == null) return undefined;
  if (typeof content === 'string') return content;
  return content.map((part, j) => {
    if (part.type !== 'text') throw invalidField(`messages[${index}].content[${j}]`, `Cohere ${role} messages take text parts only.`);
    return { type: 'text', text: part.text };
  });
}

function userContent(message: ChatMessage, index: number): CohereContent {
  const content = message.content;
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((part, j) => {
    if (part.type === 'text') return { type: 'text', text: part.text };
    // Vision models (command-a-vision) take OpenAI-shaped image parts.
    if (part.type === 'image_url') return { type: 'image_url', image_url: part.image_url };
    throw invalidField(`messages[${index}].content[${j}]`, `Cohere does not take "${part.type}" content parts.`);
  });
}

function assistantMessage(message: ChatMessage, index: number): CohereMessage {
  const out: CohereMessage = { role: 'assistant' };
  const content = textContent(message, index, 'assistant');
  if (content !== undefined && content !== '') out.content = content;
  if (message.tool_calls?.length) {
    out.tool_calls = message.tool_calls.map((call, j) => {
      if (typeof call?.id !== 'string' || typeof call.function?.name !== 'string') {
        throw invalidField(`messages[${index}].tool_calls[${j}]`, 'A tool call needs an id and a function name.');
      }
      return { id: call.id, type: 'function', function: { name: call.function.name, arguments: call.function.arguments ?? '{}' } };
    });
    if (typeof message.reasoning_content === 'string' && message.reasoning_content !== '') out.tool_plan = message.reasoning_content;
  }
  return out;
}

function encodeMessages(messages: readonly ChatMessage[]): CohereMessage[] {
  if (!Array.isArray(messages)) throw invalidField('messages', 'messages must be an array.');
  return messages.map((message, i): CohereMessage => {
    switch (message?.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: textContent(message, i, 'system') ?? '' };
      case 'user':
        return { role: 'user', content: userContent(message, i) };
      case 'assistant':
        return assistantMessage(message, i);
      case 'tool':
        if (typeof message.tool_call_id !== 'string') throw invalidField(`messages[${i}].tool_call_id`, 'A tool message needs tool_call_id.');
        return { role: 'tool', tool_call_id: message.tool_call_id, content: textContent(message, i, 'tool') ?? '' };
      default:
        throw invalidField(`messages[${i}].role`, `Cohere does not take messages with role "${String(message?.role)}".`);
    }
  });
}

function encodeTool(tool: FunctionTool, index: number): Record<string, unknown> {
  if (tool?.type !== 'function' || typeof tool.function?.name !== 'string') {
    throw invalidField(`tools[${index}]`, 'Only function tools with a name are supported.');
  }
  const fn: Record<string, unknown> = { name: tool.function.name };
  if (tool.function.description !== undefined) fn.description = tool.function.description;
  fn.parameters = tool.function.parameters ?? { type: 'object', properties: {} };
  return { type: 'function', function: fn };
}

/**
 * tool_choice: `required` -> REQUIRED, `none` -> NONE, `auto` -> left out (the default).
 * Cohere cannot name one function; sending only that tool with REQUIRED means the same.
 */
function encodeTools(request: ChatRequest, body: Record<string, unknown>): void {
  let tools = request.tools ?? [];
  const choice = request.tool_choice;
  if (typeof choice === 'object' && choice !== null) {
    const name = choice.function?.name;
    const only = tools.filter((tool) => tool?.function?.name === name);
    if (only.length === 0) throw invalidField('tool_choice.function.name', `tool_choice names "${String(name)}", which is not in tools.`);
    tools = only;
    body.tool_choice = 'REQUIRED';
  } else if (choice === 'required') {
    body.tool_choice = 'REQUIRED';
  } else if (choice === 'none') {
    body.tool_choice = 'NONE';
  }
  if (tools.length > 0) {
    body.tools = tools.map(encodeTool);
    if (tools.every((tool) => tool.function.strict === true)) body.strict_tools = true;
  }
}

/** Canonical name -> Cohere name, for the 1:1 parameters. @see https://docs.cohere.com/v2/reference/chat */
const DIRECT: ReadonlyArray<readonly [keyof ChatRequest, string]> = [
  ['temperature', 'temperature'],
  ['top_p', 'p'],
  ['top_k', 'k'],
  ['seed', 'seed'],
  ['frequency_penalty', 'frequency_penalty'],
  ['presence_penalty', 'presence_penalty'],
];

/** Canonical fields this encoder reads; anything else is an extra. */
const HANDLED_FIELDS = new Set([
  'model', 'messages', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'stop', 'response_format',
  'tools', 'tool_choice', 'parallel_tool_calls', 'thinking', ...DIRECT.map(([from]) => from as string),
]);

/** Cohere fields a caller may send as they are: copied into the body. @see https://docs.cohere.com/v2/reference/chat */
const NATIVE_FIELDS = new Set(['safety_mode', 'citation_options', 'strict_tools', 'priority']);

/** OpenAI parameters Cohere cannot take as sent: dropped with a warning when set to a non-default value. */
const UNSUPPORTED: ReadonlyArray<[param: string, isDefault: (value: unknown) => boolean, why: string]> = [
  ['n', (v) => v === 1, 'Cohere returns one choice'],
  ['logprobs', (v) => v === false, 'Cohere log probabilities are not mapped to the OpenAI shape'],
  ['top_logprobs', (v) => v === 0, 'Cohere log probabilities are not mapped to the OpenAI shape'],
  ['logit_bias', (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0, 'Cohere has no logit bias'],
  ['user', () => false, 'Cohere has no end-user id'],
  ['reasoning_effort', () => false, 'Cohere takes a thinking token budget, not an effort'],
];
for (const [param] of UNSUPPORTED) HANDLED_FIELDS.add(param);

function encodeExtras(request: ChatRequest, body: Record<string, unknown>, warnings: CodecWarning[]): void {
  for (const [param, isDefault, why] of UNSUPPORTED) {
    const value = request[param];
    if (isSet(value) && !isDefault(value)) warnings.push({ param, message: `${why}; ${param} was dropped.` });
  }
  if (request.parallel_tool_calls === false) {
    warnings.push({ param: 'parallel_tool_calls', message: 'Cohere cannot turn off parallel tool calls; it was dropped.' });
  }
  for (const [key, value] of Object.entries(request)) {
    if (HANDLED_FIELDS.has(key) || value === undefined || value === null) continue;
    if (NATIVE_FIELDS.has(key)) body[key] = value;
    else warnings.push({ param: key, message: `Cohere does not take '${key}'; it was dropped.` });
  }
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

export function encodeCohereRequest(request: ChatRequest, options: EncodeOptions): EncodedRequest {
  const warnings: CodecWarning[] = [];
  const body: Record<string, unknown> = { model: options.model, messages: encodeMessages(request.messages) };
  if (options.stream) body.stream = true;

  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? options.defaultMaxTokens;
  if (isSet(maxTokens)) body.max_tokens = maxTokens;
  for (const [from, to] of DIRECT) {
    if (isSet(request[from])) body[to] = request[from];
  }
  if (isSet(request.stop)) body.stop_sequences = typeof request.stop === 'string' ? [request.stop] : request.stop;

  const format = request.response_format;
  if (format?.type === 'json_object') body.response_format = { type: 'json_object' };
  else if (format?.type === 'json_schema') {
    body.response_format = format.json_schema?.schema === undefined
      ? { type: 'json_object' }
      : { type: 'json_object', json_schema: format.json_schema.schema };
  }

  encodeTools(request, body);

  // @see https://docs.cohere.com/v2/docs/reasoning
  if (request.thinking?.type === 'enabled') body.thinking = { type: 'enabled', token_budget: request.thinking.budget_tokens };
  else if (request.thinking?.type === 'disabled') body.thinking = { type: 'disabled' };
  else if (request.thinking?.type === 'adaptive') {
    warnings.push({ param: 'thinking', message: 'Cohere takes a thinking token budget; adaptive thinking was dropped (the model default applies).' });
  }

  encodeExtras(request, body, warnings);
  warnings.push(...foreignConversationWarnings(request, 'Cohere', { systemMoves: false }));
  return { body, warnings };
}
