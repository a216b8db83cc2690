import type {
  ChatMessage,
  ChatRequest,
  ContentPart,
  FunctionTool,
  TextPart,
  ToolCall,
  ToolChoice,
} from '../openai/types.js';
import type { CodecWarning } from '../types.js';
import { effortForLevel } from '../reasoning-effort.js';
import { isRecord, optionalNumber, validateAnthropicRequest } from './surface-validate.js';
import { thinkingBlocksOf, thinkingFields } from './thinking.js';
import { ANTHROPIC_NATIVE_FIELDS } from './types.js';

/**
 * A client's Anthropic Messages request -> the canonical request.
 * `cache_control` markers stay on the canonical parts, tool messages and tools
 * as an extra `cache_control` field, so an Anthropic provider sends them again;
 * other providers ignore them. Anthropic-only request fields (container,
 * output_config, ...) ride along as extras for the same reason.
 * @see https://docs.anthropic.com/en/api/messages#body
 */

type Block = Record<string, unknown>;

const SURFACE_FIELDS = new Set([
  'model', 'max_tokens', 'messages', 'system', 'tools', 'tool_choice', 'stop_sequences', 'temperature', 'top_p',
  'top_k', 'metadata', 'thinking', 'stream', 'service_tier', ...ANTHROPIC_NATIVE_FIELDS,
]);

function withCache<T extends object>(part: T, block: Block): T {
  if (isRecord(block.cache_control)) (part as Record<string, unknown>).cache_control = block.cache_control;
  return part;
}

function sourceUrl(source: Block): string | undefined {
  if (source.type === 'base64') return `data:${String(source.media_type)};base64,${String(source.data)}`;
  if (source.type === 'url') return String(source.url);
  return undefined;
}

/** One Anthropic user-side block -> a canonical part; undefined when it has none (warned). */
function partOf(block: Block, path: string, warnings: CodecWarning[]): ContentPart | undefined {
  const source = isRecord(block.source) ? block.source : {};
  switch (block.type) {
    case 'text':
      return withCache<TextPart>({ type: 'text', text: String(block.text) }, block);
    case 'image': {
      const url = sourceUrl(source);
      if (url !== undefined) return withCache<ContentPart>({ type: 'image_url', image_url: { url } }, block);
      break;
    }
    case 'document':
      if (source.type === 'base64' && source.media_type === 'application/pdf') {
        const file: { file_data: string; filename?: string } = { file_data: sourceUrl(source) as string };
        if (typeof block.title === 'string') file.filename = block.title;
        return withCache<ContentPart>({ type: 'file', file }, block);
      }
      if (source.type === 'text' && typeof source.data === 'string') {
        return withCache<TextPart>({ type: 'text', text: source.data }, block);
      }
      break;
    default:
      break;
  }
  const what = block.type === 'image' || block.type === 'document' ? `${String(block.type)} source '${String(source.type)}'` : `'${String(block.type)}' block`;
  warnings.push({ param: path, message: `A ${what} cannot be carried through Heimdall; it was dropped.` });
  return undefined;
}

/** Plain single text reads best as a string; anything richer stays parts. */
function compactParts(parts: ContentPart[]): string | ContentPart[] {
  const only = parts[0];
  if (parts.length === 1 && only.type === 'text' && Object.keys(only).length === 2) return only.text;
  return parts;
}

function toolMessage(block: Block, path: string, warnings: CodecWarning[]): ChatMessage {
  const message: ChatMessage = { role: 'tool', tool_call_id: String(block.tool_use_id), content: '' };
  if (typeof block.content === 'string') message.content = block.content;
  else if (Array.isArray(block.content)) {
    const parts: ContentPart[] = [];
    block.content.forEach((item, k) => {
      const part = partOf(item as Block, `${path}.content[${k}]`, warnings);
      if (part !== undefined) parts.push(part);
    });
    message.content = parts.length === 0 ? '' : compactParts(parts);
  }
  if (block.is_error === true) message.is_error = true;
  return withCache(message, block);
}

function userMessages(content: Block[], i: number, warnings: CodecWarning[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  let parts: ContentPart[] = [];
  const flush = (): void => {
    if (parts.length > 0) out.push({ role: 'user', content: compactParts(parts) });
    parts = [];
  };
  content.forEach((block, j) => {
    const path = `messages[${i}].content[${j}]`;
    if (block.type === 'tool_result') {
      flush();
      out.push(toolMessage(block, path, warnings));
      return;
    }
    const part = partOf(block, path, warnings);
    if (part !== undefined) parts.push(part);
  });
  flush();
  return out;
}

/** An assistant text block -> a text part; its cache marker and citations ride along for an Anthropic target. */
function assistantText(block: Block): TextPart {
  const part = withCache<TextPart>({ type: 'text', text: String(block.text) }, block);
  if (Array.isArray(block.citations) && block.citations.length > 0) part.citations = block.citations;
  return part;
}

function assistantMessage(content: Block[], i: number, warnings: CodecWarning[]): ChatMessage {
  const texts: TextPart[] = [];
  const toolCalls: ToolCall[] = [];
  const serverBlocks: Block[] = [];
  content.forEach((block, j) => {
    const type = String(block.type);
    if (type === 'text') texts.push(assistantText(block));
    else if (type === 'tool_use') {
      toolCalls.push({
        id: String(block.id),
        type: 'function',
        function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) },
      });
    } else if (type === 'server_tool_use' || type.endsWith('_tool_result')) serverBlocks.push(block);
    else if (type !== 'thinking' && type !== 'redacted_thinking') {
      warnings.push({ param: `messages[${i}].content[${j}]`, message: `A '${type}' block in an assistant turn cannot be carried through Heimdall; it was dropped.` });
    }
  });
  const plain = texts.every((part) => Object.keys(part).length === 2);
  const message: ChatMessage = {
    role: 'assistant',
    content: texts.length === 0 ? (toolCalls.length > 0 ? null : '') : plain ? texts.map((t) => t.text).join('') : texts,
    ...thinkingFields(thinkingBlocksOf(content)),
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (serverBlocks.length > 0) message.anthropic_server_blocks = serverBlocks;
  return message;
}

/** The top-level `system`, or a `role: "system"` message's content at `path`. */
function systemMessage(system: unknown, warnings: CodecWarning[], path = 'system'): ChatMessage | undefined {
  if (typeof system === 'string') return system === '' ? undefined : { role: 'system', content: system };
  if (!Array.isArray(system) || system.length === 0) return undefined;
  const parts: ContentPart[] = [];
  system.forEach((block: Block, j) => {
    const part = partOf(block, `${path}[${j}]`, warnings);
    if (part !== undefined) parts.push(part);
  });
  return parts.length === 0 ? undefined : { role: 'system', content: compactParts(parts) };
}

function tools(raw: unknown[], warnings: CodecWarning[]): FunctionTool[] {
  const out: FunctionTool[] = [];
  raw.forEach((item, i) => {
    const tool = item as Block;
    if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom') {
      warnings.push({ param: `tools[${i}]`, message: `Anthropic server tool '${String(tool.type)}' cannot be carried through Heimdall; it was dropped.` });
      return;
    }
    const fn: FunctionTool['function'] = { name: String(tool.name), parameters: tool.input_schema as Record<string, unknown> };
    if (typeof tool.description === 'string') fn.description = tool.description;
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    out.push(withCache<FunctionTool>({ type: 'function', function: fn }, tool));
  });
  return out;
}

/** @see https://docs.anthropic.com/en/docs/build-with-claude/tool-use/overview#forcing-tool-use */
function toolChoice(choice: Block): ToolChoice {
  switch (choice.type) {
    case 'any': return 'required';
    case 'none': return 'none';
    case 'tool': return { type: 'function', function: { name: String(choice.name) } };
    default: return 'auto';
  }
}

/**
 * output_config: `format` (structured outputs) -> response_format and `effort` -> reasoning_effort, the
 * canonical fields every provider codec maps; what is left (newer keys) rides along for an Anthropic target.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/structured-outputs
 * @see https://docs.anthropic.com/en/docs/build-with-claude/effort
 */
function mapOutputConfig(value: unknown, request: ChatRequest): Block | undefined {
  if (!isRecord(value)) return undefined;
  const { format, effort, ...rest } = value;
  if (isRecord(format) && format.type === 'json_schema' && isRecord(format.schema)) {
    request.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: format.schema, strict: true } };
  } else if (format !== undefined && format !== null) rest.format = format;
  const reasoning = effortForLevel(effort);
  if (reasoning !== undefined) request.reasoning_effort = reasoning;
  else if (effort !== undefined && effort !== null) rest.effort = effort;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

function mapOptions(body: Block, request: ChatRequest, warnings: CodecWarning[]): void {
  for (const name of ['temperature', 'top_p', 'top_k'] as const) {
    const value = optionalNumber(body, name);
    if (value !== undefined) request[name] = value;
  }
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) request.stop = body.stop_sequences as string[];
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    const mapped = tools(body.tools, warnings);
    if (mapped.length > 0) request.tools = mapped;
  }
  if (isRecord(body.tool_choice)) {
    if (!['auto', 'any', 'tool', 'none'].includes(body.tool_choice.type as string)) {
      warnings.push({ param: 'tool_choice.type', message: `tool_choice '${String(body.tool_choice.type)}' has no equivalent; 'auto' was used.` });
    }
    request.tool_choice = toolChoice(body.tool_choice);
    if (body.tool_choice.disable_parallel_tool_use === true) request.parallel_tool_calls = false;
  }
  if (isRecord(body.metadata)) {
    for (const [key, value] of Object.entries(body.metadata)) {
      if (key === 'user_id' && typeof value === 'string') request.user = value;
      else if (value !== null && value !== undefined) warnings.push({ param: `metadata.${key}`, message: 'Only metadata.user_id is carried; the key was dropped.' });
    }
  }
  if (isRecord(body.thinking)) request.thinking = body.thinking as ChatRequest['thinking'];
  if (body.stream === true) {
    request.stream = true;
    request.stream_options = { include_usage: true };
  }
  const outputConfig = mapOutputConfig(body.output_config, request);
  if (outputConfig !== undefined) request.output_config = outputConfig;
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined || value === null || key === 'output_config') continue;
    if (key === 'service_tier' || ANTHROPIC_NATIVE_FIELDS.includes(key)) request[key] = value;
    else if (!SURFACE_FIELDS.has(key)) warnings.push({ param: key, message: `'${key}' is not supported by Heimdall's Anthropic surface; it was dropped.` });
  }
}

export function decodeAnthropicSurfaceRequest(raw: unknown, options: { model: string }): { request: ChatRequest; warnings: CodecWarning[] } {
  const body = validateAnthropicRequest(raw);
  const warnings: CodecWarning[] = [];
  const messages: ChatMessage[] = [];
  const system = systemMessage(body.system, warnings);
  if (system !== undefined) messages.push(system);
  (body.messages as Block[]).forEach((message, i) => {
    const content: Block[] = typeof message.content === 'string'
      ? [{ type: 'text', text: message.content }]
      : (message.content as Block[]);
    if (message.role === 'assistant') messages.push(assistantMessage(content, i, warnings));
    else if (message.role === 'system') {
      // SystemMessageParam: a system message where it stands in the conversation.
      const system = systemMessage(message.content, warnings, `messages[${i}].content`);
      if (system !== undefined) messages.push(system);
    } else if (message.role !== 'user') {
      warnings.push({ param: `messages[${i}].role`, message: `A message with role '${String(message.role)}' cannot be carried through Heimdall; it was dropped.` });
    } else if (typeof message.content === 'string') messages.push({ role: 'user', content: message.content });
    else messages.push(...userMessages(content, i, warnings));
  });
  const request: ChatRequest = { model: options.model, messages };
  if (typeof body.max_tokens === 'number') request.max_tokens = body.max_tokens;
  mapOptions(body, request, warnings);
  return { request, warnings };
}
