import { invalidField } from '../../errors/gateway-error.js';
import type { ChatRequest, FunctionTool, ToolChoice } from '../openai/types.js';
import type { CodecWarning, EncodedRequest, EncodeOptions } from '../types.js';
import { movedSystemWarnings } from '../conversation-warnings.js';
import { anthropicWebSearchTool } from '../web-search.js';
import { cacheControlOf } from './encode-content.js';
import { encodeMessages } from './encode-messages.js';
import { encodeOutputFormat } from './output-format.js';
import { planThinking, thinkingIsOn } from './thinking.js';
import {
  ANTHROPIC_NATIVE_FIELDS,
  type AnthropicOutputConfig,
  type AnthropicRequest,
  type AnthropicTool,
  type AnthropicToolChoice,
} from './types.js';

/**
 * Canonical (OpenAI Chat Completions) request -> Anthropic Messages request.
 * @see https://docs.anthropic.com/en/api/messages
 * @see https://docs.anthropic.com/en/api/openai-sdk#request-fields (Anthropic's own OpenAI field notes)
 */

export const DEFAULT_MAX_TOKENS = 4096;

/** Canonical fields this encoder reads; anything else is an extra (dropped with a warning unless Anthropic-native). */
const HANDLED_FIELDS = new Set([
  'model', 'messages', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p',
  'top_k', 'stop', 'user', 'tools', 'tool_choice', 'parallel_tool_calls', 'reasoning_effort', 'thinking',
  'metadata', 'service_tier', 'response_format', 'web_search_options',
]);

/** OpenAI parameters Anthropic has no equivalent for: dropped with a warning when set to a non-default value. */
const UNSUPPORTED: ReadonlyArray<[param: string, isDefault: (value: unknown) => boolean, why: string]> = [
  ['n', (v) => v === 1, 'Anthropic returns one choice per request'],
  ['logprobs', (v) => v === false, 'Anthropic does not return log probabilities'],
  ['top_logprobs', (v) => v === 0, 'Anthropic does not return log probabilities'],
  ['seed', () => false, 'Anthropic has no sampling seed'],
  ['presence_penalty', (v) => v === 0, 'Anthropic has no presence penalty'],
  ['frequency_penalty', (v) => v === 0, 'Anthropic has no frequency penalty'],
  ['logit_bias', (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0, 'Anthropic has no logit bias'],
];
for (const [param] of UNSUPPORTED) HANDLED_FIELDS.add(param);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function present<T>(value: T | null | undefined): value is T {
  return value !== undefined && value !== null;
}

function numberParam(request: ChatRequest, name: string): number | undefined {
  const value = request[name];
  if (!present(value)) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidField(name, `${name} must be a number.`);
  return value;
}

function encodeTools(tools: unknown, warnings: CodecWarning[]): AnthropicTool[] {
  if (!Array.isArray(tools)) throw invalidField('tools', 'tools must be an array.');
  const out: AnthropicTool[] = [];
  tools.forEach((raw: unknown, i) => {
    if (!isRecord(raw) || raw.type !== 'function' || !isRecord(raw.function)) {
      warnings.push({ param: `tools[${i}]`, message: 'Only function tools can be sent to Anthropic; the tool was dropped.' });
      return;
    }
    const fn = (raw as unknown as FunctionTool).function;
    if (typeof fn.name !== 'string' || fn.name === '') throw invalidField(`tools[${i}].function.name`, 'A tool needs a name.');
    const tool: AnthropicTool = {
      name: fn.name,
      input_schema: isRecord(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
    };
    if (typeof fn.description === 'string') tool.description = fn.description;
    if (fn.strict === true) {
      warnings.push({ param: `tools[${i}].function.strict`, message: 'Strict tool schemas are not sent to Anthropic; the schema is used as a plain input_schema.' });
    }
    const marker = cacheControlOf(raw);
    if (marker !== undefined) tool.cache_control = marker;
    out.push(tool);
  });
  return out;
}

/** @see https://docs.anthropic.com/en/docs/build-with-claude/tool-use/overview#forcing-tool-use */
function encodeToolChoice(choice: ToolChoice | undefined, parallel: boolean | undefined): AnthropicToolChoice | undefined {
  let encoded: AnthropicToolChoice | undefined;
  if (choice === 'auto') encoded = { type: 'auto' };
  else if (choice === 'required') encoded = { type: 'any' };
  else if (choice === 'none') encoded = { type: 'none' };
  else if (isRecord(choice)) {
    const name = isRecord(choice.function) ? choice.function.name : undefined;
    if (typeof name !== 'string' || name === '') throw invalidField('tool_choice.function.name', 'tool_choice needs a function name.');
    encoded = { type: 'tool', name };
  } else if (choice !== undefined) {
    throw invalidField('tool_choice', "tool_choice must be 'auto', 'required', 'none' or a function choice.");
  }
  if (parallel === false && encoded?.type !== 'none') {
    encoded = { ...(encoded ?? { type: 'auto' }), disable_parallel_tool_use: true } as AnthropicToolChoice;
  }
  return encoded;
}

function encodeStop(stop: unknown): string[] | undefined {
  if (typeof stop === 'string') return stop === '' ? undefined : [stop];
  if (Array.isArray(stop)) {
    stop.forEach((s, i) => { if (typeof s !== 'string') throw invalidField(`stop[${i}]`, 'Stop sequences must be strings.'); });
    return stop.length === 0 ? undefined : (stop as string[]);
  }
  if (present(stop)) throw invalidField('stop', 'stop must be a string or an array of strings.');
  return undefined;
}

function encodeMetadata(request: ChatRequest, body: AnthropicRequest, warnings: CodecWarning[]): void {
  let userId: string | undefined;
  if (isRecord(request.metadata)) {
    for (const [key, value] of Object.entries(request.metadata)) {
      if (key === 'user_id' && typeof value === 'string') userId = value;
      else warnings.push({ param: `metadata.${key}`, message: 'Anthropic metadata takes user_id only; the key was dropped.' });
    }
  }
  if (userId === undefined && typeof request.user === 'string' && request.user !== '') userId = request.user;
  if (userId !== undefined) body.metadata = { user_id: userId };
}

function encodeExtras(request: ChatRequest, body: AnthropicRequest, warnings: CodecWarning[]): void {
  for (const [param, isDefault, why] of UNSUPPORTED) {
    const value = request[param];
    if (present(value) && !isDefault(value)) warnings.push({ param, message: `${why}; ${param} was dropped.` });
  }
  const tier = request.service_tier;
  if (tier === 'auto' || tier === 'standard_only') body.service_tier = tier;
  else if (present(tier)) warnings.push({ param: 'service_tier', message: `Anthropic service_tier is 'auto' or 'standard_only'; '${String(tier)}' was dropped.` });
  for (const [key, value] of Object.entries(request)) {
    if (HANDLED_FIELDS.has(key) || value === undefined) continue;
    if (ANTHROPIC_NATIVE_FIELDS.includes(key)) body[key] = value;
    else if (value !== null) warnings.push({ param: key, message: `Anthropic does not take '${key}'; it was dropped.` });
  }
}

/** response_format -> output_config.format (Anthropic structured outputs), unless the caller sent Anthropic's own. */
function encodeResponseFormat(request: ChatRequest, body: AnthropicRequest, warnings: CodecWarning[]): void {
  const outputConfig = isRecord(body.output_config) ? (body.output_config as AnthropicOutputConfig) : undefined;
  if (isRecord(outputConfig?.format)) return;
  const format = encodeOutputFormat(request.response_format, warnings);
  if (format !== undefined) body.output_config = { ...outputConfig, format };
}

/** Drops the sampling settings Anthropic refuses while thinking is on. */
function dropSamplingWhileThinking(body: AnthropicRequest, warnings: CodecWarning[]): void {
  if (!thinkingIsOn(body.thinking)) return;
  if (body.temperature !== undefined && body.temperature !== 1) {
    delete body.temperature;
    warnings.push({ param: 'temperature', message: 'Anthropic does not take temperature while thinking; it was dropped.' });
  }
  if (body.top_k !== undefined) {
    delete body.top_k;
    warnings.push({ param: 'top_k', message: 'Anthropic does not take top_k while thinking; it was dropped.' });
  }
  if (body.top_p !== undefined && body.top_p < 0.95) {
    delete body.top_p;
    warnings.push({ param: 'top_p', message: 'Anthropic takes top_p between 0.95 and 1 while thinking; it was dropped.' });
  }
}

function encodeThinking(
  request: ChatRequest,
  body: AnthropicRequest,
  options: EncodeOptions,
  callerSetMaxTokens: boolean,
  outputConfig: AnthropicOutputConfig | undefined,
  warnings: CodecWarning[],
): void {
  const forced = body.tool_choice?.type === 'any' || body.tool_choice?.type === 'tool';
  if (forced && !present(request.thinking) && present(request.reasoning_effort) && (request.reasoning_effort as string) !== 'none') {
    // Anthropic refuses thinking with a forced tool; the forced tool is the stronger request.
    warnings.push({ param: 'reasoning_effort', message: 'Anthropic cannot think while a tool is forced; reasoning_effort was dropped.' });
    return;
  }
  const defaultMaxTokens = options.defaultMaxTokens ?? DEFAULT_MAX_TOKENS;
  const plan = planThinking(request, options.model, body.max_tokens, callerSetMaxTokens, defaultMaxTokens, options.maxOutputTokens, outputConfig, warnings);
  body.max_tokens = plan.maxTokens;
  if (plan.thinking !== undefined) body.thinking = plan.thinking;
  if (plan.effort !== undefined) body.output_config = { ...(body.output_config as AnthropicOutputConfig | undefined), effort: plan.effort };
  dropSamplingWhileThinking(body, warnings);
}

export function encodeAnthropicRequest(request: ChatRequest, options: EncodeOptions): EncodedRequest {
  if (!isRecord(request)) throw invalidField('body', 'The request body must be a JSON object.');
  const warnings: CodecWarning[] = [];
  const { system, messages } = encodeMessages(request.messages, warnings);
  if (Array.isArray(request.messages)) warnings.push(...movedSystemWarnings(request.messages, 'Anthropic'));

  const defaultMaxTokens = options.defaultMaxTokens ?? DEFAULT_MAX_TOKENS;
  const callerMax = numberParam(request, 'max_completion_tokens') ?? numberParam(request, 'max_tokens');
  if (callerMax !== undefined && (!Number.isInteger(callerMax) || callerMax < 1)) {
    throw invalidField(present(request.max_completion_tokens) ? 'max_completion_tokens' : 'max_tokens', 'max_tokens must be a positive integer.');
  }
  if (present(request.thinking) && !isRecord(request.thinking)) throw invalidField('thinking', 'thinking must be an object.');
  const body: AnthropicRequest = { model: options.model, max_tokens: callerMax ?? defaultMaxTokens, messages };
  if (system !== undefined) body.system = system;

  encodeExtras(request, body, warnings);
  const outputConfig = isRecord(body.output_config) ? (body.output_config as AnthropicOutputConfig) : undefined;

  const stop = encodeStop(request.stop);
  if (stop !== undefined) body.stop_sequences = stop;
  let temperature = numberParam(request, 'temperature');
  if (temperature !== undefined && temperature > 1) {
    warnings.push({ param: 'temperature', message: `Anthropic temperature ranges 0 to 1; ${temperature} was lowered to 1.` });
    temperature = 1;
  }
  if (temperature !== undefined) body.temperature = temperature;
  const topP = numberParam(request, 'top_p');
  if (topP !== undefined) body.top_p = topP;
  const topK = numberParam(request, 'top_k');
  if (topK !== undefined) body.top_k = topK;

  const tools = present(request.tools) ? encodeTools(request.tools, warnings) : [];
  const webSearch = anthropicWebSearchTool(request, warnings);
  if (webSearch !== undefined) tools.push(webSearch as AnthropicTool);
  if (tools.length > 0) body.tools = tools;
  const toolChoice = encodeToolChoice(present(request.tool_choice) ? request.tool_choice : undefined,
    present(request.parallel_tool_calls) ? request.parallel_tool_calls : undefined);
  if (toolChoice !== undefined) body.tool_choice = toolChoice;

  encodeMetadata(request, body, warnings);
  encodeResponseFormat(request, body, warnings);

  encodeThinking(request, body, options, callerMax !== undefined, outputConfig, warnings);

  if (options.stream) body.stream = true;
  return { body, warnings };
}
