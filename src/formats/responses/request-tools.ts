/**
 * Responses `tools` and `tool_choice` -> canonical function tools.
 *
 * | Responses tool | canonical |
 * | --- | --- |
 * | `function` | the same function tool |
 * | `custom` (freeform text, optionally a grammar) | a function taking one string argument `input`; a grammar cannot be enforced (warning) |
 * | `namespace` (Codex, MCP servers) | each inner tool, named `<namespace>__<name>` |
 * | built-in tools (`web_search`, `file_search`, `code_interpreter`, ...) | dropped with a warning: they run inside OpenAI only |
 *
 * @see https://platform.openai.com/docs/api-reference/responses/create#responses-create-tools
 * @see https://platform.openai.com/docs/guides/function-calling#custom-tools
 */
import { invalidField } from '../../errors/gateway-error.js';
import type { FunctionTool, ToolChoice } from '../openai/types.js';
import type { CodecWarning } from '../types.js';
import type { DeclaredTool, JsonRecord } from './types.js';

/** The one argument a custom (freeform) tool becomes a function of. */
export const CUSTOM_TOOL_ARGUMENT = 'input';

/** Separates a namespace from a tool name in the canonical function name (`mcp__fetch`). */
export const NAMESPACE_SEPARATOR = '__';

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireName(tool: JsonRecord, path: string): string {
  if (typeof tool.name !== 'string' || tool.name === '') throw invalidField(`${path}.name`, `${path}.name: a tool needs a name.`);
  return tool.name;
}

export interface DecodedTools {
  tools: FunctionTool[];
  declared: Map<string, DeclaredTool>;
}

function functionTool(tool: JsonRecord, name: string): FunctionTool {
  const fn: FunctionTool['function'] = { name };
  if (typeof tool.description === 'string') fn.description = tool.description;
  if (isRecord(tool.parameters)) fn.parameters = tool.parameters;
  if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
  return { type: 'function', function: fn };
}

function customTool(tool: JsonRecord, name: string, path: string, warnings: CodecWarning[]): FunctionTool {
  const format = isRecord(tool.format) ? tool.format : undefined;
  let about = 'The raw text input of the tool.';
  if (format?.type === 'grammar') {
    const syntax = typeof format.syntax === 'string' ? format.syntax : 'grammar';
    warnings.push({
      param: `${path}.format`,
      message: `The ${syntax} grammar of custom tool '${name}' cannot be enforced by this provider; the tool takes one free-text string argument '${CUSTOM_TOOL_ARGUMENT}'.`,
    });
    if (typeof format.definition === 'string') about += ` It must follow this ${syntax} grammar:\n${format.definition}`;
  }
  const fn: FunctionTool['function'] = {
    name,
    parameters: {
      type: 'object',
      properties: { [CUSTOM_TOOL_ARGUMENT]: { type: 'string', description: about } },
      required: [CUSTOM_TOOL_ARGUMENT],
      additionalProperties: false,
    },
  };
  if (typeof tool.description === 'string') fn.description = tool.description;
  return { type: 'function', function: fn };
}

function addTool(tool: JsonRecord, path: string, namespace: string | undefined, out: DecodedTools, warnings: CodecWarning[]): void {
  const name = requireName(tool, path);
  const canonicalName = namespace === undefined ? name : `${namespace}${NAMESPACE_SEPARATOR}${name}`;
  if (tool.type === 'function') out.tools.push(functionTool(tool, canonicalName));
  else out.tools.push(customTool(tool, canonicalName, path, warnings));
  const declared: DeclaredTool = { kind: tool.type === 'function' ? 'function' : 'custom', name };
  if (namespace !== undefined) declared.namespace = namespace;
  out.declared.set(canonicalName, declared);
}

export function decodeTools(value: unknown, warnings: CodecWarning[]): DecodedTools {
  const out: DecodedTools = { tools: [], declared: new Map() };
  if (value === undefined || value === null) return out;
  if (!Array.isArray(value)) throw invalidField('tools', 'tools: expected an array of tools.');
  value.forEach((tool, i) => {
    const path = `tools[${i}]`;
    if (!isRecord(tool) || typeof tool.type !== 'string') throw invalidField(`${path}.type`, `${path}.type: each tool needs a type.`);
    if (tool.type === 'function' || tool.type === 'custom') {
      addTool(tool, path, undefined, out, warnings);
    } else if (tool.type === 'namespace') {
      const namespace = requireName(tool, path);
      if (!Array.isArray(tool.tools)) throw invalidField(`${path}.tools`, `${path}.tools: a namespace lists its tools.`);
      tool.tools.forEach((inner, j) => {
        const innerPath = `${path}.tools[${j}]`;
        if (!isRecord(inner) || (inner.type !== 'function' && inner.type !== 'custom')) {
          warnings.push({ param: `${innerPath}.type`, message: `Only function and custom tools of a namespace can be bridged; ${innerPath} was dropped.` });
          return;
        }
        addTool(inner, innerPath, namespace, out, warnings);
      });
    } else {
      warnings.push({ param: path, message: `The built-in tool '${tool.type}' runs only on OpenAI's Responses API; it was dropped.` });
    }
  });
  return out;
}

function namedChoice(name: string, declared: ReadonlyMap<string, DeclaredTool>, namespace?: string): ToolChoice {
  const canonical = namespace === undefined ? name : `${namespace}${NAMESPACE_SEPARATOR}${name}`;
  return { type: 'function', function: { name: declared.has(canonical) ? canonical : name } };
}

/** @see https://platform.openai.com/docs/api-reference/responses/create#responses-create-tool_choice */
export function decodeToolChoice(value: unknown, declared: ReadonlyMap<string, DeclaredTool>, warnings: CodecWarning[]): ToolChoice | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'none' || value === 'auto' || value === 'required') return value;
  if (!isRecord(value) || typeof value.type !== 'string') throw invalidField('tool_choice', "tool_choice: expected 'none', 'auto', 'required' or an object with a type.");
  if (value.type === 'function' || value.type === 'custom') {
    if (typeof value.name !== 'string' || value.name === '') throw invalidField('tool_choice.name', 'tool_choice.name: the tool to call is required.');
    return namedChoice(value.name, declared, typeof value.namespace === 'string' ? value.namespace : undefined);
  }
  if (value.type === 'allowed_tools') {
    const mode = value.mode === 'required' ? 'required' : 'auto';
    warnings.push({ param: 'tool_choice.tools', message: `The allowed_tools restriction cannot be passed on to this provider; every declared tool stays callable (tool_choice '${mode}').` });
    return mode;
  }
  warnings.push({ param: 'tool_choice', message: `tool_choice '${value.type}' names a built-in OpenAI tool; it became 'auto'.` });
  return 'auto';
}
