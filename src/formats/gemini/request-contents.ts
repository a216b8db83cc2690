/**
 * Canonical messages -> Gemini `contents` and `systemInstruction`.
 *
 * - system/developer messages (wherever they appear) -> systemInstruction, one text part each.
 * - user -> role "user"; assistant -> role "model"; tool/function results -> functionResponse
 *   parts in a "user" turn. Consecutive turns of one role are merged (Gemini wants parallel
 *   function responses together in one turn).
 * - image_url: data: URLs -> inlineData; http(s)/gs:// URLs -> fileData with the MIME type
 *   guessed from the extension (omitted when unknown; Gemini then sniffs the file).
 * - assistant reasoning_content is not sent back (Gemini reads thought state from the
 *   signature only); each tool call's `extra_content.google.thought_signature` goes back
 *   on its functionCall part; reasoning_signature goes on the first functionCall part when
 *   that has none, or on the last part of a turn without calls.
 *
 * @see https://ai.google.dev/api/caching#Content
 * @see https://ai.google.dev/gemini-api/docs/function-calling
 * @see https://ai.google.dev/gemini-api/docs/thought-signatures
 */
import { invalidField } from '../../errors/gateway-error.js';
import type { ChatMessage, ContentPart, ToolCall } from '../openai/types.js';
import type { CodecWarning } from '../types.js';
import { guessMimeType, isFetchableUri, parseDataUrl } from './media.js';
import { thoughtSignatureOf } from './response.js';
import type { GeminiContent, GeminiPart, GeminiRole } from './types.js';

/**
 * Gemini 3 rejects a function call in the current turn that has no thought
 * signature (history from another model, or a client that dropped it). Google
 * documents this value to skip the check in exactly that case.
 * @see https://ai.google.dev/gemini-api/docs/thought-signatures#faqs
 */
export const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

/** Models that validate thought signatures: everything but Gemini 1.x/2.x and Gemma. */
export function validatesThoughtSignatures(model: string): boolean {
  return !/(^|\/)(gemini-[12][.-]|gemma)/.test(model);
}

export interface EncodedContents {
  contents: GeminiContent[];
  systemInstruction?: { parts: GeminiPart[] };
}

export function encodeContents(messages: ChatMessage[], model: string, warnings: CodecWarning[]): EncodedContents {
  const toolNames = new Map<string, string>();
  const system: GeminiPart[] = [];
  const contents: GeminiContent[] = [];
  const signatureFallback = validatesThoughtSignatures(model) ? SKIP_THOUGHT_SIGNATURE : undefined;

  const push = (role: GeminiRole, parts: GeminiPart[]): void => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last !== undefined && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };

  messages.forEach((message, i) => {
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...userParts(message.content, `messages[${i}].content`, warnings).filter((part) => {
          if (part.text !== undefined) return true;
          warnings.push({ param: `messages[${i}].content`, message: 'Gemini system instructions take text only; a media part was dropped.' });
          return false;
        }));
        break;
      case 'user':
        push('user', userParts(message.content, `messages[${i}].content`, warnings));
        break;
      case 'assistant':
        push('model', assistantParts(message, i, toolNames, signatureFallback, warnings));
        break;
      case 'tool':
      case 'function':
        push('user', [functionResponsePart(message, i, toolNames)]);
        break;
      default:
        throw invalidField(`messages[${i}].role`, `Unknown role '${String(message.role)}'.`);
    }
  });

  const encoded: EncodedContents = { contents };
  if (system.length > 0) encoded.systemInstruction = { parts: system };
  return encoded;
}

function userParts(content: ChatMessage['content'], param: string, warnings: CodecWarning[]): GeminiPart[] {
  if (content == null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  const parts: GeminiPart[] = [];
  content.forEach((part, j) => {
    const encoded = contentPart(part, `${param}[${j}]`, warnings);
    if (encoded !== undefined) parts.push(encoded);
  });
  return parts;
}

function contentPart(part: ContentPart, param: string, warnings: CodecWarning[]): GeminiPart | undefined {
  switch (part.type) {
    case 'text':
      return part.text === '' ? undefined : { text: part.text };
    case 'image_url': {
      const detail = part.image_url.detail;
      if (detail === 'low' || detail === 'high') {
        warnings.push({ param: `${param}.image_url.detail`, message: 'Gemini has no per-image detail setting; dropped.' });
      }
      return mediaPart(part.image_url.url, undefined, param, warnings);
    }
    case 'input_audio':
      return { inlineData: { mimeType: `audio/${part.input_audio.format}`, data: part.input_audio.data } };
    case 'file': {
      const { file_data: data, file_id: id, filename } = part.file;
      if (typeof data === 'string') {
        const parsed = parseDataUrl(data);
        if (parsed !== undefined) return { inlineData: parsed };
        const mimeType = filename === undefined ? undefined : guessMimeType(filename);
        return { inlineData: { mimeType: mimeType ?? 'application/pdf', data } };
      }
      if (typeof id === 'string' && isFetchableUri(id)) return mediaPart(id, filename, param, warnings);
      warnings.push({ param, message: 'Gemini cannot read OpenAI file ids; send file_data or a URL. The file part was dropped.' });
      return undefined;
    }
    default:
      warnings.push({ param, message: `Content part type '${String((part as { type?: unknown }).type)}' is not supported by Gemini; dropped.` });
      return undefined;
  }
}

function mediaPart(url: string, filename: string | undefined, param: string, warnings: CodecWarning[]): GeminiPart | undefined {
  const parsed = parseDataUrl(url);
  if (parsed !== undefined) return { inlineData: parsed };
  if (isFetchableUri(url)) {
    const mimeType = guessMimeType(url) ?? (filename === undefined ? undefined : guessMimeType(filename));
    return { fileData: mimeType === undefined ? { fileUri: url } : { fileUri: url, mimeType } };
  }
  warnings.push({ param, message: 'Only data:, http(s):// and gs:// URLs can be sent to Gemini; the part was dropped.' });
  return undefined;
}

function parseArguments(call: ToolCall, param: string, warnings: CodecWarning[]): Record<string, unknown> {
  const text = call.function.arguments;
  if (text === undefined || text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  warnings.push({ param, message: 'Gemini needs function arguments as a JSON object; these were not one and were sent as {}.' });
  return {};
}

function assistantParts(
  message: ChatMessage,
  i: number,
  toolNames: Map<string, string>,
  signatureFallback: string | undefined,
  warnings: CodecWarning[],
): GeminiPart[] {
  const parts: GeminiPart[] = [];
  if (typeof message.content === 'string') {
    if (message.content !== '') parts.push({ text: message.content });
  } else if (Array.isArray(message.content)) {
    for (const part of message.content) if (part.type === 'text' && part.text !== '') parts.push({ text: part.text });
  }
  // An Anthropic signature (the message has Anthropic thinking blocks) means nothing to Gemini.
  const signature = typeof message.reasoning_signature === 'string' && message.reasoning_signature !== '' && !Array.isArray(message.thinking_blocks)
    ? message.reasoning_signature
    : undefined;
  const calls: GeminiPart[] = [];
  (message.tool_calls ?? []).forEach((call, j) => {
    toolNames.set(call.id, call.function.name);
    const args = parseArguments(call, `messages[${i}].tool_calls[${j}].function.arguments`, warnings);
    const part: GeminiPart = { functionCall: { name: call.function.name, args } };
    // Each call's own signature; the first call takes the message's, or the documented skip value.
    const own = thoughtSignatureOf(call) ?? (j === 0 ? signature ?? signatureFallback : undefined);
    if (own !== undefined) part.thoughtSignature = own;
    calls.push(part);
  });
  if (calls.length === 0 && signature !== undefined && parts.length > 0) {
    parts[parts.length - 1].thoughtSignature = signature;
  }
  return [...parts, ...calls];
}

function toolResultText(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

/** Tool result -> functionResponse.response: a JSON object as is, other JSON as {result}, text as {content}. */
function functionResponsePart(message: ChatMessage, i: number, toolNames: Map<string, string>): GeminiPart {
  const id = message.tool_call_id;
  const name = (id === undefined ? undefined : toolNames.get(id)) ?? message.name;
  if (name === undefined || name === '') {
    throw invalidField(
      `messages[${i}].tool_call_id`,
      'Gemini needs the function name of a tool result: no earlier assistant tool_call has this id.',
    );
  }
  const text = toolResultText(message.content);
  let response: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    response = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? parsed as Record<string, unknown>
      : { result: parsed };
  } catch {
    response = { content: text };
  }
  return { functionResponse: { name, response } };
}
