/**
 * The Anthropic Messages wire format of the mock upstream (register with
 * `registerAnthropicRoutes(mock)`). Replies follow echo-plan.ts.
 *
 * POST /v1/messages
 *   - headers: `x-api-key` or `authorization: Bearer` required (401 authentication_error without one or for 'bad-key');
 *     `anthropic-version` required (400 invalid_request_error).
 *   - body: `model` string, `max_tokens` positive integer, `messages` non-empty array (400 naming the field);
 *     roles 'user', 'assistant' and 'system' (SystemMessageParam). A top-level field outside the GA
 *     Messages API is refused as Anthropic does (400 `<field>: Extra inputs are not permitted`) unless the
 *     `anthropic-beta` header names a beta that enables it (BETA_FIELDS: `context_management` needs
 *     context-management-2025-06-27). Every request's headers are recorded (`mock.requests[i].headers`).
 *   - reply `{id:'msg_mock_<k>', type:'message', role:'assistant', model, content, stop_reason, stop_sequence:null, usage}`:
 *     content `[{type:'text', text:'echo: ...'}]` and stop_reason 'end_turn' ('max_tokens' when cut at
 *     max_tokens words), or `tool_use` blocks
 *     `{type:'tool_use', id:'toolu_mock_<i>', name, input:{text}}` and stop_reason 'tool_use'.
 *     usage `{input_tokens, output_tokens, cache_creation_input_tokens:0, cache_read_input_tokens:0}`.
 *     Counted texts: system, and every text block and tool_result text of every message.
 *     With `thinking` on (enabled/adaptive) the content starts with a signed thinking block
 *     `{type:'thinking', thinking:'Thinking about: <user text>', signature}`; with
 *     `output_config.format` the text is JSON matching the schema (conversation-rules.ts).
 *   - conversations are checked as Anthropic checks them (tool_result pairing, thinking blocks and
 *     their signatures, thinking budget and temperature, structured-output schemas): 400 with
 *     Anthropic's text (conversation-rules.ts).
 *   - a conversation carrying the scripted-turn marker is answered by scripted-turn.ts instead of
 *     the echo rules (tool calls a real client can run, its results in the final text).
 *   - stream: true -> named SSE events message_start (input_tokens, output_tokens 1), per block
 *     content_block_start / content_block_delta (text_delta per word; input_json_delta '' then the
 *     arguments in 3 pieces) / content_block_stop, a ping after the first block start, message_delta
 *     (stop_reason, usage.output_tokens), message_stop. Stream errors: `event: error`.
 *   - `thinking` on: a signed thinking block first, checked when sent back (conversation-rules.ts).
 * POST /v1/messages/count_tokens: `{input_tokens}` (same count, no max_tokens needed).
 * /v1/messages/batches: anthropic-batches.ts.
 * Errors: `{type:'error', error:{type, message}}` (anthropicErrorBody).
 *
 * @see https://docs.anthropic.com/en/api/messages
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming
 * @see https://docs.anthropic.com/en/api/errors
 */
import { refuseByModelRules } from './model-rules.js';
import { registerAnthropicBatchRoutes } from './anthropic-batches.js';
import { formatSse } from '../../../src/gateway/sse.js';
import type { MockContext } from './context.js';
import { argumentPieces, planEcho, textPieces, type EchoPlan, type EchoRequest, type EchoToolChoice } from './echo-plan.js';
import type { RouteHandler } from './index.js';
import { anthropicConversationError, anthropicOutputFormatError, anthropicThinkingOn, structuredReply, thinkingSignature } from './conversation-rules.js';
import { contentText, isRecord } from './openai-common.js';
import { anthropicScriptRequest } from './scripted-requests.js';
import { planScripted } from './scripted-turn.js';

interface RouteTarget {
  route(method: string, path: RegExp, handler: RouteHandler): void;
}

const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

/** An Anthropic error body for a status. */
export function anthropicErrorBody(status: number, message?: string, type?: string): Record<string, unknown> {
  return {
    type: 'error',
    error: { type: type ?? ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), message: message ?? `Mock upstream error (HTTP ${status})` },
  };
}

type Block = Record<string, unknown>;

function blocksOf(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content.filter(isRecord) : [];
}

function blockTexts(blocks: Block[]): string[] {
  const texts: string[] = [];
  for (const block of blocks) {
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    else if (block.type === 'tool_result') texts.push(contentText(block.content));
  }
  return texts;
}

/** An Anthropic Messages body -> what the echo planner needs. */
export function anthropicEchoRequest(body: Record<string, unknown>): EchoRequest {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  const promptTexts: string[] = blockTexts(blocksOf(body.system));
  let userText = '';
  for (const message of messages) {
    const blocks = blocksOf(message.content);
    promptTexts.push(...blockTexts(blocks));
    if (message.role === 'user' && blocks.some((block) => block.type !== 'tool_result')) {
      userText = blocks.filter((block) => block.type === 'text').map((block) => String(block.text)).join(' ');
    }
  }
  const last = messages[messages.length - 1];
  const endsWithUser = last?.role === 'user' && blocksOf(last.content).some((block) => block.type !== 'tool_result');
  const tools = Array.isArray(body.tools) ? body.tools.filter(isRecord) : [];
  const choice = isRecord(body.tool_choice) ? body.tool_choice : undefined;
  let toolChoice: EchoToolChoice | undefined;
  if (choice?.type === 'none') toolChoice = 'none';
  else if (choice?.type === 'any') toolChoice = 'required';
  else if (choice?.type === 'tool' && typeof choice.name === 'string') toolChoice = { name: choice.name };
  return {
    userText,
    endsWithUser,
    promptTexts,
    toolNames: tools.filter((tool) => tool.type === undefined || tool.type === 'custom').map((tool) => String(tool.name)),
    toolChoice,
    parallel: choice?.disable_parallel_tool_use !== true,
    maxTokens: typeof body.max_tokens === 'number' ? body.max_tokens : undefined,
  };
}

export interface AnthropicReplyOptions {
  /** The model to report (Vertex: from the URL). Default: body.model. */
  model?: string;
  /** Stream or not. Default: body.stream === true. */
  stream?: boolean;
}

function usageOf(plan: EchoPlan, output: number): Record<string, number> {
  return { input_tokens: plan.promptTokens, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
}

/**
 * The reply's content blocks: a signed thinking block first when the request turns thinking on; then
 * the text (JSON matching output_config.format when it asks for structured output) or the tool calls.
 */
function replyContent(body: Record<string, unknown>, plan: EchoPlan, userText: string, scripted: boolean): Block[] {
  const content: Block[] = [];
  if (anthropicThinkingOn(body)) {
    const thinking = `Thinking about: ${userText}`;
    content.push({ type: 'thinking', thinking, signature: thinkingSignature(thinking) });
  }
  if (plan.text !== undefined) content.push({ type: 'text', text: (scripted ? undefined : structuredReply(body, userText)) ?? plan.text });
  else content.push(...plan.calls.map((call, i) => ({ type: 'tool_use', id: `toolu_mock_${i}`, name: call.name, input: call.input })));
  return content;
}

/** One content block as stream events: start, deltas (text per word, thinking then its signature, JSON in 3 pieces), stop. */
function blockEvents(block: Block, index: number, emit: (type: string, fields: Record<string, unknown>) => void): void {
  const start = (contentBlock: Block): void => {
    emit('content_block_start', { index, content_block: contentBlock });
    if (index === 0) emit('ping', {});
  };
  if (block.type === 'thinking') {
    start({ type: 'thinking', thinking: '', signature: '' });
    emit('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: block.thinking } });
    emit('content_block_delta', { index, delta: { type: 'signature_delta', signature: block.signature } });
  } else if (block.type === 'text') {
    start({ type: 'text', text: '' });
    for (const piece of textPieces(String(block.text))) emit('content_block_delta', { index, delta: { type: 'text_delta', text: piece } });
  } else {
    start({ ...block, input: {} });
    emit('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } });
    const call = { name: String(block.name), arguments: JSON.stringify(block.input), input: block.input as { text: string } };
    for (const piece of argumentPieces(call)) emit('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } });
  }
  emit('content_block_stop', { index });
}

/** Replies to a validated Messages body, as JSON or as the event stream. */
export function anthropicReply(context: MockContext, body: Record<string, unknown>, options: AnthropicReplyOptions = {}): Promise<void> {
  const echo = anthropicEchoRequest(body);
  const scripted = planScripted(anthropicScriptRequest(body));
  const plan = scripted ?? planEcho(echo);
  const model = options.model ?? String(body.model);
  const id = context.nextId('msg_mock_');
  const stopReason = plan.calls.length > 0 ? 'tool_use' : plan.truncated ? 'max_tokens' : 'end_turn';
  const content = replyContent(body, plan, echo.userText, scripted !== undefined);
  if (!(options.stream ?? body.stream === true)) {
    return context.json(200, {
      id, type: 'message', role: 'assistant', model, content,
      stop_reason: stopReason, stop_sequence: null, usage: usageOf(plan, plan.completionTokens),
    });
  }
  const events: string[] = [];
  const emit = (type: string, fields: Record<string, unknown>): void => {
    events.push(formatSse(JSON.stringify({ type, ...fields }), type));
  };
  emit('message_start', {
    message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: usageOf(plan, 1) },
  });
  content.forEach((block, index) => blockEvents(block, index, emit));
  emit('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: plan.completionTokens } });
  emit('message_stop', {});
  return context.stream(events, {
    errorEvent: (error) => formatSse(JSON.stringify(anthropicErrorBody(500, String(error.message), 'overloaded_error')), 'error'),
  });
}

/** 400 naming the first invalid field of a Messages body, as Anthropic words it; undefined when valid. */
export function invalidMessagesField(body: Record<string, unknown>, options: { requireModel: boolean; requireMaxTokens: boolean }): string | undefined {
  if (options.requireModel && typeof body.model !== 'string') return 'model: Field required';
  if (options.requireMaxTokens && (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 1)) {
    return 'max_tokens: Field required';
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages: Field required';
  for (const [i, message] of body.messages.entries()) {
    if (!isRecord(message) || (message.role !== 'user' && message.role !== 'assistant' && message.role !== 'system')) {
      return `messages.${i}.role: Input should be 'user', 'assistant' or 'system'`;
    }
  }
  return undefined;
}

/** Top-level fields of the GA Messages API. @see node_modules/@anthropic-ai/sdk MessageCreateParamsBase */
const MESSAGES_FIELDS: ReadonlySet<string> = new Set([
  'model', 'messages', 'max_tokens', 'cache_control', 'container', 'diagnostics', 'inference_geo', 'metadata',
  'output_config', 'service_tier', 'speed', 'stop_sequences', 'stream', 'system', 'temperature', 'thinking',
  'tool_choice', 'tools', 'top_k', 'top_p', 'user_profile_id', 'workspace_id',
]);

/** Beta-only body fields and the `anthropic-beta` values that enable each. @see BetaMessageCreateParams */
const BETA_FIELDS: Readonly<Record<string, readonly string[]>> = {
  context_management: ['context-management-2025-06-27'],
  mcp_servers: ['mcp-client-2025-04-04', 'mcp-client-2025-11-20', 'mcp-client-2026-09-15'],
  output_format: ['structured-outputs-2025-11-13'],
  compaction: ['compact-2026-01-12', 'compact-2026-09-04'],
  fallbacks: ['server-side-fallback-2026-06-01', 'server-side-fallback-2026-07-01'],
};

/** The first body field Anthropic would refuse with these headers, worded as Anthropic words it. */
export function extraInputError(body: Record<string, unknown>, headers: MockContext['request']['headers']): string | undefined {
  const header = headers['anthropic-beta'];
  const betas = new Set((Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((beta) => beta.trim()));
  for (const field of Object.keys(body)) {
    if (MESSAGES_FIELDS.has(field)) continue;
    if (BETA_FIELDS[field]?.some((beta) => betas.has(beta))) continue;
    return `${field}: Extra inputs are not permitted`;
  }
  return undefined;
}

function checkHeaders(context: MockContext): Promise<void> | undefined {
  const headers = context.request.headers;
  // @anthropic-ai/sdk 1.x sends its key as `authorization: Bearer <key>`; older clients send `x-api-key`.
  const bearer = /^Bearer (.+)$/i.exec(String(headers.authorization ?? ''))?.[1];
  const key = headers['x-api-key'] ?? bearer;
  if (key === undefined || key === '' || key === 'bad-key') {
    return context.json(401, anthropicErrorBody(401, 'invalid x-api-key'));
  }
  if (headers['anthropic-version'] === undefined) {
    return context.json(400, anthropicErrorBody(400, 'anthropic-version: header is required'));
  }
  return undefined;
}

function bodyOf(context: MockContext): Record<string, unknown> | undefined {
  return isRecord(context.request.body) ? context.request.body : undefined;
}

async function messages(context: MockContext): Promise<void> {
  const refused = checkHeaders(context);
  if (refused) return refused;
  const body = bodyOf(context);
  if (body === undefined) return context.json(400, anthropicErrorBody(400, 'The request body is not valid JSON.'));
  const invalid = invalidMessagesField(body, { requireModel: true, requireMaxTokens: true }) ?? extraInputError(body, context.request.headers) ?? anthropicConversationError(body) ?? anthropicOutputFormatError(body);
  if (invalid !== undefined) return context.json(400, anthropicErrorBody(400, invalid));
  const ruled = refuseByModelRules(context, 'anthropic', body); if (ruled) return ruled;
  return anthropicReply(context, body);
}

async function countTokens(context: MockContext): Promise<void> {
  const refused = checkHeaders(context);
  if (refused) return refused;
  const body = bodyOf(context);
  if (body === undefined) return context.json(400, anthropicErrorBody(400, 'The request body is not valid JSON.'));
  const invalid = invalidMessagesField(body, { requireModel: true, requireMaxTokens: false });
  if (invalid !== undefined) return context.json(400, anthropicErrorBody(400, invalid));
  return context.json(200, { input_tokens: planEcho(anthropicEchoRequest(body)).promptTokens });
}

export function registerAnthropicRoutes(target: RouteTarget): void {
  target.route('POST', /^\/v1\/messages$/, messages);
  target.route('POST', /^\/v1\/messages\/count_tokens$/, countTokens);
  registerAnthropicBatchRoutes(target, {
    errorBody: anthropicErrorBody,
    checkHeaders,
    invalidParams: (params) => invalidMessagesField(params, { requireModel: true, requireMaxTokens: true }) ?? extraInputError(params, {}),
    echoRequest: anthropicEchoRequest,
  });
}
