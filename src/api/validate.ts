/**
 * The hot path checks only what it needs, with plain code (DESIGN.md): the
 * body is JSON, the model and messages are there, and the common fields have
 * their types. Every error names the field.
 */
import { GatewayError, invalidField } from '../errors/gateway-error.js';

export type JsonObject = Record<string, unknown>;

export function parseJsonBody(raw: unknown): JsonObject {
  if (raw === undefined || raw === null || (Buffer.isBuffer(raw) && raw.length === 0)) {
    throw new GatewayError('HD_ERR_REQUEST_INVALID_JSON', 'The request body is empty; send a JSON object.');
  }
  const text = Buffer.isBuffer(raw) ? raw.toString() : String(raw);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new GatewayError('HD_ERR_REQUEST_INVALID_JSON', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GatewayError('HD_ERR_REQUEST_INVALID_JSON', 'The request body must be a JSON object.');
  }
  // Nesting deeper than the limit takes an opening and a closing bracket per level: a shorter text cannot.
  if (text.length > 2 * MAX_JSON_DEPTH && deeperThan(value, MAX_JSON_DEPTH)) {
    throw new GatewayError('HD_ERR_REQUEST_TOO_DEEP', `The request body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  return value as JsonObject;
}

/**
 * How deep a body may nest. Deeper bodies would overflow the stack of every recursive step that
 * follows (JSON.stringify, schema conversion); real requests, tool schemas included, stay far below.
 */
export const MAX_JSON_DEPTH = 128;

/** True when `value` nests deeper than `limit` (recursion is bounded by the limit itself). */
function deeperThan(value: object, limit: number): boolean {
  if (limit === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'object' && item !== null && deeperThan(item as object, limit - 1)) return true;
    return false;
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (typeof item === 'object' && item !== null && deeperThan(item, limit - 1)) return true;
  }
  return false;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function requireString(body: JsonObject, field: string, fallback?: string): string {
  const value = body[field];
  if (value === undefined && fallback !== undefined) return fallback;
  if (value === undefined) throw invalidField(field, `Missing required parameter: '${field}'.`);
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidField(field, `Invalid type for '${field}': expected a non-empty string, but got ${typeName(value)}.`);
  }
  return value;
}

export function optionalBoolean(body: JsonObject, field: string): boolean {
  const value = body[field];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw invalidField(field, `Invalid type for '${field}': expected a boolean, but got ${typeName(value)}.`);
  return value;
}

const NUMBER_FIELDS = ['temperature', 'top_p', 'top_k', 'max_tokens', 'max_completion_tokens', 'n', 'presence_penalty', 'frequency_penalty', 'seed', 'top_logprobs'] as const;
const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

/** Checks the `fallbacks` extension and returns it (removed from the body by the caller). */
export function readFallbacks(body: JsonObject): string[] | undefined {
  const value = body.fallbacks;
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalidField('fallbacks', `Invalid type for 'fallbacks': expected an array of model names, but got ${typeName(value)}.`);
  value.forEach((item, i) => {
    if (typeof item !== 'string' || item.length === 0) throw invalidField(`fallbacks[${i}]`, `Invalid 'fallbacks[${i}]': expected a model name string.`);
  });
  return value as string[];
}

/** OpenAI chat body: the fields the gateway relies on, and the types of the common ones. */
export function checkChatBody(body: JsonObject): void {
  const messages = body.messages;
  if (messages === undefined) throw invalidField('messages', "Missing required parameter: 'messages'.");
  if (!Array.isArray(messages)) throw invalidField('messages', `Invalid type for 'messages': expected an array, but got ${typeName(messages)}.`);
  if (messages.length === 0) throw invalidField('messages', "Invalid 'messages': empty array. Expected an array with minimum length 1.");
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as unknown;
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      throw invalidField(`messages[${i}]`, `Invalid type for 'messages[${i}]': expected an object, but got ${typeName(message)}.`);
    }
    const role = (message as JsonObject).role;
    if (typeof role !== 'string' || !ROLES.has(role)) {
      throw invalidField(`messages[${i}].role`, `Invalid value for 'messages[${i}].role': expected one of ${[...ROLES].join(', ')}.`);
    }
    const content = (message as JsonObject).content;
    if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content)) {
      throw invalidField(`messages[${i}].content`, `Invalid type for 'messages[${i}].content': expected a string or an array of content parts, but got ${typeName(content)}.`);
    }
  }
  optionalBoolean(body, 'stream');
  for (const field of NUMBER_FIELDS) {
    const value = body[field];
    if (value !== undefined && value !== null && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw invalidField(field, `Invalid type for '${field}': expected a number, but got ${typeName(value)}.`);
    }
  }
  const tools = body.tools;
  if (tools !== undefined && tools !== null && !Array.isArray(tools)) {
    throw invalidField('tools', `Invalid type for 'tools': expected an array, but got ${typeName(tools)}.`);
  }
  const stop = body.stop;
  if (stop !== undefined && stop !== null && typeof stop !== 'string' && !Array.isArray(stop)) {
    throw invalidField('stop', `Invalid type for 'stop': expected a string or an array of strings, but got ${typeName(stop)}.`);
  }
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && (typeof streamOptions !== 'object' || Array.isArray(streamOptions))) {
    throw invalidField('stream_options', `Invalid type for 'stream_options': expected an object, but got ${typeName(streamOptions)}.`);
  }
}

export function checkEmbeddingsBody(body: JsonObject): void {
  const input = body.input;
  if (input === undefined) throw invalidField('input', "Missing required parameter: 'input'.");
  const ok = typeof input === 'string' || (Array.isArray(input) && input.length > 0);
  if (!ok) throw invalidField('input', `Invalid type for 'input': expected a string or a non-empty array, but got ${typeName(input)}.`);
}

export function checkCompletionsBody(body: JsonObject): void {
  const prompt = body.prompt;
  if (prompt === undefined) throw invalidField('prompt', "Missing required parameter: 'prompt'.");
  if (typeof prompt !== 'string' && !Array.isArray(prompt)) {
    throw invalidField('prompt', `Invalid type for 'prompt': expected a string or an array, but got ${typeName(prompt)}.`);
  }
  optionalBoolean(body, 'stream');
}

/** A URL path part, percent-decoded; a bad escape (`%E0%A4%A`) is the caller's 400, not a URIError. */
export function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new GatewayError('HD_ERR_REQUEST_BAD_URL', `The URL path "${part.slice(0, 200)}" has a malformed percent-encoding.`);
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One content part of an OpenAI chat message, as a translation reads it. */
function checkContentPart(part: unknown, at: string): void {
  if (!isObject(part)) throw invalidField(at, `Invalid type for '${at}': expected a content part object, but got ${typeName(part)}.`);
  if (typeof part.type !== 'string') throw invalidField(`${at}.type`, `Invalid type for '${at}.type': expected a string, but got ${typeName(part.type)}.`);
  if (part.type === 'text' && typeof part.text !== 'string') {
    throw invalidField(`${at}.text`, `Invalid type for '${at}.text': expected a string, but got ${typeName(part.text)}.`);
  }
  if (part.type === 'image_url') {
    const image = part.image_url;
    if (!isObject(image) || typeof image.url !== 'string') {
      const field = isObject(image) ? `${at}.image_url.url` : `${at}.image_url`;
      throw invalidField(field, `Invalid '${field}': expected an object with a string 'url'.`);
    }
  }
}

/** One assistant tool call, as a translation reads it. */
function checkToolCall(call: unknown, at: string): void {
  if (!isObject(call)) throw invalidField(at, `Invalid type for '${at}': expected a tool call object, but got ${typeName(call)}.`);
  const fn = call.function;
  if (fn === undefined) return; // a custom tool call: passed as it is where a provider has one
  if (!isObject(fn)) throw invalidField(`${at}.function`, `Invalid type for '${at}.function': expected an object, but got ${typeName(fn)}.`);
  if (typeof fn.name !== 'string') throw invalidField(`${at}.function.name`, `Invalid type for '${at}.function.name': expected a string, but got ${typeName(fn.name)}.`);
  if (fn.arguments !== undefined && typeof fn.arguments !== 'string') {
    throw invalidField(`${at}.function.arguments`, `Invalid type for '${at}.function.arguments': expected a JSON string, but got ${typeName(fn.arguments)}.`);
  }
}

/**
 * What a translation to another provider's format reads inside the messages and tools, checked with
 * the exact field named (checkChatBody has run). A pass-through does not need this: the provider
 * judges its own format.
 */
export function checkTranslatedChat(body: JsonObject): void {
  const messages = body.messages as JsonObject[];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    const content = message.content;
    if (Array.isArray(content)) content.forEach((part, j) => checkContentPart(part, `messages[${i}].content[${j}]`));
    const calls = message.tool_calls;
    if (calls !== undefined && calls !== null) {
      if (!Array.isArray(calls)) throw invalidField(`messages[${i}].tool_calls`, `Invalid type for 'messages[${i}].tool_calls': expected an array, but got ${typeName(calls)}.`);
      calls.forEach((call, j) => checkToolCall(call, `messages[${i}].tool_calls[${j}]`));
    }
  }
  const tools = body.tools;
  if (Array.isArray(tools)) {
    tools.forEach((tool, i) => {
      if (!isObject(tool)) throw invalidField(`tools[${i}]`, `Invalid type for 'tools[${i}]': expected a tool object, but got ${typeName(tool)}.`);
      const fn = tool.function;
      if (fn !== undefined && !isObject(fn)) throw invalidField(`tools[${i}].function`, `Invalid type for 'tools[${i}].function': expected an object, but got ${typeName(fn)}.`);
    });
  }
}

/**
 * Model routes take JSON only, sent as `application/json` (or a `+json` type), as every SDK sends it.
 * A browser sends a cross-site `text/plain` or form POST (or one with no type) without asking the
 * server first, so accepting those would let any web page spend the operator's credit.
 */
export function checkJsonContentType(contentType: string | undefined): void {
  if (contentType !== undefined) {
    const semicolon = contentType.indexOf(';');
    const media = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
    if (media === 'application/json' || (media.startsWith('application/') && media.endsWith('+json'))) return;
  }
  throw new GatewayError(
    'HD_ERR_REQUEST_CONTENT_TYPE',
    `This route takes a JSON body sent with "Content-Type: application/json"${contentType === undefined ? ', and the request has no Content-Type' : `, not "${contentType.slice(0, 100)}"`}.`,
  );
}
