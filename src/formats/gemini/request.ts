/**
 * Canonical chat request -> Gemini generateContent body. The model is not in
 * the body: it is part of the URL (src/providers/gemini.ts, vertex.ts).
 *
 * @see https://ai.google.dev/api/generate-content#request-body
 * @see https://ai.google.dev/api/generate-content#v1beta.GenerationConfig
 */
import type { ChatRequest, FunctionTool, ToolChoice } from '../openai/types.js';
import type { CodecWarning, EncodeOptions, EncodedRequest } from '../types.js';
import { foreignConversationWarnings } from '../conversation-warnings.js';
import { effortRow } from '../reasoning-effort.js';
import { geminiWebSearchTool } from '../web-search.js';
import { encodeContents } from './request-contents.js';
import { cleanSchemaForGemini } from './schema.js';
import { GEMINI_ONLY_FIELDS } from './types.js';
import type {
  GeminiFunctionDeclaration,
  GeminiGenerationConfig,
  GeminiThinkingConfig,
  GeminiTool,
  GeminiToolConfig,
  GenerateContentRequest,
} from './types.js';

/** One-to-one sampling parameters: canonical name -> generationConfig name. */
const GENERATION_PARAMS: ReadonlyArray<readonly [keyof ChatRequest & string, keyof GeminiGenerationConfig & string]> = [
  ['temperature', 'temperature'],
  ['top_p', 'topP'],
  ['top_k', 'topK'],
  ['seed', 'seed'],
  ['presence_penalty', 'presencePenalty'],
  ['frequency_penalty', 'frequencyPenalty'],
  ['n', 'candidateCount'],
  ['logprobs', 'responseLogprobs'],
  ['top_logprobs', 'logprobs'],
];

/**
 * Canonical fields this encoder reads. Any other field that is set (OpenAI's
 * logit_bias, user, store, service_tier, prediction, audio, modalities,
 * verbosity, web_search_options, prompt_cache_key, safety_identifier, fields
 * of other surfaces, unknown extras...) has no Gemini equivalent and is
 * dropped with a warning naming it (STYLE.md rule 7).
 */
const HANDLED_FIELDS: ReadonlySet<string> = new Set([
  'model', 'messages', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'stop', 'tools', 'tool_choice',
  'parallel_tool_calls', 'response_format', 'reasoning_effort', 'thinking', 'web_search_options',
  ...GENERATION_PARAMS.map(([from]) => from),
  ...GEMINI_ONLY_FIELDS,
]);

/**
 * A value that asks for nothing: dropping it changes nothing, so no warning.
 * `web_search_options: {}` is not one: in OpenAI an empty object turns web search on.
 */
function asksForNothing(param: string, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  return param !== 'web_search_options' && isObject(value) && Object.keys(value).length === 0;
}

/**
 * reasoning_effort -> thinkingBudget (Gemini 1.x/2.x) or thinkingLevel (Gemini
 * 3+), from the shared table in ../reasoning-effort.ts; `none` is budget 0 (off).
 */
function isGemini3OrLater(model: string): boolean {
  const match = /gemini-(\d+)/.exec(model);
  return match !== null && Number(match[1]) >= 3;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function encodeGeminiRequest(request: ChatRequest, options: EncodeOptions): EncodedRequest {
  const warnings: CodecWarning[] = [];
  const { contents, systemInstruction } = encodeContents(request.messages, options.model, warnings);
  warnings.push(...foreignConversationWarnings(request, 'Gemini', { systemMoves: true }));
  const body: GenerateContentRequest = { contents };
  if (systemInstruction !== undefined) body.systemInstruction = systemInstruction;

  const tools = encodeTools(request, warnings);
  if (tools !== undefined) body.tools = tools;
  const toolConfig = encodeToolChoice(request.tool_choice);
  if (toolConfig !== undefined) body.toolConfig = toolConfig;

  const generationConfig = encodeGenerationConfig(request, options, warnings);
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig;

  if (Array.isArray(request.gemini_safety_settings)) {
    body.safetySettings = request.gemini_safety_settings as GenerateContentRequest['safetySettings'];
  }
  for (const [param, value] of Object.entries(request)) {
    if (HANDLED_FIELDS.has(param) || asksForNothing(param, value)) continue;
    warnings.push({ param, message: `Gemini has no '${param}' parameter; dropped.` });
  }
  if (request.parallel_tool_calls === false) {
    warnings.push({ param: 'parallel_tool_calls', message: 'Gemini cannot turn off parallel function calls; dropped.' });
  }
  return { body, warnings };
}

function encodeTools(request: ChatRequest, warnings: CodecWarning[]): GeminiTool[] | undefined {
  const declarations: GeminiFunctionDeclaration[] = [];
  const removed = new Set<string>();
  (request.tools ?? []).forEach((tool: FunctionTool, i) => {
    if (tool.type !== 'function' || !isObject(tool.function)) {
      warnings.push({ param: `tools[${i}]`, message: `Tool type '${String(tool.type)}' is not supported by Gemini; dropped.` });
      return;
    }
    const { name, description, parameters, strict } = tool.function;
    const declaration: GeminiFunctionDeclaration = { name };
    if (description !== undefined) declaration.description = description;
    if (strict === true) removed.add('strict');
    if (isObject(parameters)) {
      const cleaned = cleanSchemaForGemini(parameters);
      cleaned.removed.forEach((key) => removed.add(key));
      // Gemini rejects an OBJECT with no properties ("should be non-empty for OBJECT type").
      const properties = cleaned.schema.properties;
      if (isObject(properties) && Object.keys(properties).length > 0) declaration.parameters = cleaned.schema;
    }
    declarations.push(declaration);
  });
  if (removed.size > 0) {
    warnings.push({ param: 'tools', message: `Gemini does not accept these JSON-schema keys; removed: ${[...removed].sort().join(', ')}.` });
  }
  const tools: GeminiTool[] = declarations.length > 0 ? [{ functionDeclarations: declarations }] : [];
  if (Array.isArray(request.gemini_tools)) tools.push(...(request.gemini_tools as GeminiTool[]));
  const webSearch = geminiWebSearchTool(request, warnings);
  if (webSearch !== undefined && !tools.some((tool) => tool.googleSearch !== undefined)) tools.push(webSearch);
  return tools.length > 0 ? tools : undefined;
}

/** @see https://ai.google.dev/gemini-api/docs/function-calling#function_calling_modes */
function encodeToolChoice(choice: ToolChoice | undefined): GeminiToolConfig | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === 'string') {
    return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
  }
  return undefined;
}

function encodeGenerationConfig(request: ChatRequest, options: EncodeOptions, warnings: CodecWarning[]): GeminiGenerationConfig {
  const config: GeminiGenerationConfig = {};
  for (const [from, to] of GENERATION_PARAMS) {
    const value = request[from];
    if (value !== undefined && value !== null) config[to] = value;
  }
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? options.defaultMaxTokens;
  if (maxTokens != null) config.maxOutputTokens = maxTokens;
  if (typeof request.stop === 'string') config.stopSequences = [request.stop];
  else if (Array.isArray(request.stop) && request.stop.length > 0) config.stopSequences = request.stop;

  const format = request.response_format;
  if (format?.type === 'json_object') {
    config.responseMimeType = 'application/json';
  } else if (format?.type === 'json_schema') {
    config.responseMimeType = 'application/json';
    const schema = format.json_schema?.schema;
    if (isObject(schema)) {
      const cleaned = cleanSchemaForGemini(schema);
      config.responseSchema = cleaned.schema;
      if (cleaned.removed.length > 0) {
        warnings.push({ param: 'response_format', message: `Gemini does not accept these JSON-schema keys; removed: ${cleaned.removed.join(', ')}.` });
      }
    }
  }
  const thinking = encodeThinking(request, options.model, warnings);
  if (thinking !== undefined) config.thinkingConfig = thinking;
  return config;
}

function encodeThinking(request: ChatRequest, model: string, warnings: CodecWarning[]): GeminiThinkingConfig | undefined {
  if (isObject(request.gemini_thinking_config)) return request.gemini_thinking_config as GeminiThinkingConfig;
  const thinking = request.thinking;
  if (thinking?.type === 'enabled') return { thinkingBudget: thinking.budget_tokens, includeThoughts: true };
  if (thinking?.type === 'disabled') return { thinkingBudget: 0 };
  const effort = request.reasoning_effort as string | null | undefined;
  // Anthropic adaptive thinking: the model decides, as Gemini's dynamic budget (-1) does; an effort steers it.
  if ((thinking as { type?: string } | undefined)?.type === 'adaptive' && effort == null) return { thinkingBudget: -1, includeThoughts: true };
  if (effort == null) return undefined;
  const row = effortRow(effort);
  if (row !== undefined) return isGemini3OrLater(model) ? { thinkingLevel: row.geminiLevel } : { thinkingBudget: row.geminiBudget };
  if (effort === 'none') return isGemini3OrLater(model) ? { thinkingLevel: 'MINIMAL' } : { thinkingBudget: 0 };
  warnings.push({ param: 'reasoning_effort', message: `Unknown reasoning_effort '${String(effort)}'; dropped.` });
  return undefined;
}
