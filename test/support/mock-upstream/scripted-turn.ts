/**
 * Scripted turns, for real clients that need answers they can act on (the
 * conformance suite runs coding agents and frameworks through the gateway).
 * A conversation is scripted when any of its texts carries SCRIPT_MARKER;
 * without the marker every format answers by the echo rules (echo-plan.ts)
 * exactly as before. A scripted conversation is answered like a model that
 * follows the prompt:
 *
 * 1. the last turn carries tool results -> text `tool result: <their text>`
 *    (so a value only the tool could know reaches the final answer);
 * 2. the request asks for JSON matching a schema (structured output) -> that
 *    JSON, built from the schema;
 * 3. `read:<absolute path>` in the prompt and a file-reading tool declared
 *    (`Read`, `read_file`, ...) -> one call to it with the path in its path
 *    parameter; with only a shell tool (`Bash`, `shell`, `exec_command`,
 *    `run_shell_command`) -> one call running `cat <path>`;
 * 4. tools declared (choice not 'none') -> one call to the named tool, else
 *    to the first one, with arguments built from its JSON schema;
 * 5. otherwise the echo rules.
 */
import type { EchoCall, EchoPlan, EchoToolChoice } from './echo-plan.js';
import { countWords } from './text.js';
import { TOOL_CALL_TOKENS } from './openai-chat.js';

/** Put this in a prompt to get scripted answers. */
export const SCRIPT_MARKER = 'heimdall-script';

export interface ScriptTool {
  name: string;
  /** The tool's parameters as JSON schema (or Gemini's Schema), if it declared any. */
  parameters?: unknown;
}

export interface ScriptRequest {
  /** Every text of the conversation (system included): the marker and `read:` are looked for here. */
  promptTexts: readonly string[];
  /** The texts of the tool results in the conversation's last turn (empty when it carries none). */
  toolResults: readonly string[];
  tools: readonly ScriptTool[];
  toolChoice?: EchoToolChoice;
  /** The JSON schema the reply must match (structured output), if the request asked for one. */
  responseSchema?: unknown;
}

const READ_TOOL = /^(read|read_file|readfile|read_text_file|view|file_read)$/i;
const SHELL_TOOL = /^(bash|shell|exec_command|run_shell_command|local_shell|shell_command)$/i;
const PATH_PARAMETERS = ['file_path', 'absolute_path', 'path', 'filePath', 'filename', 'file'];

export function isScripted(promptTexts: readonly string[]): boolean {
  return promptTexts.some((text) => text.includes(SCRIPT_MARKER));
}

/** The scripted plan, or undefined when the conversation is not scripted or rule 5 applies. */
export function planScripted(request: ScriptRequest): EchoPlan | undefined {
  if (!isScripted(request.promptTexts)) return undefined;
  const promptTokens = request.promptTexts.reduce((sum, text) => sum + countWords(text), 0);
  const text = (value: string): EchoPlan => ({ text: value, calls: [], promptTokens, completionTokens: countWords(value), truncated: false });
  if (request.toolResults.length > 0) return text(`tool result: ${request.toolResults.join(' ')}`);
  if (request.responseSchema !== undefined) return text(JSON.stringify(exampleOf(request.responseSchema, request.responseSchema)));
  const call = plannedCall(request);
  if (call === undefined) return undefined;
  return { text: undefined, calls: [call], promptTokens, completionTokens: TOOL_CALL_TOKENS, truncated: false };
}

function plannedCall(request: ScriptRequest): EchoCall | undefined {
  const tools = request.tools;
  if (tools.length === 0 || request.toolChoice === 'none') return undefined;
  const choice = request.toolChoice;
  const named = typeof choice === 'object' ? tools.find((tool) => tool.name === choice.name) : undefined;
  const path = readPath(request.promptTexts);
  if (named === undefined && path !== undefined) {
    const reader = tools.find((tool) => READ_TOOL.test(tool.name));
    if (reader) return callOf(reader, withPath(reader.parameters, path));
    const shell = tools.find((tool) => SHELL_TOOL.test(tool.name));
    if (shell) return callOf(shell, withCommand(shell.parameters, path));
  }
  const tool = named ?? tools[0];
  return callOf(tool, exampleOf(tool.parameters ?? {}, tool.parameters ?? {}));
}

function callOf(tool: ScriptTool, input: unknown): EchoCall {
  const args = isObject(input) ? input : {};
  return { name: tool.name, arguments: JSON.stringify(args), input: args };
}

function readPath(texts: readonly string[]): string | undefined {
  for (const text of texts) {
    const match = /\bread:(\/\S+)/.exec(text);
    if (match) return match[1].replace(/[.,;)"'`]+$/, '');
  }
  return undefined;
}

function withPath(schema: unknown, path: string): Record<string, unknown> {
  const input = objectExample(schema);
  const name = PATH_PARAMETERS.find((candidate) => candidate in propertiesOf(schema)) ?? 'file_path';
  input[name] = path;
  return input;
}

function withCommand(schema: unknown, path: string): Record<string, unknown> {
  const input = objectExample(schema);
  const properties = propertiesOf(schema);
  const name = ['command', 'cmd'].find((candidate) => candidate in properties) ?? 'command';
  input[name] = typeOf(properties[name]) === 'array' ? ['cat', path] : `cat ${path}`;
  return input;
}

function objectExample(schema: unknown): Record<string, unknown> {
  const example = exampleOf(schema ?? {}, schema ?? {});
  return isObject(example) ? example : {};
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function propertiesOf(schema: unknown): Record<string, unknown> {
  return isObject(schema) && isObject(schema.properties) ? schema.properties : {};
}

/** The schema's type in lower case (Gemini writes 'STRING'), the first non-null one of a list. */
function typeOf(schema: unknown): string | undefined {
  if (!isObject(schema)) return undefined;
  const type = Array.isArray(schema.type) ? schema.type.find((t) => String(t).toLowerCase() !== 'null') : schema.type;
  if (typeof type === 'string') return type.toLowerCase();
  if (isObject(schema.properties)) return 'object';
  return undefined;
}

function resolveRef(schema: Record<string, unknown>, root: unknown): unknown {
  const ref = String(schema.$ref);
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (match && isObject(root) && isObject(root[match[1]])) return (root[match[1]] as Record<string, unknown>)[match[2]];
  return ref === '#' ? root : {};
}

/** A value that satisfies the schema: every required property (all of them when none is marked), first enum values. */
export function exampleOf(schema: unknown, root: unknown, depth = 0): unknown {
  if (!isObject(schema) || depth > 8) return 'heimdall';
  if (typeof schema.$ref === 'string') return exampleOf(resolveRef(schema, root), root, depth + 1);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const options = schema[key];
    if (Array.isArray(options)) {
      const option = options.find((candidate) => typeOf(candidate) !== 'null') ?? options[0];
      return exampleOf(option, root, depth + 1);
    }
  }
  switch (typeOf(schema)) {
    case 'string':
      return 'heimdall';
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 42;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array': {
      const min = typeof schema.minItems === 'number' ? schema.minItems : 1;
      return Array.from({ length: Math.max(1, min) }, () => exampleOf(schema.items ?? {}, root, depth + 1));
    }
    case 'object': {
      const properties = propertiesOf(schema);
      const required = Array.isArray(schema.required) ? schema.required.map(String) : Object.keys(properties);
      return Object.fromEntries(required.map((name) => [name, exampleOf(properties[name] ?? {}, root, depth + 1)]));
    }
    default:
      return 'heimdall';
  }
}
