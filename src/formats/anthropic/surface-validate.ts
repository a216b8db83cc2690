import { invalidField } from '../../errors/gateway-error.js';

/**
 * Plain-code checks of an Anthropic Messages request on the hot path (no zod):
 * only what the mapping relies on. Each failure names the field, as Anthropic does.
 * @see https://docs.anthropic.com/en/api/messages#body
 */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function requireRecord(value: unknown, path: string, what: string): Record<string, unknown> {
  if (!isRecord(value)) throw invalidField(path, `${what} must be an object.`);
  return value;
}

export function requireString(value: unknown, path: string, allowEmpty = true): string {
  if (typeof value !== 'string' || (!allowEmpty && value === '')) {
    throw invalidField(path, `${path} must be a${allowEmpty ? '' : ' non-empty'} string.`);
  }
  return value;
}

export function optionalNumber(body: Record<string, unknown>, name: string): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidField(name, `${name} must be a number.`);
  return value;
}

function checkSource(block: Record<string, unknown>, path: string): void {
  const source = requireRecord(block.source, `${path}.source`, 'source');
  const type = requireString(source.type, `${path}.source.type`, false);
  if (type === 'base64') {
    requireString(source.media_type, `${path}.source.media_type`, false);
    requireString(source.data, `${path}.source.data`);
  } else if (type === 'url') {
    requireString(source.url, `${path}.source.url`, false);
  }
}

function checkBlock(raw: unknown, path: string): void {
  const block = requireRecord(raw, path, 'A content block');
  const type = requireString(block.type, `${path}.type`, false);
  switch (type) {
    case 'text':
      requireString(block.text, `${path}.text`);
      break;
    case 'image':
    case 'document':
      checkSource(block, path);
      break;
    case 'tool_use':
      requireString(block.id, `${path}.id`, false);
      requireString(block.name, `${path}.name`, false);
      if (block.input !== undefined && !isRecord(block.input)) throw invalidField(`${path}.input`, 'tool_use input must be an object.');
      break;
    case 'tool_result':
      requireString(block.tool_use_id, `${path}.tool_use_id`, false);
      if (Array.isArray(block.content)) block.content.forEach((item, k) => checkBlock(item, `${path}.content[${k}]`));
      else if (block.content !== undefined && typeof block.content !== 'string') {
        throw invalidField(`${path}.content`, 'tool_result content must be a string or an array of blocks.');
      }
      break;
    case 'thinking':
      requireString(block.thinking, `${path}.thinking`);
      break;
    default:
      break;
  }
}

/**
 * What the gateway itself needs from every Messages request, pass-through included: a model to
 * route, messages to read (an array of objects), and max_tokens (budget reservation) when it is
 * sent. Roles, fields, block and tool types are the provider's to judge: a pass-through forwards
 * what Heimdall does not know. Throws GatewayError (HD_ERR_REQUEST_INVALID_FIELD) naming the field.
 */
export function checkAnthropicEnvelope(raw: unknown): Record<string, unknown> {
  const body = requireRecord(raw, 'body', 'The request body');
  requireString(body.model, 'model', false);
  const maxTokens = body.max_tokens;
  if (maxTokens !== undefined && maxTokens !== null && (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1)) {
    throw invalidField('max_tokens', 'max_tokens must be a positive integer.');
  }
  if (!Array.isArray(body.messages)) throw invalidField('messages', 'messages must be an array.');
  body.messages.forEach((item: unknown, i) => {
    if (!isRecord(item)) throw invalidField(`messages[${i}]`, `messages[${i}] must be an object.`);
  });
  return body;
}

/** Roles whose content a translation reads; others are dropped with a warning (surface-request.ts). */
const TRANSLATED_ROLES = new Set(['user', 'assistant', 'system']);

/**
 * The envelope, and the shapes a translation to another format reads (block fields, tools).
 * Unknown roles, block types and tool types pass: the decoder drops them with a warning.
 * Throws GatewayError (HD_ERR_REQUEST_INVALID_FIELD) naming the first bad field.
 */
export function validateAnthropicRequest(raw: unknown): Record<string, unknown> {
  const body = checkAnthropicEnvelope(raw);
  if ((body.messages as unknown[]).length === 0) throw invalidField('messages', 'messages must be a non-empty array.');
  (body.messages as Record<string, unknown>[]).forEach((message, i) => {
    if (!TRANSLATED_ROLES.has(message.role as string)) return;
    if (Array.isArray(message.content)) message.content.forEach((block, j) => checkBlock(block, `messages[${i}].content[${j}]`));
    else if (typeof message.content !== 'string') {
      throw invalidField(`messages[${i}].content`, 'content must be a string or an array of content blocks.');
    }
  });
  if (Array.isArray(body.system)) body.system.forEach((block, j) => checkBlock(block, `system[${j}]`));
  else if (body.system !== undefined && body.system !== null && typeof body.system !== 'string') {
    throw invalidField('system', 'system must be a string or an array of text blocks.');
  }
  if (body.tools !== undefined && body.tools !== null) {
    if (!Array.isArray(body.tools)) throw invalidField('tools', 'tools must be an array.');
    body.tools.forEach((item: unknown, i) => {
      const tool = requireRecord(item, `tools[${i}]`, 'A tool');
      requireString(tool.name, `tools[${i}].name`, false);
      if ((tool.type === undefined || tool.type === null || tool.type === 'custom') && !isRecord(tool.input_schema)) {
        throw invalidField(`tools[${i}].input_schema`, 'A custom tool needs an input_schema object.');
      }
    });
  }
  if (body.tool_choice !== undefined && body.tool_choice !== null) {
    const choice = requireRecord(body.tool_choice, 'tool_choice', 'tool_choice');
    if (choice.type === 'tool') requireString(choice.name, 'tool_choice.name', false);
  }
  if (body.stop_sequences !== undefined && body.stop_sequences !== null) {
    if (!Array.isArray(body.stop_sequences)) throw invalidField('stop_sequences', 'stop_sequences must be an array of strings.');
    body.stop_sequences.forEach((s, i) => requireString(s, `stop_sequences[${i}]`));
  }
  for (const name of ['temperature', 'top_p', 'top_k']) optionalNumber(body, name);
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    throw invalidField('stream', 'stream must be a boolean.');
  }
  if (body.metadata !== undefined && body.metadata !== null) requireRecord(body.metadata, 'metadata', 'metadata');
  if (body.thinking !== undefined && body.thinking !== null) {
    const thinking = requireRecord(body.thinking, 'thinking', 'thinking');
    requireString(thinking.type, 'thinking.type', false);
  }
  return body;
}
