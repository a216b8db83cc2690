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
  let value: unknown;
  try {
    value = JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw));
  } catch (error) {
    throw new GatewayError('HD_ERR_REQUEST_INVALID_JSON', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GatewayError('HD_ERR_REQUEST_INVALID_JSON', 'The request body must be a JSON object.');
  }
  return value as JsonObject;
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
