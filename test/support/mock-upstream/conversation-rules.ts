/**
 * Conversation checks the real APIs make, with their real error texts, so a
 * translation that loses a tool result, a thinking block or a thought
 * signature fails here as it fails in production; and the signatures the mock
 * issues for those checks.
 *
 * Anthropic Messages:
 * - every `tool_use` id of an assistant turn has a `tool_result` in the next
 *   user turn, and every `tool_result` answers a `tool_use` of the turn before;
 * - with `thinking` on (enabled or adaptive), the last assistant turn with
 *   `tool_use` that the last user turn answers starts with a thinking block;
 * - a `thinking` block's signature must be one the mock issued for that text;
 * - thinking `enabled` takes a budget_tokens of at least 1,024 and below max_tokens, and
 *   thinking on takes no temperature other than 1;
 * - `output_config.format`: every object schema sets `additionalProperties: false`;
 *   the reply is JSON that matches the schema (structuredReply).
 * OpenAI Chat Completions: every assistant `tool_calls` id is answered by a
 * `tool` message before the next other message; a `tool` message answers a call.
 * Gemini: a function-call turn is followed by as many functionResponse parts as
 * it has functionCall parts; Gemini 3 models refuse a functionCall (first of its
 * step, in the current turn) without a thoughtSignature, or with one the mock did not issue for
 * that call (Google's two documented bypass values excepted).
 *
 * @see https://docs.anthropic.com/en/docs/build-with-claude/tool-use/implement-tool-use
 * @see https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#preserving-thinking-blocks
 * @see https://docs.anthropic.com/en/docs/build-with-claude/structured-outputs
 * @see https://platform.openai.com/docs/guides/function-calling
 * @see https://ai.google.dev/gemini-api/docs/function-calling
 * @see https://ai.google.dev/gemini-api/docs/thought-signatures
 */
import { createHmac } from 'node:crypto';
import { isRecord } from './openai-common.js';

type Json = Record<string, unknown>;

/** The key the mock signs thinking with: a signature is valid for exactly the text it was issued for. */
const SIGNING_KEY = 'heimdall-mock-upstream';

/** The signature the mock issues for a thinking text (base64, like Anthropic's). */
export function thinkingSignature(thinking: string): string {
  return createHmac('sha256', SIGNING_KEY).update(`thinking:${thinking}`).digest('base64');
}

/** The thought signature the mock's Gemini 3 puts on a function call. */
export function thoughtSignature(name: string, args: unknown): string {
  return createHmac('sha256', SIGNING_KEY).update(`thought:${name}:${JSON.stringify(args)}`).digest('base64');
}

/** Google's documented value that skips the signature check (history from another model). */
export const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

/** Every value Google documents for calls the model did not make: accepted unchecked. */
const THOUGHT_SIGNATURE_BYPASSES: ReadonlySet<string> = new Set([SKIP_THOUGHT_SIGNATURE, 'context_engineering_is_the_way_to_go']);

function blocksOf(content: unknown): Json[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content.filter(isRecord) : [];
}

/** True when the request turns Anthropic thinking on. */
export function anthropicThinkingOn(body: Json): boolean {
  return isRecord(body.thinking) && (body.thinking.type === 'enabled' || body.thinking.type === 'adaptive');
}

const THINKING_REQUIRED = 'When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). '
  + 'We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. '
  + 'Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking';

/** Anthropic's 400 message for a conversation it refuses; undefined when it is accepted. */
export function anthropicConversationError(body: Json): string | undefined {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  for (const [i, message] of messages.entries()) {
    const blocks = blocksOf(message.content);
    for (const [j, block] of blocks.entries()) {
      if (block.type === 'thinking' && (typeof block.signature !== 'string' || block.signature !== thinkingSignature(String(block.thinking)))) {
        return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
      }
    }
    const previous = i > 0 ? blocksOf(messages[i - 1].content) : [];
    if (message.role === 'user') {
      const uses = new Set(previous.filter((block) => block.type === 'tool_use').map((block) => String(block.id)));
      for (const [j, block] of blocks.entries()) {
        if (block.type === 'tool_result' && !uses.has(String(block.tool_use_id))) {
          return `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block.tool_use_id)}. `
            + 'Each `tool_result` block must have a corresponding `tool_use` block in the previous message.';
        }
      }
    }
    if (message.role !== 'assistant' || i === messages.length - 1) continue;
    const answered = new Set(blocksOf(messages[i + 1].content).filter((block) => block.type === 'tool_result').map((block) => String(block.tool_use_id)));
    const missing = blocks.filter((block) => block.type === 'tool_use' && !answered.has(String(block.id))).map((block) => String(block.id));
    if (missing.length > 0) {
      return `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. `
        + 'Each `tool_use` block must have a corresponding `tool_result` block in the next message.';
    }
  }
  return anthropicThinkingParamsError(body) ?? anthropicThinkingError(messages, body);
}

const THINKING_DOCS = 'https://docs.claude.com/en/docs/build-with-claude/extended-thinking';

/** The thinking parameters Anthropic refuses: a budget under 1,024 or not below max_tokens, a temperature other than 1. */
function anthropicThinkingParamsError(body: Json): string | undefined {
  if (!anthropicThinkingOn(body)) return undefined;
  const thinking = body.thinking as Json;
  if (thinking.type === 'enabled') {
    const budget = thinking.budget_tokens;
    if (typeof budget !== 'number' || budget < 1024) return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
    if (typeof body.max_tokens === 'number' && body.max_tokens <= budget) {
      return `\`max_tokens\` must be greater than \`thinking.budget_tokens\`. Please consult our documentation at ${THINKING_DOCS}#max-tokens-and-context-window-size`;
    }
  }
  if (typeof body.temperature === 'number' && body.temperature !== 1) {
    return `\`temperature\` may only be set to 1 when thinking is enabled. Please consult our documentation at ${THINKING_DOCS}#feature-compatibility`;
  }
  return undefined;
}

/** With thinking on, a tool loop's last assistant turn must start with its thinking block. */
function anthropicThinkingError(messages: Json[], body: Json): string | undefined {
  if (!anthropicThinkingOn(body)) return undefined;
  const last = messages[messages.length - 1];
  if (last?.role !== 'user' || !blocksOf(last.content).some((block) => block.type === 'tool_result')) return undefined;
  const i = messages.length - 2;
  const assistant = messages[i];
  if (assistant?.role !== 'assistant') return undefined;
  const first = blocksOf(assistant.content)[0];
  if (first === undefined || first.type === 'thinking' || first.type === 'redacted_thinking') return undefined;
  return `messages.${i}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first.type)}\`. ${THINKING_REQUIRED}`;
}

/** Anthropic's 400 for an output_config.format schema it cannot take; undefined when fine. */
export function anthropicOutputFormatError(body: Json): string | undefined {
  const format = isRecord(body.output_config) ? body.output_config.format : undefined;
  if (format === undefined || format === null) return undefined;
  if (!isRecord(format) || format.type !== 'json_schema' || !isRecord(format.schema)) return 'output_config.format: Input should be a valid dictionary with type json_schema and a schema';
  const open = findOpenObject(format.schema, 'output_config.format.schema');
  return open === undefined ? undefined : `${open}: For 'object' type, 'additionalProperties' must be explicitly set to false`;
}

function findOpenObject(schema: unknown, path: string): string | undefined {
  if (!isRecord(schema)) return undefined;
  if ((schema.type === 'object' || isRecord(schema.properties)) && schema.additionalProperties !== false) return path;
  const children: Array<[unknown, string]> = [];
  if (isRecord(schema.properties)) for (const [name, sub] of Object.entries(schema.properties)) children.push([sub, `${path}.properties.${name}`]);
  if (schema.items !== undefined) children.push([schema.items, `${path}.items`]);
  for (const key of ['anyOf', 'allOf', 'oneOf']) {
    if (Array.isArray(schema[key])) (schema[key] as unknown[]).forEach((sub, k) => children.push([sub, `${path}.${key}.${k}`]));
  }
  for (const [child, childPath] of children) {
    const found = findOpenObject(child, childPath);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A value that matches a (simple) JSON schema: strings carry `text`, so a test sees its input came through. */
export function valueForSchema(schema: unknown, text: string, depth = 0): unknown {
  if (!isRecord(schema) || depth > 16) return null;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if ('const' in schema) return schema.const;
  for (const key of ['anyOf', 'oneOf']) if (Array.isArray(schema[key]) && schema[key].length > 0) return valueForSchema(schema[key][0], text, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'string': return text;
    case 'integer': case 'number': return 1;
    case 'boolean': return true;
    case 'null': return null;
    case 'array': return [valueForSchema(schema.items, text, depth + 1)];
    default: {
      const properties = isRecord(schema.properties) ? schema.properties : {};
      return Object.fromEntries(Object.entries(properties).map(([name, sub]) => [name, valueForSchema(sub, text, depth + 1)]));
    }
  }
}

/** The JSON text an Anthropic reply carries when output_config.format asks for structured output. */
export function structuredReply(body: Json, userText: string): string | undefined {
  const format = isRecord(body.output_config) ? body.output_config.format : undefined;
  if (!isRecord(format) || !isRecord(format.schema)) return undefined;
  return JSON.stringify(valueForSchema(format.schema, userText));
}

/** OpenAI's 400 (message and param) for a conversation it refuses; undefined when it is accepted. */
export function openaiConversationError(messages: unknown): { message: string; param: string } | undefined {
  const list = Array.isArray(messages) ? messages : [];
  for (const [i, message] of list.entries()) {
    if (!isRecord(message)) continue;
    if (message.role === 'tool') {
      const previous = list.slice(0, i).reverse().find((m) => isRecord(m) && m.role !== 'tool');
      if (!isRecord(previous) || !Array.isArray(previous.tool_calls)) {
        return { message: "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", param: `messages.[${i}].role` };
      }
    }
    if (message.role !== 'assistant' || !Array.isArray(message.tool_calls) || message.tool_calls.length === 0) continue;
    const answered = new Set<string>();
    for (const next of list.slice(i + 1)) {
      if (!isRecord(next) || next.role !== 'tool') break;
      answered.add(String(next.tool_call_id));
    }
    const missing = message.tool_calls.filter(isRecord).map((call) => String(call.id)).filter((id) => !answered.has(id));
    if (missing.length > 0) {
      return {
        message: "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. "
          + `The following tool_call_ids did not have response messages: ${missing.join(', ')}`,
        param: `messages.[${i + 1}].role`,
      };
    }
  }
  return undefined;
}

/** Gemini 3 and later validate thought signatures (Gemini 1.x/2.x and Gemma do not). */
export function geminiValidatesSignatures(model: string): boolean {
  return /(^|\/)gemini-([3-9]|\d{2,})/.test(model);
}

function partsOf(content: unknown): Json[] {
  return isRecord(content) && Array.isArray(content.parts) ? content.parts.filter(isRecord) : [];
}

/** Google's 400 message for contents it refuses; undefined when they are accepted. */
export function geminiConversationError(body: Json, model: string): string | undefined {
  const contents = Array.isArray(body.contents) ? body.contents.filter(isRecord) : [];
  for (const [i, content] of contents.entries()) {
    if (content.role !== 'model') continue;
    const calls = partsOf(content).filter((part) => part.functionCall !== undefined).length;
    if (calls === 0 || i === contents.length - 1) continue;
    const responses = partsOf(contents[i + 1]).filter((part) => part.functionResponse !== undefined).length;
    if (responses !== calls) {
      return 'Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.';
    }
  }
  return geminiValidatesSignatures(model) ? missingThoughtSignature(contents) : undefined;
}

/** In the current turn (after the last user text), each step's first functionCall needs its signature. */
function missingThoughtSignature(contents: Json[]): string | undefined {
  let start = 0;
  contents.forEach((content, i) => {
    if (content.role !== 'model' && partsOf(content).some((part) => part.functionResponse === undefined)) start = i + 1;
  });
  for (let i = start; i < contents.length; i++) {
    if (contents[i].role !== 'model') continue;
    const first = partsOf(contents[i]).find((part) => part.functionCall !== undefined);
    if (first === undefined) continue;
    const call = first.functionCall as Json;
    if (typeof first.thoughtSignature !== 'string' || first.thoughtSignature === '') {
      return 'Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. '
        + `Additional data, function call \`default_api:${String(call.name)}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`;
    }
    if (!THOUGHT_SIGNATURE_BYPASSES.has(first.thoughtSignature) && first.thoughtSignature !== thoughtSignature(String(call.name), call.args ?? {})) {
      return 'Corrupted thought signature.';
    }
  }
  return undefined;
}
