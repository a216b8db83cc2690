/**
 * Gemini surface: a Google Gen AI SDK generateContent body -> canonical
 * request. The model comes from the URL (`/genai/v1beta/models/{model}:...`);
 * streaming is decided by the route, not the body.
 *
 * Gemini-only settings are kept on the request for a Gemini/Vertex target:
 * safetySettings -> `gemini_safety_settings`, thinkingConfig ->
 * `gemini_thinking_config` (also mapped to reasoning_effort / thinking),
 * server-side tools (googleSearch, codeExecution, ...) -> `gemini_tools`.
 * For any other target call `dropGeminiOnlyFields` (warnings, then removed).
 *
 * @see https://ai.google.dev/api/generate-content#request-body
 * @see https://ai.google.dev/api/generate-content#v1beta.GenerationConfig
 */
import { invalidField } from '../../errors/gateway-error.js';
import type { ChatRequest, FunctionTool, ResponseFormat } from '../openai/types.js';
import type { CodecWarning } from '../types.js';
import { geminiSchemaToJsonSchema } from './schema.js';
import { decodeContents, decodeSystemInstruction } from './surface-contents.js';
import { GEMINI_ONLY_FIELDS } from './types.js';

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** generationConfig numbers -> canonical names. */
const NUMBER_PARAMS: ReadonlyArray<readonly [string, keyof ChatRequest & string]> = [
  ['temperature', 'temperature'],
  ['topP', 'top_p'],
  ['topK', 'top_k'],
  ['maxOutputTokens', 'max_tokens'],
  ['candidateCount', 'n'],
  ['seed', 'seed'],
  ['presencePenalty', 'presence_penalty'],
  ['frequencyPenalty', 'frequency_penalty'],
  ['logprobs', 'top_logprobs'],
];

/** generationConfig keys handled below; any other key is dropped with a warning. */
const HANDLED_CONFIG_KEYS = new Set([
  ...NUMBER_PARAMS.map(([key]) => key),
  'stopSequences', 'responseLogprobs', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'thinkingConfig',
]);

/** Top-level body keys handled; others are dropped with a warning. */
const HANDLED_BODY_KEYS = new Set(['contents', 'systemInstruction', 'tools', 'toolConfig', 'generationConfig', 'safetySettings', 'model']);

const THINKING_LEVEL_TO_EFFORT: Readonly<Record<string, ChatRequest['reasoning_effort']>> = {
  MINIMAL: 'minimal', LOW: 'low', MEDIUM: 'medium', HIGH: 'high',
};

export function decodeGeminiSurfaceRequest(body: unknown, options: { model: string }): { request: ChatRequest; warnings: CodecWarning[] } {
  if (!isObject(body)) throw invalidField('contents', 'The request body must be a JSON object with contents.');
  const warnings: CodecWarning[] = [];
  const request: ChatRequest = { model: options.model, messages: [] };
  const system = decodeSystemInstruction(body.systemInstruction);
  if (system !== undefined) request.messages.push(system);
  decodeContents(body.contents, request.messages, warnings);
  decodeTools(body.tools, request);
  decodeToolConfig(body.toolConfig, request, warnings);
  decodeGenerationConfig(body.generationConfig, request, warnings);
  if (body.safetySettings !== undefined) {
    if (!Array.isArray(body.safetySettings) || !body.safetySettings.every(isObject)) {
      throw invalidField('safetySettings', 'safetySettings must be an array of objects.');
    }
    request.gemini_safety_settings = body.safetySettings;
  }
  for (const key of Object.keys(body)) {
    if (!HANDLED_BODY_KEYS.has(key)) warnings.push({ param: key, message: `'${key}' is not supported when routing through Heimdall; dropped.` });
  }
  return { request, warnings };
}

function decodeTools(value: unknown, request: ChatRequest): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) throw invalidField('tools', 'tools must be an array.');
  const tools: FunctionTool[] = [];
  const serverTools: JsonObject[] = [];
  value.forEach((tool, i) => {
    if (!isObject(tool)) throw invalidField(`tools[${i}]`, `tools[${i}] must be an object.`);
    for (const [key, entry] of Object.entries(tool)) {
      if (key !== 'functionDeclarations') {
        serverTools.push({ [key]: entry });
        continue;
      }
      if (!Array.isArray(entry)) throw invalidField(`tools[${i}].functionDeclarations`, `tools[${i}].functionDeclarations must be an array.`);
      entry.forEach((declaration, j) => tools.push(decodeDeclaration(declaration, `tools[${i}].functionDeclarations[${j}]`)));
    }
  });
  if (tools.length > 0) request.tools = tools;
  if (serverTools.length > 0) request.gemini_tools = serverTools;
}

function decodeDeclaration(value: unknown, path: string): FunctionTool {
  if (!isObject(value)) throw invalidField(path, `${path} must be an object.`);
  if (typeof value.name !== 'string' || value.name === '') throw invalidField(`${path}.name`, `${path}.name must be a non-empty string.`);
  const fn: FunctionTool['function'] = { name: value.name };
  if (value.description !== undefined) {
    if (typeof value.description !== 'string') throw invalidField(`${path}.description`, `${path}.description must be a string.`);
    fn.description = value.description;
  }
  if (value.parametersJsonSchema !== undefined) {
    if (!isObject(value.parametersJsonSchema)) throw invalidField(`${path}.parametersJsonSchema`, `${path}.parametersJsonSchema must be an object.`);
    fn.parameters = value.parametersJsonSchema;
  } else if (value.parameters !== undefined) {
    if (!isObject(value.parameters)) throw invalidField(`${path}.parameters`, `${path}.parameters must be an object.`);
    fn.parameters = geminiSchemaToJsonSchema(value.parameters) as JsonObject;
  }
  return { type: 'function', function: fn };
}

/** @see https://ai.google.dev/api/caching#FunctionCallingConfig */
function decodeToolConfig(value: unknown, request: ChatRequest, warnings: CodecWarning[]): void {
  if (value === undefined) return;
  if (!isObject(value)) throw invalidField('toolConfig', 'toolConfig must be an object.');
  for (const key of Object.keys(value)) {
    if (key !== 'functionCallingConfig') warnings.push({ param: `toolConfig.${key}`, message: `toolConfig.${key} is not supported; dropped.` });
  }
  const config = value.functionCallingConfig;
  if (config === undefined) return;
  if (!isObject(config)) throw invalidField('toolConfig.functionCallingConfig', 'toolConfig.functionCallingConfig must be an object.');
  const names = config.allowedFunctionNames;
  if (names !== undefined && (!Array.isArray(names) || !names.every((name) => typeof name === 'string'))) {
    throw invalidField('toolConfig.functionCallingConfig.allowedFunctionNames', 'allowedFunctionNames must be an array of strings.');
  }
  switch (config.mode ?? 'AUTO') {
    case 'AUTO': case 'MODE_UNSPECIFIED':
      request.tool_choice = 'auto';
      break;
    case 'NONE':
      request.tool_choice = 'none';
      break;
    case 'VALIDATED':
      request.tool_choice = 'auto';
      warnings.push({ param: 'toolConfig.functionCallingConfig.mode', message: 'VALIDATED mode has no equivalent; AUTO is used.' });
      break;
    case 'ANY':
      if (names !== undefined && names.length === 1) {
        request.tool_choice = { type: 'function', function: { name: names[0] as string } };
      } else {
        request.tool_choice = 'required';
        if (names !== undefined && names.length > 1) {
          warnings.push({ param: 'toolConfig.functionCallingConfig.allowedFunctionNames', message: 'Only one allowed function name can be enforced; the model may call any declared function.' });
        }
      }
      break;
    default:
      // A mode newer than this mapping: not refused, named in a warning.
      request.tool_choice = 'auto';
      warnings.push({ param: 'toolConfig.functionCallingConfig.mode', message: `mode '${String(config.mode)}' has no equivalent; AUTO is used.` });
  }
}

function decodeGenerationConfig(value: unknown, request: ChatRequest, warnings: CodecWarning[]): void {
  if (value === undefined) return;
  if (!isObject(value)) throw invalidField('generationConfig', 'generationConfig must be an object.');
  for (const [from, to] of NUMBER_PARAMS) {
    const entry = value[from];
    if (entry === undefined || entry === null) continue;
    if (typeof entry !== 'number' || !Number.isFinite(entry)) throw invalidField(`generationConfig.${from}`, `generationConfig.${from} must be a number.`);
    request[to] = entry;
  }
  const stop = value.stopSequences;
  if (stop !== undefined) {
    if (!Array.isArray(stop) || !stop.every((s) => typeof s === 'string')) {
      throw invalidField('generationConfig.stopSequences', 'generationConfig.stopSequences must be an array of strings.');
    }
    if (stop.length > 0) request.stop = stop as string[];
  }
  if (value.responseLogprobs !== undefined) {
    if (typeof value.responseLogprobs !== 'boolean') throw invalidField('generationConfig.responseLogprobs', 'generationConfig.responseLogprobs must be a boolean.');
    request.logprobs = value.responseLogprobs;
  }
  const format = decodeResponseFormat(value, warnings);
  if (format !== undefined) request.response_format = format;
  decodeThinking(value.thinkingConfig, request);
  for (const key of Object.keys(value)) {
    if (!HANDLED_CONFIG_KEYS.has(key)) {
      warnings.push({ param: `generationConfig.${key}`, message: `generationConfig.${key} is not supported when routing through Heimdall; dropped.` });
    }
  }
}

/** responseMimeType + responseSchema / responseJsonSchema -> response_format. */
function decodeResponseFormat(config: JsonObject, warnings: CodecWarning[]): ResponseFormat | undefined {
  const mime = config.responseMimeType;
  if (mime !== undefined && typeof mime !== 'string') throw invalidField('generationConfig.responseMimeType', 'generationConfig.responseMimeType must be a string.');
  let schema: JsonObject | undefined;
  if (config.responseJsonSchema !== undefined) {
    if (!isObject(config.responseJsonSchema)) throw invalidField('generationConfig.responseJsonSchema', 'generationConfig.responseJsonSchema must be an object.');
    schema = config.responseJsonSchema;
  } else if (config.responseSchema !== undefined) {
    if (!isObject(config.responseSchema)) throw invalidField('generationConfig.responseSchema', 'generationConfig.responseSchema must be an object.');
    schema = geminiSchemaToJsonSchema(config.responseSchema) as JsonObject;
  }
  if (mime !== undefined && mime !== 'application/json' && mime !== 'text/plain') {
    warnings.push({ param: 'generationConfig.responseMimeType', message: `responseMimeType '${mime}' has no equivalent; plain text is requested.` });
    return undefined;
  }
  if (schema !== undefined) return { type: 'json_schema', json_schema: { name: 'response', schema } };
  if (mime === 'application/json') return { type: 'json_object' };
  return undefined;
}

/**
 * thinkingConfig -> canonical: thinkingLevel -> reasoning_effort; budget 0 ->
 * thinking disabled; budget > 0 -> thinking enabled with that budget; -1
 * (dynamic) has no canonical form. The original is kept for Gemini targets.
 */
function decodeThinking(value: unknown, request: ChatRequest): void {
  if (value === undefined) return;
  if (!isObject(value)) throw invalidField('generationConfig.thinkingConfig', 'generationConfig.thinkingConfig must be an object.');
  const { thinkingBudget: budget, thinkingLevel: level, includeThoughts } = value;
  if (budget !== undefined && (typeof budget !== 'number' || !Number.isInteger(budget))) {
    throw invalidField('generationConfig.thinkingConfig.thinkingBudget', 'thinkingBudget must be an integer.');
  }
  if (includeThoughts !== undefined && typeof includeThoughts !== 'boolean') {
    throw invalidField('generationConfig.thinkingConfig.includeThoughts', 'includeThoughts must be a boolean.');
  }
  request.gemini_thinking_config = value;
  if (typeof level === 'string' && THINKING_LEVEL_TO_EFFORT[level] !== undefined) request.reasoning_effort = THINKING_LEVEL_TO_EFFORT[level];
  else if (budget === 0) request.thinking = { type: 'disabled' };
  else if (typeof budget === 'number' && budget > 0) request.thinking = { type: 'enabled', budget_tokens: budget };
}

const GEMINI_ONLY_DESCRIPTIONS: Readonly<Record<(typeof GEMINI_ONLY_FIELDS)[number], string>> = {
  gemini_safety_settings: 'safetySettings apply only to Gemini and Vertex AI targets; dropped.',
  gemini_thinking_config: '',
  gemini_tools: 'Gemini server-side tools (googleSearch, codeExecution, ...) work only with Gemini and Vertex AI targets; dropped.',
};

/**
 * For a non-Gemini target: removes the Gemini-only fields a Gemini-surface
 * request carries, and returns a warning for each setting that is lost.
 * (thinkingConfig needs none: it was also mapped to canonical fields.)
 */
export function dropGeminiOnlyFields(request: ChatRequest): CodecWarning[] {
  const warnings: CodecWarning[] = [];
  for (const field of GEMINI_ONLY_FIELDS) {
    if (request[field] === undefined) continue;
    const message = GEMINI_ONLY_DESCRIPTIONS[field];
    if (message !== '') warnings.push({ param: field === 'gemini_safety_settings' ? 'safetySettings' : 'tools', message });
    delete request[field];
  }
  return warnings;
}
