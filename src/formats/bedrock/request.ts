/**
 * Canonical chat request -> Converse / ConverseStream body. The model id goes
 * in the URL (providers/bedrock.ts), never in the body; the body is the same
 * for both operations.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InferenceConfiguration.html
 */
import { invalidField } from '../../errors/gateway-error.js';
import type { EncodedRequest, EncodeOptions, CodecWarning } from '../types.js';
import type { ChatRequest } from '../openai/types.js';
import { anthropicOnlyBlockWarnings, movedSystemWarnings } from '../conversation-warnings.js';
import { DEFAULT_MAX_TOKENS } from '../anthropic/request.js';
import { planThinking } from '../anthropic/thinking.js';
import { convertMessages } from './messages.js';
import type { BedrockConverseRequest, BedrockToolChoice, BedrockToolSpec } from './types.js';

/** Region prefixes of cross-region inference profiles (`us.anthropic.claude-...`). */
const PROFILE_PREFIX = /^(us|eu|apac|us-gov|global|jp|au|ca)\./;

/**
 * The model's vendor (`anthropic`, `amazon`, `meta`, `mistral`, `cohere`, ...)
 * from a model id, an inference profile id or an ARN; '' when it cannot be told
 * (application inference profiles have opaque ids).
 */
export function bedrockModelFamily(modelId: string): string {
  const tail = modelId.slice(modelId.lastIndexOf('/') + 1).replace(PROFILE_PREFIX, '');
  const dot = tail.indexOf('.');
  return dot === -1 ? '' : tail.slice(0, dot);
}

/** Canonical fields this encoder reads; anything else is an extra. */
const HANDLED_FIELDS = new Set([
  'model', 'messages', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p',
  'top_k', 'stop', 'tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'thinking',
]);

/**
 * Converse fields a caller may send as they are (a Bedrock-aware client):
 * copied into the body. `additionalModelRequestFields` is merged with ours.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_RequestSyntax
 */
const NATIVE_FIELDS = new Set(['guardrailConfig', 'additionalModelResponseFieldPaths', 'performanceConfig', 'requestMetadata', 'serviceTier']);

/** OpenAI parameters Converse has no field for: dropped with a warning when set to a non-default value. */
const UNSUPPORTED: ReadonlyArray<[param: string, isDefault: (value: unknown) => boolean]> = [
  ['n', (v) => v === 1],
  ['logprobs', (v) => v === false],
  ['top_logprobs', (v) => v === 0],
  ['seed', () => false],
  ['presence_penalty', (v) => v === 0],
  ['frequency_penalty', (v) => v === 0],
  ['logit_bias', (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0],
  ['user', () => false],
  // Mapped to Claude's thinking (claudeThinking) on a Claude model when no thinking is given.
  ['reasoning_effort', () => false],
];
for (const [param] of UNSUPPORTED) HANDLED_FIELDS.add(param);

/**
 * OpenAI reasoning_effort -> Claude's extended thinking in additionalModelRequestFields, planned as for
 * Anthropic itself (the shared effort table; adaptive thinking with an effort on Claude 4.6+). Claude
 * cannot think while a tool is forced: the effort is then dropped with a warning.
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-extended-thinking.html
 */
function claudeThinking(
  request: ChatRequest,
  options: EncodeOptions,
  inference: NonNullable<BedrockConverseRequest['inferenceConfig']>,
  additional: Record<string, unknown>,
  warnings: CodecWarning[],
): boolean {
  const forced = request.tool_choice === 'required' || (typeof request.tool_choice === 'object' && request.tool_choice !== null);
  if (forced) return false;
  const callerMax = inference.maxTokens;
  const plan = planThinking(request, options.model, callerMax ?? DEFAULT_MAX_TOKENS, callerMax !== undefined, DEFAULT_MAX_TOKENS, options.maxOutputTokens, undefined, warnings);
  if (plan.thinking === undefined) return false;
  additional.thinking = plan.thinking;
  if (plan.effort !== undefined) additional.output_config = { effort: plan.effort };
  inference.maxTokens = plan.maxTokens;
  dropSamplingWhileThinking(inference, additional, warnings);
  return true;
}

/**
 * The Anthropic beta features Claude on Bedrock takes; Bedrock refuses any other name with "invalid
 * beta flag", and Anthropic clients send betas of their own (Claude Code: `claude-code-20250219`).
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html
 */
const BEDROCK_BETAS: ReadonlySet<string> = new Set([
  'computer-use-2024-10-22', 'computer-use-2025-01-24', 'computer-use-2025-11-24', 'token-efficient-tools-2025-02-19',
  'interleaved-thinking-2025-05-14', 'output-128k-2025-02-19', 'dev-full-thinking-2025-05-14', 'context-1m-2025-08-07',
  'context-management-2025-06-27', 'effort-2025-11-24', 'tool-search-tool-2025-10-19', 'tool-examples-2025-10-29',
]);

/** An Anthropic caller's betas reach Claude on Bedrock in the body (Bedrock has no beta header): the ones it takes. */
function encodeBetas(betas: readonly string[], additional: Record<string, unknown>, warnings: CodecWarning[]): void {
  const taken = betas.filter((beta) => BEDROCK_BETAS.has(beta));
  if (taken.length > 0) additional.anthropic_beta = taken;
  const dropped = betas.filter((beta) => !BEDROCK_BETAS.has(beta));
  if (dropped.length > 0) {
    warnings.push({ param: 'anthropic-beta', message: `Claude on Bedrock does not take the beta ${dropped.map((beta) => `'${beta}'`).join(', ')}; dropped.` });
  }
}

/** `mapped`: parameters this request had mapped another way (reasoning_effort as Claude's thinking). */
function encodeExtras(request: ChatRequest, body: BedrockConverseRequest, warnings: CodecWarning[], mapped: ReadonlySet<string>): void {
  for (const [param, isDefault] of UNSUPPORTED) {
    const value = request[param];
    if (isSet(value) && !isDefault(value) && !mapped.has(param)) warnings.push({ param, message: `Bedrock Converse does not support ${param}; it was dropped.` });
  }
  if (request.parallel_tool_calls === false) {
    warnings.push({ param: 'parallel_tool_calls', message: 'Bedrock Converse cannot turn off parallel tool calls; it was dropped.' });
  }
  const native = body as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(request)) {
    if (HANDLED_FIELDS.has(key) || value === undefined || value === null) continue;
    if (NATIVE_FIELDS.has(key)) native[key] = value;
    else if (key === 'additionalModelRequestFields' && typeof value === 'object') {
      body.additionalModelRequestFields = { ...body.additionalModelRequestFields, ...(value as Record<string, unknown>) };
    } else warnings.push({ param: key, message: `Bedrock Converse does not take '${key}'; it was dropped.` });
  }
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/**
 * `top_k` lives in `additionalModelRequestFields`, in each vendor's own spelling:
 * Anthropic and Mistral take `top_k`, Amazon Nova takes `inferenceConfig.topK`.
 * Others (Meta Llama, ...) take none: dropped with a warning.
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html
 * @see https://docs.aws.amazon.com/nova/latest/userguide/using-converse-api.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-mistral-text-completion.html
 */
function addTopK(topK: number, family: string, fields: Record<string, unknown>, warnings: CodecWarning[]): void {
  if (family === 'anthropic' || family === 'mistral') fields.top_k = topK;
  else if (family === 'amazon') fields.inferenceConfig = { topK };
  else warnings.push({ param: 'top_k', message: `top_k is not supported by Bedrock model family "${family || 'unknown'}"; dropped.` });
}

/**
 * Claude with extended thinking refuses temperature, top_k and a top_p below
 * 0.95: dropped with warnings rather than failing the call.
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-extended-thinking.html
 */
function dropSamplingWhileThinking(
  inference: NonNullable<BedrockConverseRequest['inferenceConfig']>,
  additional: Record<string, unknown>,
  warnings: CodecWarning[],
): void {
  if (inference.temperature !== undefined && inference.temperature !== 1) {
    delete inference.temperature;
    warnings.push({ param: 'temperature', message: 'Claude does not take temperature while thinking; it was dropped.' });
  }
  if (inference.topP !== undefined && inference.topP < 0.95) {
    delete inference.topP;
    warnings.push({ param: 'top_p', message: 'Claude takes top_p between 0.95 and 1 while thinking; it was dropped.' });
  }
  if (additional.top_k !== undefined) {
    delete additional.top_k;
    warnings.push({ param: 'top_k', message: 'Claude does not take top_k while thinking; it was dropped.' });
  }
}

function encodeTools(request: ChatRequest, hasToolBlocks: boolean, warnings: CodecWarning[]): BedrockConverseRequest['toolConfig'] {
  const tools = request.tools;
  if (tools === undefined || tools === null || tools.length === 0) return undefined;
  const specs: BedrockToolSpec[] = tools.map((tool, i) => {
    if (tool?.type !== 'function' || typeof tool.function?.name !== 'string') {
      throw invalidField(`tools[${i}]`, 'Only function tools with a name are supported.');
    }
    const spec: BedrockToolSpec['toolSpec'] = {
      name: tool.function.name,
      inputSchema: { json: tool.function.parameters ?? { type: 'object', properties: {} } },
    };
    if (tool.function.description !== undefined) spec.description = tool.function.description;
    if (tool.function.strict === true) spec.strict = true;
    return { toolSpec: spec };
  });
  const choice = request.tool_choice;
  let toolChoice: BedrockToolChoice | undefined;
  if (choice === 'none') {
    // Converse has no "none". With no tool blocks in the history, leaving the tools
    // out means the same; otherwise Converse requires them and the model may call one.
    if (!hasToolBlocks) return undefined;
    warnings.push({ param: 'tool_choice', message: 'Bedrock has no tool_choice "none"; tools are still sent because the history uses them.' });
  } else if (choice === 'auto') {
    toolChoice = { auto: {} };
  } else if (choice === 'required') {
    toolChoice = { any: {} };
  } else if (typeof choice === 'object' && choice !== null) {
    if (typeof choice.function?.name !== 'string') throw invalidField('tool_choice.function.name', 'tool_choice.function.name must be a string.');
    toolChoice = { tool: { name: choice.function.name } };
  }
  return toolChoice === undefined ? { tools: specs } : { tools: specs, toolChoice };
}

function encodeResponseFormat(request: ChatRequest, body: BedrockConverseRequest, warnings: CodecWarning[]): void {
  const format = request.response_format;
  if (format == null || format.type === 'text') return;
  if (format.type === 'json_schema' && format.json_schema?.schema !== undefined) {
    const jsonSchema: { schema: string; name?: string; description?: string } = { schema: JSON.stringify(format.json_schema.schema) };
    if (format.json_schema.name) jsonSchema.name = format.json_schema.name;
    if (format.json_schema.description) jsonSchema.description = format.json_schema.description;
    // @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_OutputFormat.html
    body.outputConfig = { textFormat: { type: 'json_schema', structure: { jsonSchema } } };
    return;
  }
  warnings.push({ param: 'response_format', message: `Bedrock Converse has no schema-less JSON mode ("${format.type}"); dropped.` });
}

export function encodeBedrockRequest(request: ChatRequest, options: EncodeOptions): EncodedRequest {
  const warnings: CodecWarning[] = [];
  const { system, messages, hasToolBlocks } = convertMessages(request.messages);
  if (Array.isArray(request.messages)) {
    warnings.push(...movedSystemWarnings(request.messages, 'Bedrock Converse'), ...anthropicOnlyBlockWarnings(request.messages, 'Bedrock Converse'));
  }
  const body: BedrockConverseRequest = { messages };
  if (system.length > 0) body.system = system;

  const inference: NonNullable<BedrockConverseRequest['inferenceConfig']> = {};
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? options.defaultMaxTokens;
  if (isSet(maxTokens)) inference.maxTokens = maxTokens as number;
  if (isSet(request.temperature)) inference.temperature = request.temperature as number;
  if (isSet(request.top_p)) inference.topP = request.top_p as number;
  if (isSet(request.stop)) inference.stopSequences = typeof request.stop === 'string' ? [request.stop] : (request.stop as string[]);

  const family = bedrockModelFamily(options.model);
  const additional: Record<string, unknown> = {};
  const mapped = new Set<string>();
  if (isSet(request.top_k)) addTopK(request.top_k as number, family, additional, warnings);
  if (request.thinking !== undefined && request.thinking !== null) {
    if (family === 'anthropic') {
      additional.thinking = request.thinking;
      if (request.thinking.type !== 'disabled') dropSamplingWhileThinking(inference, additional, warnings);
    } else if (request.thinking.type !== 'disabled') {
      warnings.push({ param: 'thinking', message: `thinking is only mapped for Anthropic models on Bedrock; dropped for "${options.model}".` });
    }
  } else if (family === 'anthropic' && isSet(request.reasoning_effort) && request.reasoning_effort !== 'none'
    && claudeThinking(request, options, inference, additional, warnings)) {
    mapped.add('reasoning_effort');
  }
  if (family === 'anthropic' && options.anthropicBetas !== undefined) encodeBetas(options.anthropicBetas, additional, warnings);
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;
  if (Object.keys(additional).length > 0) body.additionalModelRequestFields = additional;

  const toolConfig = encodeTools(request, hasToolBlocks, warnings);
  if (toolConfig !== undefined) body.toolConfig = toolConfig;
  encodeResponseFormat(request, body, warnings);

  encodeExtras(request, body, warnings, mapped);
  return { body, warnings };
}
