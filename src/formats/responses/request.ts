/**
 * A Responses API request -> the canonical chat request, for providers that
 * do not speak the Responses API (Anthropic, Gemini, Bedrock, Cohere, chat-only
 * OpenAI-compatible servers). Stateless: the caller sends the whole
 * conversation as input items (as Codex does with `store: false`).
 *
 * | Responses | canonical |
 * | --- | --- |
 * | `instructions`, `input` | `messages` (request-items.ts) |
 * | `tools`, `tool_choice`, `parallel_tool_calls` | the same (request-tools.ts) |
 * | `text.format` (`json_schema`, `json_object`) | `response_format` |
 * | `text.verbosity` | `verbosity` |
 * | `reasoning.effort` | `reasoning_effort` (`xhigh` becomes `high`, with a warning) |
 * | `reasoning.summary` | reasoning text is returned as summary parts |
 * | `max_output_tokens` | `max_completion_tokens` |
 * | `temperature`, `top_p`, `top_logprobs`, `user`, `safety_identifier`, `service_tier`, `prompt_cache_key` | the same |
 * | `include: ["reasoning.encrypted_content"]` | reasoning items carry the provider's thinking, sealed |
 * | `metadata` | echoed on the response; not sent to the provider |
 * | `truncation: "auto"`, `background`, `prompt` | not available on the bridge: warning |
 * | `store`, `previous_response_id` | resolved by the gateway before decoding (api/stored-responses.ts); a `previous_response_id` left here is a 400 |
 * | `conversation` | 400: conversations are not stored for this provider |
 *
 * @see https://platform.openai.com/docs/api-reference/responses/create
 */
import { GatewayError, invalidField } from '../../errors/gateway-error.js';
import type { ChatRequest, ResponseFormat } from '../openai/types.js';
import type { CodecWarning } from '../types.js';
import { decodeInput } from './request-items.js';
import { decodeToolChoice, decodeTools } from './request-tools.js';
import type { DecodedResponsesRequest, JsonRecord, ReasoningSeal } from './types.js';

const EFFORTS = new Set(['none', 'minimal', 'low', 'medium', 'high']);

/** Fields copied to the canonical request as they are (same name, same meaning in chat). */
const SAME_FIELDS = ['temperature', 'top_p', 'user', 'safety_identifier', 'service_tier', 'prompt_cache_key', 'parallel_tool_calls'] as const;

/** Request fields the response object echoes back. */
const ECHOED_FIELDS = [
  'instructions', 'metadata', 'tools', 'tool_choice', 'parallel_tool_calls', 'temperature', 'top_p', 'max_output_tokens',
  'reasoning', 'text', 'truncation', 'user', 'service_tier', 'top_logprobs', 'safety_identifier', 'prompt_cache_key',
] as const;

/** `include` values the bridge honours; others are dropped with a warning. */
const INCLUDES = new Set(['reasoning.encrypted_content', 'message.output_text.logprobs']);

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** The 400 for a request that needs stored state the decoder was not given (a conversation; a previous response the gateway did not resolve). */
function storedResponsesError(param: string): GatewayError {
  return new GatewayError(
    'HD_ERR_RESPONSES_NOT_STORED',
    `${param} needs stored items that are not available for this provider; send the whole conversation as input items instead (stateless, as with store: false).`,
    { param },
  );
}

function decodeTextFormat(text: unknown, request: ChatRequest): void {
  if (!isRecord(text)) return;
  if (typeof text.verbosity === 'string') request.verbosity = text.verbosity;
  const format = text.format;
  if (!isRecord(format) || format.type === 'text' || format.type === undefined) return;
  if (format.type === 'json_object') {
    request.response_format = { type: 'json_object' };
    return;
  }
  if (format.type !== 'json_schema') throw invalidField('text.format.type', "text.format.type: expected 'text', 'json_object' or 'json_schema'.");
  if (typeof format.name !== 'string' || format.name === '') throw invalidField('text.format.name', 'text.format.name: a json_schema format needs a name.');
  if (!isRecord(format.schema)) throw invalidField('text.format.schema', 'text.format.schema: a json_schema format needs a schema object.');
  const schema: NonNullable<ResponseFormat['json_schema']> = { name: format.name, schema: format.schema };
  if (typeof format.description === 'string') schema.description = format.description;
  if (typeof format.strict === 'boolean') schema.strict = format.strict;
  request.response_format = { type: 'json_schema', json_schema: schema };
}

function decodeReasoning(reasoning: unknown, request: ChatRequest, warnings: CodecWarning[]): boolean {
  if (!isRecord(reasoning)) return false;
  const effort = reasoning.effort;
  if (typeof effort === 'string') {
    if (EFFORTS.has(effort)) request.reasoning_effort = effort as ChatRequest['reasoning_effort'];
    else if (effort === 'xhigh') {
      request.reasoning_effort = 'high';
      warnings.push({ param: 'reasoning.effort', message: "reasoning.effort 'xhigh' has no equivalent for this provider; 'high' was used." });
    } else throw invalidField('reasoning.effort', `reasoning.effort: '${effort}' is not one of none, minimal, low, medium, high, xhigh.`);
  }
  const summary = reasoning.summary ?? reasoning.generate_summary;
  return typeof summary === 'string' && summary !== 'none';
}

function decodeInclude(include: unknown, warnings: CodecWarning[]): Set<string> {
  const wanted = new Set<string>();
  if (!Array.isArray(include)) return wanted;
  include.forEach((value, i) => {
    if (typeof value !== 'string') throw invalidField(`include[${i}]`, `include[${i}]: expected a string.`);
    if (INCLUDES.has(value)) wanted.add(value);
    else warnings.push({ param: `include[${i}]`, message: `include '${value}' is not available for this provider; it was dropped.` });
  });
  return wanted;
}

/** What the bridge cannot do, said once per field. */
function warnUnavailable(body: JsonRecord, warnings: CodecWarning[]): void {
  if (body.truncation === 'auto') warnings.push({ param: 'truncation', message: "truncation 'auto' is not available for this provider; an input longer than the context window is refused." });
  if (body.background === true) warnings.push({ param: 'background', message: 'Background mode is not available for this provider; the response was produced in the request.' });
  if (present(body.prompt)) warnings.push({ param: 'prompt', message: 'Prompt templates live in OpenAI and cannot reach this provider; prompt was dropped.' });
}

export function decodeResponsesRequest(body: JsonRecord, options: { model: string; seal?: ReasoningSeal }): DecodedResponsesRequest {
  if (present(body.previous_response_id)) throw storedResponsesError('previous_response_id');
  if (present(body.conversation)) throw storedResponsesError('conversation');
  if (body.input === undefined || body.input === null) throw invalidField('input', 'input: Field required.');
  const warnings: CodecWarning[] = [];
  const request: ChatRequest = { model: options.model, messages: decodeInput(body.instructions, body.input, options.seal, warnings) };
  const tools = decodeTools(body.tools, warnings);
  const choice = decodeToolChoice(body.tool_choice, tools.declared, warnings);
  for (const field of SAME_FIELDS) if (present(body[field])) (request as JsonRecord)[field] = body[field];
  if (tools.tools.length > 0) {
    request.tools = tools.tools;
    if (choice !== undefined) request.tool_choice = choice;
  } else {
    // No tool left for the provider (only built-in ones were sent): a tool choice has nothing to choose.
    delete request.parallel_tool_calls;
  }
  if (typeof body.max_output_tokens === 'number') request.max_completion_tokens = body.max_output_tokens;
  if (typeof body.top_logprobs === 'number') {
    request.logprobs = true;
    request.top_logprobs = body.top_logprobs;
  }
  if (body.stream === true) request.stream = true;
  decodeTextFormat(body.text, request);
  const summaries = decodeReasoning(body.reasoning, request, warnings);
  const include = decodeInclude(body.include, warnings);
  if (include.has('message.output_text.logprobs')) request.logprobs = true;
  warnUnavailable(body, warnings);
  const echo: JsonRecord = {};
  for (const field of ECHOED_FIELDS) if (body[field] !== undefined) echo[field] = body[field];
  return {
    request,
    warnings,
    facts: { tools: tools.declared, summaries, encryptedReasoning: include.has('reasoning.encrypted_content'), echo },
  };
}
