/**
 * Responses `input` items -> canonical chat messages.
 *
 * | item | canonical |
 * | --- | --- |
 * | message (`user`, `system`, `developer`) | a message of that role; `input_text`, `input_image`, `input_file`, `input_audio` parts |
 * | message (`assistant`), `function_call`, `custom_tool_call`, `reasoning` | one assistant message per run of such items: text, tool_calls, reasoning |
 * | `function_call_output`, `custom_tool_call_output` | a `tool` message |
 * | `reasoning` with this gateway's `encrypted_content` | the provider's thinking state restored (signatures, redacted thinking) |
 * | other items (built-in tool calls, item references) | dropped with a warning |
 *
 * A custom tool call's free text becomes the arguments `{"input": "<text>"}` of the function it was
 * declared as (request-tools.ts).
 * @see https://platform.openai.com/docs/api-reference/responses/create#responses-create-input
 */
import { invalidField } from '../../errors/gateway-error.js';
import type { ChatMessage, ContentPart, ToolCall } from '../openai/types.js';
import type { CodecWarning } from '../types.js';
import { CUSTOM_TOOL_ARGUMENT, NAMESPACE_SEPARATOR } from './request-tools.js';
import type { JsonRecord, ReasoningSeal, ReasoningState } from './types.js';

const IMAGE_DETAILS = new Set(['auto', 'low', 'high']);

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(value: unknown, path: string, what: string): string {
  if (typeof value !== 'string') throw invalidField(path, `${path}: ${what} must be a string.`);
  return value;
}

/** One content part of an input message (or of a tool output) -> a canonical part, or undefined (dropped, warned). */
function contentPart(part: unknown, path: string, warnings: CodecWarning[]): ContentPart | undefined {
  if (!isRecord(part) || typeof part.type !== 'string') throw invalidField(`${path}.type`, `${path}.type: each content part needs a type.`);
  switch (part.type) {
    case 'input_text':
    case 'output_text':
    case 'text':
      return { type: 'text', text: requireString(part.text, `${path}.text`, 'text') };
    case 'refusal':
      return { type: 'text', text: requireString(part.refusal, `${path}.refusal`, 'refusal') };
    case 'input_image': {
      if (typeof part.image_url !== 'string' || part.image_url === '') {
        warnings.push({ param: path, message: 'An image given by file_id (OpenAI Files) cannot reach this provider; send image_url (a URL or data URL). It was dropped.' });
        return undefined;
      }
      const image: { url: string; detail?: 'auto' | 'low' | 'high' } = { url: part.image_url };
      if (typeof part.detail === 'string' && IMAGE_DETAILS.has(part.detail)) image.detail = part.detail as 'auto' | 'low' | 'high';
      return { type: 'image_url', image_url: image };
    }
    case 'input_file': {
      if (typeof part.file_data !== 'string' && typeof part.file_id !== 'string') {
        warnings.push({ param: path, message: 'A file given by file_url cannot reach this provider; send file_data. It was dropped.' });
        return undefined;
      }
      const file: { file_data?: string; file_id?: string; filename?: string } = {};
      if (typeof part.file_data === 'string') file.file_data = part.file_data;
      if (typeof part.file_id === 'string') file.file_id = part.file_id;
      if (typeof part.filename === 'string') file.filename = part.filename;
      return { type: 'file', file };
    }
    case 'input_audio': {
      const audio = isRecord(part.input_audio) ? part.input_audio : part;
      return { type: 'input_audio', input_audio: { data: requireString(audio.data, `${path}.data`, 'data'), format: requireString(audio.format, `${path}.format`, 'format') } };
    }
    default:
      warnings.push({ param: path, message: `Content of type '${part.type}' has no equivalent for this provider; it was dropped.` });
      return undefined;
  }
}

function contentParts(content: unknown, path: string, warnings: CodecWarning[]): string | ContentPart[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalidField(path, `${path}: expected a string or an array of content parts.`);
  const parts: ContentPart[] = [];
  content.forEach((part, i) => {
    const decoded = contentPart(part, `${path}[${i}]`, warnings);
    if (decoded !== undefined) parts.push(decoded);
  });
  return parts;
}

/** Parts that are all text -> one string (every provider codec takes it; tool results often must be text). */
function flatten(content: string | ContentPart[]): string | ContentPart[] {
  if (typeof content === 'string') return content;
  if (!content.every((part) => part.type === 'text')) return content;
  return content.map((part) => (part as { text: string }).text).join('');
}

/** Builds the canonical messages item by item; a run of assistant items becomes one assistant message. */
class MessageBuilder {
  readonly messages: ChatMessage[] = [];
  private assistant: ChatMessage | undefined;

  constructor(
    private readonly warnings: CodecWarning[],
    private readonly seal: ReasoningSeal | undefined,
  ) {}

  add(item: unknown, path: string): void {
    if (typeof item === 'string') {
      this.push({ role: 'user', content: item });
      return;
    }
    if (!isRecord(item)) throw invalidField(path, `${path}: each input item must be an object.`);
    const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
    switch (type) {
      case 'message':
        this.message(item, path);
        return;
      case 'function_call':
        this.toolCall(item, path, requireString(item.arguments, `${path}.arguments`, 'arguments'));
        return;
      case 'custom_tool_call':
        this.toolCall(item, path, JSON.stringify({ [CUSTOM_TOOL_ARGUMENT]: requireString(item.input, `${path}.input`, 'input') }));
        return;
      case 'function_call_output':
      case 'custom_tool_call_output':
        this.toolOutput(item, path);
        return;
      case 'reasoning':
        this.reasoning(item, path);
        return;
      case 'item_reference':
        this.reference(item, path);
        return;
      default:
        this.warnings.push({ param: path, message: `Input items of type '${String(type)}' have no equivalent for this provider; it was dropped.` });
    }
  }

  /**
   * A reference to an item the gateway did not find: the gateway resolves references to the items of
   * its stored responses (same virtual key) before decoding, so one left here is unknown (not stored,
   * another key's, deleted or expired). A reasoning item (`rs_...`; clients that store by default, such
   * as the AI SDK, send these) is optional context: dropped with a warning, the provider's own
   * fallbacks apply (Gemini 3 takes Google's documented placeholder signature). Any other item would
   * leave a hole in the conversation: 400.
   */
  private reference(item: JsonRecord, path: string): void {
    if (typeof item.id === 'string' && item.id.startsWith('rs_')) {
      this.warnings.push({
        param: path,
        message: `The reference to reasoning item '${item.id}' was dropped: no stored response of this key holds it. To carry reasoning across turns, send the reasoning items themselves with include: ['reasoning.encrypted_content'], or keep store on.`,
      });
      return;
    }
    const id = typeof item.id === 'string' ? item.id : '';
    throw invalidField(path, `${path}: Item with id '${id}' not found (item references resolve to the items of this key's stored responses); send the item itself.`);
  }

  private push(message: ChatMessage): void {
    this.assistant = undefined;
    this.messages.push(message);
  }

  private currentAssistant(): ChatMessage {
    if (this.assistant === undefined) {
      this.assistant = { role: 'assistant', content: null };
      this.messages.push(this.assistant);
    }
    return this.assistant;
  }

  private message(item: JsonRecord, path: string): void {
    const role = item.role;
    if (role !== 'user' && role !== 'system' && role !== 'developer' && role !== 'assistant') {
      throw invalidField(`${path}.role`, `${path}.role: expected 'user', 'assistant', 'system' or 'developer'.`);
    }
    const content = contentParts(item.content, `${path}.content`, this.warnings);
    if (role !== 'assistant') {
      this.push({ role, content });
      return;
    }
    const assistant = this.currentAssistant();
    const text = typeof content === 'string' ? content : content.map((part) => (part.type === 'text' ? part.text : '')).join('');
    assistant.content = typeof assistant.content === 'string' ? assistant.content + text : text;
  }

  private toolCall(item: JsonRecord, path: string, args: string): void {
    const callId = requireString(item.call_id, `${path}.call_id`, 'call_id');
    const name = requireString(item.name, `${path}.name`, 'name');
    const full = typeof item.namespace === 'string' && item.namespace !== '' ? `${item.namespace}${NAMESPACE_SEPARATOR}${name}` : name;
    const call: ToolCall = { id: callId, type: 'function', function: { name: full, arguments: args } };
    const assistant = this.currentAssistant();
    (assistant.tool_calls ??= []).push(call);
  }

  private toolOutput(item: JsonRecord, path: string): void {
    const callId = requireString(item.call_id, `${path}.call_id`, 'call_id');
    const output = item.output;
    const content = typeof output === 'string' ? output : flatten(contentParts(output, `${path}.output`, this.warnings));
    this.push({ role: 'tool', tool_call_id: callId, content });
  }

  private reasoning(item: JsonRecord, path: string): void {
    const assistant = this.currentAssistant();
    const sealed = typeof item.encrypted_content === 'string' && item.encrypted_content !== '' ? item.encrypted_content : undefined;
    const state = sealed === undefined ? undefined : this.seal?.open(sealed);
    if (state !== undefined) {
      restoreState(assistant, state);
      return;
    }
    if (sealed !== undefined) {
      this.warnings.push({ param: `${path}.encrypted_content`, message: 'This encrypted reasoning was not sealed by this gateway (or was altered) and cannot reach this provider; it was dropped.' });
    }
    // Reasoning in the open (summaries, reasoning text): kept as text; codecs that cannot send it back say so.
    const texts: string[] = [];
    for (const list of [item.content, item.summary]) {
      if (!Array.isArray(list)) continue;
      for (const part of list) if (isRecord(part) && typeof part.text === 'string' && part.text !== '') texts.push(part.text);
      if (texts.length > 0) break;
    }
    if (texts.length > 0 && assistant.reasoning_content == null) assistant.reasoning_content = texts.join('\n\n');
  }
}

/** Sealed reasoning back onto its assistant message: text appended, the first signature kept. */
function restoreState(message: ChatMessage, state: ReasoningState): void {
  if (typeof state.reasoning_content === 'string' && state.reasoning_content !== '') {
    message.reasoning_content = typeof message.reasoning_content === 'string' && message.reasoning_content !== ''
      ? message.reasoning_content + state.reasoning_content
      : state.reasoning_content;
  }
  if (typeof state.reasoning_signature === 'string' && message.reasoning_signature === undefined) message.reasoning_signature = state.reasoning_signature;
  if (Array.isArray(state.redacted_thinking) && state.redacted_thinking.length > 0) {
    const list = Array.isArray(message.redacted_thinking) ? (message.redacted_thinking as string[]) : [];
    message.redacted_thinking = [...list, ...state.redacted_thinking];
  }
}

/** `instructions` and `input` -> canonical messages. */
export function decodeInput(instructions: unknown, input: unknown, seal: ReasoningSeal | undefined, warnings: CodecWarning[]): ChatMessage[] {
  const builder = new MessageBuilder(warnings, seal);
  if (instructions !== undefined && instructions !== null) {
    builder.messages.push({ role: 'system', content: requireString(instructions, 'instructions', 'instructions') });
  }
  if (typeof input === 'string') builder.add(input, 'input');
  else if (Array.isArray(input)) input.forEach((item, i) => builder.add(item, `input[${i}]`));
  else throw invalidField('input', 'input: expected a string or an array of input items.');
  return builder.messages;
}
