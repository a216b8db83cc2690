/**
 * Gemini surface: `contents` and `systemInstruction` of a caller's
 * generateContent body -> canonical messages, validated with plain code and
 * errors that name the field (`contents[1].parts[0].inlineData.mimeType`).
 *
 * - A model turn becomes one assistant message (text joined, thought text as
 *   reasoning_content, functionCall parts as tool_calls, each with its own
 *   thoughtSignature in `extra_content.google.thought_signature`; the first call's
 *   (else the last) signature also as reasoning_signature).
 * - A user turn's functionResponse parts become tool messages placed first
 *   (OpenAI wants results right after the calls), then one user message with
 *   the other parts. A response is matched to its call by `id`, else by name
 *   in call order; calls without an id get `call_<turn>_<part>`.
 * - inlineData: image/* -> image_url data URL, audio/* -> input_audio, other
 *   -> file (data URL). fileData: image/* -> image_url URL, other -> file with
 *   the URI as file_id.
 *
 * @see https://ai.google.dev/api/caching#Content
 */
import { invalidField } from '../../errors/gateway-error.js';
import type { ChatMessage, ContentPart, ToolCall } from '../openai/types.js';
import type { CodecWarning } from '../types.js';
import { guessMimeType, toDataUrl } from './media.js';
import { withThoughtSignature } from './response.js';

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw invalidField(path, `${path} must be a string.`);
  return value;
}

/** Part kinds Gemini defines that have no canonical form: dropped with a warning. */
const UNSUPPORTED_PART_KINDS = ['executableCode', 'codeExecutionResult', 'toolCall', 'toolResponse'] as const;

/** `systemInstruction` as a Content object or a bare string -> one system message. */
export function decodeSystemInstruction(value: unknown): ChatMessage | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value === '' ? undefined : { role: 'system', content: value };
  if (!isObject(value) || !Array.isArray(value.parts)) {
    throw invalidField('systemInstruction', 'systemInstruction must be a string or a Content object with parts.');
  }
  const texts = value.parts.map((part, j) => {
    if (!isObject(part)) throw invalidField(`systemInstruction.parts[${j}]`, `systemInstruction.parts[${j}] must be an object.`);
    return requireString(part.text, `systemInstruction.parts[${j}].text`);
  });
  if (texts.length === 0) return undefined;
  return { role: 'system', content: texts.length === 1 ? texts[0] : texts.map((text) => ({ type: 'text' as const, text })) };
}

interface PendingCall {
  id: string;
  name: string;
}

/** Decodes `contents` into `messages`, in order. */
export function decodeContents(contents: unknown, messages: ChatMessage[], warnings: CodecWarning[]): void {
  if (!Array.isArray(contents) || contents.length === 0) {
    throw invalidField('contents', 'contents must be a non-empty array of Content objects.');
  }
  const pending: PendingCall[] = [];
  contents.forEach((content, i) => {
    const path = `contents[${i}]`;
    if (!isObject(content)) throw invalidField(path, `${path} must be an object.`);
    const role = content.role ?? 'user';
    if (role !== 'user' && role !== 'model') {
      warnings.push({ param: `${path}.role`, message: `A turn with role '${String(role)}' cannot be carried through Heimdall; it was dropped.` });
      return;
    }
    if (!Array.isArray(content.parts) || content.parts.length === 0) {
      throw invalidField(`${path}.parts`, `${path}.parts must be a non-empty array.`);
    }
    content.parts.forEach((part, j) => {
      if (!isObject(part)) throw invalidField(`${path}.parts[${j}]`, `${path}.parts[${j}] must be an object.`);
    });
    const parts = content.parts as JsonObject[];
    if (role === 'model') messages.push(decodeModelTurn(parts, i, pending, warnings));
    else messages.push(...decodeUserTurn(parts, i, pending, warnings));
  });
}

function dropUnsupported(part: JsonObject, path: string, warnings: CodecWarning[]): boolean {
  const kind = UNSUPPORTED_PART_KINDS.find((key) => part[key] !== undefined);
  if (kind === undefined) return false;
  warnings.push({ param: `${path}.${kind}`, message: `${kind} parts are not supported when routing through Heimdall; dropped.` });
  return true;
}

/** A part of a kind Heimdall does not know: dropped and named in a warning, not refused. */
function unknownPart(part: JsonObject, path: string, warnings: CodecWarning[]): void {
  const kinds = Object.keys(part).map((key) => `'${key}'`).join(', ');
  warnings.push({ param: path, message: `A part with ${kinds === '' ? 'no content' : kinds} cannot be carried through Heimdall; it was dropped.` });
}

function decodeModelTurn(parts: JsonObject[], i: number, pending: PendingCall[], warnings: CodecWarning[]): ChatMessage {
  let text = '';
  let reasoning = '';
  const toolCalls: ToolCall[] = [];
  let callSignature: string | undefined;
  let lastSignature: string | undefined;
  parts.forEach((part, j) => {
    const path = `contents[${i}].parts[${j}]`;
    const signature = part.thoughtSignature === undefined ? undefined : requireString(part.thoughtSignature, `${path}.thoughtSignature`);
    if (signature !== undefined) lastSignature = signature;
    if (part.functionCall !== undefined) {
      const call = part.functionCall;
      if (!isObject(call)) throw invalidField(`${path}.functionCall`, `${path}.functionCall must be an object.`);
      const name = requireString(call.name, `${path}.functionCall.name`);
      if (call.args !== undefined && !isObject(call.args)) throw invalidField(`${path}.functionCall.args`, `${path}.functionCall.args must be an object.`);
      const id = typeof call.id === 'string' && call.id !== '' ? call.id : `call_${i}_${j}`;
      if (toolCalls.length === 0 && signature !== undefined) callSignature = signature;
      toolCalls.push(withThoughtSignature({ id, type: 'function', function: { name, arguments: JSON.stringify(call.args ?? {}) } }, signature));
      pending.push({ id, name });
    } else if (part.text !== undefined) {
      const value = requireString(part.text, `${path}.text`);
      if (part.thought === true) reasoning += value;
      else text += value;
    } else if (part.inlineData !== undefined || part.fileData !== undefined) {
      warnings.push({ param: path, message: 'Media in a model turn cannot be carried to other providers; dropped.' });
    } else if (part.functionResponse !== undefined) {
      throw invalidField(`${path}.functionResponse`, `${path}.functionResponse belongs in a 'user' turn.`);
    } else if (!dropUnsupported(part, path, warnings) && signature === undefined) {
      unknownPart(part, path, warnings);
    }
  });
  const message: ChatMessage = { role: 'assistant', content: text !== '' || toolCalls.length === 0 ? text : null };
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const signature = callSignature ?? lastSignature;
  if (signature !== undefined) message.reasoning_signature = signature;
  return message;
}

function takePendingCall(pending: PendingCall[], id: unknown, name: string): string | undefined {
  let at = typeof id === 'string' ? pending.findIndex((call) => call.id === id) : -1;
  if (at === -1) at = pending.findIndex((call) => call.name === name);
  if (at === -1) return typeof id === 'string' && id !== '' ? id : undefined;
  const [call] = pending.splice(at, 1);
  return call.id;
}

function decodeUserTurn(parts: JsonObject[], i: number, pending: PendingCall[], warnings: CodecWarning[]): ChatMessage[] {
  const toolMessages: ChatMessage[] = [];
  const content: ContentPart[] = [];
  parts.forEach((part, j) => {
    const path = `contents[${i}].parts[${j}]`;
    if (part.text !== undefined) {
      if (part.thought !== true) content.push({ type: 'text', text: requireString(part.text, `${path}.text`) });
    } else if (part.inlineData !== undefined) {
      content.push(decodeInlineData(part.inlineData, `${path}.inlineData`));
    } else if (part.fileData !== undefined) {
      content.push(decodeFileData(part.fileData, `${path}.fileData`));
    } else if (part.functionResponse !== undefined) {
      const response = part.functionResponse;
      if (!isObject(response)) throw invalidField(`${path}.functionResponse`, `${path}.functionResponse must be an object.`);
      const name = requireString(response.name, `${path}.functionResponse.name`);
      if (response.response !== undefined && !isObject(response.response)) {
        throw invalidField(`${path}.functionResponse.response`, `${path}.functionResponse.response must be an object.`);
      }
      const id = takePendingCall(pending, response.id, name) ?? `call_${i}_${j}`;
      toolMessages.push({ role: 'tool', tool_call_id: id, content: JSON.stringify(response.response ?? {}) });
    } else if (part.functionCall !== undefined) {
      throw invalidField(`${path}.functionCall`, `${path}.functionCall belongs in a 'model' turn.`);
    } else if (!dropUnsupported(part, path, warnings) && part.thoughtSignature === undefined) {
      unknownPart(part, path, warnings);
    }
  });
  if (content.length === 0) return toolMessages;
  const only = content[0];
  const user: ChatMessage = { role: 'user', content: content.length === 1 && only.type === 'text' ? only.text : content };
  return [...toolMessages, user];
}

function decodeInlineData(value: unknown, path: string): ContentPart {
  if (!isObject(value)) throw invalidField(path, `${path} must be an object.`);
  const mimeType = requireString(value.mimeType, `${path}.mimeType`);
  const data = requireString(value.data, `${path}.data`);
  if (mimeType.startsWith('image/')) return { type: 'image_url', image_url: { url: toDataUrl(mimeType, data) } };
  if (mimeType.startsWith('audio/')) {
    const subtype = mimeType.slice('audio/'.length).replace(/^mpeg$/, 'mp3').replace(/^x-/, '');
    return { type: 'input_audio', input_audio: { data, format: subtype } };
  }
  const file: { file_data: string; filename?: string } = { file_data: toDataUrl(mimeType, data) };
  if (typeof value.displayName === 'string') file.filename = value.displayName;
  return { type: 'file', file };
}

function decodeFileData(value: unknown, path: string): ContentPart {
  if (!isObject(value)) throw invalidField(path, `${path} must be an object.`);
  const fileUri = requireString(value.fileUri, `${path}.fileUri`);
  const mimeType = value.mimeType === undefined ? guessMimeType(fileUri) : requireString(value.mimeType, `${path}.mimeType`);
  if (mimeType?.startsWith('image/')) return { type: 'image_url', image_url: { url: fileUri } };
  const file: { file_id: string; filename?: string } = { file_id: fileUri };
  if (typeof value.displayName === 'string') file.filename = value.displayName;
  return { type: 'file', file };
}
